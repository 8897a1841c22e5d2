"""inspect_logs: per-source summaries that check every file and change nothing."""

import zipfile
from collections.abc import Callable
from pathlib import Path

from ataraxis_datalogger import compress_npy_logs, inspect_logs
from ataraxis_datalogger._format.entry import entry_file_name


def test_archived_pending_and_copied_entries_are_counted(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 1, 50, b"aa")
    write_entry(tmp_path, 1, 60, b"bbb")
    compress_npy_logs(tmp_path)
    write_entry(tmp_path, 1, 40, b"c")
    before = sorted(path.name for path in tmp_path.iterdir())

    summary = inspect_logs(tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == before
    source = summary.sources[1]
    assert (source.archived_entries, source.pending_entries, source.archived_copies) == (2, 1, 2)
    assert (source.first_time_stamp, source.last_time_stamp) == (40, 60)
    assert source.payload_bytes == 6
    assert source.archive_path == tmp_path / "1_log.npz"
    assert source.archive_bytes == (tmp_path / "1_log.npz").stat().st_size
    assert summary.clean and summary.damaged_files == () and summary.foreign_files == ()


def test_a_source_without_entries_has_no_time_span(tmp_path: Path) -> None:
    (tmp_path / entry_file_name(2, 1)).write_bytes(b"broken")
    summary = inspect_logs(tmp_path)
    source = summary.sources[2]
    assert (source.first_time_stamp, source.last_time_stamp, source.archive_path) == (None, None, None)
    assert [damaged.path for damaged in summary.damaged_files] == [tmp_path / entry_file_name(2, 1)]
    assert not summary.clean


def test_corrupted_archive_bytes_are_found_by_their_checksum(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    for time_stamp in range(50):
        write_entry(tmp_path, 3, time_stamp, bytes([time_stamp]) * 100)
    compress_npy_logs(tmp_path, remove_sources=True, compress=False)
    path = tmp_path / "3_log.npz"
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("payloads.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 200 + 128] ^= 0x01
    path.write_bytes(bytes(data))
    write_entry(tmp_path, 3, 99, b"pending")

    assert inspect_logs(tmp_path).clean  # only the metadata is checked by default
    summary = inspect_logs(tmp_path, verify=True)

    [damaged] = summary.damaged_files
    assert damaged.path == path
    assert "do not match their checksum" in damaged.reason
    source = summary.sources[3]
    assert (source.archive_path, source.archived_entries, source.pending_entries) == (None, 0, 1)
