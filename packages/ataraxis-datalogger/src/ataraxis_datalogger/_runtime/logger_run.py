"""One run of a logger: its shared cells, its queue, its writer process and its watchdog, from start to stop.

A run is created when the logger's queue is first needed (by `input_queue` or `start()`), launched by `start()` and
finished by `stop()`, which releases everything it holds; the next `start()` creates a new run.
"""

import multiprocessing
import os
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import cast

from .log_queue import LogQueue, StopWriting
from .logger_process import run_logger_process
from .run_state import ACCEPTING_STATES, LogStatistics, RunState, SharedRunState
from .watchdog import FailureCallback, Watchdog, has_exited

_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
CONTEXT = cast("ForkServerContext | SpawnContext", multiprocessing.get_context(_START_METHOD))
"""Every process, pipe and lock of the logger comes from the `forkserver` context (`spawn` where there is none).

The writer then inherits nothing from the parent (no threads, locks or open files: forking a threaded parent is
unsafe, and Python 3.12+ warns about it); locks made by a non-fork context can be handed to producers started with
any method, while `fork`-context locks cannot be sent to `spawn` or `forkserver` children; and after the first start
of a process, starting a writer takes milliseconds instead of the ~0.5 s a spawned interpreter needs to import NumPy.
"""
_LOGGER_PROCESS_MODULE = "ataraxis_datalogger._runtime.logger_process"


_POLL_SECONDS = (0.001, 0.02)
"""The shortest and longest sleep of `stop()` while it waits for the writer to catch up."""
_JOIN_SECONDS = 5.0
"""How long `stop()` waits for a writer that received its stop message to exit before it kills it."""
_DISCARD_SECONDS = 0.5
"""How long `stop()` spends, after the writer died, emptying the pipe so producers' feeder threads can finish."""


@dataclass(frozen=True)
class RunOutcome:
    """What `finish()` found: the counts and every problem of the run."""

    statistics: LogStatistics
    """The final counts."""
    death: str | None
    """Why the writer died, if it did."""
    lost: int
    """Counted puts that never reached the writer before `stop()` gave up waiting."""
    write_errors: tuple[str, ...]
    """The first few entries that could not be written."""
    rejections: tuple[str, ...]
    """The first few objects that were skipped."""


class LoggerRun:
    """The resources of one run.

    Args:
        logger_name: The logger's instance name.
    """

    def __init__(self, logger_name: str) -> None:
        self.logger_name = logger_name
        self.shared_state = SharedRunState.create()
        try:
            self.queue = LogQueue(self.shared_state, logger_name, ctx=CONTEXT)
        except BaseException:
            self.shared_state.destroy()
            raise
        self.process: BaseProcess | None = None
        self.watchdog: Watchdog | None = None
        self._owner_alive: Connection | None = None
        self._token = uuid.uuid4().hex

    @property
    def launched(self) -> bool:
        """True once the writer process was started."""
        return self.process is not None

    def launch(self, directory: Path, on_failure: FailureCallback | None) -> None:
        """Starts the writer process and the watchdog.

        Args:
            directory: The log folder (it must exist).
            on_failure: The user's failure callback.
        """
        _preload_writer()
        reports_in, reports_out = CONTEXT.Pipe(duplex=False)
        # The writer's parent is the fork server, not this process, so it cannot learn of this process's death from
        # its parent id: it watches this pipe instead, whose sending end only this process (and children it forks)
        # holds and never writes to. The kernel closes it when they die, however they die.
        owner_watch, owner_alive = CONTEXT.Pipe(duplex=False)
        process = CONTEXT.Process(
            target=run_logger_process,
            args=(self.queue, self.shared_state, directory, self._token, reports_out, owner_watch),
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
            # Only the writer keeps the sending end, so the watchdog sees the pipe close when it exits.
            reports_out.close()
            owner_watch.close()
        self._owner_alive = owner_alive
        self.process = process
        self.shared_state.transition(RunState.RUNNING, only_from=frozenset({RunState.IDLE}))
        self.watchdog = Watchdog(process, self.shared_state, reports_in, self.logger_name, on_failure)
        self.watchdog.start()

    def finish(self, stop_timeout: float, *, sync: bool) -> RunOutcome:
        """Waits until everything put before this call is processed, stops the writer and releases everything.

        Args:
            stop_timeout: How long to wait without any progress before the remaining puts are declared lost.
            sync: Whether the writer flushes the file system to the disk before it exits.

        Returns:
            The run's counts and problems.
        """
        _, target = self.shared_state.transition(RunState.STOPPING, only_from=ACCEPTING_STATES)
        process, watchdog = self.process, self.watchdog
        lost = 0
        forced = False
        if process is not None and watchdog is not None:
            lost = self._wait_until_processed(target, process, stop_timeout)
            if not has_exited(process):
                watchdog.expect_exit()
                self.queue.put_uncounted(StopWriting(token=self._token, sync=sync))
                stop_seconds = _JOIN_SECONDS + (stop_timeout if sync else 0.0)
                forced = not _wait_or_kill(process, timeout=stop_seconds)
            watchdog.halt(timeout=_JOIN_SECONDS)
            process.join(_JOIN_SECONDS)
        statistics = self.shared_state.statistics()
        if forced:
            # The writer was alive but never read its stop message: something blocks the pipe, which in practice
            # is a producer that died in the middle of sending an entry and left a partial message in it.
            death: str | None = (
                f"the logger process did not take its stop message off the queue within {stop_seconds:g} s and "
                f"was stopped by force: the queue is blocked, most likely because a producer process died in the "
                f"middle of sending an entry; {statistics.pending} of the {statistics.submitted} objects put on the "
                "queue were not processed and are lost"
            )
        else:
            death = str(watchdog.death) if watchdog is not None and watchdog.death is not None else None
        self._release(clean=death is None and lost == 0)
        return RunOutcome(
            statistics=statistics,
            death=death,
            lost=lost if death is None else 0,
            write_errors=tuple(watchdog.write_errors) if watchdog is not None else (),
            rejections=tuple(watchdog.rejections) if watchdog is not None else (),
        )

    def _wait_until_processed(self, target: int, process: BaseProcess, stop_timeout: float) -> int:
        """Waits until the writer has processed `target` puts, died, or made no progress for `stop_timeout`.

        Returns:
            How many of the `target` puts were still unprocessed when waiting stopped (0 if it did not die).
        """
        sleep = _POLL_SECONDS[0]
        last_marker = (False, -1)
        last_change = time.monotonic()
        while not has_exited(process):
            processed = self.shared_state.processed()
            if processed >= target:
                return 0
            marker = (self.shared_state.writer_ready(), processed)
            now = time.monotonic()
            if marker != last_marker:
                last_marker, last_change, sleep = marker, now, _POLL_SECONDS[0]
            elif now - last_change >= stop_timeout:
                return target - processed
            time.sleep(sleep)
            sleep = min(sleep * 2, _POLL_SECONDS[1])
        return 0

    def _release(self, *, clean: bool) -> None:
        """Closes the queue and destroys the shared cells.

        Args:
            clean: False when the writer died or puts were lost: the pipe may hold unread data, so this process
                must not wait for its own feeder thread to flush.
        """
        if not clean:
            self._discard_pending()
            self.queue.cancel_join_thread()
        self.queue.retire()
        self.queue.close()
        if clean:
            self.queue.join_thread()
        if self._owner_alive is not None:
            self._owner_alive.close()
        self.shared_state.transition(RunState.STOPPED)
        self.shared_state.destroy()

    def abandon(self) -> int:
        """Releases a run that was never launched.

        Returns:
            How many objects had been put on its queue (they are discarded).
        """
        _, submitted = self.shared_state.transition(RunState.STOPPED)
        self._release(clean=submitted == 0)
        return submitted

    def _discard_pending(self) -> None:
        """Reads and drops what is left in the pipe, briefly, so producers blocked on a full pipe can finish.

        The bytes are read raw and without blocking: a producer killed in the middle of a put leaves a partial
        message that a framed read would wait for forever.
        """
        descriptor = self.queue.pipe_descriptor()
        os.set_blocking(descriptor, False)
        deadline = time.monotonic() + _DISCARD_SECONDS
        while time.monotonic() < deadline and wait([descriptor], 0.01):
            try:
                if not os.read(descriptor, 1 << 20):
                    return
            except BlockingIOError:
                continue
            except OSError:
                return


def _preload_writer() -> None:
    """Adds the writer's module to what the fork server imports once, keeping the modules already listed."""
    if _START_METHOD != "forkserver":
        return
    from multiprocessing import forkserver

    # The list is private; "__main__" is its documented default.
    listed = list(getattr(getattr(forkserver, "_forkserver", None), "_preload_modules", None) or ["__main__"])
    if _LOGGER_PROCESS_MODULE not in listed:
        CONTEXT.set_forkserver_preload([*listed, _LOGGER_PROCESS_MODULE])


def _wait_or_kill(process: BaseProcess, timeout: float) -> bool:
    """Waits for a process to exit; terminates, then kills it if it does not. Leaves the reaping to the watchdog.

    Returns:
        True if the process exited by itself, False if it had to be terminated.
    """
    if wait([process.sentinel], timeout):
        return True
    process.terminate()
    if not wait([process.sentinel], 1.0):
        process.kill()
        wait([process.sentinel], 1.0)
    return False
