"""Checking a chunk of segment bytes: the run of valid entry records it starts with, found in one pass.

Finding where records start is sequential (each record's length says where the next one starts), so it is a short
Python loop that reads only lengths. Everything else is done for the whole run at once: the checksums through
`map(zlib.crc32, ...)` (a loop in C), the header fields through NumPy gathers. A record that does not verify ends
the run; the segment reader decides what it is (damage, the segment end, a record still being written).
"""

import struct
import zlib
from array import array
from collections.abc import Iterator
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._format.stream import ALIGNMENT, RECORD_HEADER_SIZE, Kind

Record = tuple[int, int, int, memoryview]
"""One entry record read from a segment: its offset in the segment, source id, time stamp and payload (a read-only
view into the bytes it was read with)."""

_length_at = struct.Struct("<I").unpack_from
_crc32 = zlib.crc32
_ENTRY: Final = int(Kind.ENTRY)


class RecordBatch:
    """Consecutive entry records of one segment, every checksum verified, held in the bytes they were read with.

    Args:
        data: The bytes read from the segment.
        offset: Where `data` starts in the segment.
        starts: Where each record starts in `data`.
        lengths: Each record's payload length.
        source_ids: Each record's source id.
        time_stamps: Each record's time stamp.
    """

    __slots__ = ("data", "lengths", "offset", "source_ids", "starts", "time_stamps")

    def __init__(
        self,
        data: bytes,
        offset: int,
        starts: NDArray[np.int64],
        lengths: NDArray[np.int64],
        source_ids: NDArray[np.uint8],
        time_stamps: NDArray[np.uint64],
    ) -> None:
        self.data = data
        """The bytes read from the segment."""
        self.offset = offset
        """Where `data` starts in the segment."""
        self.starts = starts
        """Where each record starts in `data`."""
        self.lengths = lengths
        """Each record's payload length."""
        self.source_ids = source_ids
        """Each record's source id."""
        self.time_stamps = time_stamps
        """Each record's time stamp."""

    def __len__(self) -> int:
        """Returns the number of records."""
        return int(self.starts.size)

    @property
    def end(self) -> int:
        """Where the record after the last one starts in the segment (`offset` for an empty batch)."""
        if not self.starts.size:
            return self.offset
        return self.offset + _padded(int(self.starts[-1]) + RECORD_HEADER_SIZE + int(self.lengths[-1]))

    def select(self, chosen: NDArray[np.bool_]) -> "RecordBatch":
        """Returns the records for which `chosen` is True, as a batch over the same bytes.

        Args:
            chosen: One flag per record.
        """
        return RecordBatch(
            self.data,
            self.offset,
            self.starts[chosen],
            self.lengths[chosen],
            self.source_ids[chosen],
            self.time_stamps[chosen],
        )

    def file_offsets(self) -> NDArray[np.int64]:
        """Returns where each record starts in the segment."""
        return self.starts + self.offset

    def payload_arrays(self) -> Iterator[NDArray[np.uint8]]:
        """Yields each payload as a read-only uint8 array viewing `data` (built in C, no bytecode per record)."""
        block = np.frombuffer(self.data, dtype=np.uint8)
        first = self.starts + RECORD_HEADER_SIZE
        return map(block.__getitem__, map(slice, first.tolist(), (first + self.lengths).tolist()))

    def records(self) -> Iterator[Record]:
        """Yields `(offset, source_id, time_stamp, payload)` per record, the payload a memoryview of `data`."""
        view = memoryview(self.data)
        first = self.starts + RECORD_HEADER_SIZE
        payloads = map(view.__getitem__, map(slice, first.tolist(), (first + self.lengths).tolist()))
        return zip(
            self.file_offsets().tolist(),
            self.source_ids.tolist(),
            self.time_stamps.tolist(),
            payloads,
            strict=True,
        )


def verified_run(data: bytes, offset: int) -> tuple[RecordBatch, int, bool]:
    """Finds the valid entry records `data` starts with.

    Args:
        data: Bytes of a segment, starting at a record.
        offset: Where `data` starts in the segment.

    Returns:
        The run of valid entry records; where, in `data`, the first position after them is; and True if a whole
        record there did not verify (or is not an entry), False if `data` ended (the next record, if any, does not
        fit in it).
    """
    length = len(data)
    starts: array[int] = array("q")
    local = 0
    limit = length - RECORD_HEADER_SIZE
    while local <= limit:
        stop = local + RECORD_HEADER_SIZE + _length_at(data, local + 4)[0]
        if stop > length:
            break
        starts.append(local)
        local = (stop + ALIGNMENT - 1) & ~(ALIGNMENT - 1)
    found = np.frombuffer(starts, dtype=np.int64)
    if not found.size:
        return _empty(data, offset), 0, False
    words = np.frombuffer(data, dtype="<u4", count=length // 4)
    quads = np.frombuffer(data, dtype="<u8", count=length // 8)
    octets = np.frombuffer(data, dtype=np.uint8)
    lengths = words[(found >> 2) + 1].astype(np.int64)
    view = memoryview(data)
    covered = map(view.__getitem__, map(slice, (found + 4).tolist(), (found + RECORD_HEADER_SIZE + lengths).tolist()))
    checksums = np.fromiter(map(_crc32, covered), dtype=np.uint32, count=found.size)
    valid = (checksums == words[found >> 2]) & (octets[found + 17] == _ENTRY)
    valid &= (octets[found + 18] == 0) & (octets[found + 19] == 0)
    invalid = np.flatnonzero(~valid)
    count = int(invalid[0]) if invalid.size else found.size
    run = RecordBatch(
        data,
        offset,
        found[:count],
        lengths[:count],
        octets[found[:count] + 16],
        quads[(found[:count] >> 3) + 1],
    )
    if count < found.size:
        return run, int(found[count]), True
    return run, local, False


def single_record(data: bytes, offset: int, source_id: int, time_stamp: int) -> RecordBatch:
    """Returns a batch of one record already verified (a record read alone because it is larger than a chunk).

    Args:
        data: The record's bytes.
        offset: Where the record starts in the segment.
        source_id: Its source id.
        time_stamp: Its time stamp.
    """
    return RecordBatch(
        data,
        offset,
        np.zeros(1, dtype=np.int64),
        np.array([len(data) - RECORD_HEADER_SIZE], dtype=np.int64),
        np.array([source_id], dtype=np.uint8),
        np.array([time_stamp], dtype=np.uint64),
    )


def _empty(data: bytes, offset: int) -> RecordBatch:
    nothing = np.empty(0, dtype=np.int64)
    return RecordBatch(data, offset, nothing, nothing, np.empty(0, np.uint8), np.empty(0, np.uint64))


def _padded(length: int) -> int:
    return (length + ALIGNMENT - 1) & ~(ALIGNMENT - 1)
