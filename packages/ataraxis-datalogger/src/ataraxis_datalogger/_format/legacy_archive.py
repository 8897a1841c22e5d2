"""The archive layout of ataraxis-data-structures 3.x, which this library reads and never writes.

A 3.x archive, `{source_id}_log.npz` like the columnar ones, is a NumPy `.npz` holding one member per entry, named
`{source_id:03d}_{time_stamp:020d}.npy` (the name of the entry file it was made from) and holding that file's array:
a one-dimensional uint8 array `[source_id: 1 byte][time_stamp: 8 bytes, little-endian][payload]`. `compress=True`
(3.x's default) deflated the members, `compress=False` stored them. It has no `format_version` member: its member
names are what identify it. 3.x could not keep two entries of a source with the same timestamp, so names are unique
per timestamp; members are ordered here by their names, not by their place in the file.
"""

import re
from collections.abc import Iterable
from typing import Final, NamedTuple

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
