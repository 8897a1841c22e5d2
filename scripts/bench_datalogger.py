"""Benchmarks the DataLogger's runtime against baselines measured in the same run, on the same disk.

Cases (each measured in several rounds; every round runs the case's baselines and the logger back to back, because
a shared disk's file-creation rate swings from minute to minute):

- small: entries with 16-byte payloads from 1 and from 4 producer processes, in entries/s from the first put to
  `stop()` returning. Baselines: the raw file-creation rate of the disk for this layout (create, write 25 bytes,
  rename, close, in one process) and the `multiprocessing.Queue` transfer rate of the same packages, from the same
  number of producers, with no disk.
- large: entries with 64 KiB payloads from 4 producers, in MB/s. Baselines: a raw sequential write of the same bytes
  to one file, and the queue's transfer rate for such packages.

Each round's ratio is the logger's rate over the lower of that round's two baselines; the table shows the medians of
the rates and of the ratios. After each logger run, every entry
file is read back and compared byte for byte with what its producer made; "lost" counts entries missing or wrong.

Usage: uv run python scripts/bench_datalogger.py [--directory DIR] [--rounds 3] [--small 20000] [--large 2000]
"""

import argparse
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from ataraxis_datalogger import DataLogger, LogPackage
from ataraxis_datalogger._format.entry import decode_entry, parse_entry_file_name

CONTEXT: BaseContext = multiprocessing.get_context("forkserver")
"""Producers of the logger runs and of the queue baselines start the same way."""
_HANG_SECONDS = 300.0
"""A step that takes longer than this has failed (a producer died): the benchmark stops instead of hanging."""
WARM_UP_SOURCE = 255
"""The source id of the entry each logger run writes before timing starts (to know its process is up)."""
_PATTERN = os.urandom(1 << 17)
"""The bytes payloads are cut from (each producer process gets its own copy when it imports this module)."""


def make_payload(source_id: int, index: int, size: int, pattern: bytes = _PATTERN) -> bytes:
    """The payload of entry `index` of `source_id`: recomputable for verification, different for every entry."""
    head = index.to_bytes(8, "little") + source_id.to_bytes(1, "little")
    if size <= len(head):
        return head[:size]
    start = (index * 7919 + source_id * 104729) % (len(pattern) - size)
    return head + pattern[start : start + size - len(head)]


def produce(queue: Any, source_id: int, count: int, size: int, pattern: bytes, go: Event, done: Any) -> None:
    """A producer process: waits for the start signal, puts `count` entries as fast as it can, reports it is done."""
    go.wait()
    for index in range(count):
        queue.put(LogPackage(source_id, index, make_payload(source_id, index, size, pattern)))
    done.release()


def start_producers(queue: Any, producers: int, entries: int, size: int, go: Event, done: Any) -> list[Any]:
    """Starts `producers` processes that put `entries` entries in total once `go` is set, each releasing `done`."""
    share = entries // producers
    processes = [
        CONTEXT.Process(target=produce, args=(queue, source_id, share, size, _PATTERN, go, done))  # type: ignore[attr-defined]
        for source_id in range(producers)
    ]
    for process in processes:
        process.start()
    return processes


def join_all(processes: list[Any]) -> None:
    """Joins producer processes, failing loudly if one did not exit cleanly."""
    for process in processes:
        process.join(_HANG_SECONDS)
        if process.exitcode != 0:
            raise RuntimeError(f"producer {process.name} exited with {process.exitcode}")


def raw_file_rate(directory: Path, count: int, size: int = 25) -> float:
    """Files per second for this layout, in one process: create, write `size` bytes, rename, close."""
    directory.mkdir()
    descriptor = os.open(directory, os.O_RDONLY)
    data = _PATTERN[:size]
    started = time.perf_counter()
    for index in range(count):
        temporary = f".{index}.tmp"
        file = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=descriptor)
        os.write(file, data)
        os.rename(temporary, f"001_{index:020d}.npy", src_dir_fd=descriptor, dst_dir_fd=descriptor)
        os.close(file)
    elapsed = time.perf_counter() - started
    os.close(descriptor)
    return count / elapsed


def raw_block_rate(directory: Path, count: int, size: int) -> float:
    """Blocks per second of a sequential write of `count` blocks of `size` bytes to one file, in one process."""
    directory.mkdir()
    block = _PATTERN[:size]
    started = time.perf_counter()
    with (directory / "sequential.bin").open("wb", buffering=0) as file:
        for _ in range(count):
            file.write(block)
    return count / (time.perf_counter() - started)


def queue_rate(producers: int, entries: int, size: int) -> float:
    """Entries per second through a plain `multiprocessing.Queue` from `producers` processes to this one."""
    # Every object handed to the producers stays referenced until they exit: its named semaphore would vanish with
    # it, under a producer that is still starting.
    queue, go, done = CONTEXT.Queue(), CONTEXT.Event(), CONTEXT.Semaphore(0)
    processes = start_producers(queue, producers, entries, size, go, done)
    expected = entries // producers * producers
    time.sleep(0.5)
    started = time.perf_counter()
    go.set()
    for _ in range(expected):
        queue.get(timeout=_HANG_SECONDS)
    elapsed = time.perf_counter() - started
    join_all(processes)
    return expected / elapsed


@dataclass
class LoggerResult:
    """One logger run."""

    rate: float
    """Entries per second from the first put to `stop()` returning."""
    lost: int
    """Entries missing from the log folder or not byte-identical to what was put."""
    verified_bytes: int
    """Payload bytes read back and compared."""


def logger_rate(directory: Path, producers: int, entries: int, size: int) -> LoggerResult:
    """Runs the logger with `producers` producer processes and verifies every entry it wrote."""
    logger = DataLogger(directory, "bench")
    logger.start()
    logger.input_queue.put(LogPackage(WARM_UP_SOURCE, 0, b"warm-up"))
    while logger.statistics.written < 1:
        time.sleep(0.005)
    go, done = CONTEXT.Event(), CONTEXT.Semaphore(0)
    processes = start_producers(logger.input_queue, producers, entries, size, go, done)
    time.sleep(0.5)
    started = time.perf_counter()
    go.set()
    for _ in processes:
        if not done.acquire(timeout=_HANG_SECONDS):
            raise RuntimeError("a producer did not finish its puts")
    # Every put has returned; the producers' queue feeder threads may still be sending: stop() waits for them.
    logger.stop()
    elapsed = time.perf_counter() - started
    join_all(processes)
    expected = entries // producers * producers
    lost, verified = verify(logger.output_directory, producers, expected // producers, size)
    return LoggerResult(expected / elapsed, lost, verified)


def verify(directory: Path, producers: int, per_producer: int, size: int) -> tuple[int, int]:
    """Reads every entry file back; returns (entries missing or wrong, payload bytes verified)."""
    seen: set[tuple[int, int]] = set()
    verified = 0
    wrong = 0
    for path in directory.iterdir():
        name = parse_entry_file_name(path.name)
        if name is None or name.source_id == WARM_UP_SOURCE:
            continue
        entry = decode_entry(path.read_bytes())
        expected = make_payload(entry.source_id, entry.time_stamp, size)
        if (entry.source_id, entry.time_stamp) != (name.source_id, name.time_stamp) or entry.payload != expected:
            wrong += 1
            continue
        seen.add((entry.source_id, entry.time_stamp))
        verified += len(entry.payload)
    missing = producers * per_producer - len(seen)
    return missing + wrong, verified


@dataclass
class CaseResult:
    """The medians of one case over all rounds."""

    name: str
    unit: str
    disk: float
    queue: float
    logger: float
    ratio: float
    lost: int
    verified_bytes: int
    per_file: float | None
    """For large entries: the disk's rate when each block is its own file (a bound the logger cannot pass)."""


def run_case(
    name: str,
    rounds: int,
    disk_baseline: Callable[[Path], float],
    queue_baseline: Callable[[], float],
    logger_run: Callable[[Path], LoggerResult],
    scale: float,
    unit: str,
    scratch: Path,
    per_file_baseline: Callable[[Path], float] | None = None,
) -> CaseResult:
    """Measures a case `rounds` times, interleaving its baselines and the logger; returns the medians.

    Odd rounds run the logger last and even rounds first, so a disk that slows down (or speeds up) over the run
    does not favour either side.
    """
    disk: list[float] = []
    queue: list[float] = []
    logger: list[float] = []
    per_file: list[float] = []
    lost = verified = 0
    for round_index in range(rounds):
        result: LoggerResult | None = None
        if round_index % 2:
            result = logger_run(scratch / f"{name}-logger-{round_index}")
        disk.append(disk_baseline(scratch / f"{name}-raw-{round_index}") * scale)
        queue.append(queue_baseline() * scale)
        if per_file_baseline is not None:
            per_file.append(per_file_baseline(scratch / f"{name}-files-{round_index}") * scale)
        if result is None:
            result = logger_run(scratch / f"{name}-logger-{round_index}")
        logger.append(result.rate * scale)
        lost += result.lost
        verified += result.verified_bytes
        print(
            f"  {name} round {round_index + 1}: disk {disk[-1]:,.0f}, queue {queue[-1]:,.0f}, "
            f"logger {logger[-1]:,.0f} {unit}, lost {result.lost}",
            file=sys.stderr,
        )
    ratios = [rate / min(pair) for rate, pair in zip(logger, zip(disk, queue, strict=True), strict=True)]
    return CaseResult(
        name=name,
        unit=unit,
        disk=statistics.median(disk),
        queue=statistics.median(queue),
        logger=statistics.median(logger),
        ratio=statistics.median(ratios),
        lost=lost,
        verified_bytes=verified,
        per_file=statistics.median(per_file) if per_file else None,
    )


def main() -> None:
    """Parses the arguments, runs every case and prints a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", type=Path, default=None, help="where to write (default: the system temp dir)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (medians are reported)")
    parser.add_argument("--small", type=int, default=20_000, help="entries per small-entry run")
    parser.add_argument("--large", type=int, default=2_000, help="entries per 64 KiB-entry run")
    arguments = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-datalogger-", dir=arguments.directory))
    small, large, large_size = arguments.small, arguments.large, 64 * 1024
    megabyte = large_size / 1e6
    try:
        results = [
            run_case(
                f"16 B x {small:,}, {producers} producer{'s' if producers > 1 else ''}",
                arguments.rounds,
                partial(raw_file_rate, count=small),
                partial(queue_rate, producers, small, 16),
                partial(logger_rate, producers=producers, entries=small, size=16),
                1.0,
                "entries/s",
                scratch,
            )
            for producers in (1, 4)
        ]
        results.append(
            run_case(
                f"64 KiB x {large:,}, 4 producers",
                arguments.rounds,
                partial(raw_block_rate, count=large, size=large_size),
                partial(queue_rate, 4, large, large_size),
                partial(logger_rate, producers=4, entries=large, size=large_size),
                megabyte,
                "MB/s",
                scratch,
                per_file_baseline=partial(
                    raw_file_rate, count=large, size=len(LogPackage(0, 0, bytes(large_size)).entry_bytes)
                ),
            )
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    machine = f"{os.cpu_count()} CPUs, {platform.platform()}"
    print(f"Python {platform.python_version()}, {machine}; files written under {scratch.parent}")
    print(f"medians of {arguments.rounds} rounds (ratio: the logger over the lower baseline of the same round)\n")
    print("| case | disk baseline | queue baseline | DataLogger | ratio to the lower | entries lost | bytes verified |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result.name} | {result.disk:,.0f} {result.unit} | {result.queue:,.0f} {result.unit} | "
            f"{result.logger:,.0f} {result.unit} | {result.ratio:.0%} | {result.lost} | {result.verified_bytes:,} |"
        )
    for result in results:
        if result.per_file is not None:
            print(
                f"\n{result.name}: the disk writes {result.per_file:,.0f} {result.unit} when each entry is its "
                f"own file (create, write, rename, close); the logger reaches {result.logger / result.per_file:.0%} "
                "of that."
            )


if __name__ == "__main__":
    main()
