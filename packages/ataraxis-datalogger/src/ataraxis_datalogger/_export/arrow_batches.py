"""One source's entries as Arrow record batches and tables, built on an archive's own columns where they allow it.

An archive's columns already have Arrow's layout: `timestamps` is a uint64 column, and `offsets` (N + 1 values from
0) with `payloads` (all payload bytes, in order) are exactly the offsets and data buffers of a `large_binary`
column. So when every entry of a source comes from its archive, the timestamps and offsets loaded when the archive
was opened become the table's buffers without a copy, and the payload bytes are read (and, in format 2, checked
against their checksums) into one buffer with one read: no Python object is made per entry. Entries from anywhere
else (loose entry files, an archive merged with newer entries) are gathered, a bounded batch at a time, into new
buffers, as are the entries of any part of an archive found damaged: those are read through the reader's own
iteration, so that its `on_damage` policy decides whether they are skipped with a warning or raise.
"""

from collections.abc import Iterator
from typing import Any, Final, cast

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from .._files.archive_file import ArchiveFile
from .._read.merged_source import MergedSource

_FIELDS: Final["list[pa.Field[Any]]"] = [
    pa.field("source_id", pa.uint8(), nullable=False),
    pa.field("timestamp", pa.uint64(), nullable=False),
    pa.field("payload", pa.large_binary(), nullable=False),
]
SCHEMA: Final = pa.schema(_FIELDS)
"""The columns of every table and record batch: the source, the entry's timestamp and its payload bytes."""

BATCH_BYTES: Final = 8 << 20
"""Payload bytes of one record batch, at most (a single larger entry makes a batch of its own)."""
BATCH_ROWS: Final = 65536
"""Entries of one record batch, at most."""


def whole_archive(source: MergedSource) -> ArchiveFile | None:
    """Returns the source's archive if every entry of the source is read from it, else None."""
    archive = source.archive
    if archive is None or archive.timestamps.size != source.timestamps.size:
        return None
    return archive


def source_table(source: MergedSource) -> pa.Table:
    """Returns every entry of a source as one table (see the module description for what is copied)."""
    archive = whole_archive(source)
    if archive is not None:
        with archive.cursor() as cursor:
            payloads = cursor.read_range(0, archive.payload_bytes)
        if payloads.problem is None:
            batch = _batch(source.source_id, archive.timestamps, archive.offsets.view(np.int64), payloads.data)
            return pa.Table.from_batches([batch], schema=SCHEMA)
    return pa.Table.from_batches(list(record_batches(source)), schema=SCHEMA)


def record_batches(
    source: MergedSource, *, max_bytes: int = BATCH_BYTES, max_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Yields a source's entries, in reading order, as record batches of bounded size.

    Args:
        source: The source.
        max_bytes: The payload bytes of one batch, at most (unless one entry alone is larger).
        max_rows: The entries of one batch, at most.
    """
    archive = whole_archive(source)
    if archive is None:
        yield from _gathered_batches(source, 0, source.timestamps.size, max_bytes, max_rows)
    else:
        yield from _archive_batches(source, archive, max_bytes, max_rows)


def _archive_batches(
    source: MergedSource, archive: ArchiveFile, max_bytes: int, max_rows: int
) -> Iterator[pa.RecordBatch]:
    offsets, count = archive.offsets, archive.timestamps.size
    with archive.cursor() as cursor:
        position = 0
        while position < count:
            base = int(offsets[position])
            fitting = int(np.searchsorted(offsets, np.uint64(base + max_bytes), side="right")) - 1
            end = min(count, position + max_rows, max(position + 1, fitting))
            payloads = cursor.read_range(base, int(offsets[end]))
            if payloads.problem is not None:
                # The reader's own iteration skips what is damaged (warning) or raises, as its policy says; past
                # bytes that cannot be read at all, it skips the rest of the source in one warning.
                stop = count if payloads.unreadable_from is not None else end
                yield from _gathered_batches(source, position, stop, max_bytes, max_rows)
                position = stop
                continue
            rebased = (offsets[position : end + 1] - np.uint64(base)).view(np.int64)
            yield _batch(source.source_id, archive.timestamps[position:end], rebased, payloads.data)
            position = end


def _gathered_batches(
    source: MergedSource, first: int, last: int, max_bytes: int, max_rows: int
) -> Iterator[pa.RecordBatch]:
    """Yields entries `first` to `last` of the reading order, read one by one, as batches.

    The timestamps are those the iteration yields, not the source's: an entry skipped as damaged has none.
    """
    stamps: list[int] = []
    payloads: list[NDArray[np.uint8]] = []
    size = 0
    for stamp, payload in source.entries(first, last):
        # A batch closes before the entry that would take it past a limit (an entry alone may exceed max_bytes).
        if payloads and (len(payloads) == max_rows or size + payload.size > max_bytes):
            yield _gathered(source.source_id, stamps, payloads)
            stamps, payloads, size = [], [], 0
        stamps.append(stamp)
        payloads.append(payload)
        size += payload.size
    if payloads:
        yield _gathered(source.source_id, stamps, payloads)


def _gathered(source_id: int, stamps: list[int], payloads: list[NDArray[np.uint8]]) -> pa.RecordBatch:
    """Builds a batch from entries read one by one."""
    offsets = np.zeros(len(payloads) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads)), out=offsets[1:])
    # Joining the arrays as buffers is three times faster than numpy.concatenate for small entries; the cast only
    # tells the type checker what the buffer protocol already guarantees.
    data = np.frombuffer(b"".join(cast("list[bytes]", payloads)), dtype=np.uint8)
    return _batch(source_id, np.array(stamps, dtype=np.uint64), offsets, data)


def _batch(
    source_id: int, timestamps: NDArray[np.uint64], offsets: NDArray[np.int64], payloads: NDArray[np.uint8]
) -> pa.RecordBatch:
    """Wraps the three buffers of a batch (offsets rebased to start at 0) without copying them."""
    count = timestamps.size
    columns: list[pa.Array[Any]] = [
        pa.Array.from_buffers(pa.uint8(), count, [None, _buffer(np.full(count, source_id, dtype=np.uint8))]),
        pa.Array.from_buffers(pa.uint64(), count, [None, _buffer(timestamps)]),
        pa.Array.from_buffers(pa.large_binary(), count, [None, _buffer(offsets), _buffer(payloads)]),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def _buffer(array: NDArray[Any]) -> pa.Buffer:
    """Returns an Arrow buffer over a one-dimensional array's memory (the buffer keeps the array alive)."""
    return pa.py_buffer(np.ascontiguousarray(array).data)
