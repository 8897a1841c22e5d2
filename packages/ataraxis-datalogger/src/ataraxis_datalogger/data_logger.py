"""`DataLogger`: a logger process that writes every `LogPackage` put on its queue, by any process, to disk."""

import atexit
import logging
import multiprocessing.util
import os
import threading
import warnings
import weakref
from pathlib import Path
from types import TracebackType
from typing import Literal, NoReturn, SupportsIndex

from ._files.stream_writer import DEFAULT_SEGMENT_BYTES, SyncPolicy
from ._runtime.layout import DEFAULT_BUFFER_BYTES
from ._runtime.legacy_options import accept_legacy_keywords
from ._runtime.log_queue import LogQueue, LogSource
from ._runtime.logger_run import LoggerRun, RunOutcome
from ._runtime.run_state import LogStatistics
from ._runtime.settings import check_logger_arguments
from ._runtime.stopping import statistics
from ._runtime.watchdog import FailureCallback
from .compression import CompressionReport, compress_npy_logs
from .exceptions import DataLoggerError, DataLoggerWarning

_LOGGER = logging.getLogger(__name__)

_EXIT_STOP_TIMEOUT = 5.0
"""The `stop_timeout` used when a logger is stopped at interpreter exit or by garbage collection."""

_LIVE_LOGGERS: "weakref.WeakSet[DataLogger]" = weakref.WeakSet()
"""Loggers of this process that have a run, stopped at interpreter exit."""

_EXIT_FINALIZER_PRIORITY = 100
"""Above the priority (10) of the finalizer that closes a `multiprocessing.Queue`, so loggers stop while theirs work."""
_exit_finalizer_pid = -1
"""The process in which the `multiprocessing` exit finalizer of `_stop_all_at_exit` is registered."""


class DataLogger:
    """Writes the log entries that any number of processes put on its queue, one `.npy` file per entry.

    `start()` launches the logger process; producers (this process or others) put `LogPackage` objects on
    `input_queue`, or log through `source(id).log(time_stamp, payload)`; each producer process copies its entries
    into a shared-memory buffer of its own, which the logger process writes to disk. `stop()` returns once every
    entry put before it, by any process, is on disk, then releases the process and the shared memory.

    Entries go to `<output_directory>/<instance_name>_data_log/`, one file `{source_id:03d}_{time_stamp:020d}.npy`
    per entry; a second entry with the same source and timestamp is kept as `..._1.npy`, and so on, and no entry
    ever replaces an existing file. A file appears complete or not at all.

    The logger can be started again after `stop()`, and several loggers (with different instance names, or the same
    name in different folders) can run at once. Used as a context manager, it starts on entry and stops on exit.
    Only the process that created a logger can start and stop it; other processes only use its `input_queue` (and
    `source()` handles).
    """

    def __init__(
        self,
        output_directory: Path | str,
        instance_name: str = "data_logger",
        *,
        fsync_on_stop: bool = False,
        stop_timeout: float = 10.0,
        on_failure: FailureCallback | None = None,
        buffer_size: int = DEFAULT_BUFFER_BYTES,
        layout: Literal["npy", "stream"] = "npy",
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        sync: SyncPolicy = "rotate",
        **legacy_keywords: object,
    ) -> None:
        """Creates the log folder; the logger process starts with `start()`.

        Args:
            output_directory: The folder in which the logger creates its log folder.
            instance_name: The logger's name; the log folder is named `<instance_name>_data_log`.
            fsync_on_stop: If True, `stop()` also flushes the file system to the disk, so the entries survive a
                power loss, at the cost of a slower stop.
            stop_timeout: How many seconds `stop()` waits for the logger process while it makes no progress (then it
                stops it by force and writes the remaining entries itself), and for a producer process holding its
                buffer's lock (paused in the middle of a put).
            on_failure: Called, from a background thread, with a `DataLoggerError` as soon as the run fails: the
                logger process died or an entry could not be written. The error is also raised by the next call to
                `stop()` (and, after a death, by `start()` and `input_queue`) whether or not a callback is given. To
                interrupt the main thread, pass for example `lambda error: _thread.interrupt_main()`.
            buffer_size: The size in bytes of the shared-memory buffer of each producer process (8 MiB by default,
                at least 4096). A put waits while its process's buffer is full; an entry larger than the buffer (its
                payload plus 20 to 27 bytes) is refused with `EntryTooLargeError`.
            layout: `"npy"` (the default) writes one `.npy` file per entry; `"stream"` appends the entries to
                checksummed stream segments (`stream_{sequence:06d}.adlog`, see the stream format), which takes
                far less time per entry than creating a file.
            segment_bytes: With `layout="stream"`: the size at which a segment is closed and the next one started
                (64 MiB by default, at least 4096).
            sync: With `layout="stream"`: when written entries are made durable: `"rotate"` (each segment as it
                is closed; the default), `"none"` (left to the operating system), or a number of seconds N (at
                least every N seconds, so a power cut costs at most about N seconds of entries).

            **legacy_keywords: The keywords of ataraxis-data-structures 3.x (`process_count`, `thread_count`,
                `sleep_timer`, `exist_ok`) and 4.0 (`poll_interval`) are accepted and ignored, with a
                `DeprecationWarning` saying what replaced each one.


        Raises:
            DataLoggerTypeError: If `output_directory` is not a path, `instance_name` not a string, `fsync_on_stop`
                not a boolean, `stop_timeout` not a number, `on_failure` not callable, `buffer_size` or
                `segment_bytes` not an integer, `sync` neither a string nor a number, or a keyword is neither
                declared nor a legacy one. It is a `TypeError`.
            DataLoggerValueError: If `output_directory` is empty, `instance_name` is empty, not usable in a folder
                name or longer than 246 bytes, `stop_timeout` is not a finite positive number, `buffer_size` is
                below 4096, `layout` is unknown, `segment_bytes` is below 4096, or `sync` is out of range. It is a
                `ValueError`.
            OSError: If the log folder cannot be created. Nothing is created when an argument is refused.
        """
        accept_legacy_keywords(legacy_keywords, stacklevel=2)
        settings = check_logger_arguments(
            output_directory,
            instance_name,
            fsync_on_stop,
            stop_timeout,
            on_failure,
            buffer_size,
            layout,
            segment_bytes,
            sync,
        )
        settings.directory.mkdir(parents=True, exist_ok=True)
        self._buffer_size = settings.buffer_size
        self._sink_settings = settings.sink
        self._instance_name = settings.instance_name
        self._output_directory = settings.directory
        self._fsync_on_stop = settings.fsync_on_stop
        self._stop_timeout = settings.stop_timeout
        self._on_failure = settings.on_failure
        self._owner_pid = os.getpid()
        self._lock = threading.RLock()
        self._run: LoggerRun | None = None
        self._last_statistics = LogStatistics(0, 0, 0, 0, 0)

    @property
    def instance_name(self) -> str:
        """The logger's name."""
        return self._instance_name

    @property
    def name(self) -> str:
        """The logger's name, `instance_name` (the name ataraxis-data-structures 3.x gave this property)."""
        return self._instance_name

    @property
    def output_directory(self) -> Path:
        """The log folder, `<output_directory>/<instance_name>_data_log`, where the entry files are written."""
        return self._output_directory

    @property
    def started(self) -> bool:
        """True between `start()` and `stop()` (also after the logger process died, until `stop()` is called)."""
        run = self._run
        return run is not None and run.launched

    @property
    def failure(self) -> DataLoggerError | None:
        """The error of the current run, if its logger process died; None otherwise."""
        run = self._run
        return run.watchdog.death if run is not None and run.watchdog is not None else None

    @property
    def statistics(self) -> LogStatistics:
        """The counts of the current run (live), or of the last run once it is stopped."""
        run = self._run
        if run is None:
            return self._last_statistics
        return statistics(run.control, final=False)

    @property
    def layout(self) -> Literal["npy", "stream"]:
        """How entries are stored: `"npy"` (one file per entry) or `"stream"` (stream segments)."""
        return self._sink_settings["layout"]  # type: ignore[return-value]

    @property
    def buffer_size(self) -> int:
        """The size in bytes of each producer process's shared-memory buffer."""
        return self._buffer_size

    @property
    def input_queue(self) -> LogQueue:
        """The queue producers put `LogPackage` objects on (see `LogQueue`).

        Pass it to producer processes as you would a `multiprocessing.Queue` (a `Process` argument, under any start
        method, or by inheritance), or in any other way objects are pickled (a `ProcessPoolExecutor` task). It may
        be taken before `start()`: entries put then wait in their producer's buffer until the logger starts. Each
        run has its own queue: after `stop()`, puts on the old queue raise `DataLoggerError`, and the next run's
        queue is this property again.

        Raises:
            DataLoggerError: If the logger process of the current run died, or if this is a process other than
                the logger's own and the logger has no current run (then pass the queue, not the logger).
        """
        with self._lock:
            if os.getpid() != self._owner_pid and self._run is not None:
                # A forked child that inherited the logger: the queue is all it may use.
                return self._run.queue
            self._check_owner()
            self._raise_if_dead()
            if self._run is None:
                self._run = self._new_run()
                _track(self)
            return self._run.queue

    def source(self, source_id: SupportsIndex) -> LogSource:
        """Returns the hot path for one source: `logger.source(7).log(time_stamp, payload)`.

        `log` builds the entry straight in the producer process's buffer, with no `LogPackage`, which makes it the
        fastest way to log many small entries. The handle can be passed to other processes like `input_queue`.

        Args:
            source_id: The source's id, 0 to 255.

        Raises:
            DataLoggerTypeError, DataLoggerValueError: If `source_id` is not an integer from 0 to 255.
            DataLoggerError: As `input_queue` raises it.
        """
        return self.input_queue.source(source_id)

    def start(self) -> None:
        """Starts the logger process. Does nothing if it is already running.

        Raises:
            DataLoggerError: If the logger process of the current run died (call `stop()` first).
            OSError: If the log folder cannot be created.
        """
        with self._lock:
            self._check_owner()
            self._raise_if_dead()
            if self.started:
                return
            self._output_directory.mkdir(parents=True, exist_ok=True)
            if self._run is None:
                self._run = self._new_run()
            _track(self)
            self._run.launch(self._output_directory, self._on_failure, sync=self._fsync_on_stop)

    def stop(self) -> None:
        """Returns once every entry put before this call, by any process, is written; then stops the logger process.

        Does nothing if the logger is not running. Objects that were not log packages were skipped: they are
        reported by a `DataLoggerWarning`.

        Raises:
            DataLoggerError: If the logger process died, entries could not be written, or entries counted as put
                never arrived. The logger is stopped all the same and can be started again.
        """
        with self._lock:
            self._check_owner()
            run, self._run = self._run, None
            _LIVE_LOGGERS.discard(self)
            if run is None:
                return
            if not run.launched:
                discarded = run.abandon()
                if discarded:
                    warnings.warn(
                        f"DataLogger '{self._instance_name}' was never started: {discarded} objects put on its queue "
                        "were discarded",
                        DataLoggerWarning,
                        stacklevel=2,
                    )
                return
            outcome = run.finish(self._stop_timeout)
            self._last_statistics = outcome.statistics
        self._report(outcome)

    def compress_logs(
        self,
        *,
        remove_sources: bool = False,
        memory_mapping: bool = False,
        verbose: bool = False,
        compress: bool = True,
        verify_integrity: bool = False,
        max_workers: int | None = None,
    ) -> CompressionReport:
        """Archives the entries in this logger's folder: one columnar `{source_id}_log.npz` per source.

        This is `compress_npy_logs(self.output_directory, ...)`: its documentation describes every argument, the
        guarantees and the errors. Call it after `stop()`: entries that arrive while it runs are archived by the
        next call.

        Args:
            remove_sources: See `compress_npy_logs`.
            memory_mapping: See `compress_npy_logs`.
            verbose: See `compress_npy_logs`.
            compress: See `compress_npy_logs`.
            verify_integrity: See `compress_npy_logs`.
            max_workers: See `compress_npy_logs`.

        Returns:
            What was done per source.

        Raises:
            LogCompressionError: If a source could not be archived (its files are left as they were).
        """
        return compress_npy_logs(
            self._output_directory,
            remove_sources=remove_sources,
            memory_mapping=memory_mapping,
            verbose=verbose,
            compress=compress,
            verify_integrity=verify_integrity,
            max_workers=max_workers,
        )

    def _new_run(self) -> LoggerRun:
        """Creates the shared memory of a new run (its queue works from then on)."""
        run = LoggerRun(self._instance_name, self._buffer_size, self._sink_settings, self._output_directory)
        for stale in run.swept:
            warnings.warn(
                f"DataLogger '{self._instance_name}': an earlier run into {self._output_directory} (owner pid "
                f"{stale.owner_pid}) had all its processes killed; {stale.unwritten} entries its producers had put "
                "were never written and are lost (its shared memory was removed now)",
                DataLoggerWarning,
                stacklevel=3,
            )
        return run

    def __enter__(self) -> "DataLogger":
        """Starts the logger."""
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stops the logger."""
        self.stop()

    def __repr__(self) -> str:
        """Names the logger, its folder and whether it runs."""
        return (
            f"DataLogger(instance_name={self._instance_name!r}, output_directory='{self._output_directory}', "
            f"started={self.started})"
        )

    def __reduce__(self) -> NoReturn:
        """Refuses to be pickled: producers need only the `input_queue`."""
        raise TypeError(
            f"a DataLogger cannot be sent to another process; pass its input_queue instead ({self._instance_name!r})"
        )

    def __del__(self) -> None:
        """Stops a logger that is garbage-collected while running; never raises and never waits long."""
        if getattr(self, "_run", None) is not None and os.getpid() == self._owner_pid:
            self._stop_quietly()

    def _stop_quietly(self) -> None:
        """Stops the logger with a short timeout, logging (not raising) what went wrong: nobody is left to catch it."""
        self._stop_timeout = min(self._stop_timeout, _EXIT_STOP_TIMEOUT)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.stop()
        except Exception as error:
            _LOGGER.error("DataLogger '%s' stopped at exit: %s", self._instance_name, error)
        for warning in caught:
            _LOGGER.warning("DataLogger '%s' stopped at exit: %s", self._instance_name, warning.message)

    def _report(self, outcome: RunOutcome) -> None:
        """Raises or warns about the problems of a finished run."""
        statistics = outcome.statistics
        if statistics.rejected:
            # Descriptions of the first few; one described only to a logger process that died is counted, not shown.
            shown = ": " + "; ".join(outcome.rejections) if outcome.rejections else ""
            warnings.warn(
                f"DataLogger '{self._instance_name}' skipped {statistics.rejected} objects that were not log "
                f"packages{shown}",
                DataLoggerWarning,
                stacklevel=3,
            )
        problems = []
        if outcome.death is not None:
            problems.append(outcome.death)
        if statistics.failed or statistics.lost:
            problems.append(
                f"{statistics.failed + statistics.lost} of {statistics.submitted} entries could not be written to "
                f"{self._output_directory}: " + "; ".join(outcome.write_errors)
            )
        problems.extend(outcome.problems)
        if outcome.death is None and statistics.pending:
            problems.append(f"{statistics.pending} of {statistics.submitted} accepted entries were not written")
        if problems:
            raise DataLoggerError(f"DataLogger '{self._instance_name}': " + "\n".join(problems))

    def _raise_if_dead(self) -> None:
        """Raises the current run's death, if its logger process died."""
        failure = self.failure
        if failure is not None:
            raise DataLoggerError(f"{failure} (call stop() to release the logger, then start() to restart it)")

    def _check_owner(self) -> None:
        """Refuses control calls from a process that inherited the logger by forking."""
        if os.getpid() != self._owner_pid:
            raise DataLoggerError(
                f"DataLogger '{self._instance_name}' belongs to process {self._owner_pid}: only its input_queue can "
                f"be used in process {os.getpid()}"
            )


def _track(logger: DataLogger) -> None:
    """Adds a logger to those stopped when this process exits, making sure that happens in this process.

    `atexit` covers the main process. A `multiprocessing` child ends with `os._exit`, which skips `atexit`, after
    terminating its daemonic children (the writer among them): there, only `multiprocessing`'s own exit finalizers
    run in time, so one is registered, once per process (a forked child inherits none of its parent's).
    """
    global _exit_finalizer_pid
    _LIVE_LOGGERS.add(logger)
    if _exit_finalizer_pid != os.getpid():
        _exit_finalizer_pid = os.getpid()
        multiprocessing.util.Finalize(None, _stop_all_at_exit, exitpriority=_EXIT_FINALIZER_PRIORITY)


@atexit.register
def _stop_all_at_exit() -> None:
    """Stops every logger still running when the interpreter exits, so their queued entries are written."""
    for logger in list(_LIVE_LOGGERS):
        if os.getpid() == logger._owner_pid:
            logger._stop_quietly()
