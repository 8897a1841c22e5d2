"""Listing a log directory: the entry files of each source in order, the archives, and the files that are neither.

Entries are ordered from their names alone (timestamp, then duplicate index), without opening a file. Parsed
per-source lists are kept as two uint64 arrays (timestamp, duplicate index): a file's name is rebuilt from them
when needed, so a million entries cost 16 MB, not a million Python strings.

The directory is read with `scandir`, whose entries carry each file's type (no `stat` per name on the file systems
that report types, a `lstat` on those that do not): a name that is not a regular file (a directory, a FIFO, a
socket, a device, a symbolic link) is foreign, whatever it is named, and never opened. A file replaced by such a
thing after the listing is caught when it is opened (see `regular_file`).
"""

import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._format.archive import is_temporary_archive_name, parse_archive_file_name
from .._format.entry import ENTRY_SUFFIX, MAX_SOURCE_ID, entry_file_name, parse_entry_file_name
from .._format.stream import SEGMENT_SUFFIX, parse_segment_file_name
from ..exceptions import DataLoggerTypeError, DataLoggerValueError

_SHORTEST_ENTRY_NAME = len(entry_file_name(0, 0))
_KEY_LENGTH = _SHORTEST_ENTRY_NAME - len(ENTRY_SUFFIX)
"""The length of the `{source_id:03d}_{time_stamp:020d}` part that all entries of one source and timestamp share."""


@dataclass(frozen=True)
class SourceEntries:
    """The loose entry files of one source, in timestamp order, ties in arrival order."""

    time_stamps: NDArray[np.uint64]
    """Each entry's timestamp, from its file name."""
    duplicate_indices: NDArray[np.uint64]
    """Each entry's duplicate index, from its file name (0 for the first entry with a timestamp)."""


@dataclass(frozen=True)
class DirectoryListing:
    """What a log directory holds, with the entry files grouped by source but not yet parsed."""

    directory: Path
    """The log directory."""
    entry_names: dict[int, list[str]] = field(default_factory=dict)
    """The names of the `.npy` files that start like an entry of each source (`parse_entry_names` checks the rest)."""
    archives: dict[int, Path] = field(default_factory=dict)
    """Each source's archive, for the sources that have one."""
    foreign_files: tuple[Path, ...] = ()
    """`.npy` files whose names cannot be an entry's, and anything named like an entry, an archive or a stream
    segment that is not a regular file: never read, never removed."""
    unfinished_archives: tuple[Path, ...] = ()
    """Temporary archives left by a compression that was interrupted."""
    segments: tuple[str, ...] = ()
    """The names of the stream segments (`stream_{sequence:06d}.adlog` regular files), in sequence order."""

    def parse(self) -> tuple[dict[int, SourceEntries], tuple[Path, ...]]:
        """Parses every entry name; returns the entries of each source and every foreign `.npy` file."""
        entries = {}
        foreign = list(self.foreign_files)
        for source_id, names in self.entry_names.items():
            entries[source_id], rejected = parse_entry_names(names)
            foreign.extend(self.directory / name for name in rejected)
        return entries, tuple(sorted(foreign))


def check_path_argument(path: object, what: str) -> Path:
    """Returns a path argument as a `Path`, refusing an empty one.

    `Path("")` is the current directory: an unset shell variable (`compress "$LOGS"`) would otherwise compress, and
    with `remove_sources` empty, whatever folder the command was started in.

    Args:
        path: The argument, a `str` or `os.PathLike`.
        what: What the path is, for the message ("the log directory").

    Raises:
        DataLoggerTypeError: If it is not a path.
        DataLoggerValueError: If it is empty.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise DataLoggerTypeError(
            f"{what} must be a str or os.PathLike path, got {path!r} of type {type(path).__name__}"
        )
    text = os.fspath(path)
    if not isinstance(text, str):
        raise DataLoggerTypeError(f"{what} must be a str path, got the bytes path {text!r}")
    if text == "":
        raise DataLoggerValueError(
            f"{what} is an empty string (''): expected the path of a folder (an unset variable in a shell "
            "command gives an empty argument; use '.' for the current folder)"
        )
    return Path(text)


def check_log_directory(log_directory: str | os.PathLike[str]) -> Path:
    """Returns the log directory as a `Path`, after checking that it is one.

    Args:
        log_directory: The directory that holds the entries and archives.

    Raises:
        ValueError: If the path is empty.
        FileNotFoundError: If it does not exist.
        NotADirectoryError: If it is not a directory.
    """
    directory = check_path_argument(log_directory, "the log directory")
    if not directory.exists():
        raise FileNotFoundError(f"the log directory {directory} does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"the log directory {directory} is not a directory")
    return directory


def list_log_directory(directory: Path) -> DirectoryListing:
    """Lists a log directory (not its subdirectories), grouping the entry files by the source their names start with.

    Hidden files (names starting with a dot) are ignored: they are the temporary files writers rename into place.
    Only names and file types are looked at (one `scandir`); parsing the names in full is left to
    `parse_entry_names`, which can then run in the worker that archives the source.

    Args:
        directory: The log directory.
    """
    entry_names: dict[int, list[str]] = {}
    archives: dict[int, Path] = {}
    foreign: list[Path] = []
    unfinished: list[Path] = []
    segments: list[tuple[int, str]] = []
    names, special = _list_names(directory)
    for name in names:
        if name.endswith(SEGMENT_SUFFIX) and (sequence := parse_segment_file_name(name)) is not None:
            if name in special:
                foreign.append(directory / name)
            else:
                segments.append((sequence, name))
        elif name.startswith("."):
            if is_temporary_archive_name(name) and name not in special:
                unfinished.append(directory / name)
        elif name.endswith(ENTRY_SUFFIX):
            prefix = name[:3]
            source_id = int(prefix) if prefix.isascii() and prefix.isdigit() else MAX_SOURCE_ID + 1
            if (
                len(name) >= _SHORTEST_ENTRY_NAME
                and name[3] == "_"
                and source_id <= MAX_SOURCE_ID
                and name not in special
            ):
                entry_names.setdefault(source_id, []).append(name)
            else:
                foreign.append(directory / name)
        else:
            archived_source = parse_archive_file_name(name)
            if archived_source is not None:
                if name in special:
                    foreign.append(directory / name)
                else:
                    archives[archived_source] = directory / name
    return DirectoryListing(
        directory=directory,
        entry_names=dict(sorted(entry_names.items())),
        archives=dict(sorted(archives.items())),
        foreign_files=tuple(sorted(foreign)),
        unfinished_archives=tuple(sorted(unfinished)),
        segments=tuple(name for _, name in sorted(segments)),
    )


def holds_log_files(directory: Path) -> bool:
    """Returns True if a directory holds a file named like a log entry, an archive or a stream segment.

    Its subdirectories are not looked at.

    Args:
        directory: The directory.
    """
    with os.scandir(directory) as names:
        return any(_is_log_file_name(entry.name) for entry in names)


def find_log_directories(directory: Path) -> list[Path]:
    """Returns the directories below `directory` (not itself) that hold log entries or archives, in path order.

    ataraxis-data-structures 3.x archived every entry file below the directory it was given. Hidden directories
    are skipped, and symbolic links to directories are not followed.

    Args:
        directory: The directory to search.
    """
    found = []
    for root, directories, files in os.walk(directory):
        directories[:] = sorted(name for name in directories if not name.startswith("."))
        if root != str(directory) and any(_is_log_file_name(name) for name in files):
            found.append(Path(root))
    return found


def _is_log_file_name(name: str) -> bool:
    """Returns True if a file name is a log entry's, an archive's or a stream segment's."""
    return (
        parse_entry_file_name(name) is not None
        or parse_archive_file_name(name) is not None
        or parse_segment_file_name(name) is not None
    )


def _scan(directory: Path) -> tuple[list[str], set[str]]:
    """Lists a directory: every name, and the set of those that are not regular files (usually empty)."""
    names: list[str] = []
    special: set[str] = set()
    with os.scandir(directory) as entries:
        for entry in entries:
            names.append(entry.name)
            if not entry.is_file(follow_symlinks=False):
                special.add(entry.name)
    return names, special


def _list_names(directory: Path) -> tuple[list[str], set[str]]:
    """Lists a directory, adding the earlier entries of a source and timestamp that the listing missed.

    A listing taken while a logger writes is not a snapshot: on a file system that lists in hash order (ext4), it can
    hold `..._1.npy` yet miss the `.npy` created just before it, and the later entry would be archived (and read)
    first. An entry with duplicate index n is created only once those with the indices below n exist, so they existed
    before this listing ended: when some are missing, a second listing has them, unless they were removed.

    Returns:
        Every name, and the set of names that are not regular files.
    """
    names, special = _scan(directory)
    indices: dict[str, set[int]] = {}
    for name in names:
        # The length test first: it is all that most names (no duplicate index) cost.
        if len(name) > _SHORTEST_ENTRY_NAME and (index := _duplicate_index(name)):
            indices.setdefault(name[:_KEY_LENGTH], set()).add(index)
    if not indices:
        return names, special
    for name in names:
        if len(name) == _SHORTEST_ENTRY_NAME and name[:_KEY_LENGTH] in indices and name.endswith(ENTRY_SUFFIX):
            indices[name[:_KEY_LENGTH]].add(0)
    # Indices 0..highest all present, or else some earlier entry is missing from the listing.
    incomplete = {key: max(found) for key, found in indices.items() if len(found) <= max(found)}
    if not incomplete:
        return names, special
    listed = {name for name in names if name[:_KEY_LENGTH] in incomplete}
    again, special_again = _scan(directory)
    for name in again:
        key = name[:_KEY_LENGTH]
        if key in incomplete and name not in listed:
            index = _duplicate_index(name)
            if index is not None and index < incomplete[key]:
                names.append(name)
                if name in special_again:
                    special.add(name)
    return names, special


def _duplicate_index(name: str) -> int | None:
    """Returns the duplicate index an entry-like name ends with (0 for none), or None if it is not entry-like."""
    if not name.endswith(ENTRY_SUFFIX):
        return None
    if len(name) == _SHORTEST_ENTRY_NAME:
        return 0
    digits = name[_KEY_LENGTH + 1 : -len(ENTRY_SUFFIX)]
    if len(name) > _SHORTEST_ENTRY_NAME and name[_KEY_LENGTH] == "_" and digits.isascii() and digits.isdigit():
        return int(digits)
    return None


def parse_entry_names(names: list[str]) -> tuple[SourceEntries, list[str]]:
    """Parses the entry names of one source and orders them by timestamp, then duplicate index.

    Args:
        names: File names that start like the entries of one source.

    Returns:
        The entries, and the names that turned out not to be entries' after all.
    """
    time_stamps: array[int] = array("Q")
    duplicates: array[int] = array("Q")
    rejected = []
    for name in names:
        parsed = parse_entry_file_name(name)
        if parsed is None:
            rejected.append(name)
        else:
            time_stamps.append(parsed.time_stamp)
            duplicates.append(parsed.duplicate_index)
    stamps = np.frombuffer(time_stamps, dtype=np.uint64)
    indices = np.frombuffer(duplicates, dtype=np.uint64)
    order = np.lexsort((indices, stamps))
    return SourceEntries(stamps[order], indices[order]), rejected
