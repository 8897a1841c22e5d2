"""One source's entries in reading order: its archive, its loose entry files, its stream records, merged.

The merged order is the archive's (`MergeOrder`): timestamp order; among equal timestamps archived entries first,
then loose entries in the order of their names, then stream records in arrival order. Iterating walks that order as
runs of consecutive entries from the same side, so an archive run is read as one chunk of payload bytes after the
other, a loose run one file after the other, and a stream run a few records per `pread`.

Damage met while iterating follows the reader's `on_damage` policy (see `_format.damage`): a damaged loose file,
or the archived entries whose payload bytes fail their checksum (or cannot be read at all), are skipped with a
warning, or raise.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._archive.loose_examination import ArchivedCopyCheck, find_archived_copies
from .._archive.stream_examination import archived_positions
from .._files.archive_file import ArchiveFile, open_source_archive
from .._files.closeable import Closeable
from .._files.entry_reader import EntryReader
from .._files.listing import SourceEntries
from .._files.payload_cursor import PayloadCursor, PayloadRange
from .._files.stream_index import SourceRecords, StreamIndex
from .._format.archive import MergeOrder
from .._format.damage import OnDamage, handle_damage
from ..exceptions import ArchiveFormatError, LogFilesChangedError
from .loose_entry_files import LooseEntryFiles

_LOOSE: Final = 1
_STREAM: Final = 2
"""The sides of the merge after the archive (side 0)."""
_CHUNK_ENTRIES: Final = 65536
_CHUNK_BYTES: Final = 8 << 20

Entry = tuple[int, NDArray[np.uint8]]
"""One log entry read back: its timestamp and its payload."""


class MergedSource(Closeable):
    """The entries of one source, from an archive, loose entry files and stream records, in reading order.

    Args:
        source_id: The source.
        archive: The source's opened archive, if it has one (closed by `close`).
        loose: The source's loose entry files the archive does not hold, if any.
        on_damage: What iteration does with damaged data: skip it with a warning, or raise.
        stream: The source's stream records the archive does not hold, if any.
    """

    def __init__(
        self,
        source_id: int,
        archive: ArchiveFile | None,
        loose: LooseEntryFiles | None,
        on_damage: OnDamage,
        stream: SourceRecords | None = None,
    ) -> None:
        self.source_id = source_id
        """The source."""
        self.on_damage = on_damage
        """What iteration does with damaged data."""
        self.archive = archive
        """The source's opened archive, or None."""
        self.loose = loose
        """The source's loose entry files, or None."""
        self.stream = stream
        """The source's stream records, or None."""
        empty = np.empty(0, dtype=np.uint64)
        sides = (
            empty if archive is None else archive.timestamps,
            empty if loose is None else loose.time_stamps,
            empty if stream is None else stream.time_stamps,
        )
        present = [side for side, part in enumerate((archive, loose, stream)) if part is not None]
        self._merge: MergeOrder | None = None
        self._only = present[0] if len(present) == 1 else None
        if len(present) > 1:
            self._merge = MergeOrder(*sides)
            self.timestamps: NDArray[np.uint64] = self._merge.time_stamps
            """Every entry's timestamp, in reading order (read-only)."""
        elif present:
            self.timestamps = sides[present[0]]
        else:
            self.timestamps = empty
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
                runs: Iterator[tuple[int, int, int]] = iter(() if self._only is None else [(self._only, first, last)])
            else:
                runs = self._merge.runs(first, last)
            for side, side_first, side_last in runs:
                if side == _LOOSE and loose_reader is not None and self.loose is not None:
                    yield from self.loose.run(loose_reader, side_first, side_last, self.on_damage)
                elif side == _STREAM:
                    yield from self._stream_run(side_first, side_last)
                elif archive_cursor is not None:
                    yield from self._archive_run(archive_cursor, side_first, side_last)
        finally:
            if archive_cursor is not None:
                archive_cursor.close()
            if loose_reader is not None:
                loose_reader.close()

    def _stream_run(self, first: int, last: int) -> Iterator[Entry]:
        """Yields stream records `first` to `last`, each checked again as it is read."""
        if self.stream is None:
            return
        try:
            yield from self.stream.read(first, last, self.on_damage)
        except FileNotFoundError as error:
            raise LogFilesChangedError(
                f"the stream segment {error.filename} was removed while a reader of its folder was open (a compression "
                "with remove_sources archives stream records and removes their segments): open the directory again "
                "with read_logs to read its entries from their archive"
            ) from None

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
            # Bounds the bytes read at once, but always takes at least one (possibly larger) entry.
            fitting = int(np.searchsorted(offsets, np.uint64(base + _CHUNK_BYTES), side="right")) - 1
            end = min(end, max(position + 1, fitting))
            chunk = cursor.read_range(base, int(offsets[end]))
            if chunk.problem is not None:
                yield from self._salvage(chunk, position, end, last)
                if chunk.unreadable_from is not None:
                    return
                position = end
                continue
            block = chunk.data
            bounds = (offsets[position : end + 1] - offsets[position]).tolist()
            # zip/map run in C: no Python bytecode and no NumPy scalar per entry.
            yield from zip(
                stamps[position:end].tolist(), map(block.__getitem__, map(slice, bounds[:-1], bounds[1:])), strict=True
            )
            position = end

    def _salvage(self, chunk: PayloadRange, position: int, end: int, last: int) -> Iterator[Entry]:
        """Yields the entries of a damaged chunk whose payloads are intact; skips the others, warning, or raises.

        When the archive cannot be read past some byte (a truncated file, a broken deflate stream), every later
        entry of the run up to `last` is skipped with this chunk, in one warning.
        """
        archive = self.archive
        if archive is None or chunk.problem is None:
            return
        damage = ArchiveFormatError(chunk.problem)
        if self.on_damage == "raise":
            raise damage
        stop = last if chunk.unreadable_from is not None else end
        starts = archive.offsets[position:stop]
        stops = archive.offsets[position + 1 : stop + 1]
        damaged = np.zeros(stop - position, dtype=np.bool_)
        for damaged_start, damaged_stop in chunk.damaged:
            damaged |= (starts < damaged_stop) & (stops > damaged_start)
        if chunk.unreadable_from is not None:
            damaged[end - position :] = True
        damaged &= stops > starts  # an empty payload holds no byte that could be damaged
        skipped = archive.timestamps[position:stop][damaged]
        if skipped.size:
            what = f"{skipped.size} entries (timestamps {int(skipped[0])} to {int(skipped[-1])}) of that archive"
        else:
            what = "nothing: no entry's payload lies in the damaged bytes"
        handle_damage(self.on_damage, damage, what)
        base = int(archive.offsets[position])
        for index in np.flatnonzero(~damaged).tolist():
            entry = position + index
            payload_start, payload_stop = int(starts[index]) - base, int(stops[index]) - base
            if entry < end:
                yield int(archive.timestamps[entry]), chunk.data[payload_start:payload_stop]
            else:
                yield int(archive.timestamps[entry]), chunk.data[:0]

    def close(self) -> None:
        """Releases the archive file and its memory map (payloads already read stay valid)."""
        if self.archive is not None:
            self.archive.close()


def open_source(
    directory: Path,
    source_id: int,
    archive_path: Path | None,
    entries: dict[int, SourceEntries],
    on_damage: OnDamage,
    stream_index: StreamIndex | None = None,
) -> MergedSource:
    """Opens one source of a log directory: its archive, and its loose entries and stream records not archived.

    Args:
        directory: The log directory.
        source_id: The source.
        archive_path: The source's archive, if it has one.
        entries: The loose entries of every source of the directory, from its listing.
        on_damage: What to do with an archive that cannot be opened (the source is then read from its loose
            files and stream records alone), and what the source's iteration does with damaged data.
        stream_index: The directory's stream records, if it has segments.

    Raises:
        ArchiveFormatError: If the archive is damaged, or holds a source other than the one its name says, and
            `on_damage` is "raise".
    """
    archive = None
    if archive_path is not None:
        try:
            archive = open_source_archive(archive_path, source_id)
        except ArchiveFormatError as error:
            handle_damage(on_damage, error, "that archive (its source is read from its loose entry files alone)")
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
        stream = None if stream_index is None else stream_index.source(source_id)
        if stream is not None and archive is not None:
            pending = archived_positions(archive.stream_origins(), stream) < 0
            stream = stream.subset(pending) if pending.any() else None
    except BaseException:
        if archive is not None:
            archive.close()
        raise
    return MergedSource(source_id, archive, loose, on_damage, stream)
