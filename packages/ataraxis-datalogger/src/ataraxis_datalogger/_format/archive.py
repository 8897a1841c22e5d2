"""The layout of a columnar log archive: its file name, its members and their meaning.

One archive, `{source_id}_log.npz`, holds every archived entry of one source as a standard NumPy `.npz` (a zip
file of `.npy` members), so `numpy.load` opens it without this library:

- `format_version`: 0-d uint16, the layout version (`FORMAT_VERSION`).
- `source_id`: 0-d uint8, the source whose entries the archive holds.
- `timestamps`: uint64, shape (N,): each entry's timestamp, in timestamp order, ties in arrival order.
- `offsets`: uint64, shape (N + 1,): entry i's payload is `payloads[offsets[i]:offsets[i + 1]]`.
- `payloads`: uint8, every payload byte, in entry order.
- `file_mtimes`: uint64, shape (N,): bookkeeping. For an entry whose `.npy` file may still exist on disk (it was
  archived by a compression without `remove_sources`, or its removal had not happened yet when the archive was
  written), the file's modification time in nanoseconds; 0 otherwise.
- `file_duplicates`: uint64, shape (N,): each entry's duplicate index, from its file's name.

  The last two let a second compression of the same directory recognise, and skip, files it already archived (see
  `_loose_entries`). They cost about one byte per entry once compressed.
"""

import itertools
import re
from collections.abc import Iterator
from typing import Final

import numpy as np
from numpy.typing import NDArray

FORMAT_VERSION: Final = 1
"""The archive layout version this library writes and the newest one it reads."""

ARCHIVE_SUFFIX: Final = "_log.npz"
"""The suffix of an archive's file name, after the source id."""

FORMAT_VERSION_MEMBER: Final = "format_version.npy"
SOURCE_ID_MEMBER: Final = "source_id.npy"
TIMESTAMPS_MEMBER: Final = "timestamps.npy"
OFFSETS_MEMBER: Final = "offsets.npy"
PAYLOADS_MEMBER: Final = "payloads.npy"
FILE_MTIMES_MEMBER: Final = "file_mtimes.npy"
FILE_DUPLICATES_MEMBER: Final = "file_duplicates.npy"

MEMBERS: Final = (
    FORMAT_VERSION_MEMBER,
    SOURCE_ID_MEMBER,
    TIMESTAMPS_MEMBER,
    OFFSETS_MEMBER,
    FILE_MTIMES_MEMBER,
    FILE_DUPLICATES_MEMBER,
    PAYLOADS_MEMBER,
)
"""Every member of an archive, in the order they are written (the payload bytes last)."""

_ARCHIVE_NAME = re.compile(r"^(0|[1-9]\d{0,2})_log\.npz$")
_TEMPORARY_NAME = re.compile(r"^\.(0|[1-9]\d{0,2})_log\.npz\.\d+\.tmp$")


def archive_file_name(source_id: int) -> str:
    """Returns the file name of a source's archive: `{source_id}_log.npz`.

    Args:
        source_id: The id of the source, 0 to 255.
    """
    return f"{source_id}{ARCHIVE_SUFFIX}"


def temporary_archive_name(source_id: int, process_id: int) -> str:
    """Returns the hidden name an archive is written under before it is renamed into place.

    Args:
        source_id: The id of the source, 0 to 255.
        process_id: The id of the writing process, so two writers never share a temporary file.
    """
    return f".{archive_file_name(source_id)}.{process_id}.tmp"


def parse_archive_file_name(name: str) -> int | None:
    """Returns the source id an archive's file name encodes, or None if the name is not an archive's.

    Args:
        name: A file name (not a path).
    """
    match = _ARCHIVE_NAME.match(name)
    if match is None or int(match[1]) > 255:
        return None
    return int(match[1])


def is_temporary_archive_name(name: str) -> bool:
    """Returns True if the name is one an unfinished archive is written under (see `temporary_archive_name`).

    Args:
        name: A file name (not a path).
    """
    return _TEMPORARY_NAME.match(name) is not None


class MergeOrder:
    """The order of a source's archived entries merged with entries not archived yet (loose ones).

    Timestamp order, archived entries first among equal timestamps, each side keeping its own order: the order in
    which an archive stores merged entries and in which a reader returns them. The stable sort of the archived
    timestamps followed by the loose ones gives exactly that.

    Args:
        archived: The archived entries' timestamps, in order.
        loose: The loose entries' timestamps, in order.
    """

    def __init__(self, archived: NDArray[np.uint64], loose: NDArray[np.uint64]) -> None:
        merged = np.concatenate((archived, loose))
        self.order: NDArray[np.intp] = np.argsort(merged, kind="stable")
        """For each merged position, the entry's position in the archived timestamps followed by the loose ones."""
        self.time_stamps: NDArray[np.uint64] = merged[self.order]
        """The merged timestamps."""
        self.from_loose: NDArray[np.bool_] = self.order >= archived.size
        """For each merged position, True if the entry is a loose one."""
        self._side_position = self.order - np.where(self.from_loose, archived.size, 0)

    def runs(self, first: int, last: int) -> Iterator[tuple[bool, int, int]]:
        """Yields the merged positions `first` to `last` (exclusive) as runs of consecutive entries of one side.

        Args:
            first: The first merged position.
            last: One past the last merged position.

        Yields:
            Whether the run is of loose entries, and its first and one-past-last positions on that side.
        """
        origin = self.from_loose[first:last]
        boundaries = [0, *(np.flatnonzero(origin[1:] != origin[:-1]) + 1).tolist(), last - first]
        for run_start, run_stop in itertools.pairwise(boundaries):
            if run_start < run_stop:
                side_first = int(self._side_position[first + run_start])
                yield bool(origin[run_start]), side_first, side_first + run_stop - run_start
