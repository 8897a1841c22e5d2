"""The archive layout of ataraxis-data-structures 3.x, which this library reads and never writes.

A 3.x archive, `{source_id}_log.npz` like the columnar ones, is a NumPy `.npz` holding one member per entry, named
`{source_id:03d}_{time_stamp:020d}.npy` after the entry file it was made from, and holding that file's array: a
one-dimensional uint8 array `[source_id: 1 byte][time_stamp: 8 bytes, little-endian][payload]` (the source id is
wider when 3.x was given a wider NumPy integer: see `legacy_payload_start`). `compress=True` (3.x's default)
deflated the members, `compress=False` stored them. It has no `format_version` member: its member names are what
identify it. 3.x could not keep two entries of a source with the same timestamp, so each timestamp has one member;
members are ordered here by their names, not by their place in the file.
"""

import io
import re
from collections.abc import Iterable
from typing import Final, NamedTuple

import numpy as np

from ..exceptions import ArchiveFormatError
from .entry import MAX_SOURCE_ID, MAX_TIME_STAMP

_MEMBER_NAME: Final = re.compile(r"^(\d{3})_(\d{20})\.npy$")


class LegacyMemberName(NamedTuple):
    """The fields encoded in the name of a 3.x archive member."""

    source_id: int
    """The source the entry's name declares."""
    time_stamp: int
    """The timestamp the entry's name declares."""


def parse_legacy_member_name(name: str) -> LegacyMemberName | None:
    """Returns the fields a 3.x member name encodes, or None if the name is not one.

    Args:
        name: The name of a member of a zip file.
    """
    match = _MEMBER_NAME.match(name)
    if match is None:
        return None
    source_id, time_stamp = int(match[1]), int(match[2])
    if source_id > MAX_SOURCE_ID or time_stamp > MAX_TIME_STAMP:
        return None
    return LegacyMemberName(source_id, time_stamp)


def is_legacy_layout(member_names: Iterable[str]) -> bool:
    """Returns True if an archive's members are those of a 3.x archive: at least one, each named as an entry.

    Args:
        member_names: The names of the archive's members.
    """
    names = list(member_names)
    return bool(names) and all(parse_legacy_member_name(name) is not None for name in names)


SOURCE_ID_WIDTHS: Final = (1, 2, 4, 8)
"""The widths in bytes of the source ids found in 3.x entries: 3.x wrote every byte of the NumPy integer it was
given (`np.uint8`, as documented, but also `np.uint16`, as its own tests did, and wider)."""

_NPY_VERSIONS: Final = ((1, 0), (2, 0))


def legacy_payload_start(body: bytes | memoryview, source_id: int, time_stamp: int) -> int | None:
    """Returns where the payload starts in a 3.x entry's array, if the array holds the source id and timestamp given.

    A 3.x entry's array is `[source_id][time_stamp: 8 bytes, little-endian][payload]`, the source id taking 1 byte
    when it was a `np.uint8` and 2, 4 or 8 (little-endian) when it was a wider NumPy integer. The widths are tried
    from 1 up; a width fits when its bytes and the 8 after them are the source id and the timestamp the entry's
    name declares, which the payload bytes of another width cannot fake for a name they do not match.

    Args:
        body: The entry's array bytes (after the `.npy` header).
        source_id: The source id the entry's name declares.
        time_stamp: The timestamp the entry's name declares.

    Returns:
        The payload's offset in `body` (9 for a one-byte source id), or None if no width fits.
    """
    stamp = time_stamp.to_bytes(8, "little")
    for width in SOURCE_ID_WIDTHS:
        if len(body) >= width + 8 and body[:width] == source_id.to_bytes(width, "little"):
            if body[width : width + 8] == stamp:
                return width + 8
    return None


def parse_member_header(head: bytes) -> tuple[int, int]:
    """Parses the `.npy` header that starts a 3.x member and checks that it holds a one-dimensional uint8 array.

    Args:
        head: The first bytes of the member, the whole header included.

    Returns:
        The header's length in bytes and the array's length.

    Raises:
        ArchiveFormatError: If the header is damaged or describes another array (the message names neither the
            member nor the file).
    """
    buffer = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(buffer)
        if version not in _NPY_VERSIONS:
            raise ValueError(f"unsupported .npy version {version}")
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(buffer)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(buffer)
    except MemoryError:
        raise
    except Exception as error:
        # NumPy raises ValueError, TypeError or SyntaxError (from its header parser) for damaged headers.
        raise ArchiveFormatError(f"not a valid .npy header ({error})") from error
    if dtype != np.uint8 or len(shape) != 1 or fortran_order:
        raise ArchiveFormatError(f"expected a one-dimensional uint8 array, found dtype {dtype} shape {shape}")
    return buffer.tell(), int(shape[0])
