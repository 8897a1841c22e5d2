"""Archiving sources in spawned worker processes that hold the directory lock and die with their caller.

Each worker gets its share of the sources when it starts, and reports over its own pipe: progress, then one outcome
(or failure) per source. Two things keep a killed caller from leaving a worker that damages the directory:

- Each worker holds the caller's directory lock (see `directory_lock`), so nothing else can compress the directory
  while the worker lives: whatever it still does happens under the lock, as in an uninterrupted compression.
- Each worker watches a pipe whose other end only its caller holds. When the caller dies, however it dies, the
  kernel closes that end; the worker's watcher thread sees end-of-file and exits the process at once. Every step
  of archiving a source is safe to interrupt anywhere (a temporary archive left behind is removed by the next
  compression, files already archived are recognised), so the exit needs no clean-up.

The caller also stops its workers when it fails (an exception, Ctrl+C) before it returns, and waits for them, so
the lock is free when `compress_npy_logs` returns or raises.
"""

import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from typing import Final

from .archive_writer import archive_source
from .directory_lock import DirectoryLock
from .source_job import SourceJob, SourceOutcome, StepProgress

Outcomes = tuple[dict[int, SourceOutcome], dict[int, str]]
"""What archiving did: the outcome of each source archived, and why each failed source failed."""

_JOIN_SECONDS: Final = 10.0
_PARENT_GONE_EXIT_CODE: Final = 75


@dataclass
class _Worker:
    """One worker process seen from its caller."""

    process: SpawnProcess
    results: Connection
    alive: Connection
    pending: set[int] = field(default_factory=set)


def archive_in_processes(
    shares: list[list[SourceJob]],
    lock: DirectoryLock,
    archive_here: Callable[[list[SourceJob], StepProgress, Outcomes], None],
    progress: StepProgress,
    *,
    report_progress: bool,
) -> Outcomes:
    """Archives the first share in the calling process and each other share in a spawned worker process.

    Args:
        shares: The jobs of each worker; the first share is the calling process's.
        lock: The directory lock this process holds; each worker gets a share of it.
        archive_here: Archives jobs in the calling process, recording outcomes and failures.
        progress: Receives every progress report (the calling process's and the workers').
        report_progress: Whether workers send progress reports at all.

    Returns:
        The outcomes and failures of every source.
    """
    outcomes: Outcomes = ({}, {})
    context = multiprocessing.get_context("spawn")
    workers: list[_Worker] = []
    try:
        for share in shares[1:]:
            if share:
                workers.append(_start(context, share, lock, report_progress=report_progress))

        def relay(step: str, count: int) -> None:
            progress(step, count)
            _collect(workers, outcomes, progress, timeout=0)

        archive_here(shares[0], relay, outcomes)
        while any(not worker.results.closed for worker in workers):
            _collect(workers, outcomes, progress, timeout=1.0)
    finally:
        _stop(workers)
    for worker in workers:
        for source_id in worker.pending:
            outcomes[1][source_id] = (
                f"the worker process archiving it exited (exit code {worker.process.exitcode}) before it was done; "
                "the source was left as it was, or was archived without the outcome being reported"
            )
    return outcomes


def _start(
    context: multiprocessing.context.SpawnContext, share: list[SourceJob], lock: DirectoryLock, *, report_progress: bool
) -> _Worker:
    """Starts one worker process with its share of the jobs."""
    results, worker_results = context.Pipe(duplex=False)
    worker_alive, alive = context.Pipe(duplex=False)
    process = context.Process(
        target=_worker_main,
        args=(share, worker_results, worker_alive, lock),
        kwargs={"report_progress": report_progress},
        name="compress_npy_logs worker",
        daemon=True,
    )
    try:
        process.start()
    finally:
        # The caller keeps only its own ends: a worker's death then shows as end-of-file on `results`, and the
        # caller's death as end-of-file on the worker's `worker_alive`.
        worker_results.close()
        worker_alive.close()
    return _Worker(process, results, alive, {job.source_id for job in share})


def _collect(workers: list[_Worker], outcomes: Outcomes, progress: StepProgress, timeout: float) -> None:
    """Receives whatever the workers have reported, waiting up to `timeout` seconds for a first report."""
    connections = [worker.results for worker in workers if not worker.results.closed]
    if not connections:
        return
    for ready in wait(connections, timeout=timeout):
        worker = next(worker for worker in workers if worker.results is ready)
        while not worker.results.closed and worker.results.poll():
            try:
                message = worker.results.recv()
            except (EOFError, OSError):
                worker.results.close()
                break
            kind, subject, detail = message
            if kind == "progress":
                progress(subject, detail)
            else:
                outcomes[0 if kind == "done" else 1][subject] = detail
                worker.pending.discard(subject)


def _stop(workers: list[_Worker]) -> None:
    """Makes sure every worker process has exited: a finished one exits by itself, a running one is told to."""
    for worker in workers:
        worker.alive.close()  # a worker still running sees its caller gone and exits
    for worker in workers:
        worker.process.join(_JOIN_SECONDS)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join(_JOIN_SECONDS)
        worker.results.close()


def _worker_main(
    jobs: list[SourceJob], results: Connection, alive: Connection, lock: DirectoryLock, *, report_progress: bool
) -> None:
    """Runs in a worker process: archives its jobs, reporting each outcome, and exits if its caller dies."""
    threading.Thread(target=_exit_when_caller_is_gone, args=(alive,), name="caller watcher", daemon=True).start()

    def report(step: str, count: int) -> None:
        results.send(("progress", step, count))

    for job in jobs:
        try:
            outcome = archive_source(job, report if report_progress else None)
        except Exception as error:
            results.send(("failed", job.source_id, f"{type(error).__name__}: {error}"))
        else:
            results.send(("done", job.source_id, outcome))
    results.close()
    lock.close()


def _exit_when_caller_is_gone(alive: Connection) -> None:
    """Waits for end-of-file on the pipe only the caller writes to, then ends the process at once."""
    try:
        alive.poll(None)
    finally:
        os._exit(_PARENT_GONE_EXIT_CODE)
