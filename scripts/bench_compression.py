"""Benchmark of log compression and reading back, with baselines measured in the same run.

Creates a log directory of small entries (16-byte payloads by default, 200,000 over 4 sources), then measures:

- the raw read rate of the entry files (open, read, close each one in one process): the least work any compressor
  must do, and the baseline the compression rates are divided by;
- `compress_npy_logs` with one worker and with the default worker count, with `verify_integrity=True`, with
  `compress=False`, and with `remove_sources=True` (against the raw unlink rate of the same disk, measured on
  throwaway files). Each compression runs in a fresh spawned process so its peak memory (ru_maxrss of it and of its
  worker processes) can be reported, minus the memory of an idle process that imported the same modules;
- reading every archive back with `read_logs`: entries/s of plain iteration, with the payload checksums checked (as
  always) and, in alternating passes of the same run, with the checksum comparison skipped (a benchmark-only patch
  of `damaged_blocks`), which gives the cost of the checks; then every timestamp and payload byte is checked against
  what was written (the check is not timed). Entries lost must be 0.

Disks on shared machines change speed from minute to minute: compare the ratios, not the absolute figures.

Usage: uv run python scripts/bench_compression.py [--entries N] [--sources S] [--payload BYTES] [--directory DIR]
"""

import argparse
import contextlib
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_datalogger import compress_npy_logs, read_logs
from ataraxis_datalogger._files import payload_cursor
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

_JOIN_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    peak_kib: int
    idle_kib: int
    archive_bytes: int
    entries: int
    removed: int


def time_stamp_of(source_id: int, index: int) -> int:
    return 1_000_000 + index * 1_000 + source_id


def payload_of(source_id: int, index: int, size: int) -> bytes:
    """A deterministic payload: a counter, a source id and a hashed word, repeated to the size (semi-structured)."""
    word = index.to_bytes(4, "little") + bytes([source_id]) + ((index * 2654435761) % 2**24).to_bytes(3, "little")
    return (word * (size // 8 + 1))[:size]


def create_entries(directory: Path, entries: int, sources: int, payload_size: int) -> float:
    """Writes the entry files; returns the creation rate (files/s)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    start = time.perf_counter()
    try:
        for number in range(entries):
            source_id, index = number % sources, number // sources
            time_stamp = time_stamp_of(source_id, index)
            data = encode_entry_prefix(source_id, time_stamp, payload_size) + payload_of(source_id, index, payload_size)
            file = os.open(entry_file_name(source_id, time_stamp), os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
            os.write(file, data)
            os.close(file)
    finally:
        os.close(descriptor)
    return entries / (time.perf_counter() - start)


def raw_read_rate(directory: Path) -> float:
    """Open, read and close every entry file once, in one process (files/s)."""
    names = sorted(name for name in os.listdir(directory) if name.endswith(".npy"))
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    start = time.perf_counter()
    try:
        for name in names:
            file = os.open(name, os.O_RDONLY, dir_fd=descriptor)
            os.read(file, 65536)
            os.close(file)
    finally:
        os.close(descriptor)
    return len(names) / (time.perf_counter() - start)


def create_throwaway_files(parent: Path, count: int) -> Path:
    """Creates `count` small files in a new directory, for the unlink baseline.

    They are created together with the entries, so that both have aged alike by the time they are removed: fresh,
    not yet flushed files unlink several times faster than older ones.
    """
    scratch = Path(tempfile.mkdtemp(dir=parent, prefix="unlink-baseline-"))
    for number in range(count):
        (scratch / f"{number:08d}.npy").write_bytes(b"x" * 153)
    return scratch


def raw_unlink_rate(scratch: Path) -> float:
    """Times unlinking every file of `scratch` in name order, in one process (files/s)."""
    names = sorted(os.listdir(scratch))
    descriptor = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    start = time.perf_counter()
    try:
        for name in names:
            os.unlink(name, dir_fd=descriptor)
    finally:
        os.close(descriptor)
    rate = len(names) / (time.perf_counter() - start)
    scratch.rmdir()
    return rate


def _peak_rss_kib() -> int:
    """The peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _compress_child(directory: str, options: dict[str, Any], connection: Connection) -> None:
    """Runs in a spawned process: one compression, reporting its time and peak memory."""
    idle_kib = _peak_rss_kib()
    start = time.perf_counter()
    report = compress_npy_logs(directory, **options)
    seconds = time.perf_counter() - start
    own = _peak_rss_kib()
    # The largest worker process, if any (they exec from this small process, so nothing large is inherited).
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    archive_bytes = sum(source.archive_bytes for source in report.sources.values())
    totals = sum(source.entries_total for source in report.sources.values())
    connection.send((seconds, idle_kib, max(own, workers), archive_bytes, totals, report.files_removed))
    connection.close()


def run_compression(label: str, directory: Path, **options: Any) -> Run:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_compress_child, args=(str(directory), options, sender))
    process.start()
    sender.close()
    if not receiver.poll(_JOIN_TIMEOUT):
        process.kill()
        process.join(10)
        raise RuntimeError(f"the compression '{label}' did not finish within {_JOIN_TIMEOUT} s")
    seconds, idle_kib, peak_kib, archive_bytes, entries, removed = receiver.recv()
    process.join(60)
    if process.exitcode != 0:
        raise RuntimeError(f"the compression '{label}' exited with {process.exitcode}")
    return Run(label, seconds, peak_kib, idle_kib, archive_bytes, entries, removed)


@contextlib.contextmanager
def checksums_skipped(*, skip: bool) -> Iterator[None]:
    """Makes readers skip the comparison of payload blocks with their checksums (for timing it; never in use)."""
    namespace = vars(payload_cursor)
    real = namespace["damaged_blocks"]
    if skip:
        namespace["damaged_blocks"] = lambda data, first_block, checksums: []
    try:
        yield
    finally:
        namespace["damaged_blocks"] = real


def read_back(directory: Path, sources: int, entries: int, payload_size: int) -> tuple[float, float, int]:
    """Times plain iteration over every reader, checked and unchecked, then checks every entry.

    Each variant's best of 3 passes, the passes alternating so that both see the same machine.

    Returns:
        Entries per second with the checksums checked, the same without, and the number of entries wrong or lost.
    """
    readers = read_logs(directory)
    try:
        best = {True: float("inf"), False: float("inf")}
        count = 0
        for _ in range(3):
            for checked in (True, False):
                with checksums_skipped(skip=not checked):
                    start = time.perf_counter()
                    count = 0
                    for reader in readers.values():
                        for _ in reader:
                            count += 1
                    best[checked] = min(best[checked], time.perf_counter() - start)
        wrong = abs(entries - count)
        for source_id in range(sources):
            indices = range(source_id, entries, sources)
            expected = [
                (time_stamp_of(source_id, number // sources), payload_of(source_id, number // sources, payload_size))
                for number in indices
            ]
            found = [] if source_id not in readers else [(t, p.tobytes()) for t, p in readers[source_id]]
            wrong += sum(1 for pair in zip(expected, found, strict=False) if pair[0] != pair[1])
            wrong += abs(len(expected) - len(found))
    finally:
        for reader in readers.values():
            reader.close()
    return count / best[True], count / best[False], wrong


def remove_archives(directory: Path) -> None:
    for path in directory.glob("*_log.npz"):
        path.unlink()


def loads() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--payload", type=int, default=16, help="payload bytes per entry")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each compression variant (best is shown)")
    parser.add_argument("--directory", type=Path, default=None, help="where to create the log (default: a temp dir)")
    arguments = parser.parse_args()
    entries, sources, payload_size = arguments.entries, arguments.sources, arguments.payload
    throwaway_count = min(entries, 20_000)

    parent = Path(tempfile.mkdtemp(prefix="bench-compression-", dir=arguments.directory))
    directory = parent / "log"
    directory.mkdir()
    try:
        print(f"Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} CPUs, {platform.system()}")
        print(f"load average before: {loads()}")
        print(f"{entries:,} entries of {payload_size} bytes over {sources} sources in {directory}")
        creation = create_entries(directory, entries, sources, payload_size)
        scratch = create_throwaway_files(parent, throwaway_count)
        print(f"created the entry files at {creation:,.0f} files/s")
        statuses = [path.stat() for path in directory.iterdir()]
        entry_bytes = sum(status.st_size for status in statuses)
        allocated = sum(status.st_blocks * 512 for status in statuses)
        payload_total = entries * payload_size
        print(
            f"entry files: {entry_bytes:,} bytes ({allocated:,} allocated on disk); "
            f"payloads {payload_total:,} bytes, timestamps {entries * 8:,} bytes"
        )
        read_rate = raw_read_rate(directory)
        print(f"baseline: raw read of the entry files {read_rate:,.0f} files/s (open, read, close; one process)")

        variants: list[tuple[str, dict[str, Any]]] = [
            ("1 worker", {"max_workers": 1}),
            ("default workers", {}),
            ("default workers, verify_integrity", {"verify_integrity": True}),
            ("default workers, compress=False", {"compress": False}),
        ]
        best: dict[str, Run] = {}
        reads: dict[str, tuple[float, float, int]] = {}
        for _ in range(arguments.repeats):
            for label, options in variants:
                run = run_compression(label, directory, **options)
                if label not in best or run.seconds < best[label].seconds:
                    best[label] = run
                checked, unchecked, wrong = read_back(directory, sources, entries, payload_size)
                previous = reads.get(label, (0.0, 0.0, 0))
                reads[label] = (max(checked, previous[0]), max(unchecked, previous[1]), max(wrong, previous[2]))
                remove_archives(directory)

        unlink_rate = raw_unlink_rate(scratch)
        print(f"baseline: raw unlink {unlink_rate:,.0f} files/s ({throwaway_count:,} files created with the entries)")
        removal = run_compression("default workers, remove_sources", directory, remove_sources=True)
        best[removal.label] = removal
        reads[removal.label] = read_back(directory, sources, entries, payload_size)
        left = sum(1 for _ in directory.glob("*.npy"))
        print(f"load average after: {loads()}")

        print()
        print(
            "| compression | entries/s | x raw read | peak RSS (idle process) | archive bytes | / entry files "
            "| / payloads + timestamps | entries lost |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, run in best.items():
            rate = entries / run.seconds
            lost = entries - run.entries + reads[label][2]
            print(
                f"| {label} | {rate:,.0f} | {rate / read_rate:.2f} "
                f"| {run.peak_kib / 1024:.0f} MiB ({run.idle_kib / 1024:.0f} MiB) | {run.archive_bytes:,} "
                f"| {run.archive_bytes / entry_bytes:.3f} | {run.archive_bytes / (payload_total + entries * 8):.3f} "
                f"| {lost} |"
            )
        removal_seconds = removal.seconds - best["default workers"].seconds
        print()
        print(
            f"remove_sources: {removal.removed:,} files removed, {left} left. The removal took about "
            f"{removal_seconds:.1f} s of the call ({removal.removed / max(removal_seconds, 1e-9):,.0f} files/s = "
            f"{removal.removed / max(removal_seconds, 1e-9) / unlink_rate:.2f} x the raw unlink rate)"
        )
        print()
        print(
            "| reading back (read_logs, plain iteration, best of 3) | entries/s | MB/s of payload "
            "| entries/s, checksums not compared | cost of the checks | entries wrong or lost |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for label, (checked, unchecked, wrong) in reads.items():
            print(
                f"| archives of '{label}' | {checked:,.0f} | {checked * payload_size / 1e6:,.1f} | {unchecked:,.0f} "
                f"| {(unchecked / checked - 1) * 100:+.1f}% | {wrong} |"
            )
        failures = [label for label, run in best.items() if reads[label][2] or run.entries != entries]
        if failures or left:
            print(f"ENTRIES LOST OR WRONG in: {failures}, {left} entry files left", file=sys.stderr)
            sys.exit(1)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
