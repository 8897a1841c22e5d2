"""Benchmark of exporting logs for other engines, against reading the same archives with read_logs in the same run.

Builds a log directory of one archive per source (the documented columnar layout, written with NumPy and zipfile;
deflated at level 1 as `compress_npy_logs` writes them, or stored with `--stored`), then measures, in this order:

- `read_logs`: iterating every entry of every source (the baseline the other rates are divided by);
- `read_logs(...).to_arrow()`: every entry as one Arrow table;
- `export_logs` to Parquet, Feather and MCAP: entries/s and payload MB/s, the ratio to the baseline, the size of
  the output;
- a Dask scan of the Parquet export on a `LocalCluster` of two worker processes: per-source count, first and last
  timestamp (reading the timestamp column), then the total payload length (reading the payload column); the
  cluster's start and a first warm-up query are not timed, and each query runs once (a cluster that has seen a
  graph returns its results again without work);
- the same two scans with DuckDB, in this process.

Each figure but Dask's is the best of `--repeat` runs. Shared machines change speed from minute to minute: compare the
ratios, not the absolute figures.

Usage: uv run --all-packages python scripts/bench_export.py [--entries N] [--sources S] [--payload BYTES] [--stored]
"""

import argparse
import functools
import os
import platform
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import dask.dataframe as dd
import duckdb
import numpy as np
from distributed import Client, LocalCluster

from ataraxis_datalogger import export_logs, read_logs
from ataraxis_datalogger.export import ExportFormat


def write_archive(path: Path, source_id: int, time_stamps: np.ndarray, payloads: np.ndarray, *, stored: bool) -> None:
    """Writes one archive in the documented layout (format version 1), all payloads of the same size."""
    count = time_stamps.size
    offsets = np.arange(count + 1, dtype=np.uint64) * np.uint64(payloads.size // max(count, 1))
    members: dict[str, np.ndarray] = {
        "format_version": np.array(1, dtype=np.uint16),
        "source_id": np.array(source_id, dtype=np.uint8),
        "timestamps": time_stamps,
        "offsets": offsets,
        "file_mtimes": np.zeros(count, dtype=np.uint64),
        "file_duplicates": np.zeros(count, dtype=np.uint64),
        "payloads": payloads,
    }
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method, compresslevel=None if stored else 1, allowZip64=True) as archive:
        for name, array in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def build_log(directory: Path, entries: int, sources: int, payload: int, *, stored: bool) -> int:
    """Writes one archive per source; returns the payload bytes of the log."""
    rng = np.random.default_rng(7)
    per_source = entries // sources
    for source_id in range(sources):
        stamps = np.arange(per_source, dtype=np.uint64) * np.uint64(1_000) + np.uint64(source_id)
        # Semi-structured payloads, the kind of record rigs log: a counter, then small random values.
        words = rng.integers(0, 4, (per_source, payload), dtype=np.uint8)
        counter = min(8, payload)
        words[:, :counter] = np.arange(per_source, dtype=np.uint64).view(np.uint8).reshape(per_source, 8)[:, :counter]
        write_archive(directory / f"{source_id}_log.npz", source_id, stamps, words.reshape(-1), stored=stored)
    return per_source * sources * payload


def best(repeat: int, action: Callable[[], object], reset: Callable[[], None] | None = None) -> float:
    """Returns the shortest wall time of `repeat` runs of `action` (`reset` runs before each, untimed)."""
    times = []
    for _ in range(repeat):
        if reset is not None:
            reset()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def read_everything(directory: Path) -> int:
    count = 0
    with read_logs(directory) as readers:
        for reader in readers.values():
            for _ in reader:
                count += 1
    return count


def to_arrow(directory: Path) -> int:
    with read_logs(directory) as readers:
        return int(readers.to_arrow().num_rows)


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def run_query(query: str) -> list[tuple[object, ...]]:
    relation = duckdb.sql(query)
    assert relation is not None
    return relation.fetchall()


def size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(item.stat().st_size for item in path.rglob("*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--payload", type=int, default=64, help="payload bytes per entry")
    parser.add_argument("--stored", action="store_true", help="stored (memory-mapped) archives instead of deflated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--directory", type=Path, default=None, help="where to build the log (default: a temp dir)")
    arguments = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-export-", dir=arguments.directory))
    try:
        log = root / "log"
        log.mkdir()
        payload_bytes = build_log(log, arguments.entries, arguments.sources, arguments.payload, stored=arguments.stored)
        entries = arguments.entries // arguments.sources * arguments.sources
        megabytes = payload_bytes / 1e6
        print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        print(
            f"log: {entries:,} entries of {arguments.payload} bytes in {arguments.sources} "
            f"{'stored' if arguments.stored else 'deflated'} archives ({size_of(log) / 1e6:.1f} MB on disk)"
        )
        print(f"{'step':<34}{'seconds':>9}{'entries/s':>14}{'MB/s':>9}{'x read_logs':>13}{'output MB':>11}")

        def report(step: str, seconds: float, output: Path | None = None) -> None:
            ratio = baseline / seconds
            size = "" if output is None else f"{size_of(output) / 1e6:.1f}"
            print(
                f"{step:<34}{seconds:>9.3f}{entries / seconds:>14,.0f}{megabytes / seconds:>9.1f}{ratio:>13.2f}"
                f"{size:>11}"
            )

        baseline = best(arguments.repeat, lambda: read_everything(log))
        report("read_logs, every entry", baseline)
        report("read_logs(...).to_arrow()", best(arguments.repeat, lambda: to_arrow(log)))
        outputs: dict[ExportFormat, Path] = {
            "parquet": root / "parquet",
            "feather": root / "feather",
            "mcap": root / "log.mcap",
        }
        for file_format, output in outputs.items():
            seconds = best(
                arguments.repeat,
                functools.partial(export_logs, log, output, file_format),
                functools.partial(remove, output),
            )
            report(f"export_logs to {file_format}", seconds, output)

        dataset = outputs["parquet"]
        # distributed leaves these two constructors unannotated.
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)  # type: ignore[no-untyped-call]
        with cluster, Client(cluster):  # type: ignore[no-untyped-call]
            # A first query brings pandas, pyarrow and dask into the workers; it is not timed. Each timed query
            # runs once: the cluster keeps the results of a graph it has seen, so a repeat measures nothing.
            dd.read_parquet(dataset, columns=["timestamp"]).timestamp.max().compute()
            frame = dd.read_parquet(dataset, columns=["source_id", "timestamp"])
            spans = frame.groupby("source_id", observed=True).timestamp.agg(["count", "min", "max"])
            report("Dask (2 processes): count, span", best(1, spans.compute))
            lengths = dd.read_parquet(dataset, columns=["payload"]).payload.str.len().sum()
            report("Dask (2 processes): payload length", best(1, lengths.compute))
        files = f"read_parquet('{dataset}/source_id=*/*.parquet', hive_partitioning = true)"
        query = f"SELECT source_id, count(*), min(timestamp), max(timestamp) FROM {files} GROUP BY source_id"
        report("DuckDB: count, span", best(arguments.repeat, functools.partial(run_query, query)))
        length = f"SELECT sum(octet_length(payload)) FROM {files}"
        report("DuckDB: payload length", best(arguments.repeat, functools.partial(run_query, length)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
