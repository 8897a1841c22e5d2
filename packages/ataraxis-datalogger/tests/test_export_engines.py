"""Real engines read exports of several sessions and agree with read_logs: Dask on a two-process cluster, DuckDB.

Nothing is mocked: a `distributed.LocalCluster` starts two worker processes that read the Parquet files themselves,
and DuckDB queries the same files with its own Parquet reader.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import dask.dataframe as dd
import duckdb
import pytest
from distributed import Client, LocalCluster

from ataraxis_datalogger import compress_npy_logs, export_logs, read_logs

pytestmark = pytest.mark.slow

Summary = dict[tuple[str, int], tuple[int, int, int]]
"""Per (session, source id): the number of entries and the first and last timestamps."""


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory, write_entry: Callable[..., Path]) -> tuple[Path, Summary]:
    """Three sessions of a rig exported side by side (archived, loose and mixed sources), and what read_logs reads."""
    base = tmp_path_factory.mktemp("sessions")
    dataset = base / "dataset"
    expected: Summary = {}
    for index in range(3):
        name = f"2024-06-0{index + 1}"
        log = base / name
        log.mkdir()
        for stamp in range(400 + 100 * index):
            write_entry(log, 1, 1_000 * stamp + index, stamp.to_bytes(4, "little"))
        for stamp in range(50):
            write_entry(log, 2 + index, 7 * stamp, b"x" * (stamp % 9))
        compress_npy_logs(log, remove_sources=True, compress=index != 1)
        for stamp in range(30):
            write_entry(log, 1, 10**9 + stamp, b"after the archive")
        write_entry(log, 200, 2**64 - 1, b"the largest timestamp")
        export_logs(log, dataset, session=name, row_group_bytes=512, file_bytes=2048)
        with read_logs(log) as readers:
            for source_id, reader in readers.items():
                stamps = reader.timestamps
                expected[(name, source_id)] = (len(reader), int(stamps.min()), int(stamps.max()))
    return dataset, expected


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A Dask client of a local cluster of two worker processes, one thread each."""
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def test_dask_on_two_worker_processes_counts_and_spans_every_source(
    sessions: tuple[Path, Summary], client: Client
) -> None:
    dataset, expected = sessions
    frame = dd.read_parquet(dataset, columns=["session", "source_id", "timestamp"])
    assert frame.npartitions > 2  # the scan is split, so both workers take part
    summary = frame.groupby(["session", "source_id"], observed=True).timestamp.agg(["count", "min", "max"])
    found = summary.compute()
    # itertuples, not iterrows: a row of iterrows is one Series, whose common type of int64 and uint64 is float64.
    assert {
        (str(session), int(source_id)): (int(count), int(low), int(high))
        for (session, source_id), count, low, high in found.itertuples()
    } == expected
    workers = client.run(lambda: True)
    assert len(workers) == 2


def test_duckdb_queries_the_same_files(sessions: tuple[Path, Summary]) -> None:
    dataset, expected = sessions
    # Without hive_types, DuckDB guesses each partition value's type: a session named 2024-06-01 becomes a DATE.
    files = f"""read_parquet(
        '{dataset}/session=*/source_id=*/*.parquet',
        hive_partitioning = true,
        hive_types = {{'session': VARCHAR, 'source_id': UTINYINT}}
    )"""
    query = f"SELECT session, source_id, count(*), min(timestamp), max(timestamp) FROM {files} GROUP BY ALL"
    found = duckdb.sql(query).fetchall()
    assert {(session, source_id): (count, low, high) for session, source_id, count, low, high in found} == expected
    types = {name: kind for name, kind, *_ in duckdb.sql(f"DESCRIBE SELECT * FROM {files}").fetchall()}
    assert types == {"timestamp": "UBIGINT", "payload": "BLOB", "session": "VARCHAR", "source_id": "UTINYINT"}
    payload_bytes = duckdb.sql(f"SELECT sum(octet_length(payload)) FROM {files} WHERE source_id = 1").fetchall()
    assert payload_bytes == [(4 * (400 + 500 + 600) + 3 * 30 * len(b"after the archive"),)]
