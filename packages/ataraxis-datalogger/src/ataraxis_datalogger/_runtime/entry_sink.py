"""Writing records from a producer buffer as one `.npy` file per entry (the default layout).

Each entry is made in the two steps `EntryCreator` offers: its file is created and written unnamed, its inode is
staged in the slot's progress, then the file is linked to its name and the progress committed (see `progress`). A
logger process killed between the link and the commit leaves the staged inode, which `recover` finds under the
entry's name: the entry counts as written and is not written again.
"""

from typing import Final

from .._files.entry_creator import EntryCreator
from .._format.entry import encode_entry_prefix
from .._format.stream import Kind
from .layout import (
    P_AUX,
    P_CURSOR_BYTES,
    P_CURSOR_RECORDS,
    P_FAILED,
    P_LOST,
    P_RECOVERED,
    P_REJECTED,
    P_WRITTEN,
    P_WRITTEN_BYTES,
)
from .progress import Operation
from .records import Damage, Record, TransportKind, text, walk
from .reports import FAILED, REJECTED, Reporter
from .slot_buffer import SlotBuffer

MAX_RECORDS_PER_CALL: Final = 512
"""The most records one `consume` call handles, so that every buffer is served in turn and its room freed soon."""


class EntryFileSink:
    """Writes each entry record to its own `.npy` file.

    Args:
        creator: Creates the files in the log folder.
        reporter: Receives descriptions of rejected objects and failed writes.
        recovering: True when draining after the logger process died: written entries also count as recovered.
    """

    def __init__(self, creator: EntryCreator, reporter: Reporter, *, recovering: bool) -> None:
        self._files = creator
        self._reporter = reporter
        self._recovering = recovering

    def consume(self, buffer: SlotBuffer, start: int, end: int, *, verify: bool) -> Damage | None:
        """Writes the records of `buffer` from position `start` towards `end` (a bounded number per call).

        Returns:
            The damaged place that stopped the walk, if any (nothing after it was consumed).
        """
        segment = buffer.segment
        for count, item in enumerate(walk(segment.data, segment.capacity, start, end, verify=verify)):
            if isinstance(item, Damage):
                return item
            self._write(buffer, item)
            if count + 1 >= MAX_RECORDS_PER_CALL:
                break
        return None

    def _write(self, buffer: SlotBuffer, record: Record) -> None:
        progress = buffer.progress
        values = progress.values.copy()
        values[P_CURSOR_BYTES] = record.end
        values[P_CURSOR_RECORDS] += 1
        if record.kind == TransportKind.REJECTED:
            values[P_REJECTED] += 1
            progress.store(values)
            self._reporter.report(REJECTED, text(record.payload))
            return
        if record.kind != Kind.ENTRY:
            values[P_LOST] += 1
            progress.store(values)
            return
        prefix = encode_entry_prefix(record.source_id, record.time_stamp, record.length)
        try:
            unnamed = self._files.create([prefix, *record.payload])
        except OSError as error:
            self._fail(buffer, values, record, error)
            return
        try:
            values[P_WRITTEN] += 1
            values[P_WRITTEN_BYTES] += len(prefix) + record.length
            if self._recovering:
                values[P_RECOVERED] += 1
            values[P_AUX : P_AUX + 3] = [Operation.ENTRY_FILE, unnamed.inode, unnamed.device]
            progress.stage(values)
            try:
                self._files.link(unnamed, record.source_id, record.time_stamp)
            except OSError as error:
                progress.discard()
                failed = progress.values.copy()
                failed[P_CURSOR_BYTES] = record.end
                failed[P_CURSOR_RECORDS] += 1
                self._fail(buffer, failed, record, error)
                return
            progress.commit()
        finally:
            self._files.discard(unnamed)

    def _fail(self, buffer: SlotBuffer, values: list[int], record: Record, error: OSError) -> None:
        values[P_FAILED] += 1
        buffer.progress.store(values)
        message = f"entry of source {record.source_id} at {record.time_stamp}: {self._files.explain(error)}"
        self._reporter.report(FAILED, message)

    def recover(self, buffer: SlotBuffer, staged: list[int]) -> None:
        """Commits a killed drainer's staged entry if its file got its name, else discards it (it is written again)."""
        progress = buffer.progress
        if staged[P_AUX] != Operation.ENTRY_FILE:
            progress.discard()
            return
        segment = buffer.segment
        cursor = progress.values[P_CURSOR_BYTES]
        first = next(walk(segment.data, segment.capacity, cursor, staged[P_CURSOR_BYTES], verify=True), None)
        if isinstance(first, Record) and self._files.linked_name(
            first.source_id, first.time_stamp, staged[P_AUX + 1], staged[P_AUX + 2]
        ):
            progress.commit()
        else:
            progress.discard()

    def idle(self) -> None:
        """Nothing to do between batches."""

    def sync(self) -> None:
        """Flushes the folder's file system to the disk."""
        self._files.sync()

    def close(self) -> None:
        """Closes the log folder."""
        self._files.close()
