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

from ataraxis_datalogger import (
    ArchiveFormatError,
    DamagedLogFilesWarning,
    LogArchiveReader,
    LogReaders,
    compress_npy_logs,
    read_logs,
)
from ataraxis_datalogger._format.entry import entry_file_name

SCHEMA = pa.schema(
    [
        pa.field("source_id", pa.uint8(), nullable=False),
        pa.field("timestamp", pa.uint64(), nullable=False),
        pa.field("payload", pa.large_binary(), nullable=False),
    ]
)


@pytest.mark.parametrize("name", ["1_log.npz", "4_log.npz"], ids=["stored", "deflated"])
def test_an_archive_becomes_a_table_on_its_own_columns(mixed_log: Path, name: str) -> None:
    with LogArchiveReader(mixed_log / name) as reader:
        table = reader.to_arrow()
        archive = reader._source.archive
        assert archive is not None
        offsets, timestamps = archive.offsets, reader.timestamps
    assert table.schema == SCHEMA
    assert rows(table) == expected_rows_of(mixed_log, int(name.partition("_")[0]))
    [payloads] = table.column("payload").chunks
    [stamps] = table.column("timestamp").chunks
    # The timestamps and offsets loaded when the archive was opened are the table's buffers, not copies; the
    # payload bytes are one buffer of exactly their size.
    assert stamps.buffers()[1].address == timestamps.ctypes.data
    assert payloads.buffers()[1].address == offsets.ctypes.data
    assert payloads.buffers()[2].size == int(offsets[-1])


def expected_rows_of(directory: Path, source_id: int) -> list[tuple[int, int, bytes]]:
    return [row for row in expected_rows(directory) if row[0] == source_id]


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


def test_damaged_archive_blocks_are_skipped_or_raise_as_the_reader_says(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    for stamp in range(4000):
        write_entry(tmp_path, 6, stamp, stamp.to_bytes(4, "little") * 64)
    compress_npy_logs(tmp_path, remove_sources=True, compress=False)
    archive = tmp_path / "6_log.npz"
    data = bytearray(archive.read_bytes())
    middle = data.index((2000).to_bytes(4, "little") * 64)  # a stored archive: the payloads are in the file as is
    data[middle] ^= 0xFF
    archive.write_bytes(bytes(data))
    with read_logs(tmp_path) as readers, pytest.warns(DamagedLogFilesWarning) as warned:
        iterated = [(6, stamp, payload.tobytes()) for stamp, payload in readers[6]]
    assert 0 < len(iterated) < 4000
    assert all(payload == stamp.to_bytes(4, "little") * 64 for _, stamp, payload in iterated)
    for make in (lambda reader: reader.to_arrow(), lambda reader: pa.Table.from_batches(list(reader.iter_batches()))):
        with read_logs(tmp_path) as readers, pytest.warns(DamagedLogFilesWarning) as again:
            assert rows(make(readers[6])) == iterated
        assert [str(warning.message) for warning in again] == [str(warning.message) for warning in warned]
    with read_logs(tmp_path, on_damage="raise") as readers, pytest.raises(ArchiveFormatError):
        readers[6].to_arrow()


def test_damaged_loose_entries_are_left_out_with_their_timestamps(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    for stamp in range(10):
        write_entry(tmp_path, 2, stamp, bytes([stamp]) * 3)
    (tmp_path / entry_file_name(2, 4)).write_bytes(b"not an entry")
    with read_logs(tmp_path) as readers, pytest.warns(DamagedLogFilesWarning, match="002_00000000000000000004"):
        table = readers[2].to_arrow()
    assert rows(table) == [(2, stamp, bytes([stamp]) * 3) for stamp in range(10) if stamp != 4]
