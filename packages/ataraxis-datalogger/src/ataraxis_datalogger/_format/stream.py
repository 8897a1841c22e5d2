"""The on-disk layout of a stream log: segment files of checksummed records (`docs/formats/stream.md` specifies it).

A stream log is a folder of segment files named `stream_{sequence:06d}.adlog`. A segment is a header followed by
records; a segment its writer closed ends with one segment-end record. Every integer is little-endian.

Header (`HEADER_SIZE` bytes plus the instance name, padded to a multiple of 8):

    0   8  magic: bytes 89 41 44 4C 0D 0A 1A 0A ("ADL" between bytes that 7-bit and newline conversions change)
    8   2  format version (1)
    10  2  header size: the offset of the first record
    12  4  CRC-32 of bytes [0, 12) followed by bytes [16, header size)
    16  8  sequence: the number in the file name
    24  8  creation time, nanoseconds since the Unix epoch (UTC)
    32  16 writer id: random bytes shared by every segment of one writer
    48  4  writer index: 0 for a writer's first segment, then 1, 2, ...
    52  2  instance name length L
    54  2  reserved, zero
    56  L  instance name, UTF-8, then zero padding

Record (the transport's rings hold records in this very form):

    0   4  CRC-32 (zlib.crc32) of bytes [4, 20 + N) of the record
    4   4  N: payload length
    8   8  time stamp
    16  1  source id
    17  1  kind: 0 = log entry, 255 = segment end; 1 to 127 belong to the transport and never reach a file
    18  2  reserved, zero
    20  N  payload, then zero padding up to a multiple of 8

A segment end is a record of kind 255 whose payload (`SEGMENT_END_PAYLOAD`) holds the number of entry records, the
offset of the segment end itself and why the segment was closed; its time stamp is the closing time (ns since the
epoch) and its source id is 0. It is always the last `SEGMENT_END_SIZE` bytes of a closed segment.

Imports nothing of the package but `exceptions`; no file I/O happens here.
"""

import re
import struct
import zlib
from enum import IntEnum
from typing import Final, NamedTuple

from ..exceptions import StreamFormatError

FORMAT_VERSION: Final = 1
"""The segment layout version this library writes and the newest one it reads."""

MAGIC: Final = b"\x89ADL\r\n\x1a\n"
"""The first 8 bytes of every segment."""

SEGMENT_SUFFIX: Final = ".adlog"
"""The suffix of a segment's file name."""

SEGMENT_PREFIX: Final = "stream_"
"""What a segment's file name starts with, before its sequence number."""

ALIGNMENT: Final = 8
"""Records and the header are padded to a multiple of this many bytes."""

RECORD_HEADER: Final = struct.Struct("<IIQBBH")
"""crc, payload length, time stamp, source id, kind, reserved."""

RECORD_HEADER_SIZE: Final = RECORD_HEADER.size

MAX_PAYLOAD: Final = 2**32 - 1
"""The largest payload a record holds: its length is stored in 32 bits."""

_PADDING: Final = bytes(8)

_PACK_FIELDS: Final = struct.Struct("<IQBBH").pack
"""Packs the header's fields after the checksum (length, time stamp, source id, kind, reserved)."""
_crc32: Final = zlib.crc32

_FIXED_HEADER: Final = struct.Struct("<8sHHIQQ16sIHH")
HEADER_SIZE: Final = _FIXED_HEADER.size
"""The size of a header's fixed part, before the instance name."""

MAX_INSTANCE_NAME_BYTES: Final = 4096
"""The longest instance name a header holds, in UTF-8 bytes (keeps a header within one page)."""

SEGMENT_END_PAYLOAD: Final = struct.Struct("<QQB7x")
"""A segment end's payload: entry records, the segment end's own offset, the reason (`EndReason`)."""


class Kind(IntEnum):
    """What a record holds."""

    ENTRY = 0
    """A log entry."""
    SEGMENT_END = 255
    """The end of a closed segment (see the module description)."""


class EndReason(IntEnum):
    """Why a writer closed a segment."""

    ROTATED = 0
    """It reached its size limit; the writer went on in its next segment."""
    CLOSED = 1
    """The writer was closed: this is its last segment."""


_SEGMENT_NAME: Final = re.compile(r"^stream_(\d{6,})\.adlog$")


def padded_size(length: int) -> int:
    """Returns `length` rounded up to a multiple of `ALIGNMENT`.

    Args:
        length: A size in bytes.
    """
    return (length + ALIGNMENT - 1) & ~(ALIGNMENT - 1)


def record_size(payload_length: int) -> int:
    """Returns the size of a record holding a payload of `payload_length` bytes, padding included.

    Args:
        payload_length: The payload's size in bytes.
    """
    return padded_size(RECORD_HEADER_SIZE + payload_length)


SEGMENT_END_SIZE: Final = record_size(SEGMENT_END_PAYLOAD.size)
"""The size of a segment-end record."""


def segment_file_name(sequence: int) -> str:
    """Returns the file name of the segment with a sequence number: `stream_{sequence:06d}.adlog`.

    Args:
        sequence: The segment's sequence number, 0 or more.
    """
    return f"{SEGMENT_PREFIX}{sequence:06d}{SEGMENT_SUFFIX}"


def parse_segment_file_name(name: str) -> int | None:
    """Returns the sequence number a segment's file name encodes, or None if it is not a segment's name.

    Args:
        name: A file name (not a path).
    """
    match = _SEGMENT_NAME.match(name)
    if match is None or (len(match[1]) > 6 and match[1].startswith("0")):
        return None
    return int(match[1])


class SegmentHeader(NamedTuple):
    """The fields of a segment's header."""

    sequence: int
    """The number in the segment's file name."""
    created_ns: int
    """When the segment was created, in nanoseconds since the Unix epoch."""
    writer_id: bytes
    """16 random bytes shared by every segment of one writer."""
    writer_index: int
    """The segment's position among its writer's segments: 0, 1, 2, ..."""
    instance_name: str
    """The name of the logger that wrote the segment (may be empty)."""


def encode_header(header: SegmentHeader) -> bytes:
    """Returns the bytes of a segment header, padding included.

    Args:
        header: The header's fields.

    Raises:
        ValueError: If a field does not fit its place in the header.
    """
    name = header.instance_name.encode()
    if len(name) > MAX_INSTANCE_NAME_BYTES:
        raise ValueError(
            f"the instance name takes {len(name)} bytes in UTF-8; a segment header holds {MAX_INSTANCE_NAME_BYTES}"
        )
    if len(header.writer_id) != 16:
        raise ValueError(f"a writer id is 16 bytes, got {len(header.writer_id)}")
    size = padded_size(HEADER_SIZE + len(name))
    fields = _FIXED_HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        size,
        0,
        header.sequence,
        header.created_ns,
        header.writer_id,
        header.writer_index,
        len(name),
        0,
    )
    data = bytearray(fields + name + bytes(size - HEADER_SIZE - len(name)))
    struct.pack_into("<I", data, 12, _header_crc(data))
    return bytes(data)


def _header_crc(data: bytes | bytearray | memoryview) -> int:
    return zlib.crc32(data[16:], zlib.crc32(data[:12]))


def header_size(prefix: bytes | bytearray | memoryview) -> int:
    """Returns the header size a segment's first 16 bytes declare, after checking its magic and version.

    Args:
        prefix: At least the first 16 bytes of a segment.

    Raises:
        StreamFormatError: If the bytes are not the start of a segment in a layout this version reads.
    """
    if len(prefix) < 16:
        raise StreamFormatError(f"a segment starts with a header of at least {HEADER_SIZE} bytes, found {len(prefix)}")
    magic, version, size = struct.unpack_from("<8sHH", prefix)
    if magic != MAGIC:
        if magic[1:4] == MAGIC[1:4]:
            raise StreamFormatError(
                f"the segment's magic {bytes(magic)!r} is altered (expected {MAGIC!r}): the file was probably copied "
                "in text mode (newline conversion) or through a 7-bit channel"
            )
        raise StreamFormatError(f"not a segment: it starts with {bytes(magic)!r}, expected {MAGIC!r}")
    if version != FORMAT_VERSION:
        raise StreamFormatError(
            f"the segment has format version {version}; this version of ataraxis-datalogger reads version "
            f"{FORMAT_VERSION} (upgrade it to read newer segments)"
        )
    if size < HEADER_SIZE or size % ALIGNMENT:
        raise StreamFormatError(f"the header declares a size of {size} bytes, not a multiple of 8 from {HEADER_SIZE}")
    return int(size)


def decode_header(data: bytes | bytearray | memoryview) -> SegmentHeader:
    """Decodes a segment header.

    Args:
        data: The segment's first `header_size(data)` bytes (or more).

    Raises:
        StreamFormatError: If the bytes are not a valid header of a layout this version reads.
    """
    size = header_size(data)
    if len(data) < size:
        raise StreamFormatError(f"the header declares {size} bytes but the segment holds {len(data)}")
    view = memoryview(data)[:size]
    stored = struct.unpack_from("<I", view, 12)[0]
    if _header_crc(view) != stored:
        raise StreamFormatError("the header is damaged: its checksum does not match")
    _, _, _, _, sequence, created, writer_id, writer_index, name_length, _ = _FIXED_HEADER.unpack_from(view)
    if HEADER_SIZE + name_length > size:
        raise StreamFormatError(f"the header's instance name ({name_length} bytes) does not fit its size ({size})")
    try:
        name = bytes(view[HEADER_SIZE : HEADER_SIZE + name_length]).decode()
    except UnicodeDecodeError as error:
        raise StreamFormatError(f"the header's instance name is not UTF-8: {error}") from error
    return SegmentHeader(sequence, created, writer_id, writer_index, name)


def encode_record(source_id: int, time_stamp: int, payload: bytes | bytearray | memoryview, kind: int = 0) -> bytes:
    """Returns the bytes of one record, padding included.

    Args:
        source_id: The source id, 0 to 255.
        time_stamp: The time stamp, 0 to 2**64 - 1.
        payload: The payload, at most `MAX_PAYLOAD` bytes.
        kind: The record's kind (`Kind`).

    Raises:
        ValueError: If a field is out of its range.
        struct.error: If a field is not an integer.
    """
    length = len(payload)
    if length > MAX_PAYLOAD:
        raise ValueError(f"a record's payload holds at most {MAX_PAYLOAD} bytes, got {length}")
    # One copy of the payload (a producer builds a record per entry): the checksum runs over the fields and the
    # payload where they are, and join assembles the record once. Written out (no record_size call, the fields
    # packed alone): it is a third of the time of `LogPackage(...)`.
    fields = _PACK_FIELDS(length, time_stamp, source_id, kind, 0)
    checksum = _crc32(payload, _crc32(fields))
    padding = _PADDING[: -(RECORD_HEADER_SIZE + length) & (ALIGNMENT - 1)]
    return b"".join((checksum.to_bytes(4, "little"), fields, payload, padding))


class SegmentEnd(NamedTuple):
    """The fields of a segment-end record."""

    entry_records: int
    """The number of entry records in the segment."""
    offset: int
    """Where the segment end starts: the header size plus the size of every entry record."""
    reason: EndReason
    """Why the segment was closed."""
    closed_ns: int
    """When, in nanoseconds since the Unix epoch."""


def encode_segment_end(end: SegmentEnd) -> bytes:
    """Returns the bytes of a segment-end record.

    Args:
        end: Its fields.
    """
    payload = SEGMENT_END_PAYLOAD.pack(end.entry_records, end.offset, end.reason)
    return encode_record(0, end.closed_ns, payload, Kind.SEGMENT_END)


def decode_segment_end(time_stamp: int, payload: bytes | bytearray | memoryview) -> SegmentEnd:
    """Decodes the fields of a segment-end record whose checksum was verified.

    Args:
        time_stamp: The record's time stamp (the closing time).
        payload: The record's payload.

    Raises:
        StreamFormatError: If the payload does not have a segment end's size or names an unknown reason.
    """
    if len(payload) != SEGMENT_END_PAYLOAD.size:
        raise StreamFormatError(
            f"a segment end holds {SEGMENT_END_PAYLOAD.size} payload bytes, this one {len(payload)}"
        )
    records, offset, reason = SEGMENT_END_PAYLOAD.unpack(payload)
    try:
        return SegmentEnd(records, offset, EndReason(reason), time_stamp)
    except ValueError:
        raise StreamFormatError(f"a segment end gives an unknown reason {reason}") from None
