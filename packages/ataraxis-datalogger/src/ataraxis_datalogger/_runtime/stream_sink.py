"""Writing records from a producer buffer to stream segments (`layout="stream"`).

The buffer already holds the records in their on-disk form, so a batch is the buffer's published byte range, handed
to `StreamSegmentWriter.write` as one or two pieces, with no Python work per record. The records are walked only
when they must be: the range holds transport control records (which never reach a file), the range is larger than
`MAX_WRITE_BYTES` (it is cut at a record boundary), or the producer died (every record's checksum is checked).

A batch is staged in the slot's progress with the stream writer's id and its count of records written before the
batch (see `progress`). If the logger process dies before it commits the batch, whoever drains next counts the
records of that writer's segments on disk (a torn record at the end of its last segment does not count, and is cut
off): exactly the batch's first records that reached the disk are committed, and the rest are written again.
"""

import contextlib
import os
from pathlib import Path
from typing import Final

from .._files.stream_reader import SegmentReader
from .._files.stream_writer import StreamSegmentWriter
from .._format.stream import (
    RECORD_HEADER,
    SEGMENT_END_SIZE,
    Kind,
    decode_segment_end,
    parse_segment_file_name,
)
from ..exceptions import StreamFormatError
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
from .records import Damage, Record, TransportKind, pieces, text, walk
from .reports import FAILED, REJECTED, Reporter
from .slot_buffer import SlotBuffer

MAX_WRITE_BYTES: Final = 4 << 20
"""The most bytes one write appends (a larger published range is cut at a record boundary; a larger record is
written alone): page-cache writes of many megabytes at once are slower than writes of a few."""


class StreamSink:
    """Appends record batches to stream segments.

    Args:
        writer: The stream writer (it starts its own segments: never one a killed writer left).
        reporter: Receives descriptions of rejected objects and failed writes.
        recovering: True when draining after the logger process died: written entries also count as recovered.
    """

    def __init__(self, writer: StreamSegmentWriter, reporter: Reporter, *, recovering: bool) -> None:
        self._writer = writer
        self._reporter = reporter
        self._recovering = recovering
        identity = writer.writer_id
        self._identity = [int.from_bytes(identity[:8], "little"), int.from_bytes(identity[8:16], "little")]

    def consume(self, buffer: SlotBuffer, start: int, end: int, *, verify: bool) -> Damage | None:
        """Appends the records of `buffer` from position `start` towards `end` (one write, bounded).

        Returns:
            The damaged place that stopped the walk, if any (the records before it are written).
        """
        progress = buffer.progress
        values = progress.values.copy()
        segment = buffer.segment
        quick = (
            not verify
            and end - start <= MAX_WRITE_BYTES
            and end == buffer.published_bytes
            and buffer.controls_published == values[P_REJECTED]
        )
        damage = None
        if quick:
            batch = pieces(segment.data, segment.capacity, start, end)
            entries = buffer.published_records - values[P_CURSOR_RECORDS]
            values[P_CURSOR_BYTES] = end
            values[P_CURSOR_RECORDS] += entries
            entry_bytes = end - start
        else:
            batch, entries, entry_bytes, damage = self._walk(buffer, values, start, end, verify=verify)
        values[P_WRITTEN] += entries
        values[P_WRITTEN_BYTES] += entry_bytes
        if self._recovering:
            values[P_RECOVERED] += entries
        if not entries:
            progress.store(values)
            return damage
        values[P_AUX : P_AUX + 4] = [Operation.STREAM_WRITE, self._writer.records_written, *self._identity]
        progress.stage(values)
        try:
            self._writer.write(batch, entries)
        except OSError as error:
            progress.discard()
            failed = progress.values.copy()
            failed[P_CURSOR_BYTES], failed[P_CURSOR_RECORDS] = values[P_CURSOR_BYTES], values[P_CURSOR_RECORDS]
            failed[P_REJECTED] = values[P_REJECTED]
            failed[P_FAILED] += entries
            progress.store(failed)
            self._reporter.report(FAILED, f"{entries} entries: {error}")
        else:
            progress.commit()
        return damage

    def _walk(
        self, buffer: SlotBuffer, values: list[int], start: int, end: int, *, verify: bool
    ) -> tuple[list[memoryview], int, int, Damage | None]:
        """Collects the entry records from `start`: at most `MAX_WRITE_BYTES`, at least one record.

        `values` is updated for every record taken. Returns the pieces, the entries, their bytes and any damage.
        """
        segment = buffer.segment
        batch: list[memoryview] = []
        entries = entry_bytes = 0
        run_start = start
        position = start
        for item in walk(segment.data, segment.capacity, start, end, verify=verify):
            if isinstance(item, Damage):
                batch += pieces(segment.data, segment.capacity, run_start, position) if position > run_start else []
                return batch, entries, entry_bytes, item
            if position > start and item.end - start > MAX_WRITE_BYTES:
                break
            if item.kind != Kind.ENTRY:
                batch += pieces(segment.data, segment.capacity, run_start, position) if position > run_start else []
                run_start = item.end
                self._control(values, item)
            else:
                entries += 1
                entry_bytes += item.size
            position = item.end
            values[P_CURSOR_BYTES] = position
            values[P_CURSOR_RECORDS] += 1
        batch += pieces(segment.data, segment.capacity, run_start, position) if position > run_start else []
        return batch, entries, entry_bytes, None

    def _control(self, values: list[int], record: Record) -> None:
        """Accounts for a control record in the batch's progress."""
        if record.kind == TransportKind.REJECTED:
            values[P_REJECTED] += 1
            self._reporter.report(REJECTED, text(record.payload))
        else:
            values[P_LOST] += 1

    def recover(self, buffer: SlotBuffer, staged: list[int]) -> None:
        """Commits the part of a killed drainer's staged batch that its stream writer's segments hold."""
        progress = buffer.progress
        if staged[P_AUX] != Operation.STREAM_WRITE:
            progress.discard()
            return
        identity = b"".join(word.to_bytes(8, "little") for word in staged[P_AUX + 2 : P_AUX + 4])
        landed = entry_records_on_disk(self._writer.directory, identity) - staged[P_AUX + 1]
        values = progress.values.copy()
        progress.discard()
        if landed <= 0:
            return
        segment = buffer.segment
        for item in walk(segment.data, segment.capacity, values[P_CURSOR_BYTES], staged[P_CURSOR_BYTES], verify=True):
            if isinstance(item, Damage) or landed == 0:
                break
            if item.kind == Kind.ENTRY:
                landed -= 1
                values[P_WRITTEN] += 1
                values[P_WRITTEN_BYTES] += item.size
                if staged[P_RECOVERED] > values[P_RECOVERED]:
                    values[P_RECOVERED] += 1
            else:
                self._control(values, item)
            values[P_CURSOR_BYTES] = item.end
            values[P_CURSOR_RECORDS] += 1
        progress.store(values)

    def idle(self) -> None:
        """Syncs if the sync policy's interval has passed."""
        self._writer.sync_if_due()

    def sync(self) -> None:
        """Makes every record written durable."""
        self._writer.sync()

    def close(self) -> None:
        """Ends the current segment."""
        self._writer.close()


def entry_records_on_disk(directory: Path, writer_id: bytes) -> int:
    """Counts the valid entry records of the segments one (dead) stream writer left in `directory`.

    A closed segment says its count in its segment end; an unclosed one is read through, and a torn record at its
    end (the write its writer was killed in) is cut off, so that it reads as a clean end rather than as damage.
    """
    total = 0
    for name in sorted(os.listdir(directory)):
        if parse_segment_file_name(name) is None:
            continue
        path = directory / name
        try:
            reader = SegmentReader(path, on_damage="collect")
        except (OSError, StreamFormatError):
            continue
        with reader:
            if reader.header.writer_id != writer_id:
                continue
            closed = _closed_count(path)
            if closed is not None:
                total += closed
                continue
            for _ in reader.batches():
                pass
            total += reader.entry_records
            torn = [damage for damage in reader.damage if damage.torn_tail]
        if torn:
            with contextlib.suppress(OSError):
                os.truncate(path, torn[-1].offset)
    return total


def _closed_count(path: Path) -> int | None:
    """Returns the entry records a closed segment's end says it holds, or None if it has no valid segment end."""
    import zlib

    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size < SEGMENT_END_SIZE:
                return None
            data = os.pread(file.fileno(), SEGMENT_END_SIZE, size - SEGMENT_END_SIZE)
    except OSError:
        return None
    crc, length, time_stamp, _, kind, _ = RECORD_HEADER.unpack_from(data)
    body_end = RECORD_HEADER.size + length
    if kind != Kind.SEGMENT_END or body_end > len(data) or zlib.crc32(data[4:body_end]) != crc:
        return None
    try:
        end = decode_segment_end(time_stamp, memoryview(data)[RECORD_HEADER.size : body_end])
    except StreamFormatError:
        return None
    return end.entry_records if end.offset == size - SEGMENT_END_SIZE else None
