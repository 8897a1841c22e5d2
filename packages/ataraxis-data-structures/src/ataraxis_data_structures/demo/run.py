"""The demo's command and the acquisition run it drives (`python -m ataraxis_data_structures.demo`).

Exit status: 0 when every message was logged intact; 1 when messages were lost or damaged, or a producer, the logger
or the compression failed; 2 for a command line or settings file that cannot be used; 128 plus the signal's number
when a signal ended the demo and nothing was lost (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
"""

import dataclasses
import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from ataraxis_datalogger import DataLogger, DataLoggerError, LogCompressionError, read_logs

from ._platform import signals_blocked, start_resource_tracker
from .cli import USAGE_ERROR_STATUS, UsageError, load_settings, parse_arguments
from .control import ControlBoard, ProducerStatus, remove_stale_boards
from .display import Output, StatusView, summary_table, timestamp_note
from .producers import run_producer
from .settings import DemoSettings
from .signals import TERMINAL_SIGNALS, Interrupted, StopSignals, describe
from .verification import SourceVerdict, verify_source
from .workspace import LOGGER_NAME, OutputFolder

PRODUCER_CONTEXT = multiprocessing.get_context("spawn")
"""Producers are started with `spawn` on every system: the demo's process is then their parent (which their
parent-death check relies on), and they inherit no thread, lock or file descriptor from it (in particular not the
logger's pipe that tells it its owner died, so an orphaned logger notices at once)."""
_PRODUCER_EXIT_TIMEOUT_S = 30.0
"""How long producers may take to exit once the run flag drops, before they are killed."""
_READY_TIMEOUT_S = 120.0
"""How long producers may take to start (import and connect) on a loaded machine."""
_POLL_S = 0.05
"""How often the parent checks for signals, failed processes and the end of the run."""


@dataclass(frozen=True)
class RunEnd:
    """How the run's sending phase ended."""

    elapsed_s: float
    """Seconds on the run's clock (which starts once every producer is ready)."""
    problem: str | None
    """What went wrong, if the run did not end by its duration or a signal."""
    logger_failed: bool = False
    """Whether the logger's process died during the run."""


def main(argv: list[str] | None = None) -> int:
    """Runs the demo.

    Args:
        argv: The command-line arguments; `None` reads them from `sys.argv`.

    Returns:
        The process exit status (see the module docstring).
    """
    signals = StopSignals()
    signals.install()
    output = Output()
    try:
        return _main(argv, signals, output)
    finally:
        signals.restore()


def _main(argv: list[str] | None, signals: StopSignals, output: Output) -> int:
    folder: OutputFolder | None = None
    try:
        with signals.immediate():
            arguments = parse_arguments(argv)
            settings = None if arguments.config is None else load_settings(arguments.config)
            folder = OutputFolder.prepare(arguments.output, writes_settings=settings is None)
            # Without --config the defaults are written, then read back: what runs is exactly what the file says.
            settings_path = arguments.config or folder.write_default_settings()
            settings = settings or load_settings(settings_path)
            if arguments.duration_s is not None:
                settings = dataclasses.replace(settings, duration_s=arguments.duration_s)
        output.line(f"output: {folder.path}")
        output.line(f"settings: {settings_path}  (edit it, then run again with --config {settings_path})")
        return Run(settings, folder, output, signals).execute()
    except UsageError as error:
        output.problem(f"error: {error}")
        return USAGE_ERROR_STATUS
    except Interrupted as interruption:
        output.problem(f"interrupted by {describe(interruption.signal_number)} during start-up: nothing was logged")
        return 128 + interruption.signal_number
    finally:
        if folder is not None:
            folder.discard_if_nothing_logged()


class Run:
    """One acquisition run: start-up, the sending phase, the stop, then compression, verification and summary.

    Args:
        settings: The run's settings.
        folder: The output folder.
        output: Where to print.
        signals: The installed stop-signal handler.
    """

    def __init__(self, settings: DemoSettings, folder: OutputFolder, output: Output, signals: StopSignals) -> None:
        self._settings = settings
        self._folder = folder
        self._output = output
        self._signals = signals
        self._board: ControlBoard | None = None
        self._logger: DataLogger | None = None
        self._producers: list[BaseProcess] = []
        self._run_start_ns = 0

    def execute(self) -> int:
        """Runs everything, and always stops the producers and the logger and removes the board before returning.

        Returns:
            The exit status.

        Raises:
            Interrupted: A stop signal arrived before any producer was started.
        """
        try:
            board, logger = self._start()
            end = self._send()
            failures = self._stop_producers(board, end)
            statuses = board.statuses()
            try:
                logger.stop()
            except DataLoggerError as error:
                if not end.logger_failed:  # else the run ended on that failure and says so already
                    failures.append(f"the logger failed: {error}")
                return self._failed(failures)
            terminating = self._signals.terminating
            if terminating is not None:
                return self._report_stop(terminating, end, statuses, logger, failures)
            return self._finish(logger, statuses, end, failures)
        finally:
            self._shut_down()

    def _start(self) -> tuple[ControlBoard, DataLogger]:
        # Children are created with Ctrl-C and hang-up blocked (they inherit the blocked mask): the resource tracker,
        # the logger's fork server and writer, and the producers never die of a terminal's signal, which the parent
        # alone handles. Signals that arrive meanwhile are delivered to the parent when the block ends.
        with signals_blocked(TERMINAL_SIGNALS):
            start_resource_tracker()
        with signals_blocked(TERMINAL_SIGNALS):
            for name in remove_stale_boards():
                self._output.line(f"removed {name}: the control board of a demo that was killed with its helpers")
            self._board = board = ControlBoard.create(len(self._settings.sources))
            self._logger = logger = DataLogger(output_directory=self._folder.path, instance_name=LOGGER_NAME)
            logger.start()
        self._signals.check()
        self._run_start_ns = time.monotonic_ns()
        with signals_blocked(TERMINAL_SIGNALS):
            for position, source in enumerate(self._settings.sources):
                producer = PRODUCER_CONTEXT.Process(
                    target=run_producer,
                    args=(position, source, board, logger.input_queue, os.getpid()),
                    name=source.name,
                )
                producer.start()
                self._producers.append(producer)
        started = ", ".join(f"{producer.name} (pid {producer.pid})" for producer in self._producers)
        self._output.line(f"producers: {started}; logging to {logger.output_directory}")
        return board, logger

    def _send(self) -> RunEnd:
        """Shows the live status until the duration has passed on the run's clock, a signal came, or a process failed.

        The clock starts once every producer has reported that it is ready.
        """
        assert self._board is not None and self._logger is not None
        settings = self._settings
        clock_start: float | None = None
        waiting_since = time.monotonic()
        next_refresh = 0.0
        with StatusView(self._output, settings) as view:
            while True:
                now = time.monotonic()
                statuses = self._board.statuses()
                if clock_start is None and all(status.heartbeat_ns for status in statuses):
                    clock_start = now
                elapsed = 0.0 if clock_start is None else now - clock_start
                problem = self._problem(
                    not_ready_in_time=clock_start is None and now - waiting_since > _READY_TIMEOUT_S
                )
                if problem is not None or self._signals.received or elapsed >= settings.duration_s:
                    view.update(None if clock_start is None else min(elapsed, settings.duration_s), statuses)
                    break
                if now >= next_refresh:
                    view.update(None if clock_start is None else elapsed, statuses)
                    next_refresh = now + settings.display_interval_s
                time.sleep(_POLL_S)
        if self._signals.received and not self._signals.terminating:
            self._output.problem(
                f"interrupted by Ctrl-C at {elapsed:,.1f} s of {settings.duration_s:,.1f} s: stopping the producers; "
                "every message they sent will be logged, compressed and checked"
            )
        return RunEnd(elapsed_s=elapsed, problem=problem, logger_failed=self._logger.failure is not None)

    def _problem(self, *, not_ready_in_time: bool) -> str | None:
        assert self._logger is not None
        if self._logger.failure is not None:
            return f"the logger failed during the run: {self._logger.failure}"
        ended = [producer for producer in self._producers if producer.exitcode is not None]
        if ended and not self._signals.received:
            names = ", ".join(f"{producer.name} (exit code {producer.exitcode})" for producer in ended)
            return f"producers ended before the end of the run: {names}"
        if not_ready_in_time:
            return f"the producers did not all start within {_READY_TIMEOUT_S:g} s"
        return None

    def _stop_producers(self, board: ControlBoard, end: RunEnd) -> list[str]:
        """Lowers the run flag and waits for every producer; returns the problems of the run so far."""
        if end.logger_failed:
            board.abandon_run()
        else:
            board.stop_run()
        failures = [] if end.problem is None else [end.problem]
        deadline = time.monotonic() + _PRODUCER_EXIT_TIMEOUT_S
        for producer in self._producers:
            producer.join(timeout=max(0.0, deadline - time.monotonic()))
            if producer.is_alive():
                producer.kill()
                producer.join()
                failures.append(f"the producer {producer.name} did not stop within {_PRODUCER_EXIT_TIMEOUT_S:g} s")
            elif producer.exitcode != 0:
                failures.append(f"the producer {producer.name} failed (exit code {producer.exitcode})")
        return failures

    def _report_stop(
        self, signal_number: int, end: RunEnd, statuses: list[ProducerStatus], logger: DataLogger, failures: list[str]
    ) -> int:
        """Reports a run stopped by SIGTERM or SIGHUP: everything is written, nothing more is done."""
        sent = sum(status.sent for status in statuses)
        written = logger.statistics.written
        if written != sent:
            failures.append(f"{sent:,} messages were sent but {written:,} written")
        if failures:
            return self._failed(failures)
        duration = self._settings.duration_s
        when = f"interrupted by {describe(signal_number)} at {end.elapsed_s:,.1f} s of {duration:,.1f} s"
        if sent == 0:
            self._output.problem(f"{when}: nothing was sent")
        else:
            self._output.problem(
                f"{when}: {sent:,} messages sent, all written to {logger.output_directory}; compression and "
                "verification skipped"
            )
        return 128 + signal_number

    def _finish(self, logger: DataLogger, statuses: list[ProducerStatus], end: RunEnd, failures: list[str]) -> int:
        """Compresses and verifies the logs, then prints the summary."""
        # A first Ctrl-C after the run (it ended by its duration) stops these steps; after a Ctrl-C that already
        # ended the run, a second one (people press twice) is ignored.
        ctrl_c_stops = not self._signals.received
        verify = self._settings.verify_integrity
        try:
            # Compression may start worker processes: they too are created with the terminal's signals blocked, so
            # a Ctrl-C meanwhile takes effect once compression returns; SIGTERM and SIGHUP stop it at once (a
            # compression stopped at any point loses nothing).
            with signals_blocked(TERMINAL_SIGNALS), self._signals.immediate(sigint=False):
                with self._output.activity("compressing the logs" + (", then checking every byte" if verify else "")):
                    started = time.monotonic()
                    report = logger.compress_logs(remove_sources=True, verify_integrity=verify)
                seconds = time.monotonic() - started
            size = sum(source.archive_bytes for source in report.sources.values())
            self._output.line(
                f"compressed {report.entries_archived:,} entries into {len(report.sources)} archives "
                f"({size / 2**20:,.2f} MiB) in {seconds:,.1f} s" + (", every byte checked" if verify else "")
            )
            with self._signals.immediate(sigint=ctrl_c_stops):
                with self._output.activity("reading the logs back and checking every message"):
                    verdicts = self._verify(logger.output_directory, statuses)
        except Interrupted as interruption:
            self._output.problem(
                f"interrupted by {describe(interruption.signal_number)} while compressing or checking the logs: "
                f"every message was written to {logger.output_directory}; what was not compressed yet stays there "
                "as entry files (compress_npy_logs archives them)"
            )
            return 128 + interruption.signal_number
        except LogCompressionError as error:
            return self._failed([*failures, f"compression failed: {error}"])
        return self._report(verdicts, end, failures)

    def _verify(self, log_directory: Path, statuses: list[ProducerStatus]) -> list[SourceVerdict]:
        """Reads every source's logs back and checks them against what its producer reported sending."""
        readers = read_logs(log_directory)
        try:
            return [
                verify_source(source, status.sent, readers.get(source.source_id, ()))
                for source, status in zip(self._settings.sources, statuses, strict=True)
            ]
        finally:
            for reader in readers.values():
                reader.close()

    def _report(self, verdicts: list[SourceVerdict], end: RunEnd, failures: list[str]) -> int:
        self._output.show(summary_table(verdicts, self._run_start_ns))
        self._output.line(timestamp_note(self._run_start_ns))
        sent = sum(verdict.sent for verdict in verdicts)
        bad = sum(verdict.lost + verdict.damaged for verdict in verdicts)
        if bad:
            failures.append(f"{bad:,} of {sent:,} messages were lost, damaged or out of order")
        if failures:
            return self._failed(failures)
        signal_number = self._signals.exit_signal
        if signal_number is None:
            self._output.line(f"OK: {sent:,} messages sent, every one logged intact and in order")
            return 0
        self._output.line(
            f"OK: {sent:,} messages sent before the run was interrupted by {describe(signal_number)} at "
            f"{end.elapsed_s:,.1f} s, every one logged intact and in order"
        )
        return 128 + signal_number

    def _failed(self, failures: list[str]) -> int:
        for failure in failures:
            self._output.problem(f"FAILED: {failure}")
        return 1

    def _shut_down(self) -> None:
        """Stops whatever still runs and removes the board; harmless when everything already stopped."""
        if self._board is not None:
            self._board.stop_run()
        for producer in self._producers:
            producer.join(timeout=_PRODUCER_EXIT_TIMEOUT_S)
            if producer.is_alive():
                producer.kill()
                producer.join()
        if self._logger is not None:
            try:
                self._logger.stop()
            except DataLoggerError as error:
                self._output.problem(f"FAILED: the logger failed: {error}")
        if self._board is not None:
            self._board.destroy()
            self._board = None
