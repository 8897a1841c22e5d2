"""Compressing a log directory: `compress_npy_logs` turns each source's `.npy` entries into one columnar archive.

See the "Log archives" guide for the archive layout, the safety guarantees and the meaning of every argument.
"""

import logging
import multiprocessing
import operator
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from ._archive.archive_check import open_checked_archive
from ._archive.archive_writer import archive_source
from ._archive.directory_lock import DirectoryLock
from ._archive.reports import DamagedFile, SourceReport
from ._archive.source_job import SourceJob, SourceOutcome, StepProgress
from ._archive.worker_processes import Outcomes, archive_in_processes
from ._files.listing import (
    DirectoryListing,
    check_log_directory,
    find_log_directories,
    holds_log_files,
    list_log_directory,
)
from ._files.segment_lock import held_by_writer
from ._files.stream_index import StreamIndex, scan_segments
from ._files.stream_reader import SegmentState
from ._format.arguments import check_flag
from ._format.stream import decode_header
from ._progress import ProgressDisplay
from .exceptions import (
    ArchiveFormatError,
    DamagedLogFilesWarning,
    DataLoggerTypeError,
    DataLoggerValueError,
    LogCompressionError,
    NestedLogDirectoriesWarning,
    StreamFormatError,
)

BUFFER_LIMIT: Final = 64 << 20
"""Payload bytes of one source held in memory between reading and writing its archive (per worker)."""

PROCESS_THRESHOLD: Final = 100_000
"""With `max_workers=None`, worker processes are started only for logs at least this big, counted in small entries
plus one per 2 KiB of data (about two seconds of work for one process; starting a worker costs about half a second)."""

_BYTES_PER_ENTRY_OF_WORK: Final = 2048

_WARNING_NAMES: Final = 10

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompressionReport:
    """What `compress_npy_logs` did, per source."""

    log_directory: Path
    """The compressed log directory."""
    sources: Mapping[int, SourceReport]
    """A report for each source that had entry files, by source id."""
    foreign_files: tuple[Path, ...]
    """`.npy` files whose names are not entries', and anything named like an entry or an archive that is not a
    regular file (never read, never removed)."""
    damaged_archives: tuple[DamagedFile, ...] = ()
    """Archives of sources without entry files to archive that could not be read (checked on every call: their
    metadata, and with `verify_integrity` every payload byte). A damaged archive of a source that has entry files
    fails that source instead (see `LogCompressionError`)."""
    subdirectories: tuple["CompressionReport", ...] = ()
    """The reports of the log directories found below `log_directory`, which was then compressed in their place
    because it held no log of its own (see `compress_npy_logs`); empty otherwise. The properties below count them."""
    damaged_segments: tuple[DamagedFile, ...] = ()
    """Stream segments with damaged bytes or a torn tail (their valid records are archived, the damaged bytes are
    not, and the segment is kept), and files named like segments that are not readable segments."""
    segments_removed: tuple[Path, ...] = ()
    """Stream segments removed (only with `remove_sources`): each was closed or abandoned by its writer, undamaged,
    and every one of its records was in a verified archive."""

    @property
    def entries_archived(self) -> int:
        """Entries this call added to archives, over all sources (of the subdirectories too)."""
        own = sum(report.entries_archived for report in self.sources.values())
        return own + sum(report.entries_archived for report in self.subdirectories)

    @property
    def files_removed(self) -> int:
        """Entry files removed, over all sources (of the subdirectories too)."""
        own = sum(report.files_removed for report in self.sources.values())
        return own + sum(report.files_removed for report in self.subdirectories)

    @property
    def damaged_files(self) -> tuple[DamagedFile, ...]:
        """Every entry file that could not be archived, every damaged archive and segment (subdirectories too)."""
        return (
            *(damaged for report in self.sources.values() for damaged in report.damaged_files),
            *self.damaged_archives,
            *self.damaged_segments,
            *(damaged for report in self.subdirectories for damaged in report.damaged_files),
        )

    @property
    def clean(self) -> bool:
        """True if no file was damaged or foreign (in the subdirectories either)."""
        foreign = self.foreign_files or any(report.foreign_files for report in self.subdirectories)
        return not self.damaged_files and not foreign


def compress_npy_logs(
    log_directory: str | os.PathLike[str],
    *,
    remove_sources: bool = False,
    memory_mapping: bool = False,
    verbose: bool = False,
    compress: bool = True,
    verify_integrity: bool = False,
    max_workers: int | None = None,
) -> CompressionReport:
    """Archives each source's log entries into one columnar `{source_id}_log.npz` in the same directory.

    The entries are those of `.npy` entry files and of stream segments (`.adlog`, the stream layout); a folder may
    hold both. Stream records an archive already holds are recognised by their origin (segment and position), which
    the archive records, so a segment compressed again, even one still being written, never has a record archived
    twice. With `remove_sources`, a segment is removed only once its writer is done with it, it holds no damage,
    and every one of its records is in an archive that was verified (or, for a record archived by an earlier call,
    compared byte for byte with its archived entry); segments being written are left for a later call.

    Entries go into the archive in timestamp order, ties in arrival order. A source that already has an archive
    gets one holding its old entries and the new ones (old first among equal timestamps), so running this again,
    or after more entries were logged, is safe; entry files an archive already holds are never archived twice.
    Each archive is written under a temporary name, fsynced, read back and checked, and only then renamed into
    place; entry files are removed (with `remove_sources`) only after that. Damaged entry files, damaged archives
    and foreign files (`.npy` files that are not entries; anything named like an entry or an archive that is not
    a regular file) are left in place, listed in the report and named in a `DamagedLogFilesWarning`.

    A directory that holds no entry file or archive of its own, but has subdirectories that do (a session folder
    holding several loggers' folders, as ataraxis-data-structures 3.x accepted), has each of those compressed in
    place, one after the other, with a `NestedLogDirectoriesWarning`; the report then holds theirs. Their archives
    are written inside each of them: entries of different loggers are never merged.

    The call holds an exclusive lock on the directory, shared with its worker processes; a second call waits. If
    the calling process is killed, its workers exit as soon as they notice, still holding the lock, and a later
    call archives every entry exactly once.

    Every argument after the directory is keyword-only. The "Log archives" guide gives the measurements and
    reasons behind the defaults.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).
        remove_sources: Remove each entry file once an archive holding it is verified and in place, and each stream
            segment whose records all are (see above).
        memory_mapping: Read each entry file through a memory map (one at a time) instead of a read into a new
            buffer: faster for entries of megabytes, slower for small ones. The archive is the same either way. An
            entry file truncated by another program while it is mapped kills the process (SIGBUS); nothing is
            lost then, as with any kill.
        verbose: Show progress on stderr while entries are read and removed: live bars on a terminal, plain
            status lines otherwise; worker processes report to the calling process.
        compress: Deflate the archive (smaller), at zlib level 1. `False` stores the bytes as they are: larger,
            faster to write, and a reader reads any range directly instead of decompressing what precedes it.
        verify_integrity: Before anything is replaced or removed, read the whole new archive back (checking its
            block checksums) and compare every payload byte with a fresh read of the entry files and the old
            archive; also read and check every byte of the archives that get no new entries. Without it, the new
            archive's metadata (counts, timestamps, offsets, checksums) is read back and checked, the old archive's
            payload bytes are checked as they are copied, and the other archives' metadata is checked.
        max_workers: The most workers archiving sources in parallel, one source at a time each; the calling
            process is one of them, the others are spawned processes. `None`: one per available CPU, but only the
            calling process for logs too small to repay starting processes (see `PROCESS_THRESHOLD`). `1`: the
            calling process alone. With spawned workers, call this under `if __name__ == "__main__":`.

    Returns:
        What was done per source (per directory, in `subdirectories`, for a directory whose logs are below it).

    Raises:
        DataLoggerTypeError: If the path is not a `str` or `os.PathLike` path, a flag is not True or False, or
            `max_workers` is not an integer or None.
        DataLoggerValueError: If the path is empty, or `max_workers` is below 1.
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If it is not a directory.
        LogCompressionError: If one or more sources could not be archived (the others are; see its `report`).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A spawned worker is re-importing an unguarded main module that calls this: without this check the worker
        # would wait for the directory lock its parent holds while the parent waits for the worker.
        raise RuntimeError(
            "compress_npy_logs was called while a new process was importing the main module; when it uses worker "
            "processes it must be called under `if __name__ == '__main__':`"
        )
    options = _Options(
        remove_sources=check_flag(remove_sources, "remove_sources"),
        memory_mapping=check_flag(memory_mapping, "memory_mapping"),
        verbose=check_flag(verbose, "verbose"),
        compress=check_flag(compress, "compress"),
        verify_integrity=check_flag(verify_integrity, "verify_integrity"),
        max_workers=_worker_count(max_workers),
    )
    directory = check_log_directory(log_directory)
    nested = [] if holds_log_files(directory) else find_log_directories(directory)
    if not nested:
        report, failures = _compress_directory(directory, options)
    else:
        shown = ", ".join(str(path.relative_to(directory)) for path in nested)
        warnings.warn(
            f"{directory} holds no log entries or archives of its own; its subfolders {shown} do, and each was "
            "compressed in place, its archives inside it (ataraxis-data-structures 3.x wrote archives merging them "
            "all in the folder named); compress each log folder (DataLogger.output_directory) instead",
            NestedLogDirectoriesWarning,
            stacklevel=2,
        )
        reports, failures = [], {}
        for subdirectory in nested:
            sub_report, sub_failures = _compress_directory(subdirectory, options)
            reports.append(sub_report)
            for source_id, reason in sub_failures.items():
                failures[source_id] = "; ".join(filter(None, (failures.get(source_id), f"{subdirectory}: {reason}")))
        report = CompressionReport(directory, {}, (), subdirectories=tuple(reports))
    damaged = [damaged.path for damaged in report.damaged_files] + [
        *report.foreign_files,
        *(path for sub_report in report.subdirectories for path in sub_report.foreign_files),
    ]
    if damaged:
        shown = ", ".join(str(path) for path in damaged[:_WARNING_NAMES])
        more = f" and {len(damaged) - _WARNING_NAMES} more" if len(damaged) > _WARNING_NAMES else ""
        warnings.warn(
            f"{len(damaged)} damaged or foreign file(s) in {directory} were left in place: {shown}{more} (see the "
            "returned report)",
            DamagedLogFilesWarning,
            stacklevel=2,
        )
    if failures:
        raise LogCompressionError(report, failures)
    return report


def _worker_count(max_workers: object) -> int | None:
    """Checks `max_workers` and returns it as an int, or None."""
    if max_workers is None:
        return None
    expected = "a positive integer or None"
    if isinstance(max_workers, bool | np.bool_):
        raise DataLoggerTypeError(f"max_workers must be {expected}, got {max_workers!r} ({type(max_workers).__name__})")
    try:
        count = operator.index(max_workers)  # type: ignore[arg-type]
    except TypeError:
        raise DataLoggerTypeError(
            f"max_workers must be {expected}, got {max_workers!r} ({type(max_workers).__name__})"
        ) from None
    if count < 1:
        raise DataLoggerValueError(f"max_workers must be {expected}, got {count}")
    return int(count)


@dataclass(frozen=True)
class _Options:
    """The arguments of `compress_npy_logs` after the directory, checked."""

    remove_sources: bool
    memory_mapping: bool
    verbose: bool
    compress: bool
    verify_integrity: bool
    max_workers: int | None


def _compress_directory(directory: Path, options: _Options) -> tuple[CompressionReport, dict[int, str]]:
    """Compresses one log directory under its lock; returns the report and why each failed source failed."""
    with DirectoryLock(directory) as lock:
        listing = list_log_directory(directory)
        for leftover in listing.unfinished_archives:
            # Only an interrupted compression leaves these, and none can be running: this one holds the lock.
            leftover.unlink(missing_ok=True)
            _LOGGER.info("removed %s, the unfinished archive of an interrupted compression", leftover)
        # Damage is collected here and reported once, in the report and the caller's warning.
        index = scan_segments(directory, listing.segments, "collect")
        jobs = _jobs(
            listing,
            index,
            remove_sources=options.remove_sources,
            memory_mapping=options.memory_mapping,
            compress=options.compress,
            verify_integrity=options.verify_integrity,
        )
        entry_count = sum(job.entry_count for job in jobs)
        workers = min(len(jobs), options.max_workers or _available_cpus())
        if options.max_workers is None and _estimated_work(listing, index) < PROCESS_THRESHOLD:
            workers = 1
        with ProgressDisplay(enabled=options.verbose) as progress:
            progress.add_step("read", "Archiving log entries", "entries", entry_count)
            if options.remove_sources:
                progress.add_step("remove", "Removing archived files", "files", entry_count)
            shares = _shares(jobs, max(workers, 1))
            if len(shares) == 1:
                outcomes: dict[int, SourceOutcome] = {}
                failures: dict[int, str] = {}
                _archive_here(shares[0], progress.advance, (outcomes, failures))
            else:
                outcomes, failures = archive_in_processes(
                    shares, lock, _archive_here, progress.advance, report_progress=options.verbose
                )
        damaged_archives = _check_other_archives(
            listing, {job.source_id for job in jobs}, verify=options.verify_integrity
        )
        removed_segments = _remove_segments(index, outcomes) if options.remove_sources else ()
    report = _report(directory, listing, outcomes, damaged_archives, index, removed_segments)
    for path in removed_segments:
        _LOGGER.info("removed the stream segment %s: each of its records is in a verified archive", path)
    for source in report.sources.values():
        _LOGGER.info(
            "source %d: %d entries archived now, %d in %s; %d entry files removed",
            source.source_id,
            source.entries_archived,
            source.entries_total,
            source.archive_path,
            source.files_removed,
        )
    return report, failures


def _jobs(
    listing: DirectoryListing,
    index: StreamIndex,
    *,
    remove_sources: bool,
    memory_mapping: bool,
    compress: bool,
    verify_integrity: bool,
) -> list[SourceJob]:
    """Returns one job per source that has entry files or stream records."""
    keys = tuple(index.keys())
    return [
        SourceJob(
            directory=listing.directory,
            source_id=source_id,
            file_names=listing.entry_names.get(source_id, []),
            remove_sources=remove_sources,
            memory_mapping=memory_mapping,
            compress=compress,
            verify_integrity=verify_integrity,
            buffer_limit=BUFFER_LIMIT,
            stream=index.source(source_id),
            segments=keys,
        )
        for source_id in sorted(listing.entry_names.keys() | set(index.source_ids_present()))
    ]


def _estimated_work(listing: DirectoryListing, index: StreamIndex) -> int:
    """Estimates the work of archiving a directory in small-entry units, from entry counts and one file per source."""
    work = int(index.source_ids.size) + int(index.lengths.sum()) // _BYTES_PER_ENTRY_OF_WORK
    for names in listing.entry_names.values():
        try:
            size = (listing.directory / names[0]).stat().st_size
        except OSError:
            size = 0
        work += len(names) * (1 + size // _BYTES_PER_ENTRY_OF_WORK)
    return work


def _available_cpus() -> int:
    """Returns the number of CPUs this process may run on (its affinity mask, where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _shares(jobs: list[SourceJob], workers: int) -> list[list[SourceJob]]:
    """Splits the jobs into `workers` shares of about equal entry counts (largest job first, to the lightest share)."""
    shares: list[list[SourceJob]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for job in sorted(jobs, key=lambda job: -job.entry_count):
        lightest = loads.index(min(loads))
        shares[lightest].append(job)
        loads[lightest] += job.entry_count
    return shares


def _archive_here(jobs: list[SourceJob], progress: StepProgress, outcomes: Outcomes) -> None:
    """Archives sources in the calling process, one after the other, recording each outcome or failure."""
    for job in jobs:
        try:
            outcomes[0][job.source_id] = archive_source(job, progress)
        except Exception as error:
            outcomes[1][job.source_id] = f"{type(error).__name__}: {error}"


def _check_other_archives(listing: DirectoryListing, archived: set[int], *, verify: bool) -> tuple[DamagedFile, ...]:
    """Checks the archives of the sources that had no entry files (the others were opened while archiving)."""
    damaged = []
    for source_id, path in listing.archives.items():
        if source_id in archived:
            continue
        try:
            open_checked_archive(path, source_id, verify=verify).close()
        except ArchiveFormatError as error:
            damaged.append(DamagedFile(path, str(error)))
    return tuple(damaged)


def _remove_segments(index: StreamIndex, outcomes: Mapping[int, SourceOutcome]) -> tuple[Path, ...]:
    """Removes the segments that are done with and whose every record is safely archived; returns them.

    A segment qualifies when its writer had left it when it was scanned, it holds no damage, and every source with
    records in it succeeded and reported the segment complete. Right before the removal it is opened again and
    checked to be the same file, still left by its writer, of the size it was scanned at.
    """
    removed = []
    # Which sources have records in which segment, from one pass over the records.
    pairs = np.unique(index.segment_of.astype(np.int64) * 256 + index.source_ids)
    sources_in: dict[int, list[int]] = {}
    for segment_number, source in zip((pairs // 256).tolist(), (pairs % 256).tolist(), strict=True):
        sources_in.setdefault(segment_number, []).append(source)
    for number, segment in enumerate(index.segments):
        if segment.state is SegmentState.WRITING or segment.damage:
            continue
        sources = sources_in.get(number, [])
        if not all(source in outcomes and segment.key in outcomes[source].complete_segments for source in sources):
            continue
        if _unchanged(segment.path, segment.key, segment.scanned_to):
            segment.path.unlink(missing_ok=True)
            removed.append(segment.path)
    if removed:
        descriptor = os.open(index.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return tuple(removed)


def _unchanged(path: Path, key: tuple[bytes, int], size: int) -> bool:
    """Returns True if `path` is still the segment of that key, no writer holds it, and it has that size."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size != size or held_by_writer(descriptor):
            return False
        header = decode_header(os.pread(descriptor, min(size, 1 << 16), 0))
        return (header.writer_id, header.sequence) == key
    except (OSError, StreamFormatError):
        return False
    finally:
        os.close(descriptor)


def _report(
    directory: Path,
    listing: DirectoryListing,
    outcomes: Mapping[int, SourceOutcome],
    damaged_archives: tuple[DamagedFile, ...],
    index: StreamIndex,
    removed_segments: tuple[Path, ...],
) -> CompressionReport:
    """Builds the public report from the workers' outcomes."""
    sources = {source_id: outcome.report for source_id, outcome in sorted(outcomes.items())}
    foreign = [*listing.foreign_files, *(directory / name for outcome in outcomes.values() for name in outcome.foreign)]
    damaged_segments = [
        *(
            DamagedFile(segment.path, "; ".join(damage.summary() for damage in segment.damage))
            for segment in index.segments
            if segment.damage
        ),
        *(DamagedFile(damage.path, damage.reason) for damage in index.unreadable),
    ]
    return CompressionReport(
        directory,
        sources,
        tuple(sorted(foreign)),
        damaged_archives,
        damaged_segments=tuple(damaged_segments),
        segments_removed=removed_segments,
    )
