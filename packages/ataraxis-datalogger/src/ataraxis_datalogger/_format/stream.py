"""The record layout of a stream log, which the transport's buffers hold in the very same form.

Every integer is little-endian; every record is padded to a multiple of 8 bytes:

    0   4  CRC-32 (zlib.crc32) of bytes [4, 20 + N) of the record
    4   4  N: payload length
    8   8  time stamp
    16  1  source id
    17  1  kind: 0 = log entry; 1 to 127 belong to the transport and never reach a file
    18  2  reserved, zero
    20  N  payload, then zero padding up to a multiple of 8

(The segment files around the records are specified with the stream layout; this module holds what the transport
needs of it.)
"""

import struct
from enum import IntEnum
from typing import Final

ALIGNMENT: Final = 8
"""Records are padded to a multiple of this many bytes."""

RECORD_HEADER: Final = struct.Struct("<IIQBBH")
"""crc, payload length, time stamp, source id, kind, reserved."""

RECORD_HEADER_SIZE: Final = RECORD_HEADER.size

MAX_PAYLOAD: Final = 2**32 - 1
"""The largest payload a record holds: its length is stored in 32 bits."""


class Kind(IntEnum):
    """What a record holds."""

    ENTRY = 0
    """A log entry."""


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
