"""The per-source view of a folder's segments: reading order, payloads checked again when read."""

from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import DamagedLogFilesWarning, StreamFormatError
from ataraxis_datalogger._files.stream_index import scan_segments
from ataraxis_datalogger._files.stream_reader import CHUNK_BYTES
from ataraxis_datalogger._files.stream_writer import MIN_SEGMENT_BYTES, StreamSegmentWriter
from ataraxis_datalogger._format.stream import encode_record

Entry = tuple[int, int, bytes]


def write(directory: Path, written: list[Entry], segment_bytes: int = MIN_SEGMENT_BYTES) -> StreamSegmentWriter:
    with StreamSegmentWriter(directory, segment_bytes=segment_bytes, sync="none") as writer:
        for entry in written:
            writer.write([encode_record(*entry)], 1)
    return writer


def read_source(directory: Path, source_id: int, on_damage: str = "raise") -> list[tuple[int, bytes]]:
    index = scan_segments(directory, [path.name for path in directory.iterdir()], on_damage)  # type: ignore[arg-type]
    records = index.source(source_id)
    if records is None:
        return []
    return [(stamp, payload.tobytes()) for stamp, payload in records.read(0, len(records), on_damage)]  # type: ignore[arg-type]


def test_each_source_reads_in_time_stamp_order_ties_in_arrival_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    written = [
        (int(source), int(stamp), b"%d-%d" % (index, source))
        for index, (source, stamp) in enumerate(
            zip(rng.integers(0, 3, 3_000), rng.integers(0, 500, 3_000), strict=True)
        )
    ]
    writer = write(tmp_path, written)
    assert len(writer.segments) > 10
    index = scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "raise")
    assert index.source_ids_present() == [0, 1, 2]
    for source in range(3):
        mine = [(stamp, payload) for source_id, stamp, payload in written if source_id == source]
        assert read_source(tmp_path, source) == sorted(mine, key=lambda entry: entry[0])  # sorted() is stable


def test_a_part_reads_any_range_and_large_records(tmp_path: Path) -> None:
    big = bytes(range(256)) * (CHUNK_BYTES // 256 + 10)
    written = [(1, stamp, big if stamp % 7 == 3 else b"small %d" % stamp) for stamp in range(30)]
    write(tmp_path, written, segment_bytes=64 << 20)
    index = scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "raise")
    records = index.source(1)
    assert records is not None and records.payload_bytes == sum(len(payload) for _, _, payload in written)
    for first, last in ((0, 30), (5, 6), (3, 4), (10, 25), (29, 30), (7, 7)):
        assert [(stamp, payload.tobytes()) for stamp, payload in records.read(first, last, "raise")] == [
            (stamp, payload) for _, stamp, payload in written[first:last]
        ]


def test_records_out_of_arrival_order_read_whole_across_chunks_and_large_records(tmp_path: Path) -> None:
    # Time stamps that run backwards in blocks and swap in pairs: reads gather records in any order of offsets,
    # including ones that straddle a chunk boundary and ones larger than a chunk.
    rng = np.random.default_rng(11)
    big = bytes(range(256)) * (CHUNK_BYTES // 256 + 3)
    written = []
    for index in range(1_200):
        stamp = (index // 50) * 50 + 49 - index % 50 if index < 600 else index ^ 1
        size = int(rng.integers(0, 40_000))
        payload = big if index % 401 == 7 else bytes([index % 256]) * size
        written.append((2, stamp, payload))
    write(tmp_path, written, segment_bytes=64 << 20)
    expected = sorted(((stamp, payload) for _, stamp, payload in written), key=lambda entry: entry[0])
    assert read_source(tmp_path, 2) == expected


def test_a_subset_keeps_the_reading_order(tmp_path: Path) -> None:
    written = [(1, stamp % 50, b"x%d" % stamp) for stamp in range(200)]
    write(tmp_path, written)
    index = scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "raise")
    records = index.source(1)
    assert records is not None and len(records) == 200
    chosen = records.segment_of != 0
    kept = records.subset(chosen)
    expected = sorted(
        (entry for entry, flag in zip(written, (index.segment_of != 0).tolist(), strict=True) if flag),
        key=lambda e: e[1],
    )
    assert [(stamp, payload.tobytes()) for stamp, payload in kept.read(0, len(kept), "raise")] == [
        (s, p) for _, s, p in expected
    ]


def test_a_record_changed_after_the_scan_is_never_returned(tmp_path: Path) -> None:
    written = [(1, stamp, b"payload %03d" % stamp) for stamp in range(50)]
    write(tmp_path, written, segment_bytes=64 << 20)
    index = scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "raise")
    records = index.source(1)
    assert records is not None
    (path,) = tmp_path.glob("*.adlog")
    data = bytearray(path.read_bytes())
    changed = int(index.offsets[10])
    data[changed + 22] ^= 1
    path.write_bytes(bytes(data))
    with pytest.warns(DamagedLogFilesWarning, match=f"offset {changed} .*changed since it was indexed"):
        found = [stamp for stamp, _ in records.read(0, 50, "warn")]
    assert found == [stamp for stamp in range(50) if stamp != 10]
    with pytest.raises(StreamFormatError, match=f"offset {changed}"):
        list(records.read(0, 50, "raise"))


def test_a_segment_truncated_after_the_scan_yields_what_it_still_holds(tmp_path: Path) -> None:
    write(tmp_path, [(1, stamp, b"y" * 100) for stamp in range(50)], segment_bytes=64 << 20)
    index = scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "raise")
    records = index.source(1)
    assert records is not None
    (path,) = tmp_path.glob("*.adlog")
    path.write_bytes(path.read_bytes()[: int(index.offsets[20]) + 30])
    assert [stamp for stamp, _ in records.read(0, 50, "collect")] == list(range(20))


def test_a_segment_with_a_damaged_header_is_reported_and_skipped(tmp_path: Path) -> None:
    writer = write(tmp_path, [(1, stamp, b"z") for stamp in range(300)])
    first = writer.segments[0]
    first.write_bytes(b"garbage!" + first.read_bytes()[8:])
    with pytest.warns(DamagedLogFilesWarning, match=f"{first}.*unreadable"):
        index = scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "warn")
    assert [damage.path for damage in index.unreadable] == [first]
    with pytest.raises(StreamFormatError, match="not a segment"):
        scan_segments(tmp_path, [path.name for path in tmp_path.iterdir()], "raise")
