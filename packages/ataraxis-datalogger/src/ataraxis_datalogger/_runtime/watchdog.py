"""The owner-side thread that collects the logger process's reports and notices when it dies.

It sleeps in `multiprocessing.connection.wait` on the process's sentinel and the report pipe, so a death is seen
the moment the kernel reaps the process. The sentinel of a process started by the fork server is a pipe from the
fork server, which also reads as closed if the fork server is killed (a SIGTERM to the whole process group) while
the logger process lives on: a closed sentinel is therefore confirmed by the process's pid, and from then on the
process is watched by its pid. On a death it marks the run `DEAD` and closes the buffers (every later put,
in any process, raises), stores a `DataLoggerError` for the logger to raise from its next call, and hands the error
to the user's `on_failure` callback, if any. What the buffers still hold is not lost: `stop()` writes it. The thread
holds no reference to the `DataLogger`, so a forgotten logger can still be garbage-collected and stopped.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from ..exceptions import DataLoggerError
from . import _posix
from .control import ControlSegment
from .reports import DONE, FAILED, FATAL, REJECTED
from .run_state import ACCEPTING_STATES, RunState
from .stopping import close_buffers_now, statistics

_LOGGER = logging.getLogger(__name__)

FailureCallback = Callable[[DataLoggerError], object]
"""The type of `DataLogger`'s `on_failure` callback."""

_WAKE_SECONDS = 0.2
"""How often the thread checks whether it was asked to halt."""


class Watchdog:
    """Watches one run's writer process.

    Args:
        process: The writer process (started).
        control: The run's control segment.
        reports: The receiving end of the writer's report pipe.
        logger_name: The logger's instance name, for messages.
        on_failure: Called (from this thread) with the first failure of the run: a death or a failed write.
        identity: The writer's `_posix.process_identity`, if known.
    """

    def __init__(
        self,
        process: BaseProcess,
        control: ControlSegment,
        reports: Connection,
        logger_name: str,
        on_failure: FailureCallback | None,
        identity: int | None = None,
    ) -> None:
        self._process = process
        self._identity = identity
        self._control = control
        self._reports = reports
        self._logger_name = logger_name
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._exit_expected = threading.Event()
        self._notice: DataLoggerError | None = None
        self._notified = False
        self._done = False
        self._fork_server_lost = False
        self.rejections: list[str] = []
        """Descriptions of skipped objects (the first few of the run)."""
        self.write_errors: list[str] = []
        """Descriptions of entries that could not be written (the first few of the run)."""
        self.fatal_reports: list[str] = []
        """What the writer reported before it exited on an unexpected error."""
        self.death: DataLoggerError | None = None
        """Set when the writer process died without being stopped."""
        self.death_cause = ""
        """How the writer process died (and what it reported), once it did."""
        self._thread = threading.Thread(target=self._watch, name=f"DataLogger[{logger_name}] watchdog", daemon=True)

    def start(self) -> None:
        """Starts the thread."""
        self._thread.start()

    def expect_exit(self) -> None:
        """Tells the watchdog that the writer is about to exit because it was told to stop."""
        self._exit_expected.set()

    def halt(self, timeout: float) -> None:
        """Stops the thread, collects the reports still in the pipe and, if the writer ended, how it ended.

        Args:
            timeout: How long to wait for the thread.
        """
        self._halt.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._lock:
            self._drain_reports()
            if self.death is None and has_exited(self._process, self._identity):
                self._judge_exit()
            if not self._thread.is_alive():
                self._reports.close()
        self._deliver_notice()

    def _watch(self) -> None:
        """The thread's loop."""
        sentinel = self._process.sentinel
        watched: list[object] = [sentinel, self._reports]
        ended = False
        while not (ended or self._halt.is_set()):
            ready = wait(watched, timeout=_WAKE_SECONDS)  # type: ignore[arg-type]
            with self._lock:
                if self._reports in ready:
                    self._drain_reports()
                if sentinel in ready or sentinel not in watched:
                    ended = has_exited(self._process, self._identity)
                    if ended:
                        self._drain_reports()
                        self._judge_exit()
                    elif sentinel in watched:
                        # Its fork server died: the sentinel stays readable, so only the pid tells from now on.
                        watched.remove(sentinel)
                        self._fork_server_lost = True
            self._deliver_notice()

    def _drain_reports(self) -> None:
        """Moves every report waiting in the pipe into the lists (the caller holds the lock)."""
        try:
            while not self._reports.closed and self._reports.poll():
                kind, message = self._reports.recv()
                if kind == REJECTED:
                    self.rejections.append(message)
                elif kind == FAILED:
                    self.write_errors.append(message)
                    if len(self.write_errors) == 1:
                        self._notify(DataLoggerError(f"DataLogger '{self._logger_name}' could not write {message}"))
                elif kind == FATAL:
                    self.fatal_reports.append(message)
                elif kind == DONE:
                    self._done = True
        except (EOFError, OSError):
            # The writer exited and its end of the pipe is closed: everything it sent has been read.
            pass

    def _judge_exit(self) -> None:
        """Reaps the ended writer and declares a death unless it exited cleanly when told to (caller holds the lock)."""
        self._process.join()
        if not (self._exit_expected.is_set() and (self._process.exitcode == 0 or self._done)):
            self._declare_death()

    def _declare_death(self) -> None:
        """Marks the run dead, closes the buffers and records the error (the caller holds the lock)."""
        self._control.transition(RunState.DEAD, only_from=ACCEPTING_STATES | {RunState.STOPPING})
        close_buffers_now(self._control)
        counts = statistics(self._control, final=False)
        how = (
            "ended (how is unknown: the fork server that started it was killed before it)"
            if self._fork_server_lost
            else describe_exit(self._process.exitcode)
        )
        cause = f"the logger process of DataLogger '{self._logger_name}' (pid {self._process.pid}) {how}"
        if self.fatal_reports:
            cause += f"\nThe logger process reported:\n{self.fatal_reports[-1]}"
        self.death_cause = cause
        message = (
            f"{cause}\n{counts.written} entries are on disk; {counts.pending} accepted entries are still in shared "
            "memory, which stop() writes; puts now raise this error"
        )
        self.death = DataLoggerError(message)
        self._notify(self.death)

    def _notify(self, error: DataLoggerError) -> None:
        """Keeps the first failure of the run for the user's callback (the caller holds the lock)."""
        if not self._notified:
            self._notified = True
            self._notice = error

    def _deliver_notice(self) -> None:
        """Calls the user's callback with a kept failure, outside the lock (the callback may call `stop()`)."""
        notice, self._notice = self._notice, None
        if notice is None or self._on_failure is None:
            return
        try:
            self._on_failure(notice)
        except Exception:
            _LOGGER.exception("DataLogger '%s': the on_failure callback raised", self._logger_name)


def has_exited(process: BaseProcess, identity: int | None) -> bool:
    """Returns True if the process has ended, without reaping it (only the watchdog reaps the writer).

    A closed sentinel is confirmed by the pid: it also closes when the fork server that started the process dies.
    `identity` (see `_posix.process_identity`) keeps a later process given the same pid from passing for it.
    """
    return bool(wait([process.sentinel], timeout=0)) and not _posix.is_same_process(process.pid or 0, identity)


def wait_for_exit(process: BaseProcess, identity: int | None, timeout: float) -> bool:
    """Waits up to `timeout` seconds for the process to end; returns whether it has."""
    if not wait([process.sentinel], timeout):
        return False
    if not _posix.is_same_process(process.pid or 0, identity):
        return True
    # Its fork server died (see `has_exited`): the sentinel no longer waits, so sleep instead.
    time.sleep(timeout)
    return not _posix.is_same_process(process.pid or 0, identity)


def describe_exit(exit_code: int | None) -> str:
    """Describes how a process ended, from its `exitcode`."""
    if exit_code is None:
        return "is still running"
    if exit_code < 0:
        try:
            return f"was killed by signal {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"was killed by signal {-exit_code}"
    return f"exited with code {exit_code}"
