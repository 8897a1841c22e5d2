"""Benchmark of the stream layout's segment writer and reader, with baselines measured in the same run.

Writing: the records are encoded beforehand and handed to `StreamSegmentWriter.write` in batches of about 1 MiB,
as the logger process hands it byte ranges of its shared-memory rings, under each sync policy. The baselines are a
sequential `os.write` of the same batches to one file (for `sync="none"`), and the same followed by one `fdatasync`
(for the policies that sync): the least work any writer must do.

Reading: `SegmentReader` over every segment (each record's CRC-32 checked, each payload a view), against two
baselines: reading the files' bytes in 8 MiB `pread`s, and that plus `zlib.crc32` over all of them. Then reading
one source out of several by scanning everything, which is what a reader without a per-segment index must do.
Every record read back is compared with what was written (not timed); entries lost must be 0.

Disks on shared machines change speed from minute to minute: compare the ratios, not the absolute figures.

Usage: uv run python scripts/bench_stream.py [--entries N] [--payload BYTES] [--sources S] [--directory DIR]
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ataraxis_datalogger._files.stream_reader import SegmentReader
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter, SyncPolicy
from ataraxis_datalogger._format.stream import encode_record, parse_segment_file_name

_BATCH_BYTES = 1 << 20
"""About how many bytes of records the logger process hands the writer at once."""


def payload_of(index: int, size: int) -> bytes:
    word = index.to_bytes(4, "little") + ((index * 2654435761) % 2**32).to_bytes(4, "little")
    return (word * (size // 8 + 1))[:size]


def make_batches(entries: int, payload: int, sources: int) -> tuple[list[tuple[bytes, int]], int]:
    """Returns the encoded records in batches of about `_BATCH_BYTES`, each with its record count, and the bytes."""
    batches: list[tuple[bytes, int]] = []
    pending: list[bytes] = []
    size = total = 0
    for index in range(entries):
        record = encode_record(index % sources, 1_000_000 + index, payload_of(index, payload))
        pending.append(record)
        size += len(record)
        if size >= _BATCH_BYTES:
            batches.append((b"".join(pending), len(pending)))
            total += size
            pending, size = [], 0
    if pending:
        batches.append((b"".join(pending), len(pending)))
        total += size
    return batches, total


def best_of(repeats: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeats))


def fresh(directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def time_sequential_write(directory: Path, batches: list[tuple[bytes, int]], *, sync: bool) -> float:
    path = fresh(directory) / "baseline.bin"
    start = time.perf_counter()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for data, _ in batches:
            os.write(descriptor, data)
        if sync:
            os.fdatasync(descriptor)
    finally:
        os.close(descriptor)
    return time.perf_counter() - start


def time_writer(directory: Path, batches: list[tuple[bytes, int]], sync: SyncPolicy, segment_bytes: int) -> float:
    folder = fresh(directory)
    start = time.perf_counter()
    with StreamSegmentWriter(folder, segment_bytes=segment_bytes, sync=sync) as writer:
        for data, count in batches:
            writer.write([memoryview(data)], count)
    return time.perf_counter() - start


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.adlog"), key=lambda path: parse_segment_file_name(path.name) or 0)


def time_raw_read(paths: list[Path], *, checksum: bool) -> float:
    start = time.perf_counter()
    for path in paths:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            position = 0
            while chunk := os.pread(descriptor, 8 << 20, position):
                if checksum:
                    zlib.crc32(chunk)
                position += len(chunk)
        finally:
            os.close(descriptor)
    return time.perf_counter() - start


def time_reader(paths: list[Path], mode: str) -> float:
    """Reads every segment and returns the seconds it took.

    Modes: "records" (a tuple per record), "arrays" (batches, a payload array per record), "source" (batches, the
    payload arrays of source 0 only).
    """
    start = time.perf_counter()
    for path in paths:
        with SegmentReader(path, on_damage="raise") as reader:
            if mode == "records":
                for _ in reader.records():
                    pass
            else:
                for batch in reader.batches():
                    if mode == "source":
                        batch = batch.select(batch.source_ids == 0)
                    for _ in batch.payload_arrays():
                        pass
    return time.perf_counter() - start


def check_read_back(paths: list[Path], entries: int, payload: int, sources: int) -> int:
    """Returns how many entries are missing or different."""
    wrong = entries
    index = 0
    for path in paths:
        with SegmentReader(path, on_damage="raise") as reader:
            for _, source_id, time_stamp, data in reader.records():
                expected = (index % sources, 1_000_000 + index, payload_of(index, payload))
                if (source_id, time_stamp, bytes(data)) == expected:
                    wrong -= 1
                index += 1
    return wrong + max(0, index - entries)


def run_case(label: str, entries: int, payload: int, arguments: argparse.Namespace, root: Path) -> int:
    """Measures one entry size; prints its tables and returns the number of entries lost or wrong."""
    batches, total = make_batches(entries, payload, arguments.sources)
    megabytes = total / 1e6
    repeats, folder = arguments.repeats, root / "w"
    print(f"\n{label} x {entries:,} over {arguments.sources} sources: {megabytes:,.1f} MB of records\n")
    unsynced = best_of(repeats, lambda: time_sequential_write(folder, batches, sync=False))
    synced = best_of(repeats, lambda: time_sequential_write(folder, batches, sync=True))
    print("| writing | entries/s | MB/s | x its baseline |\n|---|---:|---:|---:|")
    rows: list[tuple[str, float, float]] = [
        ("sequential write (baseline of none)", unsynced, unsynced),
        ("sequential write + fdatasync (baseline of the others)", synced, synced),
    ]
    policies: list[tuple[str, SyncPolicy]] = [("none", "none"), ("rotate", "rotate"), ("1 s", 1.0), ("0.1 s", 0.1)]
    for name, policy in policies:
        seconds = best_of(repeats, partial(time_writer, folder, batches, policy, arguments.segment_bytes))
        rows.append((f'StreamSegmentWriter, sync="{name}"', seconds, unsynced if policy == "none" else synced))
    for name, seconds, baseline in rows:
        print(f"| {name} | {entries / seconds:,.0f} | {megabytes / seconds:,.0f} | {baseline / seconds:.2f} |")
    time_writer(folder, batches, "none", arguments.segment_bytes)
    paths = segments(folder)
    raw = best_of(repeats, lambda: time_raw_read(paths, checksum=False))
    reads = [
        ("raw pread, 8 MiB chunks (baseline)", raw),
        ("raw pread + zlib.crc32", best_of(repeats, lambda: time_raw_read(paths, checksum=True))),
        ("SegmentReader.records(): a tuple per record", best_of(repeats, lambda: time_reader(paths, "records"))),
        ("SegmentReader.batches(): a payload array per record", best_of(repeats, lambda: time_reader(paths, "arrays"))),
        (f"the same, one source of {arguments.sources}", best_of(repeats, lambda: time_reader(paths, "source"))),
    ]
    print("\n| reading (page cache warm) | entries/s | MB/s | x raw read |\n|---|---:|---:|---:|")
    for name, seconds in reads:
        print(f"| {name} | {entries / seconds:,.0f} | {megabytes / seconds:,.0f} | {raw / seconds:.2f} |")
    lost = check_read_back(paths, entries, payload, arguments.sources)
    print(f"\nentries lost or wrong: {lost}")
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries of the small-entry case")
    parser.add_argument("--payload", type=int, default=16, help="payload bytes of the small-entry case")
    parser.add_argument("--large-entries", type=int, default=2_000, help="entries of the 64 KiB case")
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--segment-bytes", type=int, default=64 << 20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--directory", type=Path, default=None, help="where to write (default: a temporary folder)")
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-stream-", dir=arguments.directory))
    print(
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, folder {root}"
    )
    try:
        failures = run_case(f"{arguments.payload} B", arguments.entries, arguments.payload, arguments, root)
        failures += run_case("64 KiB", arguments.large_entries, 64 << 10, arguments, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
