"""One source's entries in reading order: its archive, its loose entry files, or both merged.

The merged order is the archive's (`MergeOrder`): timestamp order, archived entries first among equal timestamps,
loose entries after them in the order of their names. Iterating walks that order as runs of consecutive entries from
the same side, so an archive run is read as one block of payload bytes and a loose run one file after the other.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._archive.loose_examination import ArchivedCopyCheck, find_archived_copies
from .._files.archive_file import ArchiveFile, PayloadCursor, open_source_archive
from .._files.closeable import Closeable
from .._files.entry_reader import EntryReader
from .._files.listing import SourceEntries
from .._format.archive import MergeOrder
from .loose_entry_files import LooseEntryFiles

_CHUNK_ENTRIES: Final = 65536
_CHUNK_BYTES: Final = 8 << 20

Entry = tuple[int, NDArray[np.uint8]]
"""One log entry read back: its timestamp and its payload."""


class MergedSource(Closeable):
    """The entries of one source, from an archive, loose entry files, or both, in reading order.

    Args:
        source_id: The source.
        archive: The source's opened archive, if it has one (closed by `close`).
        loose: The source's loose entry files the archive does not hold, if any.
    """

    def __init__(self, source_id: int, archive: ArchiveFile | None, loose: LooseEntryFiles | None) -> None:
        self.source_id = source_id
        """The source."""
        self.archive = archive
        """The source's opened archive, or None."""
        self.loose = loose
        """The source's loose entry files, or None."""
        self._merge: MergeOrder | None = None
        if archive is not None and loose is not None:
            self._merge = MergeOrder(archive.timestamps, loose.time_stamps)
            self.timestamps: NDArray[np.uint64] = self._merge.time_stamps
            """Every entry's timestamp, in reading order (read-only)."""
        elif archive is not None:
            self.timestamps = archive.timestamps
        elif loose is not None:
            self.timestamps = loose.time_stamps
        else:
            self.timestamps = np.empty(0, dtype=np.uint64)
        self.timestamps.flags.writeable = False

    def entries(self, first: int, last: int) -> Iterator[Entry]:
        """Yields entries `first` to `last` (exclusive) of the reading order.

        Args:
            first: The first entry's position.
            last: One past the last entry's position.
        """
        archive_cursor = None if self.archive is None else self.archive.cursor()
        loose_reader = None if self.loose is None else self.loose.open_reader()
        try:
            if self._merge is None:
                if archive_cursor is not None:
                    yield from self._archive_run(archive_cursor, first, last)
                elif loose_reader is not None and self.loose is not None:
                    yield from self.loose.run(loose_reader, first, last)
                return
            for from_loose, side_first, side_last in self._merge.runs(first, last):
                if from_loose and loose_reader is not None and self.loose is not None:
                    yield from self.loose.run(loose_reader, side_first, side_last)
                elif archive_cursor is not None:
                    yield from self._archive_run(archive_cursor, side_first, side_last)
        finally:
            if archive_cursor is not None:
                archive_cursor.close()
            if loose_reader is not None:
                loose_reader.close()

    def _archive_run(self, cursor: PayloadCursor, first: int, last: int) -> Iterator[Entry]:
        """Yields archived entries `first` to `last`, one chunk of payload bytes at a time."""
        archive = self.archive
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

    def close(self) -> None:
        """Releases the archive file and its memory map (payloads already read stay valid)."""
        if self.archive is not None:
            self.archive.close()


def open_source(
    directory: Path, source_id: int, archive_path: Path | None, entries: dict[int, SourceEntries]
) -> MergedSource:
    """Opens one source of a log directory: its archive, and its loose entry files the archive does not hold.

    Args:
        directory: The log directory.
        source_id: The source.
        archive_path: The source's archive, if it has one.
        entries: The loose entries of every source of the directory, from its listing.

    Raises:
        ArchiveFormatError: If the archive is damaged, or holds a source other than the one its name says.
    """
    archive = None if archive_path is None else open_source_archive(archive_path, source_id)
    try:
        loose = None
        if source_id in entries:
            stamps, indices = entries[source_id].time_stamps, entries[source_id].duplicate_indices
            if archive is not None and np.any(archive.file_records()[0]):
                with EntryReader(directory) as files, ArchivedCopyCheck(archive) as copy_check:
                    copies = find_archived_copies(files, source_id, entries[source_id], copy_check)
                stamps, indices = stamps[~copies], indices[~copies]
            if stamps.size:
                loose = LooseEntryFiles(directory, source_id, stamps, indices)
    except BaseException:
        if archive is not None:
            archive.close()
        raise
    return MergedSource(source_id, archive, loose)
