"""Inspecting a log directory: per source, what is archived, loose or in stream segments, and what is damaged."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ._archive.archive_check import open_checked_archive
from ._archive.loose_examination import ArchivedCopyCheck, Examination, examine_entries
from ._archive.reports import DamagedFile
from ._archive.stream_examination import archived_positions
from ._files.archive_file import ArchiveFile
from ._files.entry_reader import EntryReader
from ._files.listing import DirectoryListing, SourceEntries, check_log_directory, list_log_directory
from ._files.stream_index import StreamIndex, scan_segments
from ._format.arguments import check_flag
from ._progress import ProgressDisplay
from .exceptions import ArchiveFormatError


@dataclass(frozen=True)
class SourceSummary:
    """What a log directory holds for one source."""

    source_id: int
    """The source."""
    archive_path: Path | None
    """The source's archive, or None if it has no readable one."""
    archived_entries: int
    """Entries in the archive."""
    pending_entries: int
    """Valid entry files the archive does not hold yet (a compression would archive them)."""
    archived_copies: int
    """Entry files the archive already holds (left by a compression without `remove_sources`)."""
    first_time_stamp: int | None
    """The earliest timestamp of the archived and pending entries, or None if there are none."""
    last_time_stamp: int | None
    """The latest timestamp of the archived and pending entries, or None if there are none."""
    payload_bytes: int
    """The payload bytes of the archived and pending entries."""
    archive_bytes: int
    """The archive file's size on disk (0 without an archive)."""
    damaged_files: tuple[DamagedFile, ...]
    """Entry files (and the archive, if so) of this source that cannot be read, and why."""
    archive_format_version: int | None = None
    """The archive's layout version (1: without payload checksums; 2: with; 0: the one-member-per-entry layout of
    ataraxis-data-structures 3.x, without either), or None without a readable archive."""
    stream_entries: int = 0
    """Valid stream records the archive does not hold yet (a compression would archive them)."""
    stream_copies: int = 0
    """Stream records the archive already holds (their segments are kept until a compression removes them)."""


@dataclass(frozen=True)
class SegmentSummary:
    """What one stream segment holds."""

    path: Path
    """The segment."""
    state: str
    """"writing" (its writer still holds it), "closed" (it ends with its segment end) or "unclosed" (its writer
    is gone and it has no segment end: the writer died or could not append it)."""
    entries: int
    """Its valid entry records."""
    instance_name: str
    """The name of the logger that wrote it (from its header)."""
    damage: tuple[str, ...]
    """Its damaged ranges and torn tail, each described with its offset and length."""


@dataclass(frozen=True)
class LogDirectorySummary:
    """What a log directory holds, per source."""

    log_directory: Path
    """The inspected directory."""
    sources: dict[int, SourceSummary]
    """A summary for each source, by source id."""
    foreign_files: tuple[Path, ...]
    """`.npy` files whose names are not entries', and anything named like an entry, an archive or a segment that is
    not a regular file (a FIFO, a directory, a symbolic link, ...)."""
    segments: tuple[SegmentSummary, ...] = ()
    """Every stream segment, in sequence order (those whose header cannot be read are only in `damaged_files`)."""
    unreadable_segments: tuple[DamagedFile, ...] = ()
    """Files named like segments whose header cannot be read."""

    @property
    def damaged_files(self) -> tuple[DamagedFile, ...]:
        """Every damaged file, over all sources, and every damaged or unreadable segment."""
        return (
            *(damaged for summary in self.sources.values() for damaged in summary.damaged_files),
            *(DamagedFile(segment.path, "; ".join(segment.damage)) for segment in self.segments if segment.damage),
            *self.unreadable_segments,
        )

    @property
    def clean(self) -> bool:
        """True if no file is damaged or foreign."""
        return not self.damaged_files and not self.foreign_files


def inspect_logs(
    log_directory: str | os.PathLike[str], *, verify: bool = False, verbose: bool = False
) -> LogDirectorySummary:
    """Reads a whole log directory and summarises it per source, listing every damaged and foreign file.

    Every loose entry file is read and decoded, and every record of every stream segment is read and its checksum
    verified (each segment's damaged ranges and torn tail are listed). Every archive is opened and its metadata read
    whole (the zip layer checks each member's CRC-32); with `verify`, every payload byte is also read and checked
    (against the block checksums of a format 2 archive, the zip CRC-32 of a format 1 one), which finds any damage
    but reads every archive in full. Nothing is changed.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).
        verify: Also read and check every payload byte of every archive.
        verbose: Show progress on stderr while entries are checked: a live bar on a terminal, plain status lines
            otherwise.

    Returns:
        A summary per source and the foreign files.

    Raises:
        DataLoggerTypeError: If the path is not a `str` or `os.PathLike` path, or a flag is not True or False.
        DataLoggerValueError: If the path is empty.
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If it is not a directory.
    """
    verify, verbose = check_flag(verify, "verify"), check_flag(verbose, "verbose")
    listing = list_log_directory(check_log_directory(log_directory))
    all_entries, foreign = listing.parse()
    index = scan_segments(listing.directory, listing.segments, "collect")
    with ProgressDisplay(enabled=verbose) as progress:
        loose_count = sum(entries.time_stamps.size for entries in all_entries.values())
        progress.add_step("read", "Checking log entries", "entries", loose_count)
        sources = {
            source_id: _inspect_source(listing, source_id, all_entries, index, verify=verify, progress=progress)
            for source_id in sorted(all_entries.keys() | listing.archives.keys() | set(index.source_ids_present()))
        }
    segments = tuple(
        SegmentSummary(
            segment.path,
            segment.state.value,
            segment.entry_records,
            segment.header.instance_name,
            tuple(damage.summary() for damage in segment.damage),
        )
        for segment in index.segments
    )
    unreadable = tuple(DamagedFile(damage.path, damage.reason) for damage in index.unreadable)
    return LogDirectorySummary(listing.directory, sources, foreign, segments, unreadable)


def _inspect_source(
    listing: DirectoryListing,
    source_id: int,
    all_entries: dict[int, SourceEntries],
    index: StreamIndex,
    *,
    verify: bool,
    progress: ProgressDisplay,
) -> SourceSummary:
    """Reads one source's archive, loose entry files and stream records, and summarises them."""
    damaged: list[DamagedFile] = []
    archive = None
    if source_id in listing.archives:
        archive = _open_archive(listing.archives[source_id], source_id, verify=verify, damaged=damaged)
        if archive is not None and verify:
            # Verifying reads every archived entry: it counts, all at once, once done.
            progress.add_work("read", archive.timestamps.size)
            progress.advance("read", archive.timestamps.size)
    try:
        archived = np.empty(0, dtype=np.uint64) if archive is None else archive.timestamps
        pending = archived[:0]
        copies = 0
        payload_bytes = 0 if archive is None else archive.payload_bytes
        if source_id in all_entries:
            entries = all_entries[source_id]
            try:
                examination = _examine(listing.directory, source_id, entries, archive, progress)
            except ArchiveFormatError as error:
                # An archived payload the loose files were compared with is damaged: the archive is reported,
                # and the loose files are counted as if it did not exist.
                damaged.append(DamagedFile(listing.archives[source_id], str(error)))
                if archive is not None:
                    archive.close()
                archive, archived, payload_bytes = None, archived[:0], 0
                examination = _examine(listing.directory, source_id, entries, None, None)
            pending = entries.time_stamps[examination.new]
            copies = int(examination.copies.sum())
            payload_bytes += int(examination.lengths.sum())
            damaged.extend(DamagedFile(listing.directory / name, reason) for name, reason in examination.damaged)
        streamed, stream_copies, stream_bytes = _stream_records(index, source_id, archive)
        payload_bytes += stream_bytes
        firsts = [int(stamps.min()) for stamps in (archived, pending, streamed) if stamps.size]
        lasts = [int(stamps.max()) for stamps in (archived, pending, streamed) if stamps.size]
        return SourceSummary(
            source_id=source_id,
            archive_path=None if archive is None else archive.path,
            archived_entries=int(archived.size),
            pending_entries=int(pending.size),
            archived_copies=copies,
            first_time_stamp=min(firsts) if firsts else None,
            last_time_stamp=max(lasts) if lasts else None,
            payload_bytes=payload_bytes,
            archive_bytes=0 if archive is None else archive.file_size,
            damaged_files=tuple(damaged),
            archive_format_version=None if archive is None else archive.format_version,
            stream_entries=int(streamed.size),
            stream_copies=stream_copies,
        )
    finally:
        if archive is not None:
            archive.close()


def _stream_records(
    index: StreamIndex, source_id: int, archive: ArchiveFile | None
) -> tuple[NDArray[np.uint64], int, int]:
    """Returns a source's stream records not archived yet.

    Returns:
        Their time stamps, how many records the archive already holds, and the payload bytes of those not archived.
    """
    records = index.source(source_id)
    if records is None:
        return np.empty(0, dtype=np.uint64), 0, 0
    if archive is None:
        return records.time_stamps, 0, records.payload_bytes
    pending = archived_positions(archive.stream_origins(), records) < 0
    return records.time_stamps[pending], int((~pending).sum()), int(records.lengths[pending].sum())


def _open_archive(path: Path, source_id: int, *, verify: bool, damaged: list[DamagedFile]) -> ArchiveFile | None:
    """Opens and checks a source's archive; returns None, recording why in `damaged`, if it is damaged."""
    try:
        return open_checked_archive(path, source_id, verify=verify)
    except ArchiveFormatError as error:
        damaged.append(DamagedFile(path, str(error)))
        return None


def _examine(
    directory: Path,
    source_id: int,
    entries: SourceEntries,
    archive: ArchiveFile | None,
    progress: ProgressDisplay | None,
) -> Examination:
    """Reads every loose entry file of a source, telling new entries from copies of archived ones.

    Progress is counted on the first pass only (a pass repeated after a damaged archive reads the files again).
    """
    counted = None if progress is None else lambda count: progress.advance("read", count)
    with EntryReader(directory) as reader, ArchivedCopyCheck(archive) as copy_check:
        return examine_entries(reader, source_id, entries, copy_check, buffer_limit=0, progress=counted)
