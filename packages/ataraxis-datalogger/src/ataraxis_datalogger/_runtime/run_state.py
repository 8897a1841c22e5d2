"""The life cycle of a logger run and the counts a run reports."""

from enum import IntEnum
from typing import NamedTuple


class RunState(IntEnum):
    """The life cycle of a run, stored in its control segment."""

    IDLE = 0
    """The run exists but its logger process was not started yet: puts wait in the producers' buffers."""
    RUNNING = 1
    """The logger process runs: puts are accepted."""
    STOPPING = 2
    """`stop()` has begun: puts are refused, the logger process drains what was put before."""
    STOPPED = 3
    """The run is over."""
    DEAD = 4
    """The logger process died: puts are refused; `stop()` writes what the buffers hold."""
    ORPHANED = 5
    """The process that owns the logger died: puts are refused; the logger process drains the buffers and exits."""


ACCEPTING_STATES = frozenset({RunState.IDLE, RunState.RUNNING})
"""The states in which a put is accepted."""


class LogStatistics(NamedTuple):
    """How many entries a logger run has received and where they went.

    Every object put ends up in exactly one of `written`, `rejected`, `failed` and `lost`, or is still `pending`:
    accepted into a producer's buffer but not processed yet (while the run goes on), or left unaccounted for by a
    `stop()` that reported why.
    """

    submitted: int
    """Objects put on the input queue (accepted into a producer's buffer)."""
    written: int
    """Entries written to disk."""
    rejected: int
    """Objects that were not valid log packages and were skipped."""
    failed: int
    """Entries that could not be written because of a disk or file-system error."""
    bytes_written: int
    """The total size of the entry files (or stream records) written, in bytes."""
    recovered: int = 0
    """Entries, among `written`, that `stop()` wrote from shared memory after the logger process died."""
    lost: int = 0
    """Entries accepted into a buffer that could not be read back from it (a failed checksum, a removed segment)."""

    @property
    def pending(self) -> int:
        """Objects put but not (yet) written, rejected, failed or lost."""
        return self.submitted - self.written - self.rejected - self.failed - self.lost
