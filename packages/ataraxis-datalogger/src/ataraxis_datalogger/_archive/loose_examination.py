"""Reading the loose entry files of one source: which are damaged, which the archive already holds, which are new.

An archive records, per entry, the modification time of the entry file it came from while that file may still exist
(`file_mtimes` and `file_duplicates` members, see `_format.archive`), so that compressing a directory twice, or
after an interrupted removal, never archives a file twice. A loose file is a copy of an archived entry when the
archive has an entry with the file's timestamp, duplicate index and modification time, and the same payload, byte
for byte. The modification time matters once files were removed: the logger may later reuse a freed name for a new
entry, which must be archived even if its payload happens to be the same. An archive of the 3.x layout records no
times: there a copy's file must be no newer than the archive (see `LegacyArchiveFile`). Every rule errs on the side
of archiving: a file that only looks like a copy (its modification time was not preserved by a copy to another disk,
say) is archived again, never dropped.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._files.archive_file import ArchiveFile
from .._files.closeable import Closeable
from .._files.entry_reader import EntryReader, damage_reason
from .._files.listing import SourceEntries
from .._files.payload_cursor import PayloadCursor
from ..exceptions import ArchiveFormatError

ProgressCallback = Callable[[int], None]
"""Called with the number of entries handled since the previous call."""

_PROGRESS_STEP = 2048


class ArchivedCopyCheck(Closeable):
    """Tells whether a loose entry is a copy of one an archive already holds (see the module description).

    Args:
        archive: The source's archive, or None if it has none.
    """

    def __init__(self, archive: ArchiveFile | None) -> None:
        self._archive = archive
        self._recorded: dict[tuple[int, int], tuple[int, int]] = {}
        if archive is not None:
            mtimes, duplicates = archive.file_records()
            indices = np.flatnonzero(mtimes)
            stamps = archive.timestamps[indices].tolist()
            for index, stamp, duplicate, mtime in zip(
                indices.tolist(), stamps, duplicates[indices].tolist(), mtimes[indices].tolist(), strict=True
            ):
                self._recorded[stamp, duplicate] = (index, mtime)
        self._cursor: PayloadCursor | None = None

    def recorded(self, time_stamp: int, duplicate_index: int) -> bool:
        """Returns True if the archive records a file of this name.

        Args:
            time_stamp: The timestamp from the file's name.
            duplicate_index: The duplicate index from the file's name.
        """
        return (time_stamp, duplicate_index) in self._recorded

    def match(self, time_stamp: int, duplicate_index: int, payload: memoryview, mtime_ns: int) -> int | None:
        """Returns the archive position of the entry this loose entry is a copy of, or None if it is new.

        Args:
            time_stamp: The timestamp from the file's name.
            duplicate_index: The duplicate index from the file's name.
            payload: The file's payload.
            mtime_ns: The file's modification time.

        Raises:
            ArchiveFormatError: If the archived payload to compare with is damaged.
        """
        found = self._recorded.get((time_stamp, duplicate_index))
        if found is None or self._archive is None:
            return None
        recorded_mtime = found[1]
        if mtime_ns != recorded_mtime and (self._archive.records_exact_mtimes or mtime_ns > recorded_mtime):
            return None
        index = found[0]
        start, stop = int(self._archive.offsets[index]), int(self._archive.offsets[index + 1])
        if stop - start != len(payload):
            return None
        if self._cursor is None:
            self._cursor = self._archive.cursor()
        if self._cursor.read(start, stop).data != payload:
            return None
        return index

    def close(self) -> None:
        """Closes the payload cursor the checks opened."""
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None


@dataclass
class Examination:
    """What reading every loose entry file of a source found."""

    new: NDArray[np.bool_]
    """Per loose entry: valid and not yet archived."""
    copies: NDArray[np.bool_]
    """Per loose entry: valid and already in the archive."""
    copy_positions: NDArray[np.intp]
    """The archive position of each copy, in order."""
    copy_mtimes: NDArray[np.uint64]
    """The modification time of each copy's file, in order."""
    damaged: list[tuple[str, str]]
    """The name of each damaged file and what is wrong with it."""
    lengths: NDArray[np.uint64]
    """The payload length of each new entry, in order."""
    mtimes: NDArray[np.uint64]
    """The modification time of each new entry's file, in order."""
    payloads: bytearray | None
    """Every new entry's payload, concatenated, or None if they did not fit the buffer limit."""


def examine_entries(
    reader: EntryReader,
    source_id: int,
    entries: SourceEntries,
    copy_check: ArchivedCopyCheck,
    buffer_limit: int,
    progress: ProgressCallback | None = None,
) -> Examination:
    """Reads every loose entry file of a source once.

    Args:
        reader: Reads the files of the log directory.
        source_id: The source.
        entries: The source's loose entries, in order.
        copy_check: Recognises entries the source's archive already holds.
        buffer_limit: The new entries' payloads are kept in memory while their total stays within this many
            bytes; past it they are dropped and must be read again when written.
        progress: Told how many entries were read, now and then.
    """
    count = entries.time_stamps.size
    new = np.zeros(count, dtype=np.bool_)
    copies = np.zeros(count, dtype=np.bool_)
    copy_positions: list[int] = []
    copy_mtimes: list[int] = []
    damaged: list[tuple[str, str]] = []
    lengths: list[int] = []
    mtimes: list[int] = []
    payloads: bytearray | None = bytearray()
    unreported = 0
    for entry in reader.read_entries(source_id, entries.time_stamps, entries.duplicate_indices):
        if entry.error is not None:
            reason = damage_reason(entry.error)
            if reason is None:
                # The process's error (out of descriptors, say): the source fails rather than condemn every file.
                raise entry.error
            damaged.append((entry.name, reason))
            unreported += 1
            continue
        payload = entry.payload
        archived_at = copy_check.match(entry.time_stamp, entry.duplicate_index, payload, entry.mtime_ns)
        if archived_at is not None:
            copies[entry.position] = True
            copy_positions.append(archived_at)
            copy_mtimes.append(entry.mtime_ns)
        else:
            new[entry.position] = True
            lengths.append(len(payload))
            mtimes.append(entry.mtime_ns)
            if payloads is not None:
                if len(payloads) + len(payload) > buffer_limit:
                    payloads = None
                else:
                    payloads += payload
        unreported += 1
        if progress is not None and unreported >= _PROGRESS_STEP:
            progress(unreported)
            unreported = 0
    if progress is not None and unreported:
        progress(unreported)
    return Examination(
        new=new,
        copies=copies,
        copy_positions=np.array(copy_positions, dtype=np.intp),
        copy_mtimes=np.array(copy_mtimes, dtype=np.uint64),
        damaged=damaged,
        lengths=np.array(lengths, dtype=np.uint64),
        mtimes=np.array(mtimes, dtype=np.uint64),
        payloads=payloads,
    )


def find_archived_copies(
    reader: EntryReader, source_id: int, entries: SourceEntries, copy_check: ArchivedCopyCheck
) -> NDArray[np.bool_]:
    """Returns, per loose entry, whether the archive already holds it; reads only the files its record names.

    The arguments are those of `examine_entries`.
    """
    stamps, indices = entries.time_stamps, entries.duplicate_indices
    copies = np.zeros(stamps.size, dtype=np.bool_)
    recorded = np.flatnonzero(
        [copy_check.recorded(*pair) for pair in zip(stamps.tolist(), indices.tolist(), strict=True)]
    )
    for entry in reader.read_entries(source_id, stamps[recorded], indices[recorded]):
        if entry.error is not None:
            if damage_reason(entry.error) is None:
                raise entry.error
            # A damaged file is no copy: it stays visible, and reading it reports the damage.
            continue
        try:
            match = copy_check.match(entry.time_stamp, entry.duplicate_index, entry.payload, entry.mtime_ns)
        except ArchiveFormatError:
            # The archived copy is damaged: the loose file is read instead (and the reader reports the damage).
            match = None
        copies[recorded[entry.position]] = match is not None
    return copies
