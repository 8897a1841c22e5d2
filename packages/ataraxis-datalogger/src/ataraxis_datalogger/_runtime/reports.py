"""What the logger process tells its owner besides the counts: descriptions of skipped objects and failed writes.

The counts live in the control segment; descriptions travel through a pipe to the owner's watchdog (the first
`MAX_REPORTS_PER_KIND` of each kind per drainer), or straight into lists when the owner drains the buffers itself.
"""

from multiprocessing.connection import Connection
from typing import Final, Protocol

MAX_REPORTS_PER_KIND: Final = 20
"""How many rejected objects and how many failed writes are described per run; all are counted."""

REJECTED: Final = "rejected"
"""Report kind: an object put on the queue was skipped."""
FAILED: Final = "failed"
"""Report kind: an entry could not be written."""
FATAL: Final = "fatal"
"""Report kind: the logger process hit an unexpected error and exits."""
DONE: Final = "done"
"""Report kind: the logger process reached every stop target and closed its files (its last report)."""


class Reporter(Protocol):
    """Receives descriptions of what went wrong with single entries."""

    def report(self, kind: str, message: str) -> None:
        """Takes one description of kind `REJECTED` or `FAILED`."""


class PipeReporter:
    """Sends the first few descriptions of each kind through a pipe.

    Args:
        connection: The sending end of the pipe to the owner's watchdog.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._sent = {REJECTED: 0, FAILED: 0}

    def report(self, kind: str, message: str) -> None:
        """Sends the description unless this kind's quota is used up."""
        if self._sent.get(kind, 0) < MAX_REPORTS_PER_KIND:
            self._sent[kind] = self._sent.get(kind, 0) + 1
            self._connection.send((kind, message))


class ListReporter:
    """Keeps the first few descriptions of each kind in lists (for a drain in the owner's own process)."""

    def __init__(self) -> None:
        self.reports: dict[str, list[str]] = {REJECTED: [], FAILED: []}
        """The descriptions kept, by kind."""

    def report(self, kind: str, message: str) -> None:
        """Keeps the description unless this kind's quota is used up."""
        kept = self.reports.setdefault(kind, [])
        if len(kept) < MAX_REPORTS_PER_KIND:
            kept.append(message)
