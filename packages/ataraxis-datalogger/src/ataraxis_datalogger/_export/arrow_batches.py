"""One source's entries as Arrow record batches and tables, zero-copy from an archive's columns where they allow it.

An archive's columns already have Arrow's layout: `timestamps` is a uint64 column, and `offsets` (N + 1 values from
0) with `payloads` (all payload bytes, in order) are exactly the offsets and data buffers of a `large_binary`
column. So when every entry of a source comes from its archive, the buffers are handed to Arrow as they are: a
stored archive's payloads are its memory map (nothing is copied or read until used), a compressed one's are
decompressed once. Entries from anywhere else (loose entry files, an archive merged with newer entries) are
gathered, a bounded batch at a time, into new buffers.
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
    """Returns every entry of a source as one table (see the module description for when it is zero-copy)."""
    archive = whole_archive(source)
    if archive is None:
        return pa.Table.from_batches(list(record_batches(source)), schema=SCHEMA)
    with archive.cursor() as cursor:
        payloads = cursor.read(0, archive.payload_bytes)
    batch = _batch(source.source_id, archive.timestamps, archive.offsets.view(np.int64), payloads)
    return pa.Table.from_batches([batch], schema=SCHEMA)


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
        yield from _gathered_batches(source, max_bytes, max_rows)
    else:
        yield from _archive_batches(source.source_id, archive, max_bytes, max_rows)


def _archive_batches(source_id: int, archive: ArchiveFile, max_bytes: int, max_rows: int) -> Iterator[pa.RecordBatch]:
    offsets, count = archive.offsets, archive.timestamps.size
    with archive.cursor() as cursor:
        position = 0
        while position < count:
            base = int(offsets[position])
            fitting = int(np.searchsorted(offsets, np.uint64(base + max_bytes), side="right")) - 1
            end = min(count, position + max_rows, max(position + 1, fitting))
            payloads = cursor.read(base, int(offsets[end]))
            rebased = (offsets[position : end + 1] - np.uint64(base)).view(np.int64)
            yield _batch(source_id, archive.timestamps[position:end], rebased, payloads)
            position = end


def _gathered_batches(source: MergedSource, max_bytes: int, max_rows: int) -> Iterator[pa.RecordBatch]:
    count = source.timestamps.size
    payloads: list[NDArray[np.uint8]] = []
    size = first = 0
    for _, payload in source.entries(0, count):
        # A batch closes before the entry that would take it past a limit (an entry alone may exceed max_bytes).
        if payloads and (len(payloads) == max_rows or size + payload.size > max_bytes):
            yield _gathered(source, first, payloads)
            first += len(payloads)
            payloads, size = [], 0
        payloads.append(payload)
        size += payload.size
    if payloads:
        yield _gathered(source, first, payloads)


def _gathered(source: MergedSource, first: int, payloads: list[NDArray[np.uint8]]) -> pa.RecordBatch:
    """Builds a batch of entries `first` onwards from their payloads, read one by one."""
    offsets = np.zeros(len(payloads) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads)), out=offsets[1:])
    # Joining the arrays as buffers is three times faster than numpy.concatenate for small entries; the cast only
    # tells the type checker what the buffer protocol already guarantees.
    data = np.frombuffer(b"".join(cast("list[bytes]", payloads)), dtype=np.uint8)
    return _batch(source.source_id, source.timestamps[first : first + len(payloads)], offsets, data)


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
