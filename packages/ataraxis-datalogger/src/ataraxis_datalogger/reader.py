"""Reading logged entries back: `LogArchiveReader` for one source, `read_logs` for a whole log directory."""

import itertools
import operator
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ._archive_format import ArchiveFormatError
from ._archive_part import ArchivePart, PayloadCursor
from ._entry_files import EntryReader
from ._loose_entries import ArchivedCopyCheck, find_archived_copies
from ._loose_part import LoosePart
from ._scan import SourceEntries, check_log_directory, list_log_directory

_CHUNK_ENTRIES: Final = 65536
_CHUNK_BYTES: Final = 8 << 20
_TIME_LIMIT: Final = 2**64

Entry = tuple[int, NDArray[np.uint8]]
"""One log entry read back: its timestamp and its payload."""


class LogArchiveReader:
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
        part = ArchivePart(Path(path))
        self._set_up(part.source_id, part, None)

    @classmethod
    def _combine(cls, source_id: int, archive: ArchivePart | None, loose: LoosePart | None) -> "LogArchiveReader":
        """Builds a reader over an archive, loose entries, or both (merged, archived entries first among ties)."""
        reader = cls.__new__(cls)
        reader._set_up(source_id, archive, loose)
        return reader

    def _set_up(self, source_id: int, archive: ArchivePart | None, loose: LoosePart | None) -> None:
        self._source_id = source_id
        self._archive = archive
        self._loose = loose
        self._closed = False
        self._origin: NDArray[np.bool_] | None = None
        self._part_index: NDArray[np.int64] | None = None
        if archive is not None and loose is not None:
            archived = archive.timestamps.size
            merged = np.concatenate((archive.timestamps, loose.time_stamps))
            order = np.argsort(merged, kind="stable")
            self._timestamps = merged[order]
            self._origin = order >= archived
            self._part_index = order - np.where(self._origin, archived, 0)
        elif archive is not None:
            self._timestamps = archive.timestamps
        elif loose is not None:
            self._timestamps = loose.time_stamps
        else:
            self._timestamps = np.empty(0, dtype=np.uint64)
        self._timestamps.flags.writeable = False

    @property
    def source_id(self) -> int:
        """The id of the source whose entries this reader reads."""
        return self._source_id

    @property
    def archive_path(self) -> Path | None:
        """The source's archive, or None if none of its entries is archived yet."""
        return None if self._archive is None else self._archive.path

    @property
    def timestamps(self) -> NDArray[np.uint64]:
        """Every entry's timestamp, in reading order, as a read-only uint64 array."""
        return self._timestamps

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    def __len__(self) -> int:
        """Returns the number of entries."""
        return int(self._timestamps.size)

    def __iter__(self) -> Iterator[Entry]:
        """Returns an iterator over every `(timestamp, payload)` pair, in order.

        Raises:
            ValueError: If the reader is closed.
        """
        self._check_open()
        return self._entries(0, len(self))

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
        return self._entries(self._position_of(first_stamp), self._position_of(last_stamp))

    def close(self) -> None:
        """Releases the archive file and its memory map; payloads already read stay valid. Idempotent."""
        if not self._closed:
            self._closed = True
            if self._archive is not None:
                self._archive.close()

    def __enter__(self) -> "LogArchiveReader":
        """Returns the reader itself."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Closes the reader."""
        self.close()

    def __repr__(self) -> str:
        """Returns the source, the number of entries and where they are read from."""
        where = []
        if self._archive is not None:
            where.append(f"archive={str(self._archive.path)!r}")
        if self._loose is not None:
            where.append(f"loose_entries={self._loose.time_stamps.size}")
        state = ", closed" if self._closed else ""
        return f"LogArchiveReader(source_id={self._source_id}, entries={len(self)}, {', '.join(where)}{state})"

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the reader of source {self._source_id} is closed")

    def _position_of(self, time_stamp: int) -> int:
        """Returns the position of the first entry whose timestamp is not below `time_stamp`."""
        if time_stamp >= _TIME_LIMIT:
            return len(self)
        return int(np.searchsorted(self._timestamps, np.uint64(time_stamp), side="left"))

    def _entries(self, first: int, last: int) -> Iterator[Entry]:
        """Yields entries `first` to `last` (exclusive) of the reading order."""
        archive_cursor = None if self._archive is None else self._archive.cursor()
        loose_reader = None if self._loose is None else self._loose.open_reader()
        try:
            if self._origin is None or self._part_index is None:
                if archive_cursor is not None:
                    yield from self._archive_run(archive_cursor, first, last)
                elif loose_reader is not None and self._loose is not None:
                    yield from self._loose.run(loose_reader, first, last)
                return
            origin = self._origin[first:last]
            boundaries = [0, *(np.flatnonzero(origin[1:] != origin[:-1]) + 1).tolist(), last - first]
            for run_start, run_stop in itertools.pairwise(boundaries):
                if run_start == run_stop:
                    continue
                part_first = int(self._part_index[first + run_start])
                part_last = part_first + run_stop - run_start
                if origin[run_start] and loose_reader is not None and self._loose is not None:
                    yield from self._loose.run(loose_reader, part_first, part_last)
                elif archive_cursor is not None:
                    yield from self._archive_run(archive_cursor, part_first, part_last)
        finally:
            if archive_cursor is not None:
                archive_cursor.close()
            if loose_reader is not None:
                loose_reader.close()

    def _archive_run(self, cursor: PayloadCursor, first: int, last: int) -> Iterator[Entry]:
        """Yields archived entries `first` to `last`, one chunk of payload bytes at a time."""
        archive = self._archive
        if archive is None:
            return
        offsets, stamps = archive.offsets, archive.timestamps
        position = first
        while position < last:
            end = min(last, position + _CHUNK_ENTRIES)
            base = int(offsets[position])
            if archive.compressed:
                # Bounds the bytes decompressed at once, but always takes at least one (possibly larger) entry.
                fitting = int(np.searchsorted(offsets, np.uint64(base + _CHUNK_BYTES), side="right")) - 1
                end = min(end, max(position + 1, fitting))
            block = cursor.read(base, int(offsets[end]))
            bounds = (offsets[position : end + 1] - offsets[position]).tolist()
            # zip/map run in C: no Python bytecode and no NumPy scalar per entry.
            yield from zip(
                stamps[position:end].tolist(), map(block.__getitem__, map(slice, bounds[:-1], bounds[1:])), strict=True
            )
            position = end


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
            readers[source_id] = _open_source(listing.directory, source_id, listing.archives.get(source_id), entries)
    except BaseException:
        for reader in readers.values():
            reader.close()
        raise
    return readers


def _open_source(
    directory: Path, source_id: int, archive_path: Path | None, entries: dict[int, SourceEntries]
) -> LogArchiveReader:
    """Builds the reader of one source of a log directory."""
    archive = None if archive_path is None else ArchivePart(archive_path)
    try:
        if archive is not None and archive.source_id != source_id:
            raise ArchiveFormatError(
                f"{archive.path} is named for source {source_id} but holds source {archive.source_id}"
            )
        loose = None
        if source_id in entries:
            stamps, indices = entries[source_id].time_stamps, entries[source_id].duplicate_indices
            if archive is not None and np.any(archive.file_records()[0]):
                with EntryReader(directory) as files, ArchivedCopyCheck(archive) as copy_check:
                    copies = find_archived_copies(files, source_id, stamps, indices, copy_check)
                stamps, indices = stamps[~copies], indices[~copies]
            if stamps.size:
                loose = LoosePart(directory, source_id, stamps, indices)
    except BaseException:
        if archive is not None:
            archive.close()
        raise
    return LogArchiveReader._combine(source_id, archive, loose)
