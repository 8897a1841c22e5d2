"""The demo's command line and the acquisition run it drives (`python -m ataraxis_data_structures.demo`)."""

import argparse
import dataclasses
import os
import signal
import sys
import tempfile
import time
from multiprocessing import Process
from pathlib import Path

from ataraxis_datalogger import DataLogger, read_logs

from .control import ControlBoard, ProducerStatus
from .producers import run_producer
from .settings import DemoSettings, SourceSettings
from .verification import SourceVerdict, format_summary, verify_source

SETTINGS_FILE_NAME = "demo_settings.yaml"
LOGGER_NAME = "demo"
_PRODUCER_EXIT_TIMEOUT_S = 10.0


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ataraxis_data_structures.demo",
        description=(
            "A simulated acquisition run: producer processes (a camera, a sensor, an event stream) share control "
            "state through a SharedMemoryArray, read their settings from a YamlConfig file and log every message "
            "through one DataLogger; afterwards the logs are compressed, read back and verified message by message."
        ),
    )
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="how long the producers run (default: 10)")
    parser.add_argument(
        "--output", type=Path, metavar="DIR", help="where the settings and logs go (default: a new temporary folder)"
    )
    parser.add_argument(
        "--config", type=Path, metavar="PATH", help=f"a settings file to use instead of writing {SETTINGS_FILE_NAME}"
    )
    return parser.parse_args(argv)


def _load_settings(arguments: argparse.Namespace, output: Path) -> DemoSettings:
    """Reads the settings from --config, or writes the defaults to the output folder and reads them back."""
    if arguments.config is None:
        settings_path = output / SETTINGS_FILE_NAME
        DemoSettings().to_yaml(file_path=settings_path)
    else:
        settings_path = arguments.config
    settings = DemoSettings.from_yaml(file_path=settings_path)
    print(f"settings: {settings_path}  (edit it, then run again with --config {settings_path})")
    if arguments.duration is not None:
        settings = dataclasses.replace(settings, duration_s=arguments.duration)
    return settings


def _format_progress(elapsed_s: float, settings: DemoSettings, statuses: list[ProducerStatus], now_ns: int) -> str:
    parts = [f"{elapsed_s:5.1f}/{settings.duration_s:.1f} s"]
    for source, status in zip(settings.sources, statuses, strict=True):
        heartbeat = f"{(now_ns - status.heartbeat_ns) / 1e6:4.0f} ms ago" if status.heartbeat_ns else "starting"
        parts.append(f"{source.name} {status.sent:>7,} sent, {status.payload_bytes / 2**20:6.1f} MiB, {heartbeat}")
    return " | ".join(parts)


def _run_producers(settings: DemoSettings, board: ControlBoard, producers: list[Process]) -> bool:
    """Shows live progress until the run's duration has passed, Ctrl-C is pressed, or a producer fails.

    Returns:
        True if the run ended by Ctrl-C.
    """
    interactive = sys.stdout.isatty()
    start = time.monotonic()
    last_line = 0.0
    try:
        while (elapsed := time.monotonic() - start) < settings.duration_s:
            if any(producer.exitcode is not None for producer in producers):
                print("\na producer exited before the end of the run", file=sys.stderr)
                break
            line = _format_progress(elapsed, settings, board.statuses(), time.monotonic_ns())
            if interactive:
                print(f"\r\033[K{line}", end="", flush=True)
            elif elapsed - last_line >= 1.0:
                print(line, flush=True)
                last_line = elapsed
            time.sleep(min(settings.display_interval_s, max(0.0, settings.duration_s - elapsed)))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the producers and draining the logger")
        return True
    finally:
        board.stop_run()
        if interactive:
            print()
    return False


def _stop_producers(producers: list[Process]) -> list[str]:
    """Waits for every producer to exit; returns the names of those that failed or had to be killed."""
    failed = []
    deadline = time.monotonic() + _PRODUCER_EXIT_TIMEOUT_S
    for producer in producers:
        producer.join(timeout=max(0.0, deadline - time.monotonic()))
        if producer.is_alive():
            producer.kill()
            producer.join()
            failed.append(f"{producer.name} (did not stop, killed)")
        elif producer.exitcode != 0:
            failed.append(f"{producer.name} (exit code {producer.exitcode})")
    return failed


def _verify(logger: DataLogger, sources: list[SourceSettings], statuses: list[ProducerStatus]) -> list[SourceVerdict]:
    """Reads every source's logs back and checks them against what its producer reported sending."""
    readers = read_logs(logger.output_directory)
    try:
        return [
            verify_source(source, status.sent, readers.get(source.source_id, ()))
            for source, status in zip(sources, statuses, strict=True)
        ]
    finally:
        for reader in readers.values():
            reader.close()


def main(argv: list[str] | None = None) -> int:
    """Runs the demo.

    Args:
        argv: The command-line arguments; `None` reads them from `sys.argv`.

    Returns:
        The process exit code: 0 when every message was logged intact, 1 otherwise.
    """
    arguments = _parse_arguments(argv)
    output: Path = arguments.output or Path(tempfile.mkdtemp(prefix="ataraxis-demo-"))
    output.mkdir(parents=True, exist_ok=True)
    print(f"output: {output}")
    settings = _load_settings(arguments, output)

    board = ControlBoard.create(name=f"ataraxis_demo_{os.getpid()}", producer_count=len(settings.sources))
    logger = DataLogger(output_directory=output, instance_name=LOGGER_NAME)
    try:
        logger.start()
        producers = [
            Process(target=run_producer, args=(position, source, board, logger.input_queue), name=source.name)
            for position, source in enumerate(settings.sources)
        ]
        for producer in producers:
            producer.start()
        interrupted = _run_producers(settings, board, producers)
        # From here on the run is over: a second Ctrl-C must not cut the drain and the verification short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        failed = _stop_producers(producers)
        statuses = board.statuses()
        logger.stop()
        print(f"logs: {logger.output_directory}")
        logger.compress_logs(remove_sources=True, verbose=True, verify_integrity=settings.verify_integrity)
        verdicts = _verify(logger, settings.sources, statuses)
    finally:
        logger.stop()
        board.destroy()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    print()
    print(format_summary(verdicts))
    total_sent = sum(verdict.sent for verdict in verdicts)
    if failed or not all(verdict.ok for verdict in verdicts):
        for name in failed:
            print(f"producer {name} failed", file=sys.stderr)
        print(f"FAILED: messages were lost, damaged or reordered (of {total_sent:,} sent)", file=sys.stderr)
        return 1
    ending = "interrupted by Ctrl-C, " if interrupted else ""
    print(f"\nOK ({ending}{total_sent:,} messages sent, every one logged intact and in order)")
    return 0
