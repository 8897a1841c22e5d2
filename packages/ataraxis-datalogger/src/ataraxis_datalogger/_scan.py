"""Listing a log directory: the entry files of each source in order, the archives, and the files that are neither.

Entries are ordered from their names alone (timestamp, then duplicate index), without opening a file. Per-source
lists are kept as two uint64 arrays (timestamp, duplicate index): a file's name is rebuilt from them when needed,
so a million entries cost 16 MB, not a million Python strings.
"""

import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ._archive_format import is_temporary_archive_name, parse_archive_file_name
from ._entry_format import ENTRY_SUFFIX, parse_entry_file_name


@dataclass(frozen=True)
class SourceEntries:
    """The loose entry files of one source, in timestamp order, ties in arrival order."""

    time_stamps: NDArray[np.uint64]
    """Each entry's timestamp, from its file name."""
    duplicate_indices: NDArray[np.uint64]
    """Each entry's duplicate index, from its file name (0 for the first entry with a timestamp)."""


@dataclass(frozen=True)
class DirectoryListing:
    """What a log directory holds."""

    directory: Path
    """The log directory."""
    entries: dict[int, SourceEntries] = field(default_factory=dict)
    """The loose entry files of each source."""
    archives: dict[int, Path] = field(default_factory=dict)
    """Each source's archive, for the sources that have one."""
    foreign_files: tuple[Path, ...] = ()
    """`.npy` files whose names are not an entry's: never read, never removed."""
    unfinished_archives: tuple[Path, ...] = ()
    """Temporary archives left by a compression that was interrupted."""


def check_log_directory(log_directory: str | os.PathLike[str]) -> Path:
    """Returns the log directory as a `Path`, after checking that it is one.

    Args:
        log_directory: The directory that holds the entries and archives.

    Raises:
        FileNotFoundError: If it does not exist.
        NotADirectoryError: If it is not a directory.
    """
    directory = Path(log_directory)
    if not directory.exists():
        raise FileNotFoundError(f"the log directory {directory} does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"the log directory {directory} is not a directory")
    return directory


def scan_log_directory(directory: Path) -> DirectoryListing:
    """Lists a log directory (not its subdirectories).

    Hidden files (names starting with a dot) are ignored: they are the temporary files writers rename into place.

    Args:
        directory: The log directory.
    """
    time_stamps: dict[int, array[int]] = {}
    duplicates: dict[int, array[int]] = {}
    archives: dict[int, Path] = {}
    foreign: list[Path] = []
    unfinished: list[Path] = []
    with os.scandir(directory) as listing:
        for item in listing:
            name = item.name
            if name.startswith("."):
                if is_temporary_archive_name(name):
                    unfinished.append(directory / name)
                continue
            if name.endswith(ENTRY_SUFFIX):
                if not item.is_file():
                    continue
                parsed = parse_entry_file_name(name)
                if parsed is None:
                    foreign.append(directory / name)
                    continue
                source_id = parsed.source_id
                if source_id not in time_stamps:
                    time_stamps[source_id] = array("Q")
                    duplicates[source_id] = array("Q")
                time_stamps[source_id].append(parsed.time_stamp)
                duplicates[source_id].append(parsed.duplicate_index)
            else:
                archived_source = parse_archive_file_name(name)
                if archived_source is not None and item.is_file():
                    archives[archived_source] = directory / name
    entries = {}
    for source_id in sorted(time_stamps):
        stamps = np.frombuffer(time_stamps[source_id], dtype=np.uint64)
        indices = np.frombuffer(duplicates[source_id], dtype=np.uint64)
        order = np.lexsort((indices, stamps))
        entries[source_id] = SourceEntries(stamps[order], indices[order])
    return DirectoryListing(
        directory=directory,
        entries=entries,
        archives=dict(sorted(archives.items())),
        foreign_files=tuple(sorted(foreign)),
        unfinished_archives=tuple(sorted(unfinished)),
    )
