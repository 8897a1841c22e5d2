"""Inspecting a log directory: per source, what is archived, what is still loose, and which files are damaged."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._archive.loose_examination import ArchivedCopyCheck, examine_entries
from ._archive.reports import DamagedFile
from ._files.archive_file import open_source_archive
from ._files.entry_reader import EntryReader
from ._files.listing import check_log_directory, list_log_directory
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


@dataclass(frozen=True)
class LogDirectorySummary:
    """What a log directory holds, per source."""

    log_directory: Path
    """The inspected directory."""
    sources: dict[int, SourceSummary]
    """A summary for each source, by source id."""
    foreign_files: tuple[Path, ...]
    """`.npy` files whose names are not entries'."""

    @property
    def damaged_files(self) -> tuple[DamagedFile, ...]:
        """Every damaged file, over all sources."""
        return tuple(damaged for summary in self.sources.values() for damaged in summary.damaged_files)

    @property
    def clean(self) -> bool:
        """True if no file is damaged or foreign."""
        return not self.damaged_files and not self.foreign_files


def inspect_logs(log_directory: str | os.PathLike[str]) -> LogDirectorySummary:
    """Reads a whole log directory and summarises it per source, checking every file.

    Every loose entry file is read and decoded, and every archive is opened and its payload bytes read through
    the zip layer (which checks their CRC-32), so this finds every damaged file. Nothing is changed.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).

    Returns:
        A summary per source and the foreign files.

    Raises:
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If it is not a directory.
    """
    listing = list_log_directory(check_log_directory(log_directory))
    all_entries, foreign = listing.parse()
    sources = {}
    for source_id in sorted(all_entries.keys() | listing.archives.keys()):
        damaged: list[DamagedFile] = []
        archive = None
        if source_id in listing.archives:
            path = listing.archives[source_id]
            try:
                archive = open_source_archive(path, source_id)
                archive.check_payloads()
            except ArchiveFormatError as error:
                damaged.append(DamagedFile(path, str(error)))
                if archive is not None:
                    archive.close()
                archive = None
        try:
            archived = np.empty(0, dtype=np.uint64) if archive is None else archive.timestamps
            pending = archived[:0]
            copies = 0
            payload_bytes = 0 if archive is None else archive.payload_bytes
            if source_id in all_entries:
                entries = all_entries[source_id]
                with EntryReader(listing.directory) as reader, ArchivedCopyCheck(archive) as copy_check:
                    examination = examine_entries(
                        reader,
                        source_id,
                        entries,
                        copy_check,
                        buffer_limit=0,
                    )
                pending = entries.time_stamps[examination.new]
                copies = int(examination.copies.sum())
                payload_bytes += int(examination.lengths.sum())
                damaged.extend(DamagedFile(listing.directory / name, reason) for name, reason in examination.damaged)
            firsts = [int(stamps[0]) for stamps in (archived, pending) if stamps.size]
            lasts = [int(stamps[-1]) for stamps in (archived, pending) if stamps.size]
            sources[source_id] = SourceSummary(
                source_id=source_id,
                archive_path=None if archive is None else archive.path,
                archived_entries=int(archived.size),
                pending_entries=int(pending.size),
                archived_copies=copies,
                first_time_stamp=min(firsts) if firsts else None,
                last_time_stamp=max(lasts) if lasts else None,
                payload_bytes=payload_bytes,
                archive_bytes=0 if archive is None else archive.path.stat().st_size,
                damaged_files=tuple(damaged),
            )
        finally:
            if archive is not None:
                archive.close()
    return LogDirectorySummary(listing.directory, sources, foreign)
