"""Reading records out of a producer buffer's ring: byte ranges as pieces, and record by record.

Records are in their stream form (`_format.stream`); a record may straddle the end of the ring, so any byte range is
one or two pieces. Kinds 1 to 127 are the transport's own control records, which never reach a file.
"""

import reprlib
import zlib
from collections.abc import Iterator
from enum import IntEnum
from typing import Final, NamedTuple

from .._format.stream import RECORD_HEADER, RECORD_HEADER_SIZE, Kind, padded_size

DESCRIPTION_BYTES: Final = 400
"""The longest description of a rejected object carried in a control record."""


class TransportKind(IntEnum):
    """Record kinds the transport uses for itself (never written to disk)."""

    REJECTED = 1
    """An object put on the queue that is not a log package; the payload describes it (UTF-8)."""


KNOWN_KINDS: Final = frozenset({Kind.ENTRY, TransportKind.REJECTED})


class Record(NamedTuple):
    """One record found in a ring."""

    start: int
    """Its position."""
    size: int
    """Its size in the ring, padding included."""
    source_id: int
    time_stamp: int
    kind: int
    payload: tuple[memoryview, ...]
    """The payload, in one piece or (straddling the ring's end) two."""

    @property
    def end(self) -> int:
        """The position after it."""
        return self.start + self.size

    @property
    def length(self) -> int:
        """The payload's length."""
        return sum(len(piece) for piece in self.payload)


class Damage(NamedTuple):
    """A place in a ring where no valid record is."""

    start: int
    """Its position."""
    reason: str
    """What is wrong there."""


def pieces(data: memoryview, capacity: int, start: int, end: int) -> list[memoryview]:
    """Returns the ring's bytes from position `start` to `end` as one piece, or two if they straddle its end."""
    offset = start % capacity
    length = end - start
    if offset + length <= capacity:
        return [data[offset : offset + length]]
    first = capacity - offset
    return [data[offset:capacity], data[: length - first]]


def walk(data: memoryview, capacity: int, start: int, end: int, *, verify: bool) -> Iterator[Record | Damage]:
    """Yields the records from position `start` to `end`, stopping after the first damaged place.

    Args:
        data: The ring.
        capacity: Its size.
        start: A position where a record starts.
        end: A position where a record ends (what the producer published).
        verify: Check each record's checksum, kind and reserved bytes (for buffers whose producer died, or that
            were read without their lock); a buffer read under its lock holds only records its producer finished.
    """
    unpack = RECORD_HEADER.unpack_from
    position = start
    while position < end:
        offset = position % capacity
        if offset + RECORD_HEADER_SIZE <= capacity:
            crc, length, time_stamp, source_id, kind, reserved = unpack(data, offset)
        else:
            header = b"".join(bytes(piece) for piece in pieces(data, capacity, position, position + RECORD_HEADER_SIZE))
            crc, length, time_stamp, source_id, kind, reserved = unpack(header)
        size = padded_size(RECORD_HEADER_SIZE + length)
        if size > end - position:
            yield Damage(position, f"a record of {length} bytes runs past the {end - position} bytes published")
            return
        payload = tuple(pieces(data, capacity, position + RECORD_HEADER_SIZE, position + RECORD_HEADER_SIZE + length))
        if verify:
            problem = _problem(data, capacity, position, length, crc, kind, reserved)
            if problem is not None:
                yield Damage(position, problem)
                return
        yield Record(position, size, source_id, time_stamp, kind, payload)
        position += size


def _problem(
    data: memoryview, capacity: int, start: int, length: int, crc: int, kind: int, reserved: int
) -> str | None:
    """Says what is wrong with the record at `start`, or None if it is sound."""
    if kind not in KNOWN_KINDS or reserved:
        return f"a record of unknown kind {kind} (reserved bytes {reserved})"
    checksum = 0
    for piece in pieces(data, capacity, start + 4, start + RECORD_HEADER_SIZE + length):
        checksum = zlib.crc32(piece, checksum)
    if checksum != crc:
        return f"a record of {length} bytes whose checksum does not match"
    return None


def describe_rejected(obj: object) -> bytes:
    """The payload of a rejected-object control record: what the object was, in at most `DESCRIPTION_BYTES`."""
    try:
        shown = reprlib.repr(obj)
    except Exception:
        shown = f"<a {type(obj).__name__} object whose repr raised>"
    description = f"{shown} ({type(obj).__name__}, not a LogPackage)"
    return description.encode("utf-8", "replace")[:DESCRIPTION_BYTES]


def text(payload: tuple[memoryview, ...]) -> str:
    """Decodes a control record's UTF-8 payload."""
    return b"".join(bytes(piece) for piece in payload).decode("utf-8", "replace")
