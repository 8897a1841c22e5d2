"""Where reading resumes after damage in a segment: candidate records, and the segment end as an anchor.

A record's bytes do not depend on where it lies, so a payload that holds bytes in the record format (a producer
logging part of a segment, or a hostile one) holds records that verify. Reading record after record never looks
inside a payload; but once a damaged record's length no longer says where it ends, the reader has to look for the
next record, and could stop in that payload. Confirming a record by the one after it does not help: the embedded
records confirm each other.

A closed segment anchors the search. Its segment end says where it lies and how many entry records precede it, and
the true records after the damage are a chain of valid records (each starting where the one before ends) that ends
exactly there. So the reader resumes at the first position from which such a chain leads to the segment end with no
more entry records than the segment end leaves room for (it counts every entry record, and the damage lost at least
one). Records inside the damaged payload fail this: their chain either breaks or, if it runs on into the real
records, counts the embedded ones too, one too many at least. Making a chain through later records would take
checksums over bytes written after the payload, which its producer cannot know.

Where no chain reaches the segment end (more damage further on, a segment end that is itself damaged, or a segment
being written or left unclosed), there is no anchor, and the reader falls back to the first confirmed record; the
segment end's count, when there is one, then still exposes records too many (see the "Stream segments" page).
"""

import os
import zlib
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._format.stream import (
    ALIGNMENT,
    RECORD_HEADER,
    RECORD_HEADER_SIZE,
    SEGMENT_END_SIZE,
    Kind,
    SegmentEnd,
    decode_segment_end,
)
from ..exceptions import StreamFormatError
from .record_batch import verified_run

SCAN_WINDOW: Final = 1 << 20
"""The bytes scanned for candidate records at once."""
_CHUNK_BYTES: Final = 8 << 20
_ENTRY: Final = int(Kind.ENTRY)
_SEGMENT_END: Final = int(Kind.SEGMENT_END)
_crc32 = zlib.crc32


def closing_end(descriptor: int, size: int) -> SegmentEnd | None:
    """Returns the segment end that closes a segment of `size` bytes, or None if its last bytes are not one.

    Args:
        descriptor: The segment, open for reading.
        size: Its size.
    """
    start = size - SEGMENT_END_SIZE
    if start < 0:
        return None
    data = os.pread(descriptor, SEGMENT_END_SIZE, start)
    if len(data) < SEGMENT_END_SIZE:
        return None
    crc, length, time_stamp, _, kind, reserved = RECORD_HEADER.unpack_from(data)
    stop = RECORD_HEADER_SIZE + length
    if kind != _SEGMENT_END or reserved or stop > len(data) or _crc32(memoryview(data)[4:stop]) != crc:
        return None
    try:
        end = decode_segment_end(time_stamp, memoryview(data)[RECORD_HEADER_SIZE:stop])
    except StreamFormatError:
        return None
    return end if end.offset == start else None


class AnchoredChains:
    """Follows chains of valid entry records towards a closed segment's end.

    Args:
        descriptor: The segment, open for reading.
        end_offset: Where its segment end starts.
    """

    def __init__(self, descriptor: int, end_offset: int, start: int) -> None:
        self._descriptor = descriptor
        self._end_offset = end_offset
        self._budget = 2 * max(0, end_offset - start) + _CHUNK_BYTES
        """Bytes the walks may still read: chains that break (more damage further on) would otherwise be walked
        again from each record before the break."""
        self._known = np.empty(0, dtype=np.int64)
        """The starts of the records of a chain found to reach the segment end, ascending: a chain that joins it
        needs no second walk to the end (a payload full of embedded records would otherwise cost one each)."""

    def first_start(self, start: int, room: int) -> int | None:
        """Returns the first position from `start` on whose chain of records to the segment end holds `room`.

        The chain holds exactly `room` entry records (for `room` 0, the position is the segment end itself).

        A chain holding more passes through embedded records: the search goes on. The first one holding fewer ends
        it (None): the damage cost more than one record, and a chain further on proves nothing about the bytes
        before it. So does running out of `_budget`.
        """
        if room < 0:
            return None
        return self._search(start, room)

    def _search(self, start: int, room: int) -> int | None:
        size = self._end_offset + SEGMENT_END_SIZE
        window_start = start
        while window_start <= self._end_offset:
            window = os.pread(
                self._descriptor, min(SCAN_WINDOW + RECORD_HEADER_SIZE, size - window_start), window_start
            )
            if len(window) < RECORD_HEADER_SIZE:
                return None
            for candidate in candidates(window):
                position = window_start + candidate
                if position > self._end_offset:
                    return None
                count = 0 if position == self._end_offset else self._chain_length(position)
                if self._budget < 0:
                    return None
                if count is None or count > room:
                    continue
                return position if count == room else None
            window_start += SCAN_WINDOW
        return None

    def _chain_length(self, start: int) -> int | None:
        """Returns the number of valid entry records that lead from `start` exactly to the segment end, or None."""
        count = 0
        walked: list[NDArray[np.int64]] = []
        position = start
        while position < self._end_offset:
            data = self._read(min(_CHUNK_BYTES, self._end_offset - position), position)
            if not data:
                return None
            run, consumed, _ = verified_run(data, position)
            if len(run):
                offsets = run.file_offsets()
                joined = self._join(offsets)
                if joined is not None:
                    index, rest = joined
                    return count + index + rest
                walked.append(offsets)
                count += len(run)
                position += consumed
                continue
            # No whole valid record starts the chunk: one larger than a chunk, or the chain breaks here.
            record_end = self._large_record_end(position)
            if record_end is None:
                return None
            walked.append(np.array([position], dtype=np.int64))
            count += 1
            position = record_end
        if position != self._end_offset:
            return None
        if not self._known.size and walked:
            self._known = np.concatenate(walked)
        return count

    def _join(self, offsets: NDArray[np.int64]) -> tuple[int, int] | None:
        """Returns (index in `offsets`, records from there to the end) where `offsets` joins the known chain."""
        if not self._known.size:
            return None
        places = np.searchsorted(self._known, offsets)
        inside = places < self._known.size
        hits = np.flatnonzero(inside & (self._known[np.minimum(places, self._known.size - 1)] == offsets))
        if not hits.size:
            return None
        index = int(hits[0])
        return index, self._known.size - int(places[index])

    def _large_record_end(self, position: int) -> int | None:
        """Returns where the valid entry record at `position` ends, if there is one (it did not fit in a chunk)."""
        head = self._read(RECORD_HEADER_SIZE, position)
        if len(head) < RECORD_HEADER_SIZE:
            return None
        crc, length, _, _, kind, reserved = RECORD_HEADER.unpack_from(head)
        stop = position + RECORD_HEADER_SIZE + int(length)
        if kind != _ENTRY or reserved or stop > self._end_offset:
            return None
        data = self._read(stop - position, position)
        if len(data) < stop - position or _crc32(memoryview(data)[4:]) != crc:
            return None
        return (stop + ALIGNMENT - 1) & ~(ALIGNMENT - 1)

    def _read(self, length: int, position: int) -> bytes:
        """Reads like `pread`, or returns nothing once the walks have read what they may (the chain then breaks)."""
        self._budget -= length
        if self._budget < 0:
            return b""
        return os.pread(self._descriptor, length, position)


def candidates(window: bytes) -> list[int]:
    """Returns the 8-byte aligned positions of `window` where a record could start.

    That is where the reserved bytes are zero, the kind is an entry or a segment end, and the record either lies
    inside the window with a checksum that verifies, or runs past the window's end (to be read and checked whole).
    Everything is checked at once for the whole window (a zeroed region left by a power cut has a candidate every
    8 bytes), so a long damaged range costs milliseconds per megabyte, not a system call per position.
    """
    count = (len(window) - RECORD_HEADER_SIZE) // ALIGNMENT + 1
    if count <= 0:
        return []
    data = np.frombuffer(window, dtype=np.uint8)
    kind = data[17 : 17 + count * ALIGNMENT : ALIGNMENT]
    plausible = (data[18 : 18 + count * ALIGNMENT : ALIGNMENT] == 0) & (
        data[19 : 19 + count * ALIGNMENT : ALIGNMENT] == 0
    )
    plausible &= (kind == _ENTRY) | (kind == _SEGMENT_END)
    starts = np.flatnonzero(plausible) * ALIGNMENT
    if not starts.size:
        return []
    words = np.frombuffer(window, dtype="<u4", count=len(window) // 4)
    stops = starts + RECORD_HEADER_SIZE + words[(starts >> 2) + 1].astype(np.int64)
    inside = stops <= len(window)
    view = memoryview(window)
    checked = starts[inside]
    covered = map(view.__getitem__, map(slice, (checked + 4).tolist(), stops[inside].tolist()))
    checksums = np.fromiter(map(_crc32, covered), dtype=np.uint32, count=checked.size)
    keep = ~inside
    keep[inside] = checksums == words[checked >> 2]
    return [int(start) for start in starts[keep]]
