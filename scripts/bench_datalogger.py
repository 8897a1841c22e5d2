"""Benchmarks the DataLogger's transport and writers against baselines measured in the same run, on the same disk.

Cases (each measured in several rounds; every round runs the case's baselines and the logger back to back, because
a shared machine's speed swings from minute to minute):

- stream, 16 B entries from 4 producer processes, `LogPackage` + `put`, and the hot path `source(id).log(...)`;
- stream, 64 KiB entries from 4 producers, `put` and the hot path;
- stream, 64 KiB entries with the logger process paused for a second (a backlog of up to 4 x `buffer_size`);
- npy (one file per entry), 16 B entries from 1 and 4 producers, and 64 KiB entries from 4 producers.

Baselines: a plain `multiprocessing.Queue` carrying the same `LogPackage` objects from the same number of producers to
one consumer (no disk); the MCAP Python writer writing the same entries in one process (16 B cases); a sequential
write of the same bytes to one file (stream cases: 1 MiB writes; 64 KiB cases: one write per entry); for the npy
layout, the disk's file-creation rate (create, write, rename, close; the 64 KiB npy case per file).

Rates run from the producers' start signal until `stop()` returns. After each logger run, every entry is read back
and compared byte for byte with what its producer made: "lost" counts entries missing or different. The logger
process's peak private memory (`RssAnon` in `/proc`, sampled every 10 ms) is reported per case.

Usage: uv run python scripts/bench_datalogger.py [--directory DIR] [--rounds 3] [--plot docs/benchmarks/datalogger.png]
"""

import argparse
import multiprocessing
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, TypeVar

from ataraxis_datalogger import DataLogger, LogPackage
from ataraxis_datalogger._files.stream_reader import SegmentReader
from ataraxis_datalogger._format.entry import decode_entry, parse_entry_file_name

CONTEXT: BaseContext = multiprocessing.get_context("forkserver")
"""Producers of the logger runs and of the queue baselines start the same way."""
_HANG_SECONDS = 300.0
"""A step that takes longer than this has failed (a producer died): the benchmark stops instead of hanging."""
WARM_UP_SOURCE = 255
"""The source id of the entry each logger run writes before timing starts (to know its process is up)."""
_PATTERN = random.Random(20).randbytes(1 << 20)
"""The bytes payloads are cut from: the same in every process that imports this module (producers, verification)."""
_BASELINE_ENTRIES = 100_000
"""At most this many entries go through the queue and MCAP baselines (they are slow; rates need no more)."""


def make_payload(source_id: int, index: int, size: int) -> bytes | memoryview:
    """The payload of entry `index` of `source_id`: recomputable for verification, different for every entry.

    Small payloads start with the index and source id; large ones are views of the pattern at an offset that
    depends on both (no copy, so making them costs the producers nothing).
    """
    if size <= 64:
        head = index.to_bytes(8, "little") + source_id.to_bytes(1, "little")
        return (head + _PATTERN[: max(size - len(head), 0)])[:size]
    start = (index * 7919 + source_id * 104729) % (len(_PATTERN) - size)
    return memoryview(_PATTERN)[start : start + size]


def produce(sink: Any, mode: str, source_id: int, count: int, size: int, go: Event, done: Any) -> None:
    """A producer process: waits for the start signal, puts `count` entries as fast as it can, reports it is done.

    Args:
        sink: A `LogQueue` (modes "put" and "hot") or a `multiprocessing.Queue` (mode "queue").
        mode: "put": `LogPackage` + `put`; "hot": `source(source_id).log`; "queue": `LogPackage` on a plain queue.
        source_id: The entries' source.
        count: How many entries.
        size: Their payload size.
        go: The start signal.
        done: Released once the last put returned.
    """
    payloads = [make_payload(source_id, index, size) for index in range(count)] if size <= 64 else None
    go.wait()
    if mode == "hot":
        log = sink.source(source_id).log
        for index in range(count):
            log(index, payloads[index] if payloads is not None else make_payload(source_id, index, size))
    else:
        put = sink.put
        for index in range(count):
            data = payloads[index] if payloads is not None else make_payload(source_id, index, size)
            put(LogPackage(source_id, index, data))
    done.release()


def start_producers(sink: Any, mode: str, producers: int, entries: int, size: int, go: Event, done: Any) -> list[Any]:
    """Starts `producers` processes that put `entries` entries in total once `go` is set, each releasing `done`."""
    share = entries // producers
    processes = [
        CONTEXT.Process(target=produce, args=(sink, mode, source_id, share, size, go, done))  # type: ignore[attr-defined]
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


def queue_rate(producers: int, entries: int, size: int) -> float:
    """Entries per second through a plain `multiprocessing.Queue` from `producers` processes to this one."""
    entries = min(entries, _BASELINE_ENTRIES)
    # Every object handed to the producers stays referenced until they exit: its named semaphore would vanish with
    # it, under a producer that is still starting.
    queue, go, done = CONTEXT.Queue(), CONTEXT.Event(), CONTEXT.Semaphore(0)
    processes = start_producers(queue, "queue", producers, entries, size, go, done)
    expected = entries // producers * producers
    time.sleep(1.0)
    started = time.perf_counter()
    go.set()
    for _ in range(expected):
        queue.get(timeout=_HANG_SECONDS)
    elapsed = time.perf_counter() - started
    join_all(processes)
    return expected / elapsed


def mcap_rate(directory: Path, entries: int, size: int) -> float:
    """Entries per second the MCAP Python writer stores in one process (one channel per source, no compression)."""
    from mcap.writer import CompressionType, Writer

    entries = min(entries, _BASELINE_ENTRIES)
    payloads = [bytes(make_payload(index % 4, index, size)) for index in range(entries)]
    directory.mkdir()
    started = time.perf_counter()
    with (directory / "baseline.mcap").open("wb") as file:
        writer = Writer(file, compression=CompressionType.NONE)
        writer.start()
        schema = writer.register_schema("entry", "raw", b"")
        channels = [writer.register_channel(f"source_{source}", "raw", schema) for source in range(4)]
        for index, data in enumerate(payloads):
            writer.add_message(channels[index % 4], index, data, index)
        writer.finish()  # type: ignore[no-untyped-call]
    return entries / (time.perf_counter() - started)


def sequential_rate(directory: Path, entries: int, size: int, *, per_entry: bool) -> float:
    """Entries per second of a sequential write of the same record bytes to one file, in one process.

    `per_entry`: one write per entry (large entries); else 1 MiB writes (the disk's best case for small ones).
    """
    directory.mkdir()
    record = 20 + size + (-(20 + size)) % 8
    block = _PATTERN[:record] if per_entry else _PATTERN[: (1 << 20) // record * record]
    writes = entries if per_entry else -(-entries * record // len(block))
    os.sync()  # no write-back of an earlier measurement's files lands on this one
    started = time.perf_counter()
    with (directory / "sequential.bin").open("wb", buffering=0) as file:
        for _ in range(writes):
            file.write(block)
    elapsed = time.perf_counter() - started
    return entries / elapsed


def file_rate(directory: Path, count: int, size: int) -> float:
    """Files per second for the npy layout, in one process: create, write `size` bytes, rename, close."""
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


@dataclass
class LoggerResult:
    """One logger run."""

    rate: float
    """Entries per second from the start signal to `stop()` returning."""
    lost: int
    """Entries missing from the log folder or not byte-identical to what was put."""
    verified_bytes: int
    """Payload bytes read back and compared."""
    peak_private_kib: int
    """The logger process's peak `RssAnon` (private memory), in KiB."""


class MemoryProbe:
    """Samples a process's private memory (`RssAnon`) every 10 ms in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._path = f"/proc/{pid}/status"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            try:
                with open(self._path) as status:
                    for line in status:
                        if line.startswith("RssAnon:"):
                            self.peak = max(self.peak, int(line.split()[1]))
            except OSError:
                return

    def finish(self) -> int:
        """Stops sampling; returns the peak in KiB."""
        self._stop.set()
        self._thread.join()
        return self.peak


def logger_rate(
    directory: Path, mode: str, layout: str, producers: int, entries: int, size: int, pause: float = 0.0
) -> LoggerResult:
    """Runs the logger with `producers` producer processes and verifies every entry it wrote.

    Args:
        directory: Where the log folder goes.
        mode: "put" or "hot" (see `produce`).
        layout: "npy" or "stream".
        producers: How many producer processes.
        entries: How many entries in total.
        size: The payload size.
        pause: Seconds the logger process is paused (SIGSTOP) once the producers start: a backlog builds up.
    """
    buffer_size = 64 << 20 if pause else 8 << 20
    logger = DataLogger(directory, "bench", layout=layout, buffer_size=buffer_size, sync="none")  # type: ignore[arg-type]
    logger.start()
    logger.input_queue.put(LogPackage(WARM_UP_SOURCE, 0, b"warm-up"))
    while logger.statistics.written < 1:
        time.sleep(0.005)
    writer = logger._run.process.pid  # type: ignore[union-attr]  # noqa: SLF001  # the benchmark pauses the writer
    assert writer is not None
    go, done = CONTEXT.Event(), CONTEXT.Semaphore(0)
    processes = start_producers(logger.input_queue, mode, producers, entries, size, go, done)
    time.sleep(1.0)
    os.sync()  # no write-back of an earlier measurement's files lands on this one
    probe = MemoryProbe(writer)
    started = time.perf_counter()
    if pause:
        os.kill(writer, signal.SIGSTOP)
    go.set()
    if pause:
        time.sleep(pause)
        os.kill(writer, signal.SIGCONT)
    for _ in processes:
        if not done.acquire(timeout=_HANG_SECONDS):
            raise RuntimeError("a producer did not finish its puts")
    logger.stop()
    elapsed = time.perf_counter() - started
    peak = probe.finish()
    join_all(processes)
    expected = entries // producers * producers
    lost, verified = verify(logger.output_directory, producers, expected // producers, size)
    return LoggerResult(expected / elapsed, lost, verified, peak)


def verify(directory: Path, producers: int, per_producer: int, size: int) -> tuple[int, int]:
    """Reads every entry back (entry files or stream segments); returns (entries missing or wrong, bytes verified)."""
    seen: set[tuple[int, int]] = set()
    verified = wrong = 0

    def check(source_id: int, time_stamp: int, payload: bytes | memoryview) -> None:
        nonlocal verified, wrong
        if source_id == WARM_UP_SOURCE:
            return
        if payload != make_payload(source_id, time_stamp, size) or (source_id, time_stamp) in seen:
            wrong += 1
            return
        seen.add((source_id, time_stamp))
        verified += len(payload)

    for path in sorted(directory.iterdir()):
        if path.suffix == ".adlog":
            with SegmentReader(path, on_damage="raise") as reader:
                for _, source_id, time_stamp, payload in reader.records():
                    check(source_id, time_stamp, payload)
            continue
        name = parse_entry_file_name(path.name)
        if name is not None:
            entry = decode_entry(path.read_bytes())
            check(entry.source_id, entry.time_stamp, entry.payload)
    return producers * per_producer - len(seen) + wrong, verified


@dataclass
class Case:
    """One benchmark case and its measurements over the rounds."""

    name: str
    unit: str
    """"entries/s" or "MB/s"."""
    scale: float
    """Multiplies entries/s into `unit`."""
    logger: Callable[[Path], LoggerResult]
    baselines: dict[str, Callable[[Path], float]]
    """Baselines by name, each returning entries/s."""
    ratio_to: str
    """The baseline the logger's rate is compared with."""
    rates: dict[str, list[float]] = field(default_factory=dict)
    ratios: list[float] = field(default_factory=list)
    lost: int = 0
    verified_bytes: int = 0
    peak_private_kib: int = 0


_T = TypeVar("_T")


def _alone(measure: Callable[[Path], _T], folder: Path) -> _T:
    """Runs one measurement in `folder`, then removes what it wrote.

    Each measurement starts from the same page cache: the files of the one before (1.5 GB for large entries) are gone,
    and `os.sync()` at the start of each timed part leaves no write-back of theirs behind. Left in place until the
    end of the round, they made whichever side ran second three to four times slower on this machine.
    """
    try:
        return measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_case(case: Case, rounds: int, scratch: Path) -> None:
    """Measures a case `rounds` times; odd rounds run the logger first, even ones last, so a drift favours neither."""
    slug = "".join(character if character.isalnum() else "-" for character in case.name)
    for round_index in range(rounds):
        result: LoggerResult | None = None
        if round_index % 2:
            result = _alone(case.logger, scratch / f"{slug}-logger-{round_index}")
        measured = {
            name: _alone(baseline, scratch / f"{slug}-{name}-{round_index}")
            for name, baseline in case.baselines.items()
        }
        if result is None:
            result = _alone(case.logger, scratch / f"{slug}-logger-{round_index}")
        measured["logger"] = result.rate
        for name, rate in measured.items():
            case.rates.setdefault(name, []).append(rate * case.scale)
        case.ratios.append(result.rate / measured[case.ratio_to])
        case.lost += result.lost
        case.verified_bytes += result.verified_bytes
        case.peak_private_kib = max(case.peak_private_kib, result.peak_private_kib)
        shown = ", ".join(f"{name} {rate * case.scale:,.0f}" for name, rate in measured.items())
        print(f"  {case.name} round {round_index + 1}: {shown} {case.unit}, lost {result.lost}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()


def _queue_only(producers: int, entries: int, _: Path) -> float:
    """`queue_rate` of 16 B entries as a baseline (which takes a scratch folder it does not need)."""
    return queue_rate(producers, entries, 16)


def build_cases(arguments: argparse.Namespace) -> list[Case]:
    """The cases the arguments ask for."""
    small, large, large_size = arguments.small, arguments.large, 64 * 1024
    megabyte = large_size / 1e6

    def logger(mode: str, layout: str, producers: int, entries: int, size: int, pause: float = 0.0) -> Any:
        return lambda directory: logger_rate(directory, mode, layout, producers, entries, size, pause)

    queue_small = {"queue": lambda _: queue_rate(4, small, 16), "mcap": lambda d: mcap_rate(d, small, 16)}
    sequential_small = {"sequential": lambda d: sequential_rate(d, small, 16, per_entry=False)}
    sequential_large = {"sequential": lambda d: sequential_rate(d, large, large_size, per_entry=True)}
    cases = [
        Case(
            "stream, 16 B, 4 producers, put",
            "entries/s",
            1.0,
            logger("put", "stream", 4, small, 16),
            {**queue_small, **sequential_small},
            "queue",
        ),
        Case(
            "stream, 16 B, 4 producers, hot path",
            "entries/s",
            1.0,
            logger("hot", "stream", 4, small, 16),
            {**queue_small, **sequential_small},
            "queue",
        ),
        Case(
            "stream, 64 KiB, 4 producers, put",
            "MB/s",
            megabyte,
            logger("put", "stream", 4, large, large_size),
            sequential_large,
            "sequential",
        ),
        Case(
            "stream, 64 KiB, 4 producers, hot path",
            "MB/s",
            megabyte,
            logger("hot", "stream", 4, large, large_size),
            sequential_large,
            "sequential",
        ),
        Case(
            "stream, 64 KiB, 4 producers, 1 s backlog",
            "MB/s",
            megabyte,
            logger("put", "stream", 4, large, large_size, pause=1.0),
            sequential_large,
            "sequential",
        ),
    ]
    if not arguments.no_npy:
        npy_small, npy_large = arguments.npy_small, arguments.npy_large
        for producers in (1, 4):
            cases.append(
                Case(
                    f"npy, 16 B, {producers} producer{'s' * (producers > 1)}, put",
                    "entries/s",
                    1.0,
                    logger("put", "npy", producers, npy_small, 16),
                    {
                        "files": lambda d: file_rate(d, npy_small, 25),
                        "queue": partial(_queue_only, producers, npy_small),
                    },
                    "files",
                )
            )
        cases.append(
            Case(
                "npy, 64 KiB, 4 producers, put",
                "MB/s",
                megabyte,
                logger("put", "npy", 4, npy_large, large_size),
                {"files": lambda d: file_rate(d, npy_large, large_size + 128)},
                "files",
            )
        )
    return cases


def plot(cases: list[Case], path: Path) -> None:
    """Draws each case's median rates, logger and baselines side by side, relative to the compared baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 0.6 * len(cases) + 1.5))
    names = ["logger", "queue", "mcap", "sequential", "files"]
    colours = {
        "logger": "tab:green",
        "queue": "tab:orange",
        "mcap": "tab:purple",
        "sequential": "tab:blue",
        "files": "tab:gray",
    }
    height = 0.8 / len(names)
    labelled: set[str] = set()
    for row, case in enumerate(cases):
        reference = statistics.median(case.rates[case.ratio_to])
        for column, name in enumerate(names):
            if name in case.rates:
                value = statistics.median(case.rates[name]) / reference
                label = None if name in labelled else name
                labelled.add(name)
                axis.barh(row + column * height, value, height, color=colours[name], label=label)
    axis.legend(loc="lower right")
    axis.set_yticks([row + 0.4 - height / 2 for row in range(len(cases))], [case.name for case in cases])
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("rate relative to the baseline the row is compared with (medians; log scale)")
    axis.axvline(1.0, color="black", linewidth=0.8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    """Parses the arguments, runs every case and prints a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", type=Path, default=None, help="where to write (default: the system temp dir)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (medians are reported)")
    parser.add_argument("--small", type=int, default=400_000, help="entries per 16 B stream run")
    parser.add_argument("--large", type=int, default=8_000, help="entries per 64 KiB stream run")
    parser.add_argument("--npy-small", type=int, default=20_000, help="entries per 16 B npy run")
    parser.add_argument("--npy-large", type=int, default=2_000, help="entries per 64 KiB npy run")
    parser.add_argument("--no-npy", action="store_true", help="skip the npy layout's cases")
    parser.add_argument("--plot", type=Path, default=None, help="also draw the results into this PNG file")
    arguments = parser.parse_args()

    cases = build_cases(arguments)
    scratch = Path(tempfile.mkdtemp(prefix="bench-datalogger-", dir=arguments.directory))
    load_before = os.getloadavg()
    try:
        for case in cases:
            run_case(case, arguments.rounds, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = os.getloadavg()

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}; "
        f"files under {scratch.parent}"
    )
    print(
        f"load average (1, 5, 15 min) before: {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, "
        f"after: {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f}"
    )
    print(f"medians of {arguments.rounds} rounds; ratio: the logger over the named baseline of the same round\n")
    print(
        "| case | DataLogger | queue | MCAP | sequential write | file creation | ratio | lost | bytes verified "
        "| logger peak private memory |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        cells = [
            f"{statistics.median(case.rates[name]):,.0f}" if name in case.rates else ""
            for name in ("logger", "queue", "mcap", "sequential", "files")
        ]
        print(
            f"| {case.name} ({case.unit}) | " + " | ".join(cells) + f" | {statistics.median(case.ratios):.2f}x "
            f"{case.ratio_to} | {case.lost} | {case.verified_bytes:,} | {case.peak_private_kib / 1024:.1f} MiB |"
        )
    if arguments.plot is not None:
        plot(cases, arguments.plot)
        print(f"\nplot: {arguments.plot}")


if __name__ == "__main__":
    main()
