"""Reading goes on past damage (or stops, if asked), never dies of a signal, and names the folder when files vanish."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import (
    DamagedLogFilesWarning,
    EntryFormatError,
    LogArchiveReader,
    LogFilesChangedError,
    compress_npy_logs,
    read_logs,
)
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

_TIMEOUT = 120


def write_entry(directory: Path, source_id: int, time_stamp: int, payload: bytes) -> Path:
    path = directory / entry_file_name(source_id, time_stamp)
    path.write_bytes(encode_entry_prefix(source_id, time_stamp, len(payload)) + payload)
    return path


def pairs(entries: object) -> list[tuple[int, bytes]]:
    return [(stamp, payload.tobytes()) for stamp, payload in entries]  # type: ignore[attr-defined]


@pytest.fixture
def one_damaged_entry(tmp_path: Path) -> Path:
    """Source 1: entries 1 and 3 are fine, entry 2 is damaged; entry 0 is archived."""
    write_entry(tmp_path, 1, 0, b"archived")
    compress_npy_logs(tmp_path, remove_sources=True)
    write_entry(tmp_path, 1, 1, b"before")
    (tmp_path / entry_file_name(1, 2)).write_bytes(b"not an entry")
    write_entry(tmp_path, 1, 3, b"after")
    return tmp_path


def test_reading_goes_on_past_a_damaged_entry_with_a_warning_naming_it(one_damaged_entry: Path) -> None:
    damaged = one_damaged_entry / entry_file_name(1, 2)
    [reader] = read_logs(one_damaged_entry).values()
    with reader, pytest.warns(DamagedLogFilesWarning, match=re.escape(str(damaged))) as caught:
        found = pairs(reader)
    assert found == [(0, b"archived"), (1, b"before"), (3, b"after")]
    assert len(caught) == 1
    assert "not a .npy file" in str(caught[0].message)
    assert damaged.read_bytes() == b"not an entry"


def test_on_damage_raise_stops_at_the_damaged_entry(one_damaged_entry: Path) -> None:
    damaged = one_damaged_entry / entry_file_name(1, 2)
    [reader] = read_logs(one_damaged_entry, on_damage="raise").values()
    with reader:
        entries = iter(reader)
        assert pairs([next(entries), next(entries)]) == [(0, b"archived"), (1, b"before")]
        with pytest.raises(EntryFormatError, match=re.escape(str(damaged))):
            next(entries)


@pytest.mark.parametrize("value", ["ignore", "", None, True])
def test_on_damage_must_be_warn_or_raise(tmp_path: Path, value: object) -> None:
    write_entry(tmp_path, 1, 1, b"x")
    with pytest.raises(ValueError, match=r"on_damage must be 'warn' or 'raise', got"):
        read_logs(tmp_path, on_damage=value)  # type: ignore[arg-type]
    compress_npy_logs(tmp_path)
    with pytest.raises(ValueError, match=r"on_damage must be 'warn' or 'raise', got"):
        LogArchiveReader(tmp_path / "1_log.npz", on_damage=value)  # type: ignore[arg-type]


def test_an_archive_that_cannot_be_opened_is_skipped_with_a_warning_or_raised(tmp_path: Path) -> None:
    (tmp_path / "1_log.npz").write_bytes(b"not an archive")
    write_entry(tmp_path, 1, 5, b"loose")
    write_entry(tmp_path, 2, 5, b"other source")
    with pytest.warns(DamagedLogFilesWarning, match=re.escape(str(tmp_path / "1_log.npz"))):
        readers = read_logs(tmp_path)
    found = {source: pairs(reader) for source, reader in readers.items()}
    assert found == {1: [(5, b"loose")], 2: [(5, b"other source")]}
    for reader in readers.values():
        reader.close()
    from ataraxis_datalogger import ArchiveFormatError

    with pytest.raises(ArchiveFormatError, match="is not a readable log archive"):
        read_logs(tmp_path, on_damage="raise")


TRUNCATE_WHILE_READING = """
import os, sys
from ataraxis_datalogger import ArchiveFormatError, LogArchiveReader
path = sys.argv[1]
with LogArchiveReader(path, on_damage="raise") as reader:
    entries = iter(reader)
    first = next(entries)
    os.truncate(path, 4096)
    try:
        count = 1 + sum(1 for _ in entries)
        print("read", count)
    except ArchiveFormatError as error:
        print("error", error)
"""


@pytest.mark.parametrize("compress", [False, True])
def test_an_archive_truncated_under_a_reader_raises_and_never_kills_it(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(5)
    for time_stamp in range(300):  # random payloads: the deflated archive is as large as the stored one
        write_entry(tmp_path, 1, time_stamp, rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    compress_npy_logs(tmp_path, remove_sources=True, compress=compress)
    result = subprocess.run(
        [sys.executable, "-c", TRUNCATE_WHILE_READING, str(tmp_path / "1_log.npz")],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"the reader died with {result.returncode}: {result.stderr}"
    assert result.stdout.startswith("error ") and "1_log.npz" in result.stdout, result.stdout


COMPRESS_AND_REMOVE = """
import sys
from ataraxis_datalogger import compress_npy_logs
if __name__ == "__main__":
    compress_npy_logs(sys.argv[1], remove_sources=True, max_workers=1)
"""


def test_a_reader_whose_files_are_archived_and_removed_under_it_names_the_folder(fast_directory: Path) -> None:
    count = 3_000
    for time_stamp in range(count):
        write_entry(fast_directory, 4, time_stamp, time_stamp.to_bytes(4, "little"))
    expected = [(time_stamp, time_stamp.to_bytes(4, "little")) for time_stamp in range(count)]
    [reader] = read_logs(fast_directory).values()
    compressor = subprocess.Popen([sys.executable, "-c", COMPRESS_AND_REMOVE, str(fast_directory)])
    found: list[tuple[int, bytes]] = []
    try:
        with reader, warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                for time_stamp, payload in reader:
                    found.append((time_stamp, payload.tobytes()))
            except LogFilesChangedError as error:
                assert str(fast_directory) in str(error)
                assert "read_logs" in str(error)
    finally:
        assert compressor.wait(timeout=_TIMEOUT) == 0
    # Whatever was read before the error is right; read again, everything is there, from the archive.
    assert found == expected[: len(found)]
    [again] = read_logs(fast_directory).values()
    with again:
        assert pairs(again) == expected


def test_a_reader_raises_the_packages_error_once_its_files_are_gone(tmp_path: Path) -> None:
    for time_stamp in range(5):
        write_entry(tmp_path, 4, time_stamp, b"x")
    [reader] = read_logs(tmp_path).values()
    entries = iter(reader)
    next(entries)
    result = subprocess.run([sys.executable, "-c", COMPRESS_AND_REMOVE, str(tmp_path)], timeout=_TIMEOUT, check=False)
    assert result.returncode == 0
    with reader, pytest.raises(LogFilesChangedError, match=re.escape(str(tmp_path))):
        next(entries)


def test_an_entry_file_longer_than_its_header_says_is_damaged(tmp_path: Path) -> None:
    # A flipped bit in the shape of the .npy header makes the array shorter than the file: NumPy reads the shorter
    # array and ignores the rest, which would hand out a cut payload as the entry.
    path = write_entry(tmp_path, 1, 5, b"a payload")
    data = path.read_bytes()
    shape = f"({9 + 9},)".encode()
    path.write_bytes(data.replace(shape, f"({9 + 1},)".encode().ljust(len(shape))))
    [reader] = read_logs(tmp_path).values()
    with reader, pytest.warns(DamagedLogFilesWarning, match=r"8 bytes after the array its header declares"):
        assert pairs(reader) == []
    with pytest.warns(DamagedLogFilesWarning, match="damaged or foreign"):
        report = compress_npy_logs(tmp_path, remove_sources=True)
    assert [damaged.path for damaged in report.damaged_files] == [path] and path.exists()
    assert report.entries_archived == 0
