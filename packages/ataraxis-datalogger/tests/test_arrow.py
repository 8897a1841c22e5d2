"""LogArchiveReader.to_arrow, iter_batches and LogReaders.to_arrow: the entries as Arrow tables and record batches."""

import gc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from export_helpers import expected_rows, rows

from ataraxis_datalogger import LogArchiveReader, LogReaders, read_logs

SCHEMA = pa.schema(
    [
        pa.field("source_id", pa.uint8(), nullable=False),
        pa.field("timestamp", pa.uint64(), nullable=False),
        pa.field("payload", pa.large_binary(), nullable=False),
    ]
)


def test_a_stored_archive_becomes_a_table_without_copying(mixed_log: Path) -> None:
    with LogArchiveReader(mixed_log / "1_log.npz") as reader:
        table = reader.to_arrow()
        first_payload = next(iter(reader))[1]
        timestamps = reader.timestamps
    assert table.schema == SCHEMA
    assert rows(table) == [(1, stamp * 10, bytes([stamp % 256]) * (stamp % 17)) for stamp in range(300)]
    [payloads] = table.column("payload").chunks
    [stamps] = table.column("timestamp").chunks
    # The table's buffers are the archive's own memory: the memory map of the payloads and the loaded timestamps.
    assert payloads.buffers()[2].address == first_payload.ctypes.data
    assert stamps.buffers()[1].address == timestamps.ctypes.data


def test_the_table_outlives_its_reader(mixed_log: Path) -> None:
    with LogArchiveReader(mixed_log / "1_log.npz") as reader:
        table = reader.to_arrow()
    gc.collect()
    assert table.column("payload")[299].as_py() == bytes([299 % 256]) * (299 % 17)
    assert pa.compute.sum(pa.compute.binary_length(table.column("payload"))).as_py() == sum(
        stamp % 17 for stamp in range(300)
    )


def test_every_kind_of_source_becomes_the_entries_read_logs_reads(mixed_log: Path) -> None:
    with read_logs(mixed_log) as readers:
        assert isinstance(readers, LogReaders)
        tables = {source_id: reader.to_arrow() for source_id, reader in readers.items()}
        whole = readers.to_arrow()
    assert whole.schema == SCHEMA
    assert rows(whole) == expected_rows(mixed_log)
    assert [rows(table) for table in tables.values()] == [
        [row for row in expected_rows(mixed_log) if row[0] == source_id] for source_id in tables
    ]
    assert rows(tables[3]) == [(3, 7, b""), (3, 7, b"second at 7")]
    assert [row[1] for row in rows(tables[2])][49:53] == [49, 50, 50, 51]


@pytest.mark.parametrize(("max_bytes", "max_rows"), [(1, 65536), (40, 7), (1 << 20, 1), (1 << 20, 65536)])
def test_iter_batches_stay_within_their_limits_and_hold_every_entry_once(
    mixed_log: Path, max_bytes: int, max_rows: int
) -> None:
    with read_logs(mixed_log) as readers:
        batches = [
            batch
            for reader in readers.values()
            for batch in reader.iter_batches(max_bytes=max_bytes, max_rows=max_rows)
        ]
    for batch in batches:
        assert batch.schema == SCHEMA
        assert 1 <= batch.num_rows <= max_rows
        payload_bytes = pa.compute.sum(pa.compute.binary_length(batch.column("payload"))).as_py() or 0
        assert payload_bytes <= max_bytes or batch.num_rows == 1
    assert rows(pa.Table.from_batches(batches)) == expected_rows(mixed_log)


def test_a_compressed_archive_is_decompressed_once_into_the_table(mixed_log: Path) -> None:
    with LogArchiveReader(mixed_log / "4_log.npz") as reader:
        table = reader.to_arrow()
    assert rows(table) == [(4, 5 * stamp, bytes(stamp % 5)) for stamp in range(200)]
    assert table.column("payload").num_chunks == 1


def test_data_frames_in_one_call(mixed_log: Path) -> None:
    with read_logs(mixed_log) as readers:
        table = readers.to_arrow()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    assert frame.schema == {"source_id": pl.UInt8, "timestamp": pl.UInt64, "payload": pl.Binary}
    assert frame.group_by("source_id").len().sort("source_id").rows() == [(1, 300), (2, 202), (3, 2), (4, 200)]
    pandas_frame = table.to_pandas()
    assert isinstance(pandas_frame, pd.DataFrame)
    assert pandas_frame["payload"].iloc[-1] == bytes(199 % 5)
    assert str(pandas_frame["timestamp"].dtype) == "uint64"


def test_empty_sources_and_directories(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    with read_logs(tmp_path) as readers:
        empty = readers.to_arrow()
    assert empty.schema == SCHEMA
    assert empty.num_rows == 0
    np.savez(
        tmp_path / "5_log.npz",
        format_version=np.array(1, dtype=np.uint16),
        source_id=np.array(5, dtype=np.uint8),
        timestamps=np.empty(0, dtype=np.uint64),
        offsets=np.zeros(1, dtype=np.uint64),
        file_mtimes=np.empty(0, dtype=np.uint64),
        file_duplicates=np.empty(0, dtype=np.uint64),
        payloads=np.empty(0, dtype=np.uint8),
    )
    with LogArchiveReader(tmp_path / "5_log.npz") as reader:
        assert reader.to_arrow().num_rows == 0
        assert list(reader.iter_batches()) == []


def test_closed_readers_and_bad_limits_are_refused(mixed_log: Path) -> None:
    readers = read_logs(mixed_log)
    with readers:
        reader = readers[1]
        with pytest.raises(ValueError, match="max_bytes must be at least 1, got 0"):
            reader.iter_batches(max_bytes=0)
        with pytest.raises(TypeError, match=r"max_rows must be an integer, got 2\.5"):
            reader.iter_batches(max_rows=2.5)  # type: ignore[arg-type]
    assert all(reader.closed for reader in readers.values())
    with pytest.raises(ValueError, match="the reader of source 1 is closed"):
        readers[1].to_arrow()
    with pytest.raises(ValueError, match="the reader of source 1 is closed"):
        readers[1].iter_batches()
    with pytest.raises(ValueError, match="is closed"):
        readers.to_arrow()
