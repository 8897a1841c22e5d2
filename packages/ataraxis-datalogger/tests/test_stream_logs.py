"""Stream segments in read_logs and compress_npy_logs: one reading order, every record archived exactly once."""

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import (
    DamagedLogFilesWarning,
    LogFilesChangedError,
    StreamFormatError,
    compress_npy_logs,
    inspect_logs,
    read_logs,
)
from ataraxis_datalogger._files.archive_file import ArchiveFile
from ataraxis_datalogger._files.stream_writer import MIN_SEGMENT_BYTES, StreamSegmentWriter
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name
from ataraxis_datalogger._format.stream import encode_record

GOLDEN = Path(__file__).parent / "golden" / "stream_v1"

Entry = tuple[int, int, bytes]


def write_stream(directory: Path, written: list[Entry], segment_bytes: int = MIN_SEGMENT_BYTES) -> StreamSegmentWriter:
    writer = StreamSegmentWriter(directory, segment_bytes=segment_bytes, sync="none")
    for entry in written:
        writer.write([encode_record(*entry)], 1)
    return writer


def write_entry_file(directory: Path, source_id: int, time_stamp: int, payload: bytes, duplicate: int = 0) -> None:
    path = directory / entry_file_name(source_id, time_stamp, duplicate)
    path.write_bytes(encode_entry_prefix(source_id, time_stamp, len(payload)) + payload)


def read_all(directory: Path, on_damage: str = "raise") -> dict[int, list[tuple[int, bytes]]]:
    readers = read_logs(directory, on_damage=on_damage)  # type: ignore[arg-type]
    found = {}
    for source_id, reader in readers.items():
        with reader:
            found[source_id] = [(stamp, payload.tobytes()) for stamp, payload in reader]
            assert reader.timestamps.tolist() == [stamp for stamp, _ in found[source_id]]
    return found


def expected_order(written: list[Entry]) -> dict[int, list[tuple[int, bytes]]]:
    """Per source: timestamp order, ties in arrival order (sorted is stable)."""
    found: dict[int, list[tuple[int, bytes]]] = {}
    for source_id, stamp, payload in written:
        found.setdefault(source_id, []).append((stamp, payload))
    return {source: sorted(entries, key=lambda entry: entry[0]) for source, entries in sorted(found.items())}


def random_entries(count: int, seed: int, sources: int = 3, stamps: int = 400) -> list[Entry]:
    rng = np.random.default_rng(seed)
    return [
        (int(source), int(stamp), b"e%d-%d" % (index, seed) * int(repeat))
        for index, (source, stamp, repeat) in enumerate(
            zip(rng.integers(0, sources, count), rng.integers(0, stamps, count), rng.integers(0, 4, count), strict=True)
        )
    ]


def test_read_logs_reads_stream_segments_per_source_in_order(tmp_path: Path) -> None:
    written = random_entries(3_000, seed=1)
    write_stream(tmp_path, written).close()
    assert len(list(tmp_path.glob("*.adlog"))) > 10
    assert read_all(tmp_path) == expected_order(written)
    readers = read_logs(tmp_path)
    assert "stream_entries=" in repr(readers[0])
    for reader in readers.values():
        reader.close()


def test_the_golden_segment_reads_through_read_logs(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN, tmp_path / "log")
    found = read_all(tmp_path / "log")
    assert found[1] == [(1_000, b""), (1_001, b"\x01"), (1_001, b"tie after")]
    assert found[255] == [(2**64 - 1, "µs ünïcode".encode())]
    assert sorted(found) == [0, 1, 2, 7, 255]


def test_archived_then_loose_then_stream_among_equal_timestamps(tmp_path: Path) -> None:
    write_entry_file(tmp_path, 1, 5, b"archived")
    compress_npy_logs(tmp_path, remove_sources=True)
    write_entry_file(tmp_path, 1, 5, b"loose")
    write_stream(tmp_path, [(1, 5, b"stream first"), (1, 4, b"earlier"), (1, 5, b"stream second")]).close()
    expected = [(4, b"earlier"), (5, b"archived"), (5, b"loose"), (5, b"stream first"), (5, b"stream second")]
    assert read_all(tmp_path)[1] == expected
    # Archiving keeps the order a reader gave before.
    report = compress_npy_logs(tmp_path)
    assert report.sources[1].entries_archived == 4 and report.sources[1].entries_total == 5
    assert read_all(tmp_path)[1] == expected
    with read_logs(tmp_path)[1] as reader:
        assert reader.archive_path is not None and "stream_entries" not in repr(reader)


def test_compressing_a_stream_log_reads_back_the_same_entries(tmp_path: Path) -> None:
    written = random_entries(2_000, seed=2)
    write_stream(tmp_path, written).close()
    before = read_all(tmp_path)
    report = compress_npy_logs(tmp_path, max_workers=1)
    assert report.entries_archived == len(written) and report.clean
    assert sorted(path.name for path in tmp_path.glob("*_log.npz")) == ["0_log.npz", "1_log.npz", "2_log.npz"]
    assert read_all(tmp_path) == before == expected_order(written)
    # Again: nothing is archived twice, and nothing was removed.
    again = compress_npy_logs(tmp_path, max_workers=1)
    assert again.entries_archived == 0 and not again.segments_removed
    assert read_all(tmp_path) == before
    # Removing: every segment goes, the entries stay.
    removed = compress_npy_logs(tmp_path, remove_sources=True, max_workers=1)
    assert removed.entries_archived == 0 and len(removed.segments_removed) > 10
    assert not list(tmp_path.glob("*.adlog"))
    assert read_all(tmp_path) == before


def test_a_segment_being_written_is_archived_in_parts_and_never_twice(tmp_path: Path) -> None:
    first = [(1, stamp, b"first %d" % stamp) for stamp in range(50)]
    second = [(1, stamp, b"second %d" % stamp) for stamp in range(50, 80)]
    writer = write_stream(tmp_path, first, segment_bytes=1 << 20)
    try:
        report = compress_npy_logs(tmp_path, remove_sources=True)
        assert report.entries_archived == 50 and not report.segments_removed
        assert [path.name for path in tmp_path.glob("*.adlog")] == [writer.segments[0].name]
        for entry in second:
            writer.write([encode_record(*entry)], 1)
        report = compress_npy_logs(tmp_path, remove_sources=True)
        assert report.entries_archived == 30 and not report.segments_removed
        assert read_all(tmp_path)[1] == [(stamp, payload) for _, stamp, payload in first + second]
    finally:
        writer.close()
    report = compress_npy_logs(tmp_path, remove_sources=True)
    assert report.entries_archived == 0 and report.segments_removed == (writer.segments[0],)
    assert read_all(tmp_path)[1] == [(stamp, payload) for _, stamp, payload in first + second]


def test_a_damaged_segment_is_archived_but_kept(tmp_path: Path) -> None:
    written = [(2, stamp, b"payload %04d" % stamp) for stamp in range(100)]
    writer = write_stream(tmp_path, written, segment_bytes=1 << 20)
    writer.close()
    (path,) = writer.segments
    data = bytearray(path.read_bytes())
    data[2_000] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.warns(DamagedLogFilesWarning, match="damaged bytes at offset"):
        before = read_all(tmp_path, on_damage="warn")
    assert len(before[2]) == 99
    with pytest.raises(StreamFormatError, match=f"{path}: damaged bytes at offset"):
        read_logs(tmp_path, on_damage="raise")
    with pytest.warns(DamagedLogFilesWarning, match="damaged or foreign"):
        report = compress_npy_logs(tmp_path, remove_sources=True)
    assert report.entries_archived == 99 and not report.segments_removed
    assert [damaged.path for damaged in report.damaged_files] == [path]
    assert "damaged bytes at offset" in report.damaged_files[0].reason
    assert path.exists()
    with pytest.warns(DamagedLogFilesWarning):
        assert read_all(tmp_path, on_damage="warn") == before


def test_a_torn_tail_is_archived_up_to_it_and_the_segment_kept(tmp_path: Path) -> None:
    written = [(3, stamp, b"x" * 30) for stamp in range(40)]
    writer = write_stream(tmp_path, written, segment_bytes=1 << 20)
    writer.close()
    (path,) = writer.segments
    path.write_bytes(path.read_bytes()[: -48 - 20])  # the segment end and part of the last record
    with pytest.warns(DamagedLogFilesWarning, match=f"left in place: {path}"):
        report = compress_npy_logs(tmp_path, remove_sources=True)
    assert report.entries_archived == 39 and path.exists() and not report.segments_removed
    (damaged,) = report.damaged_files
    assert damaged.path == path and damaged.reason.startswith(
        f"torn tail at offset {path.stat().st_size - 36} (36 bytes"
    )


def test_a_damaged_archive_keeps_the_segment_it_was_made_from(tmp_path: Path) -> None:
    writer = write_stream(tmp_path, [(4, stamp, bytes([stamp]) * 100) for stamp in range(100)], segment_bytes=1 << 20)
    writer.close()
    compress_npy_logs(tmp_path, compress=False)
    archive = tmp_path / "4_log.npz"
    data = bytearray(archive.read_bytes())
    position = data.index(bytes([50]) * 100)
    data[position + 10] ^= 1
    archive.write_bytes(bytes(data))
    report = compress_npy_logs(tmp_path, remove_sources=True)
    assert not report.segments_removed and writer.segments[0].exists()


def test_a_segment_removed_under_a_reader_names_the_folder(tmp_path: Path) -> None:
    write_stream(tmp_path, [(5, stamp, b"y") for stamp in range(300)]).close()
    readers = read_logs(tmp_path)
    compress_npy_logs(tmp_path, remove_sources=True)
    with readers[5] as reader, pytest.raises(LogFilesChangedError, match="was removed while a reader"):
        list(reader)


def test_sources_with_entry_files_and_segments_compress_in_worker_processes(tmp_path: Path) -> None:
    written = random_entries(1_500, seed=3, sources=4)
    write_stream(tmp_path, written).close()
    for source_id in range(4):
        write_entry_file(tmp_path, source_id, 10_000, b"file of %d" % source_id)
    before = read_all(tmp_path)
    report = compress_npy_logs(tmp_path, remove_sources=True, max_workers=2)
    assert report.entries_archived == len(written) + 4 and report.files_removed == 4
    assert not list(tmp_path.glob("*.adlog")) and not list(tmp_path.glob("*.npy"))
    assert read_all(tmp_path) == before


def test_verify_integrity_compares_every_stream_byte_and_between_reads_streams(tmp_path: Path) -> None:
    written = random_entries(800, seed=4, sources=2)
    write_stream(tmp_path, written).close()
    with read_logs(tmp_path)[1] as reader:
        window = [(stamp, payload.tobytes()) for stamp, payload in reader.between(100, 200)]
    assert window == [entry for entry in expected_order(written)[1] if 100 <= entry[0] < 200]
    report = compress_npy_logs(tmp_path, verify_integrity=True, remove_sources=True, max_workers=1)
    assert report.entries_archived == 800 and not list(tmp_path.glob("*.adlog"))
    assert read_all(tmp_path) == expected_order(written)


def test_an_archive_records_only_the_segments_its_entries_came_from(tmp_path: Path) -> None:
    first = write_stream(tmp_path, [(1, stamp, b"one") for stamp in range(10)], segment_bytes=1 << 20)
    first.close()
    second = write_stream(tmp_path, [(2, stamp, b"two") for stamp in range(10)], segment_bytes=1 << 20)
    second.close()
    big = bytes(range(256)) * (3 << 12)  # 3 MiB: larger than the pieces an archive is written in
    third = write_stream(tmp_path, [(1, 50, big)], segment_bytes=1 << 20)
    third.close()
    compress_npy_logs(tmp_path, max_workers=1)
    for source_id, segments in ((1, [first, third]), (2, [second])):
        with ArchiveFile(tmp_path / f"{source_id}_log.npz") as archive:
            origins = archive.stream_origins()
            assert origins.keys == [(segment.writer_id, int(segment.segments[0].name[7:13])) for segment in segments]
            assert origins.rows.min() >= 1
    assert read_all(tmp_path)[1][-1] == (50, big)
    # Once the segments are gone, the next archive written forgets them.
    compress_npy_logs(tmp_path, remove_sources=True, max_workers=1)
    write_stream(tmp_path, [(1, 99, b"later")]).close()
    compress_npy_logs(tmp_path, max_workers=1)
    with ArchiveFile(tmp_path / "1_log.npz") as archive:
        origins = archive.stream_origins()
        assert len(origins.keys) == 1 and int((origins.rows > 0).sum()) == 1


def test_to_arrow_reads_stream_records_merged_with_the_archive(tmp_path: Path) -> None:
    write_entry_file(tmp_path, 1, 5, b"archived")
    compress_npy_logs(tmp_path, remove_sources=True)
    write_stream(tmp_path, [(1, 5, b"stream"), (1, 3, b"early"), (2, 9, b"other")]).close()
    with read_logs(tmp_path) as readers:
        table = readers.to_arrow()
    assert table.to_pydict() == {
        "source_id": [1, 1, 1, 2],
        "timestamp": [3, 5, 5, 9],
        "payload": [b"early", b"archived", b"stream", b"other"],
    }


def test_a_rotated_segment_cut_at_a_record_boundary_is_reported_not_read_as_whole(tmp_path: Path) -> None:
    # A segment its writer rotated ends with a segment end. Cut at a record boundary (a copy interrupted, a file
    # system repaired after a crash), it would read like the last segment of a writer that died: whole, unclosed.
    # The writer's later segment says otherwise.
    written = [(1, stamp, b"payload %04d" % stamp) for stamp in range(400)]
    writer = write_stream(tmp_path, written)
    writer.close()
    first = writer.segments[0]
    assert len(writer.segments) > 2
    data = first.read_bytes()
    first.write_bytes(data[: -48 - 5 * 32])  # the segment end and five whole records (32 bytes each)
    with pytest.warns(DamagedLogFilesWarning, match=f"{first}: .*no segment end, though its writer went on"):
        found = read_all(tmp_path, on_damage="warn")
    assert len(found[1]) == 395
    with pytest.raises(StreamFormatError, match=f"{first}: .*no segment end, though its writer went on"):
        read_logs(tmp_path, on_damage="raise")
    summary = inspect_logs(tmp_path)
    assert [damaged.path for damaged in summary.damaged_files] == [first]
    with pytest.warns(DamagedLogFilesWarning, match="damaged or foreign"):
        report = compress_npy_logs(tmp_path, remove_sources=True)
    # Every record left is archived; the cut segment is kept, the others are removed.
    assert report.entries_archived == 395
    assert [damaged.path for damaged in report.damaged_files] == [first]
    assert first.exists() and set(report.segments_removed) == set(writer.segments[1:])


def test_the_last_segment_of_a_writer_that_died_reads_as_unclosed_without_damage(tmp_path: Path) -> None:
    written = [(1, stamp, b"payload %04d" % stamp) for stamp in range(400)]
    writer = write_stream(tmp_path, written)
    last = writer.segments[-1]
    os.close(writer._fd)  # the writer dies: its last segment has no segment end
    writer._fd = -1
    writer._broken = True
    writer.close()
    assert len(writer.segments) > 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = read_all(tmp_path, on_damage="raise")
    assert len(found[1]) == 400
    assert inspect_logs(tmp_path).segments[-1].state == "unclosed" and last.exists()
