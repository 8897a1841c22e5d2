"""Compressing a log directory: `compress_npy_logs` turns each source's `.npy` entries into one columnar archive.

See the "Log archives" guide for the archive layout, the safety guarantees and the meaning of every argument.
"""

import fcntl
import multiprocessing
import os
import queue
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tqdm import tqdm

from ._archive.archive_writer import SourceJob, SourceOutcome, StepProgress, archive_source
from ._archive.reports import DamagedFile, SourceReport
from ._files.closeable import Closeable
from ._files.listing import DirectoryListing, check_log_directory, list_log_directory
from .exceptions import DamagedLogFilesWarning, LogCompressionError

BUFFER_LIMIT: Final = 64 << 20
"""Payload bytes of one source held in memory between reading and writing its archive (per worker)."""

PROCESS_THRESHOLD: Final = 100_000
"""With `max_workers=None`, worker processes are started only for logs at least this big, counted in small entries
plus one per 2 KiB of data (about two seconds of work for one process; starting a worker costs about half a second)."""

_BYTES_PER_ENTRY_OF_WORK: Final = 2048

_WARNING_NAMES: Final = 10


@dataclass(frozen=True)
class CompressionReport:
    """What `compress_npy_logs` did, per source."""

    log_directory: Path
    """The compressed log directory."""
    sources: Mapping[int, SourceReport]
    """A report for each source that had entry files, by source id."""
    foreign_files: tuple[Path, ...]
    """`.npy` files whose names are not entries' (never read, never removed)."""

    @property
    def entries_archived(self) -> int:
        """Entries this call added to archives, over all sources."""
        return sum(report.entries_archived for report in self.sources.values())

    @property
    def files_removed(self) -> int:
        """Entry files removed, over all sources."""
        return sum(report.files_removed for report in self.sources.values())

    @property
    def damaged_files(self) -> tuple[DamagedFile, ...]:
        """Every entry file that could not be archived, over all sources."""
        return tuple(damaged for report in self.sources.values() for damaged in report.damaged_files)

    @property
    def clean(self) -> bool:
        """True if no file was damaged or foreign."""
        return not self.damaged_files and not self.foreign_files


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
    """Archives each source's `.npy` log entries into one columnar `{source_id}_log.npz` in the same directory.

    Entries go into the archive in timestamp order, ties in arrival order. A source that already has an archive
    gets one holding its old entries and the new ones (old first among equal timestamps), so running this again,
    or after more entries were logged, is safe; entry files an archive already holds are never archived twice.
    Each archive is written under a temporary name, fsynced, read back and checked, and only then renamed into
    place; entry files are removed (with `remove_sources`) only after that. Damaged entry files and `.npy` files
    that are not entries are left in place, listed in the report and named in a `DamagedLogFilesWarning`.

    Every argument after the directory is keyword-only. The "Log archives" guide gives the measurements and
    reasons behind the defaults.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).
        remove_sources: Remove each entry file once an archive holding it is verified and in place.
        memory_mapping: Read each entry file through a memory map (one at a time) instead of a read into a new
            buffer: faster for entries of megabytes, slower for small ones. The archive is the same either way.
        verbose: Show tqdm progress bars (on stderr) while entries are read and removed; worker processes report
            to the calling process's bars.
        compress: Deflate the archive (smaller), at zlib level 1. `False` stores the bytes as they are: larger,
            faster to write, and a reader memory-maps the payloads instead of decompressing them.
        verify_integrity: Before anything is replaced or removed, read the whole new archive back (checking the
            zip CRC-32s) and compare every payload byte with a fresh read of the entry files and the old archive.
            Without it, the archive's metadata (counts, timestamps, offsets) is read back and checked.
        max_workers: The most workers archiving sources in parallel, one source at a time each; the calling
            process is one of them, the others are spawned processes. `None`: one per available CPU, but only the
            calling process for logs too small to repay starting processes (see `PROCESS_THRESHOLD`). `1`: the
            calling process alone. With spawned workers, call this under `if __name__ == "__main__":`.

    Returns:
        What was done per source.

    Raises:
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If it is not a directory.
        ValueError: If `max_workers` is not a positive integer or None.
        LogCompressionError: If one or more sources could not be archived (the others are; see its `report`).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A spawned worker is re-importing an unguarded main module that calls this: without this check the worker
        # would wait for the directory lock its parent holds while the parent waits for the worker.
        raise RuntimeError(
            "compress_npy_logs was called while a new process was importing the main module; when it uses worker "
            "processes it must be called under `if __name__ == '__main__':`"
        )
    directory = check_log_directory(log_directory)
    if max_workers is not None and (isinstance(max_workers, bool) or not isinstance(max_workers, int)):
        raise ValueError(f"max_workers must be a positive integer or None, got {max_workers!r}")
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be a positive integer or None, got {max_workers}")
    with _exclusive(directory):
        listing = list_log_directory(directory)
        for leftover in listing.unfinished_archives:
            # Only an interrupted compression leaves these, and none can be running: this one holds the lock.
            leftover.unlink(missing_ok=True)
        jobs = _jobs(
            listing,
            remove_sources=bool(remove_sources),
            memory_mapping=bool(memory_mapping),
            compress=bool(compress),
            verify_integrity=bool(verify_integrity),
        )
        entry_count = sum(len(job.file_names) for job in jobs)
        workers = min(len(jobs), max_workers or _available_cpus())
        if max_workers is None and _estimated_work(listing) < PROCESS_THRESHOLD:
            workers = 1
        with _Progress(entry_count, removing=bool(remove_sources), enabled=bool(verbose)) as progress:
            outcomes, failures = _run(jobs, max(workers, 1), progress)
    report = _report(directory, listing, outcomes)
    damaged = [damaged.path for damaged in report.damaged_files] + list(report.foreign_files)
    if damaged:
        shown = ", ".join(str(path) for path in damaged[:_WARNING_NAMES])
        more = f" and {len(damaged) - _WARNING_NAMES} more" if len(damaged) > _WARNING_NAMES else ""
        warnings.warn(
            f"{len(damaged)} damaged or foreign .npy file(s) in {directory} were not archived and were left in "
            f"place: {shown}{more} (see the returned report)",
            DamagedLogFilesWarning,
            stacklevel=2,
        )
    if failures:
        raise LogCompressionError(report, failures)
    return report


def _jobs(
    listing: DirectoryListing, *, remove_sources: bool, memory_mapping: bool, compress: bool, verify_integrity: bool
) -> list[SourceJob]:
    """Returns one job per source that has entry files."""
    return [
        SourceJob(
            directory=listing.directory,
            source_id=source_id,
            file_names=names,
            remove_sources=remove_sources,
            memory_mapping=memory_mapping,
            compress=compress,
            verify_integrity=verify_integrity,
            buffer_limit=BUFFER_LIMIT,
        )
        for source_id, names in listing.entry_names.items()
    ]


def _estimated_work(listing: DirectoryListing) -> int:
    """Estimates the work of archiving a directory in small-entry units, from entry counts and one file per source."""
    work = 0
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


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Holds an exclusive lock on the directory, so two compressions of it never interleave (the second waits)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


Outcomes = tuple[dict[int, SourceOutcome], dict[int, str]]


def _shares(jobs: list[SourceJob], workers: int) -> list[list[SourceJob]]:
    """Splits the jobs into `workers` shares of about equal entry counts (largest job first, to the lightest share)."""
    shares: list[list[SourceJob]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for job in sorted(jobs, key=lambda job: -len(job.file_names)):
        lightest = loads.index(min(loads))
        shares[lightest].append(job)
        loads[lightest] += len(job.file_names)
    return shares


def _archive_here(jobs: list[SourceJob], progress: StepProgress, outcomes: Outcomes) -> None:
    """Archives sources in the calling process, one after the other, recording each outcome or failure."""
    for job in jobs:
        try:
            outcomes[0][job.source_id] = archive_source(job, progress)
        except Exception as error:
            outcomes[1][job.source_id] = f"{type(error).__name__}: {error}"


_worker_progress: "multiprocessing.Queue[tuple[str, int]] | None" = None


def _start_worker(progress_queue: "multiprocessing.Queue[tuple[str, int]]") -> None:
    """Runs in each worker process: keeps the queue progress is reported through."""
    global _worker_progress
    _worker_progress = progress_queue


def _archive_in_worker(job: SourceJob) -> SourceOutcome:
    """Runs in a worker process: archives one source, reporting progress to the parent."""
    progress_queue = _worker_progress
    return archive_source(job, None if progress_queue is None else lambda step, n: progress_queue.put((step, n)))


def _run(jobs: list[SourceJob], workers: int, progress: "_Progress") -> Outcomes:
    """Archives the sources: the calling process takes one share, `workers - 1` spawned processes the others.

    The calling process works too, rather than waiting: it saves one process start and starts archiving at once,
    while the spawned processes are still importing.
    """
    outcomes: Outcomes = ({}, {})
    shares = _shares(jobs, workers)
    if workers == 1:
        _archive_here(shares[0], progress.advance, outcomes)
        return outcomes
    context = multiprocessing.get_context("spawn")
    progress_queue: multiprocessing.Queue[tuple[str, int]] = context.Queue()

    def relay(step: str, count: int) -> None:
        progress.advance(step, count)
        _drain(progress_queue, progress.advance)

    try:
        pool = ProcessPoolExecutor(
            workers - 1, mp_context=context, initializer=_start_worker, initargs=(progress_queue,)
        )
        with pool:
            pending: dict[Future[SourceOutcome], int] = {}
            for share in shares[1:]:
                for job in share:
                    pending[pool.submit(_archive_in_worker, job)] = job.source_id
            _archive_here(shares[0], relay, outcomes)
            while pending:
                done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                _drain(progress_queue, progress.advance)
                for future in done:
                    source_id = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        outcomes[0][source_id] = future.result()
                    else:
                        outcomes[1][source_id] = f"{type(error).__name__}: {error}"
        _drain(progress_queue, progress.advance)
    finally:
        progress_queue.close()
        progress_queue.join_thread()
    return outcomes


def _drain(progress_queue: "multiprocessing.Queue[tuple[str, int]]", advance: StepProgress) -> None:
    """Passes on every progress report that has arrived, without waiting for more."""
    while True:
        try:
            step, count = progress_queue.get_nowait()
        except queue.Empty:
            return
        advance(step, count)


class _Progress(Closeable):
    """The tqdm bars of one compression: entries read (and entries removed, with `remove_sources`)."""

    def __init__(self, total: int, *, removing: bool, enabled: bool) -> None:
        self._bars: dict[str, tqdm[Any]] = {}
        if enabled:
            self._bars["read"] = tqdm(total=total, desc="Archiving log entries", unit=" entries", position=0)
            if removing:
                self._bars["remove"] = tqdm(total=total, desc="Removing archived files", unit=" files", position=1)

    def advance(self, step: str, count: int) -> None:
        """Advances one bar.

        Args:
            step: "read" or "remove".
            count: How many more entries that step handled.
        """
        bar = self._bars.get(step)
        if bar is not None:
            bar.update(count)

    def close(self) -> None:
        """Closes the bars."""
        for bar in self._bars.values():
            bar.close()


def _report(directory: Path, listing: DirectoryListing, outcomes: Mapping[int, SourceOutcome]) -> CompressionReport:
    """Builds the public report from the workers' outcomes."""
    sources = {source_id: outcome.report for source_id, outcome in sorted(outcomes.items())}
    foreign = [*listing.foreign_files, *(directory / name for outcome in outcomes.values() for name in outcome.foreign)]
    return CompressionReport(directory, sources, tuple(sorted(foreign)))
