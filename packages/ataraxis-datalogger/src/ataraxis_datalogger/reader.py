"""Reading logged entries back: `LogArchiveReader` for one source, `read_logs` for a whole log directory."""

import operator
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from ._export.optional import requires_extra
from ._files.archive_file import ArchiveFile
from ._files.closeable import Closeable
from ._files.listing import check_log_directory, check_path_argument, list_log_directory
from ._files.stream_index import scan_segments
from ._format.arguments import check_integer
from ._format.damage import OnDamage, check_on_damage
from ._read.merged_source import Entry, MergedSource, open_source
from .exceptions import DataLoggerTypeError, DataLoggerValueError

if TYPE_CHECKING:
    import pyarrow as pa

_TIME_LIMIT: Final = 2**64


class LogArchiveReader(Closeable):
    """Reads the entries of one source in timestamp order (ties in the order they arrived).

    `LogArchiveReader(path)` opens a source's archive, `{source_id}_log.npz`, as written by `compress_npy_logs`.
    `read_logs` also builds readers over entries that are not archived yet, or over an archive together with
    entries logged after it: the interface is the same.

    Timestamps are loaded when the reader opens (8 bytes per entry); payloads are read only when asked for, one
    bounded chunk at a time. In an archive written with `compress=False` they are read with `pread`, so any range
    costs only the bytes it touches. In a compressed archive they are decompressed as a stream: reading front to
    back costs one decompression, and `between` first decompresses (and discards) the bytes before its range.
    Payload bytes of a format 2 archive are checked against their block checksums as they are read.

    Damage met while iterating (an archived chunk whose checksum fails, a truncated archive, a damaged loose entry
    file) is skipped with a `DamagedLogFilesWarning` naming the file and the entries skipped, or raises, as
    `on_damage` says. `len()` and `timestamps` count every entry, skipped ones included.

    Payloads are read-only uint8 arrays; those of an archive are views into a shared chunk (copy one to keep it
    writable). They stay valid after the reader is closed, and whatever happens to the file afterwards.
    """

    def __init__(self, path: str | os.PathLike[str], on_damage: OnDamage = "warn") -> None:
        """Opens an archive and loads its timestamps and offsets.

        Args:
            path: The archive file, `{source_id}_log.npz` (a symbolic link to one is followed).
            on_damage: "warn" skips damaged entries with a `DamagedLogFilesWarning` and reads on; "raise" raises
                `ArchiveFormatError` at the first one.

        Raises:
            ArchiveFormatError: If the file is not a log archive, is damaged, or was written by a newer version.
            OSError: If the file cannot be opened.
            DataLoggerTypeError: If `path` is not a `str` or `os.PathLike` path.
            DataLoggerValueError: If `path` is empty or `on_damage` is not "warn" or "raise".
        """
        policy = check_on_damage(on_damage)
        archive = ArchiveFile(check_path_argument(path, "the archive path"), follow_symlinks=True)
        self._source = MergedSource(archive.source_id, archive, None, policy)
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

        Iterating raises `ArchiveFormatError` or `EntryFormatError` at damaged data if the reader's `on_damage`
        is "raise", and `LogFilesChangedError` if a loose entry file was removed under the reader.

        Raises:
            DataLoggerValueError: If the reader is closed.
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
            DataLoggerTypeError: If a bound is not an integer.
            DataLoggerValueError: If a bound is outside 0 to 2**64, `start > stop`, or the reader is closed.
        """
        first_stamp, last_stamp = _time_bound(start, "start"), _time_bound(stop, "stop")
        if first_stamp > last_stamp:
            raise DataLoggerValueError(f"start ({first_stamp}) must not be greater than stop ({last_stamp})")
        self._check_open()
        return self._source.entries(self._position_of(first_stamp), self._position_of(last_stamp))

    def to_arrow(self) -> "pa.Table":
        """Returns every entry as a `pyarrow.Table` with the columns `source_id`, `timestamp` and `payload`.

        The types are uint8, uint64 and `large_binary`, one row per entry in reading order. When every entry comes
        from the archive, the table is built on the archive's own columns: the timestamps and offsets loaded when
        the reader opened become its buffers without a copy, and the payload bytes are read (and checked against
        their checksums) into one buffer in one read, with no Python object per entry. Entries from loose files
        (alone or merged with an archive), and entries of a damaged part of an archive, are read one by one,
        a batch at a time. Damaged data is skipped with a warning or raises, as the reader's `on_damage` says.
        The whole table is in memory (about the size of the payloads); the table stays valid after the reader
        is closed.

        `polars.from_arrow(table)` and `table.to_pandas()` turn it into a data frame; `iter_batches` reads a
        source of any size in bounded pieces instead.

        Raises:
            OptionalDependencyError: If pyarrow is not installed (the `arrow` extra).
            DataLoggerValueError: If the reader is closed.
        """
        self._check_open()
        with requires_extra("LogArchiveReader.to_arrow"):
            from ._export.arrow_batches import source_table
        return source_table(self._source)

    def iter_batches(self, *, max_bytes: int = 8 << 20, max_rows: int = 65536) -> Iterator["pa.RecordBatch"]:
        """Returns an iterator over every entry, in reading order, as `pyarrow.RecordBatch`es of bounded size.

        The batches have the columns of `to_arrow` and are built the same way, a slice of the archive's columns
        at a time. Memory stays bounded by one batch, which makes this the way to stream a source larger than
        memory into another engine or file format.

        Args:
            max_bytes: The payload bytes of one batch, at most; an entry larger than this is a batch of its own.
            max_rows: The entries of one batch, at most.

        Raises:
            OptionalDependencyError: If pyarrow is not installed (the `arrow` extra).
            DataLoggerTypeError: If a limit is not an integer.
            DataLoggerValueError: If a limit is below 1, or the reader is closed.
        """
        limits = check_integer(max_bytes, "max_bytes", 1), check_integer(max_rows, "max_rows", 1)
        self._check_open()
        with requires_extra("LogArchiveReader.iter_batches"):
            from ._export.arrow_batches import record_batches
        return record_batches(self._source, max_bytes=limits[0], max_rows=limits[1])

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
        if source.stream is not None:
            where.append(f"stream_entries={len(source.stream)}")
        state = ", closed" if self._closed else ""
        return f"LogArchiveReader(source_id={source.source_id}, entries={len(self)}, {', '.join(where)}{state})"

    def _check_open(self) -> None:
        if self._closed:
            raise DataLoggerValueError(f"the reader of source {self._source.source_id} is closed")

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
        raise DataLoggerTypeError(
            f"{name} must be an integer timestamp, got {value!r} of type {type(value).__name__}"
        ) from None
    if not 0 <= bound <= _TIME_LIMIT:
        raise DataLoggerValueError(f"{name} must be between 0 and 2**64, got {bound}")
    return bound


class LogReaders(dict[int, LogArchiveReader], Closeable):
    """What `read_logs` returns: a `dict` of readers by source id, in source id order, that can act on all of them.

    It is a plain `dict` in every other respect. As a context manager, it closes every reader on exit.
    """

    def to_arrow(self) -> "pa.Table":
        """Returns the entries of every source as one `pyarrow.Table`, source after source.

        The columns are those of `LogArchiveReader.to_arrow` (`source_id`, `timestamp`, `payload`); each source is
        one chunk of the table, built as that method builds it, and joining them copies nothing.
        `polars.from_arrow(table)` or `table.to_pandas()` make a data frame of it.

        Raises:
            OptionalDependencyError: If pyarrow is not installed (the `arrow` extra).
            DataLoggerValueError: If a reader is closed.
        """
        with requires_extra("read_logs(...).to_arrow"):
            import pyarrow

            from ._export.arrow_batches import SCHEMA
        if not self:
            return SCHEMA.empty_table()
        return pyarrow.concat_tables([reader.to_arrow() for reader in self.values()])

    def close(self) -> None:
        """Closes every reader. Idempotent."""
        for reader in self.values():
            reader.close()


def read_logs(log_directory: str | os.PathLike[str], on_damage: OnDamage = "warn") -> LogReaders:
    """Opens a reader for every source of a log directory, archived or not.

    A source with an archive reads it; a source whose entries are still `.npy` files reads those (in timestamp
    order, from their names); a source with entries in stream segments (`.adlog`, the stream layout) reads those;
    a source with several reads them merged in timestamp order, among equal timestamps archived entries first,
    then loose files, then stream records (in arrival order). Loose files and stream records the archive already
    holds (compressed without `remove_sources`) are read once, from the archive. Files that are neither entries,
    archives nor segments (anything that is not a regular file included) are ignored.

    Stream segments are read once here, every record's checksum verified, to index their entries (about a million
    small entries per second); each record is checked again when its payload is read. A torn tail (a crash in the
    middle of an append) or damaged bytes in a segment are reported here, as `on_damage` says; the records before
    and after them are read.

    Damage does not stop reading by default: an archive that cannot be opened is skipped (its source is read from
    its loose files) when the readers are opened, and a damaged entry file or damaged archived entries are skipped
    when iteration reaches them, each with a `DamagedLogFilesWarning` naming the file. `ataraxis-datalogger inspect
    --verify` lists every damaged file at once.

    Close the readers (or use each, or the returned `LogReaders`, as a context manager) to release their files.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).
        on_damage: "warn" skips damaged data with a warning and reads on; "raise" raises at the first damage
            (`ArchiveFormatError` for an archive, `EntryFormatError` for an entry file, `StreamFormatError` for a
            stream segment).

    Returns:
        A reader per source id, in source id order, as a `LogReaders` dict (`to_arrow` reads them all into one
        `pyarrow.Table`).

    Raises:
        DataLoggerTypeError: If the path is not a `str` or `os.PathLike` path.
        DataLoggerValueError: If the path is empty or `on_damage` is not "warn" or "raise".
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If it is not a directory.
        ArchiveFormatError: If an archive is damaged, or holds a source other than the one its name says, and
            `on_damage` is "raise".
        StreamFormatError: If a stream segment is damaged or has a torn tail, and `on_damage` is "raise".
    """
    policy = check_on_damage(on_damage)
    listing = list_log_directory(check_log_directory(log_directory))
    entries, _ = listing.parse()
    index = scan_segments(listing.directory, listing.segments, policy) if listing.segments else None
    streamed = set() if index is None else set(index.source_ids_present())
    readers = LogReaders()
    try:
        for source_id in sorted(entries.keys() | listing.archives.keys() | streamed):
            archive = listing.archives.get(source_id)
            source = open_source(listing.directory, source_id, archive, entries, policy, index)
            readers[source_id] = LogArchiveReader._of(source)
    except BaseException:
        for reader in readers.values():
            reader.close()
        raise
    return readers
