"""Checks the logs read back from disk against what the producers say they sent, and prints the summary."""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .producers import PayloadPattern
from .settings import SourceSettings


@dataclass
class SourceSummary:
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
    """The earliest entry's timestamp."""
    last_ns: int = 0
    """The latest entry's timestamp."""
    corrupted: int = 0
    """Entries whose payload is not one the producer made."""
    duplicated: int = 0
    """Entries holding a message that an earlier entry already held."""
    out_of_order: int = 0
    """Entries that do not follow the previous one in the producer's sending order."""
    unexpected: int = 0
    """Intact entries with a sequence number the producer never reported sending."""
    lost: int = 0
    """Messages the producer sent that are not in the logs."""

    @property
    def ok(self) -> bool:
        """Whether every sent message is in the logs exactly once, intact and in order."""
        return not (self.lost or self.corrupted or self.duplicated or self.out_of_order or self.unexpected)

    @property
    def span_s(self) -> float:
        """The time between the first and the last entry, in seconds."""
        return (self.last_ns - self.first_ns) / 1e9


def verify_source(source: SourceSettings, sent: int, entries: Iterable[tuple[int, NDArray[np.uint8]]]) -> SourceSummary:
    """Verifies one source's entries, in the order the log reader returns them (timestamp order).

    Args:
        source: The source the entries belong to.
        sent: How many messages the producer reported sending.
        entries: `(timestamp, payload)` pairs read back from the logs.

    Returns:
        The summary of what was found.
    """
    summary = SourceSummary(source=source, sent=sent)
    pattern = PayloadPattern(source)
    received = bytearray(sent)
    previous_sequence = -1
    for time_stamp, payload in entries:
        if summary.logged == 0:
            summary.first_ns = int(time_stamp)
        summary.last_ns = int(time_stamp)
        summary.logged += 1
        summary.payload_bytes += payload.size
        sequence = pattern.check(payload)
        if sequence is None:
            summary.corrupted += 1
            continue
        if sequence != previous_sequence + 1:
            summary.out_of_order += 1
        previous_sequence = sequence
        if sequence >= sent:
            summary.unexpected += 1
        elif received[sequence]:
            summary.duplicated += 1
        else:
            received[sequence] = 1
    summary.lost = sent - sum(received)
    return summary


def format_summary(summaries: list[SourceSummary]) -> str:
    """Returns the summary table: one row per source, and the verdict."""
    header = ("source", "id", "sent", "logged", "MiB", "entries/s", "span s", "lost", "damaged")
    rows = [
        (
            summary.source.name,
            str(summary.source.source_id),
            f"{summary.sent:,}",
            f"{summary.logged:,}",
            f"{summary.payload_bytes / 2**20:.2f}",
            f"{summary.logged / summary.span_s:,.0f}" if summary.span_s > 0 else "-",
            f"{summary.span_s:.2f}",
            f"{summary.lost:,}",
            f"{summary.corrupted + summary.duplicated + summary.out_of_order + summary.unexpected:,}",
        )
        for summary in summaries
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(width) if column else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
