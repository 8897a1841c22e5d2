"""LogArchiveReader over archives, loose entries and both; read_logs over whole log directories."""

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import (
    ArchiveFormatError,
    DamagedLogFilesWarning,
    EntryFormatError,
    LogArchiveReader,
    compress_npy_logs,
    read_logs,
)
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name


def pairs(entries: object) -> list[tuple[int, bytes]]:
    return [(stamp, payload.tobytes()) for stamp, payload in entries]  # type: ignore[attr-defined]


def build_archive(
    path: Path, time_stamps: list[int], payloads: list[bytes], *, compress: bool = True, **members: object
) -> None:
    """Writes an archive with NumPy alone, as the documented layout describes it."""
    offsets = np.zeros(len(payloads) + 1, dtype=np.uint64)
    np.cumsum([len(payload) for payload in payloads], out=offsets[1:])
    content: dict[str, object] = {
        "format_version": np.array(1, dtype=np.uint16),
        "source_id": np.array(9, dtype=np.uint8),
        "timestamps": np.array(time_stamps, dtype=np.uint64),
        "offsets": offsets,
        "file_mtimes": np.zeros(len(payloads), dtype=np.uint64),
        "file_duplicates": np.zeros(len(payloads), dtype=np.uint64),
        "payloads": np.frombuffer(b"".join(payloads), dtype=np.uint8),
    }
    content.update(members)
    content = {name: value for name, value in content.items() if value is not None}
    (np.savez_compressed if compress else np.savez)(path, **content)  # type: ignore[operator]


@pytest.fixture
def ties(write_entry: Callable[..., Path], tmp_path: Path) -> Path:
    """An archive of source 1 holding timestamps 10, 20, 20, 30."""
    for time_stamp, payload, duplicate_index in [(10, b"a", 0), (20, b"b", 0), (20, b"c", 1), (30, b"d", 0)]:
        write_entry(tmp_path, 1, time_stamp, payload, duplicate_index)
    compress_npy_logs(tmp_path, remove_sources=True)
    return tmp_path / "1_log.npz"


def test_reader_exposes_source_length_timestamps_and_entries(ties: Path) -> None:
    with LogArchiveReader(ties) as reader:
        assert reader.source_id == 1
        assert reader.archive_path == ties
        assert len(reader) == 4
        assert reader.timestamps.dtype == np.uint64
        assert reader.timestamps.tolist() == [10, 20, 20, 30]
        assert not reader.timestamps.flags.writeable
        entries = list(reader)
        assert [type(stamp) for stamp, _ in entries] == [int] * 4
        assert all(payload.dtype == np.uint8 and payload.ndim == 1 for _, payload in entries)
        assert pairs(entries) == [(10, b"a"), (20, b"b"), (20, b"c"), (30, b"d")]
        assert "source_id=1, entries=4" in repr(reader)


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (20, 30, [(20, b"b"), (20, b"c")]),
        (0, 2**64, [(10, b"a"), (20, b"b"), (20, b"c"), (30, b"d")]),
        (11, 20, []),
        (25, 25, []),
        (30, 31, [(30, b"d")]),
        (31, 2**64, []),
        (np.uint64(10), np.uint64(20), [(10, b"a")]),
    ],
)
def test_between_is_half_open(ties: Path, start: int, stop: int, expected: list[tuple[int, bytes]]) -> None:
    with LogArchiveReader(ties) as reader:
        assert pairs(reader.between(start, stop)) == expected


@pytest.mark.parametrize(
    ("start", "stop", "error", "message"),
    [
        (5, 4, ValueError, r"start \(5\) must not be greater than stop \(4\)"),
        (-1, 4, ValueError, "start must be between 0 and 2\\*\\*64, got -1"),
        (0, 2**64 + 1, ValueError, "stop must be between 0 and 2\\*\\*64"),
        (1.5, 4, TypeError, "start must be an integer timestamp, got 1.5 of type float"),
        (0, "9", TypeError, "stop must be an integer timestamp, got '9' of type str"),
    ],
)
def test_between_refuses_bad_bounds(ties: Path, start: object, stop: object, error: type, message: str) -> None:
    with LogArchiveReader(ties) as reader, pytest.raises(error, match=message):
        reader.between(start, stop)  # type: ignore[arg-type]


def test_a_closed_reader_refuses_to_iterate_but_payloads_stay_valid(ties: Path) -> None:
    reader = LogArchiveReader(ties)
    payloads = [payload for _, payload in reader]
    reader.close()
    reader.close()
    assert reader.closed
    assert [payload.tobytes() for payload in payloads] == [b"a", b"b", b"c", b"d"]
    with pytest.raises(ValueError, match="is closed"):
        iter(reader)
    with pytest.raises(ValueError, match="is closed"):
        reader.between(0, 1)


@pytest.mark.parametrize("compress", [True, False])
def test_chunks_and_interleaved_iterations(tmp_path: Path, compress: bool) -> None:
    # 140,000 entries cross the reader's 65,536-entry chunks; a few 5 MiB entries cross its 8 MiB byte chunks.
    count = 140_000
    payloads = [index.to_bytes(3, "little") for index in range(count)]
    for index in (7, 70_000, 139_998):
        payloads[index] = bytes([index % 251]) * (5 << 20)
    stamps = [index // 3 for index in range(count)]
    path = tmp_path / "9_log.npz"
    build_archive(path, stamps, payloads, compress=compress)
    with LogArchiveReader(path) as reader:
        assert len(reader) == count
        every = reader.between(0, 2**64)
        window = reader.between(23_000, 23_010)
        first = [next(every) for _ in range(10)]
        windowed = pairs(window)
        rest = pairs(every)
    assert pairs(first) + rest == list(zip(stamps, payloads, strict=True))
    assert windowed == [
        (stamp, payload) for stamp, payload in zip(stamps, payloads, strict=True) if 23_000 <= stamp < 23_010
    ]


def test_payloads_are_read_only_copies_that_outlive_the_file(tmp_path: Path) -> None:
    path = tmp_path / "9_log.npz"
    build_archive(path, [1, 2], [b"one", b"two"], compress=False)
    with LogArchiveReader(path) as reader:
        [(_, first), (_, second)] = list(reader)
    path.unlink()
    assert not first.flags.writeable
    assert (first.tobytes(), second.tobytes()) == (b"one", b"two")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"format_version": None}, "lacks format_version.npy"),
        ({"format_version": np.array(3, dtype=np.uint16)}, "has archive format version 3"),
        ({"format_version": np.array(2, dtype=np.uint16)}, "lacks payload_checksums.npy"),
        ({"timestamps": np.array([2, 1], dtype=np.uint64)}, "the timestamps are not in order"),
        ({"timestamps": np.array([1, 2], dtype=np.int64)}, "timestamps.npy should be a 1-d uint64 array"),
        ({"offsets": np.array([0, 3], dtype=np.uint64)}, "2 timestamps need 3 offsets"),
        ({"offsets": np.array([0, 4, 3], dtype=np.uint64)}, "the payload offsets decrease"),
        ({"offsets": np.array([0, 3, 7], dtype=np.uint64)}, r"need a uint8 payload member of shape \(7,\)"),
        ({"file_duplicates": None}, "lacks file_duplicates.npy"),
    ],
)
def test_malformed_archives_raise_archive_format_error(
    tmp_path: Path, members: dict[str, object], message: str
) -> None:
    path = tmp_path / "9_log.npz"
    build_archive(path, [1, 2], [b"one", b"two"], **members)
    with pytest.raises(ArchiveFormatError, match=message):
        LogArchiveReader(path)


def test_file_records_of_the_wrong_length_are_refused_when_needed(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    path = tmp_path / "9_log.npz"
    build_archive(path, [1, 2], [b"one", b"two"], file_mtimes=np.ones(3, dtype=np.uint64))
    with LogArchiveReader(path) as reader:
        assert len(reader) == 2  # reading does not need the records
    write_entry(tmp_path, 9, 3, b"three")
    with pytest.raises(ArchiveFormatError, match="2 entries need as many file records, found 3 modification times"):
        read_logs(tmp_path)


def test_files_that_are_not_archives_raise_archive_format_error(tmp_path: Path) -> None:
    text = tmp_path / "1_log.npz"
    text.write_text("hello")
    with pytest.raises(ArchiveFormatError, match="is not a readable log archive"):
        LogArchiveReader(text)
    other = tmp_path / "2_log.npz"
    np.savez(other, timestamps=np.arange(3, dtype=np.uint64))
    with pytest.raises(ArchiveFormatError, match=r"is not a columnar log archive: it lacks format_version\.npy"):
        LogArchiveReader(other)
    truncated = tmp_path / "3_log.npz"
    build_archive(truncated, [1], [b"payload"])
    truncated.write_bytes(truncated.read_bytes()[:-30])
    with pytest.raises(ArchiveFormatError):
        LogArchiveReader(truncated)


def test_corrupted_compressed_payloads_raise_when_read(tmp_path: Path) -> None:
    path = tmp_path / "9_log.npz"
    build_archive(path, list(range(100)), [bytes([index]) * 1000 for index in range(100)])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("payloads.npy")
    data = bytearray(path.read_bytes())
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    with (
        LogArchiveReader(path, on_damage="raise") as reader,
        pytest.raises(ArchiveFormatError, match=r"payload bytes from byte \d+ on cannot be read \(.*Error"),
    ):
        list(reader)
    with LogArchiveReader(path) as reader, pytest.warns(DamagedLogFilesWarning, match="cannot be read") as caught:
        found = pairs(reader)
    assert len(caught) == 1
    assert 0 < len(found) < 100
    assert found == [(index, bytes([index]) * 1000) for index in range(len(found))]


def test_read_logs_reads_loose_archived_and_mixed_sources(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 1, 10, b"archived 10")
    write_entry(tmp_path, 1, 20, b"archived 20")
    write_entry(tmp_path, 2, 5, b"archived only")
    compress_npy_logs(tmp_path, remove_sources=True)
    write_entry(tmp_path, 1, 20, b"loose 20")
    write_entry(tmp_path, 1, 15, b"loose 15")
    write_entry(tmp_path, 1, 1, b"loose 1")
    write_entry(tmp_path, 3, 8, b"second", 1)
    write_entry(tmp_path, 3, 8, b"first")
    (tmp_path / "notes.npy").write_bytes(b"ignored")

    readers = read_logs(tmp_path)
    try:
        assert sorted(readers) == [1, 2, 3]
        mixed, archived, loose = readers[1], readers[2], readers[3]
        assert mixed.timestamps.tolist() == [1, 10, 15, 20, 20]
        assert pairs(mixed) == [
            (1, b"loose 1"),
            (10, b"archived 10"),
            (15, b"loose 15"),
            (20, b"archived 20"),
            (20, b"loose 20"),
        ]
        assert pairs(mixed.between(10, 20)) == [(10, b"archived 10"), (15, b"loose 15")]
        assert pairs(mixed.between(15, 2**64)) == [(15, b"loose 15"), (20, b"archived 20"), (20, b"loose 20")]
        assert pairs(archived) == [(5, b"archived only")]
        assert loose.archive_path is None
        assert (loose.source_id, len(loose)) == (3, 2)
        assert pairs(loose) == [(8, b"first"), (8, b"second")]
    finally:
        for reader in readers.values():
            reader.close()


def test_read_logs_shows_entries_kept_after_compression_once(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    for time_stamp in range(5):
        write_entry(tmp_path, 4, time_stamp, bytes([time_stamp]))
    compress_npy_logs(tmp_path)
    write_entry(tmp_path, 4, 2, b"new", 1)
    readers = read_logs(tmp_path)
    with readers[4] as reader:
        assert pairs(reader) == [(0, b"\0"), (1, b"\1"), (2, b"\2"), (2, b"new"), (3, b"\3"), (4, b"\4")]


def test_a_damaged_loose_entry_raises_when_reached_naming_the_file(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    write_entry(tmp_path, 1, 1, b"fine")
    damaged = tmp_path / entry_file_name(1, 2)
    damaged.write_bytes(encode_entry_prefix(4, 2, 1) + b"x")
    [reader] = read_logs(tmp_path, on_damage="raise").values()
    with reader:
        entries = iter(reader)
        assert pairs([next(entries)]) == [(1, b"fine")]
        with pytest.raises(EntryFormatError, match=f"{damaged}.*the name says source 1 but the content says source 4"):
            next(entries)


def test_an_open_reader_keeps_its_view_while_the_archive_is_replaced(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    write_entry(tmp_path, 1, 1, b"first")
    compress_npy_logs(tmp_path, remove_sources=True)
    with LogArchiveReader(tmp_path / "1_log.npz") as reader:
        write_entry(tmp_path, 1, 0, b"earlier")
        compress_npy_logs(tmp_path, remove_sources=True)
        assert pairs(reader) == [(1, b"first")]
    with LogArchiveReader(tmp_path / "1_log.npz") as reader:
        assert pairs(reader) == [(0, b"earlier"), (1, b"first")]


def test_read_logs_of_an_empty_or_missing_directory(tmp_path: Path) -> None:
    assert read_logs(tmp_path) == {}
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_logs(tmp_path / "missing")
