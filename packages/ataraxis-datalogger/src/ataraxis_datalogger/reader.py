"""Reading logged entries back: `LogArchiveReader` for one source, `read_logs` for a whole log directory."""

import operator
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ._files.archive_file import ArchiveFile
from ._files.closeable import Closeable
from ._files.listing import check_log_directory, list_log_directory
from ._read.merged_source import Entry, MergedSource, open_source

_TIME_LIMIT: Final = 2**64


class LogArchiveReader(Closeable):
    """Reads the entries of one source in timestamp order (ties in the order they arrived).

    `LogArchiveReader(path)` opens a source's archive, `{source_id}_log.npz`, as written by `compress_npy_logs`.
    `read_logs` also builds readers over entries that are not archived yet, or over an archive together with
    entries logged after it: the interface is the same.

    Timestamps are loaded when the reader opens (8 bytes per entry); payloads are read only when asked for. In an
    archive written with `compress=False` the payload bytes are memory-mapped, so any range is read at memory
    speed. In a compressed archive they are decompressed as a stream, one bounded chunk at a time: reading front
    to back costs one decompression, and `between` first decompresses (and discards) the bytes before its range.

    Payloads are read-only uint8 arrays; those of an archive are views into a shared buffer (copy one to keep it
    writable). They stay valid after the reader is closed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Opens an archive and loads its timestamps and offsets.

        Args:
            path: The archive file, `{source_id}_log.npz`.

        Raises:
            ArchiveFormatError: If the file is not a log archive, is damaged, or was written by a newer version.
            OSError: If the file cannot be opened.
        """
        archive = ArchiveFile(Path(path))
        self._source = MergedSource(archive.source_id, archive, None)
        self._closed = False

    @classmethod
    def _of(cls, source: MergedSource) -> "LogArchiveReader":
        """Builds a reader over a source opened by `read_logs` (an archive, loose entries, or both)."""
        reader = cls.__new__(cls)
        reader._source = source
        reader._closed = False
        return reader

    @property
    def source_id(self) -> int:
        """The id of the source whose entries this reader reads."""
        return self._source.source_id

    @property
    def archive_path(self) -> Path | None:
        """The source's archive, or None if none of its entries is archived yet."""
        archive = self._source.archive
        return None if archive is None else archive.path

    @property
    def timestamps(self) -> NDArray[np.uint64]:
        """Every entry's timestamp, in reading order, as a read-only uint64 array."""
        return self._source.timestamps

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    def __len__(self) -> int:
        """Returns the number of entries."""
        return int(self._source.timestamps.size)

    def __iter__(self) -> Iterator[Entry]:
        """Returns an iterator over every `(timestamp, payload)` pair, in order.

        Raises:
            ValueError: If the reader is closed.
        """
        self._check_open()
        return self._source.entries(0, len(self))

    def between(self, start: int, stop: int) -> Iterator[Entry]:
        """Returns an iterator over the `(timestamp, payload)` pairs with `start <= timestamp < stop`, in order.

        The range is half-open, like Python's ranges, so consecutive windows `between(a, b)`, `between(b, c)`
        read every entry exactly once. Only the payloads inside the range are read (in a compressed archive, the
        bytes before it are decompressed and discarded).

        Args:
            start: The first timestamp included, 0 to 2**64.
            stop: The first timestamp excluded, `start` to 2**64 (2**64 includes the largest timestamp).

        Raises:
            TypeError: If a bound is not an integer.
            ValueError: If a bound is outside 0 to 2**64, `start > stop`, or the reader is closed.
        """
        first_stamp, last_stamp = _time_bound(start, "start"), _time_bound(stop, "stop")
        if first_stamp > last_stamp:
            raise ValueError(f"start ({first_stamp}) must not be greater than stop ({last_stamp})")
        self._check_open()
        return self._source.entries(self._position_of(first_stamp), self._position_of(last_stamp))

    def close(self) -> None:
        """Releases the archive file and its memory map; payloads already read stay valid. Idempotent."""
        if not self._closed:
            self._closed = True
            self._source.close()

    def __repr__(self) -> str:
        """Returns the source, the number of entries and where they are read from."""
        source, where = self._source, []
        if source.archive is not None:
            where.append(f"archive={str(source.archive.path)!r}")
        if source.loose is not None:
            where.append(f"loose_entries={source.loose.time_stamps.size}")
        state = ", closed" if self._closed else ""
        return f"LogArchiveReader(source_id={source.source_id}, entries={len(self)}, {', '.join(where)}{state})"

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the reader of source {self._source.source_id} is closed")

    def _position_of(self, time_stamp: int) -> int:
        """Returns the position of the first entry whose timestamp is not below `time_stamp`."""
        if time_stamp >= _TIME_LIMIT:
            return len(self)
        return int(np.searchsorted(self._source.timestamps, np.uint64(time_stamp), side="left"))


def _time_bound(value: int, name: str) -> int:
    """Checks a bound of `between` and returns it as a Python int."""
    try:
        bound = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer timestamp, got {value!r} of type {type(value).__name__}") from None
    if not 0 <= bound <= _TIME_LIMIT:
        raise ValueError(f"{name} must be between 0 and 2**64, got {bound}")
    return bound


def read_logs(log_directory: str | os.PathLike[str]) -> dict[int, LogArchiveReader]:
    """Opens a reader for every source of a log directory, archived or not.

    A source with an archive reads it; a source whose entries are still `.npy` files reads those (in timestamp
    order, from their names); a source with both reads both, merged in timestamp order with archived entries first
    among equal timestamps. Loose files the archive already holds (compressed without `remove_sources`) are read
    once, from the archive. Files that are neither entries nor archives are ignored; a damaged entry file raises
    `EntryFormatError`, naming it, when iteration reaches it (`ataraxis-datalogger inspect` lists them all).

    Close the readers (or use each as a context manager) to release their files.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).

    Returns:
        A reader per source id, in source id order.

    Raises:
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If it is not a directory.
        ArchiveFormatError: If an archive is damaged, or holds a source other than the one its name says.
    """
    listing = list_log_directory(check_log_directory(log_directory))
    entries, _ = listing.parse()
    readers: dict[int, LogArchiveReader] = {}
    try:
        for source_id in sorted(entries.keys() | listing.archives.keys()):
            source = open_source(listing.directory, source_id, listing.archives.get(source_id), entries)
            readers[source_id] = LogArchiveReader._of(source)
    except BaseException:
        for reader in readers.values():
            reader.close()
        raise
    return readers
