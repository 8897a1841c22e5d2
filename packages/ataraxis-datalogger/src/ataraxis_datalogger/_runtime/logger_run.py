"""One run of a logger: its control segment, its queue, its logger process and its watchdog, from start to stop.

A run is created when the logger's queue is first needed (by `input_queue` or `start()`), launched by `start()` and
finished by `stop()`, which releases everything it holds; the next `start()` creates a new run.
"""

import multiprocessing
import os
import secrets
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Final

from . import _posix
from .control import ControlSegment
from .fork_server import logger_process_context
from .layout import C_SYNC, C_WRITER_PID, DEFAULT_SLOTS
from .log_queue import LogQueue, release_process_ring
from .logger_process import drain_in_owner, run_logger_process
from .reports import FAILED, REJECTED, ListReporter
from .run_state import ACCEPTING_STATES, LogStatistics, RunState
from .stopping import close_buffers, remove_buffers, statistics
from .sweep import sweep_stale_runs
from .watchdog import FailureCallback, Watchdog, has_exited, wait_for_exit

CONTEXT: Final = multiprocessing.get_context("spawn")
"""Where the run's pipes come from (pipes are the same in every context)."""

_POLL_SECONDS: Final = (0.001, 0.02)
"""The shortest and longest sleep of `stop()` while it waits for the logger process to drain the buffers."""
_KILL_SECONDS: Final = 2.0
"""How long `stop()` waits for a logger process that made no progress to exit after SIGKILL."""


@dataclass(frozen=True)
class RunOutcome:
    """What `finish()` found: the counts and every problem of the run."""

    statistics: LogStatistics
    """The final counts."""
    death: str | None
    """Why the logger process died, and what `stop()` recovered from the buffers, if it died."""
    problems: tuple[str, ...]
    """Other problems: producers that held their lock through `stop()`, a drain that could not finish."""
    write_errors: tuple[str, ...]
    """The first few entries that could not be written."""
    rejections: tuple[str, ...]
    """The first few objects that were skipped."""


class LoggerRun:
    """The resources of one run.

    Args:
        logger_name: The logger's instance name.
        buffer_size: The byte size of each producer process's buffer.
        sink_settings: The layout and its settings (see `sinks.open_sink`).
        directory: The log folder.
    """

    def __init__(self, logger_name: str, buffer_size: int, sink_settings: dict[str, object], directory: Path) -> None:
        backend = _posix.DEFAULT_BACKEND
        self.swept = [run for run in sweep_stale_runs(backend) if run.directory == str(directory) and run.unwritten]
        """Earlier runs into the same log folder whose processes were all killed, with entries never written."""
        self.logger_name = logger_name
        self.sink_settings = sink_settings
        # Unique, short (macOS allows 31 bytes per name), and starting with the owner's pid so that the segments of
        # a run whose processes were all killed can be recognized and swept (see `sweep`).
        self.name = f"adl{os.getpid():x}_{secrets.token_hex(4)}"
        self.control = ControlSegment.create(self.name, backend, buffer_size, 0, DEFAULT_SLOTS, logger_name)
        self.control.record_directory(str(directory))
        # Removed by the resource tracker if this process and its logger process are killed together.
        _posix.track(backend, self.name, lock=False)
        self.queue = LogQueue(self.name, backend, logger_name)
        self.process: BaseProcess | None = None
        self.watchdog: Watchdog | None = None
        self._owner_alive: Connection | None = None

    @property
    def launched(self) -> bool:
        """True once the logger process was started."""
        return self.process is not None

    def launch(self, directory: Path, on_failure: FailureCallback | None, *, sync: bool) -> None:
        """Starts the logger process and the watchdog.

        Args:
            directory: The log folder (it must exist).
            on_failure: The user's failure callback.
            sync: Whether the logger process flushes the file system to the disk before it exits.
        """
        context = logger_process_context()
        self.control.words[C_SYNC] = int(sync)
        reports_in, reports_out = CONTEXT.Pipe(duplex=False)
        # The logger process's parent is the fork server, not this process, so it cannot learn of this process's
        # death from its parent id: it watches this pipe, whose sending end only this process (and children it
        # forks) holds and never writes to, and this process's pid.
        owner_watch, owner_alive = CONTEXT.Pipe(duplex=False)
        process = context.Process(  # type: ignore[attr-defined]
            target=run_logger_process,
            args=(self.name, self.control.backend, directory, self.sink_settings, reports_out, owner_watch),
            name=f"DataLogger[{self.logger_name}]",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            reports_in.close()
            owner_alive.close()
            raise
        finally:
            # Only the logger process keeps the sending end, so the watchdog sees the pipe close when it exits.
            reports_out.close()
            owner_watch.close()
        self._owner_alive = owner_alive
        self.process = process
        # Recorded here too, so that a producer waiting for room can tell a logger process killed even before it
        # recorded its own pid.
        self.control.words[C_WRITER_PID] = process.pid or 0
        self.directory = directory
        self.control.transition(RunState.RUNNING, only_from=frozenset({RunState.IDLE}))
        self.identity = _posix.process_identity(process.pid or 0)
        """Tells the logger process apart from a later process given its pid (see `watchdog.has_exited`)."""
        self.watchdog = Watchdog(process, self.control, reports_in, self.logger_name, on_failure, self.identity)
        self.watchdog.start()

    def finish(self, stop_timeout: float) -> RunOutcome:
        """Closes the buffers, waits until the logger process drained them, and releases everything.

        Args:
            stop_timeout: How long to wait for a producer holding its buffer's lock, and for a logger process that
                makes no progress, before acting without them.

        Returns:
            The run's counts and problems.
        """
        control, process, watchdog = self.control, self.process, self.watchdog
        assert process is not None and watchdog is not None
        control.transition(RunState.STOPPING, only_from=ACCEPTING_STATES)
        self.queue.retire()
        release_process_ring(self.name)
        watchdog.expect_exit()
        problems = close_buffers(control, stop_timeout)
        stalled = self._wait_for_exit(process, stop_timeout)
        watchdog.halt(timeout=5.0)
        rejections, write_errors = list(watchdog.rejections), list(watchdog.write_errors)
        death = None
        if stalled or watchdog.death is not None:
            reporter = ListReporter()
            before = statistics(control, final=True)
            shortfall = drain_in_owner(control, self.directory, self.sink_settings, reporter, stop_timeout)
            rejections += reporter.reports[REJECTED]
            write_errors += reporter.reports[FAILED]
            after = statistics(control, final=True)
            cause = (
                f"the logger process of DataLogger '{self.logger_name}' made no progress for {stop_timeout:g} s "
                "and was stopped by force"
                if stalled
                else watchdog.death_cause
            )
            death = _describe_recovery(self.logger_name, cause, before, after, shortfall)
        final = statistics(control, final=True)
        self._release()
        return RunOutcome(final, death, tuple(problems), tuple(write_errors), tuple(rejections))

    def abandon(self) -> int:
        """Releases a run that was never launched.

        Returns:
            How many objects had been put on its queue (they are discarded).
        """
        self.control.transition(RunState.STOPPED)
        self.queue.retire()
        release_process_ring(self.name)
        close_buffers(self.control, 1.0)
        submitted = statistics(self.control, final=False).submitted
        self._release()
        return submitted

    def _wait_for_exit(self, process: BaseProcess, stop_timeout: float) -> bool:
        """Waits for the logger process to drain and exit while it makes progress; returns True if it stalled."""
        sleep = _POLL_SECONDS[0]
        last_marker, last_change = -1, time.monotonic()
        identity = self.identity
        while not has_exited(process, identity):
            marker = self.control.consumed()
            now = time.monotonic()
            if marker != last_marker:
                last_marker, last_change, sleep = marker, now, _POLL_SECONDS[0]
            elif now - last_change >= stop_timeout:
                # It ignores SIGTERM (see `logger_process`); what it staged is settled by the drain that follows.
                if _posix.is_same_process(process.pid or 0, identity):
                    process.kill()
                wait_for_exit(process, identity, _KILL_SECONDS)
                return True
            wait_for_exit(process, identity, sleep)
            sleep = min(sleep * 2, _POLL_SECONDS[1])
        return False

    def _release(self) -> None:
        """Removes every segment of the run."""
        if self._owner_alive is not None:
            self._owner_alive.close()
            self._owner_alive = None
        self.control.transition(RunState.STOPPED)
        remove_buffers(self.control)
        _posix.untrack(self.control.backend, self.name, lock=False)
        self.control.destroy()


def _describe_recovery(
    logger_name: str, cause: str, before: LogStatistics, after: LogStatistics, shortfall: str | None
) -> str:
    """Says what became of the entries after the logger process died: on disk before, drained by stop(), lost."""
    drained = after.written - before.written
    message = (
        f"{cause}\nOf the {after.submitted} objects accepted, {before.written} entries were on disk when it "
        f"stopped; stop() wrote the {drained} it had left in shared memory"
    )
    if after.pending:
        message += f"; {after.pending} could not be written ({shortfall or 'see above'})"
    if after.lost:
        message += f"; {after.lost} were lost from a buffer whose checksum failed"
    if after.rejected or after.failed:
        message += f"; {after.rejected} were not log packages, {after.failed} could not be written"
    if not (after.pending or after.lost or after.failed):
        message += "; none was lost"
    return message
