"""compress_npy_logs on log directories written file by file in the entry layout (no logger needed)."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ataraxis_datalogger import (
    ArchiveFormatError,
    LogArchiveReader,
    LogCompressionError,
    compress_npy_logs,
    read_logs,
)
from ataraxis_datalogger._format.entry import entry_file_name


def read_archive(path: Path) -> list[tuple[int, bytes]]:
    with LogArchiveReader(path) as reader:
        return [(time_stamp, payload.tobytes()) for time_stamp, payload in reader]


def npy_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.npy"))


def test_one_source_becomes_one_archive_and_sources_are_removed(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    write_entry(tmp_path, 1, 100, bytes([1, 2, 3, 4, 5]))
    write_entry(tmp_path, 1, 200, bytes([6, 7, 8, 9, 10]))

    report = compress_npy_logs(tmp_path, remove_sources=True)

    assert list(tmp_path.glob("**/*.npy")) == []
    assert [path.name for path in tmp_path.glob("**/*.npz")] == ["1_log.npz"]
    assert read_archive(tmp_path / "1_log.npz") == [(100, bytes([1, 2, 3, 4, 5])), (200, bytes([6, 7, 8, 9, 10]))]
    source = report.sources[1]
    assert (source.entries_archived, source.entries_total, source.payload_bytes, source.files_removed) == (2, 2, 10, 2)
    assert source.archive_path == tmp_path / "1_log.npz"
    assert source.archive_bytes == (tmp_path / "1_log.npz").stat().st_size
    assert source.damaged_files == ()
    assert report.clean and report.entries_archived == 2 and report.files_removed == 2


def test_sources_are_kept_by_default(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 7, 1, b"a")
    report = compress_npy_logs(tmp_path)
    assert npy_files(tmp_path) == [entry_file_name(7, 1)]
    assert report.sources[7].files_removed == 0
    assert read_archive(tmp_path / "7_log.npz") == [(1, b"a")]


def test_entries_follow_timestamps_and_ties_follow_arrival(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    # Duplicate indices sort as numbers (2 before 10), not as text.
    for duplicate_index in range(12):
        write_entry(tmp_path, 3, 50, f"tie {duplicate_index}".encode(), duplicate_index)
    for time_stamp in (90, 10, 2**64 - 1, 0, 51):
        write_entry(tmp_path, 3, time_stamp, str(time_stamp).encode())

    compress_npy_logs(tmp_path, remove_sources=True)

    expected = [(0, b"0"), (10, b"10")]
    expected += [(50, f"tie {index}".encode()) for index in range(12)]
    expected += [(51, b"51"), (90, b"90"), (2**64 - 1, str(2**64 - 1).encode())]
    assert read_archive(tmp_path / "3_log.npz") == expected


@pytest.mark.parametrize("compress", [True, False])
def test_archive_is_a_plain_columnar_npz(write_entry: Callable[..., Path], tmp_path: Path, compress: bool) -> None:
    payloads = [b"", b"x", bytes(range(256)) * 4, b"last"]
    for time_stamp, payload in enumerate(payloads):
        write_entry(tmp_path, 0, time_stamp, payload)

    compress_npy_logs(tmp_path, compress=compress)

    with np.load(tmp_path / "0_log.npz", allow_pickle=False) as archive:
        assert int(archive["source_id"]) == 0
        assert int(archive["format_version"]) == 2
        assert archive["timestamps"].dtype == np.uint64
        assert archive["timestamps"].tolist() == [0, 1, 2, 3]
        offsets = archive["offsets"].tolist()
        assert offsets == [0, 0, 1, 1025, 1029]
        assert archive["payloads"].tobytes() == b"".join(payloads)
    with zipfile.ZipFile(tmp_path / "0_log.npz") as archive:
        expected_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        assert {info.compress_type for info in archive.infolist()} == {expected_type}


def test_running_twice_archives_nothing_twice(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    for time_stamp in range(20):
        write_entry(tmp_path, 2, time_stamp // 2, bytes([time_stamp]), time_stamp % 2)
    first = compress_npy_logs(tmp_path)
    archived = read_archive(tmp_path / "2_log.npz")

    second = compress_npy_logs(tmp_path)
    assert second.sources[2].entries_archived == 0
    assert second.sources[2].entries_total == first.sources[2].entries_total == 20
    assert read_archive(tmp_path / "2_log.npz") == archived

    third = compress_npy_logs(tmp_path, remove_sources=True)
    assert third.sources[2].entries_archived == 0
    assert third.sources[2].files_removed == 20
    assert npy_files(tmp_path) == []
    assert read_archive(tmp_path / "2_log.npz") == archived
    assert compress_npy_logs(tmp_path).sources == {}


def test_new_entries_merge_into_the_archive_with_archived_entries_first_among_ties(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    for time_stamp in (10, 20, 30):
        write_entry(tmp_path, 5, time_stamp, f"old {time_stamp}".encode())
    compress_npy_logs(tmp_path, remove_sources=True)
    # Logged after the compression; the freed names are reused, as the logger would.
    for time_stamp in (5, 20, 25, 40):
        write_entry(tmp_path, 5, time_stamp, f"new {time_stamp}".encode())

    report = compress_npy_logs(tmp_path, remove_sources=True)

    assert (report.sources[5].entries_archived, report.sources[5].entries_total) == (4, 7)
    assert read_archive(tmp_path / "5_log.npz") == [
        (5, b"new 5"),
        (10, b"old 10"),
        (20, b"old 20"),
        (20, b"new 20"),
        (25, b"new 25"),
        (30, b"old 30"),
        (40, b"new 40"),
    ]


def test_a_listing_that_misses_an_earlier_tie_does_not_put_the_later_one_first(
    write_entry: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A directory listing taken while the logger writes is not a snapshot: on ext4 (hash order) it can hold
    # `..._1.npy` and miss `.npy`, created just before it (compressing during a run with many ties misordered about
    # 0.5% of 120,000 entries here). The first listing below misses it, as such a listing does.
    write_entry(tmp_path, 3, 50, b"arrived first")
    write_entry(tmp_path, 3, 50, b"arrived second", duplicate_index=1)
    write_entry(tmp_path, 3, 60, b"later")
    real_scandir = os.scandir
    calls: list[str] = []

    @contextlib.contextmanager
    def listing_that_misses_the_first_tie(path: str | os.PathLike[str]) -> Iterator[list[os.DirEntry[str]]]:
        with real_scandir(path) as entries:
            found = list(entries)
        calls.append(os.fspath(path))
        if len(calls) == 1:
            found = [entry for entry in found if entry.name != entry_file_name(3, 50)]
        yield found

    monkeypatch.setattr(os, "scandir", listing_that_misses_the_first_tie)
    compress_npy_logs(tmp_path)
    monkeypatch.setattr(os, "scandir", real_scandir)
    assert len(calls) == 2  # the listing was taken again, and found the missed entry
    compress_npy_logs(tmp_path, remove_sources=True)

    assert read_archive(tmp_path / "3_log.npz") == [(50, b"arrived first"), (50, b"arrived second"), (60, b"later")]


def test_a_reused_name_with_the_same_payload_is_a_new_entry(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    first = write_entry(tmp_path, 1, 7, b"same")
    compress_npy_logs(tmp_path, remove_sources=True)
    assert not first.exists()
    again = write_entry(tmp_path, 1, 7, b"same")
    os.utime(again, ns=(1_000_000_000, 1_000_000_000))

    report = compress_npy_logs(tmp_path, remove_sources=True)

    assert report.sources[1].entries_archived == 1
    assert read_archive(tmp_path / "1_log.npz") == [(7, b"same"), (7, b"same")]


def test_files_left_by_an_interrupted_removal_are_recognised(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    files = [write_entry(tmp_path, 4, time_stamp, bytes([time_stamp]) * 3) for time_stamp in range(6)]
    saved = tmp_path / "saved"
    saved.mkdir()
    for path in files:
        shutil.copy2(path, saved / path.name)  # keeps the modification time, as an unfinished removal would
    compress_npy_logs(tmp_path, remove_sources=True)
    for path in files[3:]:
        shutil.copy2(saved / path.name, path)

    report = compress_npy_logs(tmp_path, remove_sources=True)

    assert report.sources[4].entries_archived == 0
    assert report.sources[4].files_removed == 3
    assert read_archive(tmp_path / "4_log.npz") == [(time_stamp, bytes([time_stamp]) * 3) for time_stamp in range(6)]


def test_a_copy_whose_modification_time_changed_is_archived_again_never_dropped(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_entry(tmp_path, 9, 1, b"payload")
    compress_npy_logs(tmp_path)
    os.utime(path, ns=(5, 5))  # what a copy that does not preserve times looks like
    report = compress_npy_logs(tmp_path, remove_sources=True)
    assert report.sources[9].entries_archived == 1
    assert read_archive(tmp_path / "9_log.npz") == [(1, b"payload"), (1, b"payload")]


@pytest.mark.parametrize("memory_mapping", [False, True])
@pytest.mark.parametrize("compress", [False, True])
def test_options_change_how_not_what(
    write_entry: Callable[..., Path], tmp_path: Path, memory_mapping: bool, compress: bool
) -> None:
    rng = np.random.default_rng(3)
    expected = []
    for time_stamp in range(40):
        payload = rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()
        write_entry(tmp_path, 6, time_stamp, payload)
        expected.append((time_stamp, payload))
    compress_npy_logs(tmp_path, memory_mapping=memory_mapping, compress=compress, verify_integrity=True)
    write_entry(tmp_path, 6, 20, b"merged")
    expected.insert(21, (20, b"merged"))
    compress_npy_logs(
        tmp_path, remove_sources=True, memory_mapping=memory_mapping, compress=compress, verify_integrity=True
    )
    assert read_archive(tmp_path / "6_log.npz") == expected
    assert npy_files(tmp_path) == []


def test_payloads_larger_than_the_memory_buffer_are_streamed_from_the_files(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    # 70 entries of 1 MiB exceed the 64 MiB buffer: the writer reads them a second time instead of holding them.
    blocks = [bytes([index]) * (1 << 20) for index in range(70)]
    for time_stamp, block in enumerate(blocks):
        write_entry(tmp_path, 8, time_stamp * 2, block)
    compress_npy_logs(tmp_path, compress=False, verify_integrity=True, memory_mapping=True)
    write_entry(tmp_path, 8, 1, b"between the first two")
    report = compress_npy_logs(tmp_path, remove_sources=True, compress=False, verify_integrity=True)

    assert report.sources[8].payload_bytes == 70 * (1 << 20) + 21
    with LogArchiveReader(tmp_path / "8_log.npz") as reader:
        assert reader.timestamps.tolist() == [0, 1, *range(2, 140, 2)]
        got = [(time_stamp, payload[:1].tobytes(), payload.size) for time_stamp, payload in reader]
    assert got[1] == (1, b"b", 21)
    assert [item for index, item in enumerate(got) if index != 1] == [
        (time_stamp * 2, bytes([time_stamp]), 1 << 20) for time_stamp in range(70)
    ]


def test_worker_processes_archive_sources_in_parallel(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    expected = {}
    for source_id in (1, 2, 3):
        expected[source_id] = [(time_stamp, bytes([source_id, time_stamp])) for time_stamp in range(30)]
        for time_stamp, payload in expected[source_id]:
            write_entry(tmp_path, source_id, time_stamp, payload)

    report = compress_npy_logs(tmp_path, remove_sources=True, max_workers=2, verbose=True)

    assert sorted(report.sources) == [1, 2, 3]
    assert npy_files(tmp_path) == []
    for source_id, entries in expected.items():
        assert read_archive(tmp_path / f"{source_id}_log.npz") == entries


def test_verbose_shows_progress_bars(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for time_stamp in range(5):
        write_entry(tmp_path, 1, time_stamp, b"x")
    compress_npy_logs(tmp_path, remove_sources=True, verbose=True)
    errors = capsys.readouterr().err
    assert "Archiving log entries" in errors
    assert "Removing archived files" in errors


def test_leftovers_of_an_interrupted_compression_are_cleaned_up(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    leftover = tmp_path / ".1_log.npz.12345.tmp"
    leftover.write_bytes(b"half an archive")
    write_entry(tmp_path, 1, 1, b"entry")
    compress_npy_logs(tmp_path)
    assert not leftover.exists()
    assert read_archive(tmp_path / "1_log.npz") == [(1, b"entry")]


def test_a_damaged_archive_fails_its_source_and_leaves_everything_in_place(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    bad_archive = tmp_path / "1_log.npz"
    bad_archive.write_bytes(b"not a zip file")
    kept = write_entry(tmp_path, 1, 1, b"one")
    write_entry(tmp_path, 2, 1, b"two")

    with pytest.raises(LogCompressionError, match=r"source 1: ArchiveFormatError: .*1_log\.npz") as caught:
        compress_npy_logs(tmp_path, remove_sources=True)

    assert bad_archive.read_bytes() == b"not a zip file"
    assert kept.exists()
    assert list(caught.value.failures) == [1]
    assert caught.value.report.sources[2].entries_archived == 1
    assert read_archive(tmp_path / "2_log.npz") == [(1, b"two")]


def test_an_archive_named_for_another_source_is_not_merged(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 1, 1, b"one")
    compress_npy_logs(tmp_path, remove_sources=True)
    (tmp_path / "1_log.npz").rename(tmp_path / "2_log.npz")
    kept = write_entry(tmp_path, 2, 5, b"two")
    with pytest.raises(LogCompressionError, match="named for source 2 but holds source 1"):
        compress_npy_logs(tmp_path, remove_sources=True)
    assert kept.exists()
    with pytest.raises(ArchiveFormatError, match="named for source 2 but holds source 1"):
        read_logs(tmp_path, on_damage="raise")


def test_an_empty_directory_gives_an_empty_report(tmp_path: Path) -> None:
    report = compress_npy_logs(tmp_path)
    assert report.sources == {} and report.clean and report.log_directory == tmp_path


def test_a_missing_or_non_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        compress_npy_logs(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        compress_npy_logs(tmp_path / "file")


def test_thousands_of_entries_need_a_handful_of_descriptors(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    # A descriptor per entry would fail here: 32 descriptors must do for 1,500 entries.
    for time_stamp in range(1500):
        write_entry(tmp_path, time_stamp % 2, time_stamp, time_stamp.to_bytes(2, "little"))
    program = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))\n"
        "from ataraxis_datalogger import compress_npy_logs, read_logs\n"
        "compress_npy_logs(sys.argv[1], memory_mapping=True, verify_integrity=True, max_workers=1)\n"
        "compress_npy_logs(sys.argv[1], remove_sources=True, max_workers=1)\n"
        "readers = read_logs(sys.argv[1])\n"
        "print(sum(len(list(reader)) for reader in readers.values()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1500"
    assert npy_files(tmp_path) == []


batches = st.lists(
    st.lists(st.tuples(st.integers(0, 6), st.binary(max_size=12)), max_size=12),
    min_size=1,
    max_size=3,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches, remove_sources=st.booleans(), compress=st.booleans())
def test_any_sequence_of_logging_and_compressing_reads_back_in_order(
    write_entry: Callable[..., Path], batches: list[list[tuple[int, bytes]]], remove_sources: bool, compress: bool
) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        expected: list[tuple[int, int, int, bytes]] = []
        for batch_number, batch in enumerate(batches):
            for arrival, (time_stamp, payload) in enumerate(batch):
                # Name the entry as the logger would: the next free duplicate index for this timestamp.
                duplicate_index = 0
                while (directory / entry_file_name(0, time_stamp, duplicate_index)).exists():
                    duplicate_index += 1
                write_entry(directory, 0, time_stamp, payload, duplicate_index)
                expected.append((time_stamp, batch_number, arrival, payload))
            compress_npy_logs(directory, remove_sources=remove_sources, compress=compress)
        expected.sort()
        want = [(time_stamp, payload) for time_stamp, _, _, payload in expected]
        if want:
            assert read_archive(directory / "0_log.npz") == want
        readers = read_logs(directory)
        got = [] if not readers else [(stamp, payload.tobytes()) for stamp, payload in readers[0]]
        for reader in readers.values():
            reader.close()
        assert got == want
