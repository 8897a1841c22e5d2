"""Checks the logs read back from disk against what the producers say they sent."""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .producers import PayloadPattern
from .settings import SourceSettings


@dataclass
class SourceVerdict:
    """The verdict on one source's logs."""

    source: SourceSettings
    """The source the logs came from."""
    sent: int
    """Messages the producer reported putting on the queue."""
    logged: int = 0
    """Entries found in the logs."""
    payload_bytes: int = 0
    """Payload bytes in those entries."""
    first_ns: int = 0
    """The earliest entry's timestamp, in nanoseconds (`time.monotonic_ns()` of its producer)."""
    last_ns: int = 0
    """The latest entry's timestamp, in nanoseconds (`time.monotonic_ns()` of its producer)."""
    corrupted: int = 0
    """Entries whose payload is not one the producer made."""
    duplicated: int = 0
    """Entries holding a message that an earlier entry already held."""
    out_of_order: int = 0
    """Entries that come after an entry the producer sent later than them."""
    unexpected: int = 0
    """Intact entries with a sequence number the producer never reported sending."""
    lost: int = 0
    """Messages the producer sent that are not in the logs."""

    @property
    def damaged(self) -> int:
        """Entries that are corrupted, duplicated, out of order or unexpected."""
        return self.corrupted + self.duplicated + self.out_of_order + self.unexpected

    @property
    def ok(self) -> bool:
        """Whether every sent message is in the logs exactly once, intact and in order."""
        return not (self.lost or self.damaged)

    @property
    def span_s(self) -> float:
        """The time between the first and the last entry, in seconds."""
        return (self.last_ns - self.first_ns) / 1e9


def verify_source(source: SourceSettings, sent: int, entries: Iterable[tuple[int, NDArray[np.uint8]]]) -> SourceVerdict:
    """Verifies one source's entries, in the order the log reader returns them (timestamp order).

    Args:
        source: The source the entries belong to.
        sent: How many messages the producer reported sending.
        entries: `(timestamp, payload)` pairs read back from the logs.

    Returns:
        The verdict on what was found.
    """
    verdict = SourceVerdict(source=source, sent=sent)
    pattern = PayloadPattern(source)
    received = bytearray(sent)
    previous_sequence = -1
    for time_stamp, payload in entries:
        if verdict.logged == 0:
            verdict.first_ns = int(time_stamp)
        verdict.last_ns = int(time_stamp)
        verdict.logged += 1
        verdict.payload_bytes += payload.size
        sequence = pattern.check(payload)
        if sequence is None:
            verdict.corrupted += 1
            continue
        if sequence < previous_sequence:
            verdict.out_of_order += 1
        previous_sequence = max(previous_sequence, sequence)
        if sequence >= sent:
            verdict.unexpected += 1
        elif received[sequence]:
            verdict.duplicated += 1
        else:
            received[sequence] = 1
    verdict.lost = sent - sum(received)
    return verdict
