"""Archives written by the real ataraxis-data-structures 3.1.1 (golden/archive_3x_*) are read, and merged into new ones.

3.x wrote one member per entry, named like the entry file. The golden folders were made by 3.1.1's own DataLogger
and compress_npy_logs (see golden/README.md); each test works on a copy.
"""

import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import (
    ArchiveFormatError,
    DamagedLogFilesWarning,
    LogArchiveReader,
    LogCompressionError,
    LogPackage,
    compress_npy_logs,
    inspect_logs,
    read_logs,
)
from ataraxis_datalogger._format.entry import entry_file_name

GOLDEN = Path(__file__).parent / "golden"

ENTRIES = {
    1: [(0, b""), (5, b"first at 5"), (7, b"seven"), (9, bytes(range(256)) * 12), (2**64 - 1, b"last")],
    2: [(3, b"source two")],
}
"""What 3.1.1 logged into the golden folders (`ENTRIES` of scripts/make_3x_golden_archives.py)."""

ARCHIVED_AT = 1_700_000_000_000_000_000
"""The modification time the tests give the copied 3.x archives (git keeps none)."""


def copy_golden(name: str, tmp_path: Path, *, entry_files_older: bool = True) -> Path:
    """Copies a golden 3.x folder; its entry files get a modification time before (or after) their archive's."""
    folder = tmp_path / name
    shutil.copytree(GOLDEN / name, folder)
    for path in folder.iterdir():
        if path.suffix == ".npz":
            os.utime(path, ns=(ARCHIVED_AT, ARCHIVED_AT))
        else:
            moment = ARCHIVED_AT - 10**9 if entry_files_older else ARCHIVED_AT + 10**9
            os.utime(path, ns=(moment, moment))
    return folder


def read_all(folder: Path) -> dict[int, list[tuple[int, bytes]]]:
    readers = read_logs(folder)
    result = {}
    for source_id, reader in readers.items():
        with reader:
            result[source_id] = [(time_stamp, payload.tobytes()) for time_stamp, payload in reader]
    return result


def put_entry(folder: Path, source_id: int, time_stamp: int, payload: bytes, duplicate_index: int = 0) -> None:
    path = folder / entry_file_name(source_id, time_stamp, duplicate_index)
    path.write_bytes(LogPackage(source_id, time_stamp, payload).entry_bytes)


@pytest.mark.parametrize("name", ["archive_3x_deflated", "archive_3x_stored"])
def test_read_logs_reads_3x_archives_each_entry_once(name: str, tmp_path: Path) -> None:
    folder = copy_golden(name, tmp_path)
    # The stored folder also holds the six entry files 3.x archived and left in place: read from the archive only.
    assert read_all(folder) == ENTRIES
    with LogArchiveReader(folder / "1_log.npz") as reader:
        assert reader.archive_path == folder / "1_log.npz"
        assert reader.timestamps.tolist() == [time_stamp for time_stamp, _ in ENTRIES[1]]
        assert [(stamp, payload.tobytes()) for stamp, payload in reader.between(5, 9)] == ENTRIES[1][1:3]
    summary = inspect_logs(folder, verify=True)
    assert summary.clean
    copies = 5 if name.endswith("stored") else 0
    assert [
        (source.archived_entries, source.pending_entries, source.archived_copies, source.archive_format_version)
        for source in summary.sources.values()
    ] == [(5, 0, copies, 0), (1, 0, copies // 5, 0)]


def test_a_3x_entry_logged_with_a_wide_source_id_reads_as_logged(tmp_path: Path) -> None:
    # 3.x wrote the two bytes of np.uint16(3) where one was expected, shifting the timestamp by a byte.
    folder = copy_golden("archive_3x_wide_source_id", tmp_path)
    with zipfile.ZipFile(folder / "3_log.npz") as archive:
        member = np.load(archive.open("003_00000000000000000011.npy"))
    assert member.tobytes() == b"\x03\x00" + (11).to_bytes(8, "little") + b"wide id"
    assert read_all(folder) == {3: [(11, b"wide id")]}


def test_a_3x_entry_file_with_a_wide_source_id_reads_and_archives_as_logged(tmp_path: Path) -> None:
    # The file 3.x wrote before archiving it: the same array, saved by numpy.save.
    with zipfile.ZipFile(GOLDEN / "archive_3x_wide_source_id" / "3_log.npz") as archive:
        array = np.load(archive.open("003_00000000000000000011.npy"))
    np.save(tmp_path / "003_00000000000000000011.npy", array)
    assert read_all(tmp_path) == {3: [(11, b"wide id")]}
    assert compress_npy_logs(tmp_path, remove_sources=True, max_workers=1).clean
    assert read_all(tmp_path) == {3: [(11, b"wide id")]}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["3_log.npz"]


def test_compressing_new_entries_merges_a_3x_archive_into_a_columnar_one(tmp_path: Path) -> None:
    folder = copy_golden("archive_3x_deflated", tmp_path)
    legacy_two = (folder / "2_log.npz").read_bytes()
    put_entry(folder, 1, 5, b"new tie at 5")
    put_entry(folder, 1, 6, b"six")

    report = compress_npy_logs(folder, remove_sources=True, verify_integrity=True, max_workers=1)

    assert (report.sources[1].entries_archived, report.sources[1].entries_total, report.files_removed) == (2, 7, 2)
    with zipfile.ZipFile(folder / "1_log.npz") as archive:
        assert "format_version.npy" in archive.namelist()
    # The archived entry comes first among equal timestamps; source 2 had nothing new: its 3.x archive is untouched.
    expected = [*ENTRIES[1][:2], (5, b"new tie at 5"), (6, b"six"), *ENTRIES[1][2:]]
    assert read_all(folder) == {1: expected, 2: ENTRIES[2]}
    assert (folder / "2_log.npz").read_bytes() == legacy_two
    assert sorted(path.name for path in folder.iterdir()) == ["1_log.npz", "2_log.npz"]


def test_compressing_removes_the_entry_files_a_3x_archive_holds(tmp_path: Path) -> None:
    folder = copy_golden("archive_3x_stored", tmp_path)
    archives = {path.name: path.read_bytes() for path in folder.glob("*.npz")}

    report = compress_npy_logs(folder, remove_sources=True, max_workers=1)

    assert (report.entries_archived, report.files_removed) == (0, 6)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == archives
    assert read_all(folder) == ENTRIES


def test_a_3x_entry_file_newer_than_its_archive_is_archived_again_never_dropped(tmp_path: Path) -> None:
    # Copied without its modification times, a file 3.x left beside its archive may be a new entry: it is kept.
    folder = copy_golden("archive_3x_stored", tmp_path, entry_files_older=False)

    report = compress_npy_logs(folder, remove_sources=True, max_workers=1)

    assert (report.entries_archived, report.files_removed) == (6, 6)
    twice = {source: [entry for entry in entries for _ in range(2)] for source, entries in ENTRIES.items()}
    assert read_all(folder) == twice


def _flip_payload_byte(archive: Path, member: str, payload: bytes) -> None:
    """Flips a byte of one member's payload in a stored 3.x archive, in place."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zipped:
        info = zipped.getinfo(member)
    where = data.index(payload, info.header_offset)
    data[where] ^= 0xFF
    archive.write_bytes(bytes(data))


def test_a_damaged_3x_member_costs_its_entry_alone_and_is_never_merged(tmp_path: Path) -> None:
    folder = copy_golden("archive_3x_stored", tmp_path)
    for path in folder.glob("*.npy"):
        path.unlink()
    _flip_payload_byte(folder / "1_log.npz", "001_00000000000000000007.npy", b"seven")

    readers = read_logs(folder)
    with readers[1] as reader, pytest.warns(DamagedLogFilesWarning, match="001_00000000000000000007.npy"):
        entries = [(time_stamp, payload.tobytes()) for time_stamp, payload in reader]
    readers[2].close()
    assert entries == [entry for entry in ENTRIES[1] if entry[0] != 7]
    assert not inspect_logs(folder, verify=True).clean

    damaged_archive = (folder / "1_log.npz").read_bytes()
    put_entry(folder, 1, 8, b"eight")
    # Checked whole before its entries are copied: the source fails and keeps its archive and files as they were.
    with pytest.raises(LogCompressionError, match=re.escape("the member 001_00000000000000000007.npy is damaged")):
        compress_npy_logs(folder, remove_sources=True, max_workers=1)
    assert (folder / "1_log.npz").read_bytes() == damaged_archive
    assert (folder / entry_file_name(1, 8)).exists()


def test_a_3x_member_holding_another_entry_than_its_name_makes_the_archive_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "4_log.npz"
    np.savez(path, **{"004_00000000000000000001": np.frombuffer(b"\x04" + (2).to_bytes(8, "little"), np.uint8)})
    with pytest.raises(
        ArchiveFormatError, match=re.escape("004_00000000000000000001.npy does not hold source 4 and timestamp 1")
    ):
        LogArchiveReader(path)
    mixed = tmp_path / "5_log.npz"
    np.savez(mixed, **{f"00{source}_00000000000000000001": np.zeros(9, np.uint8) for source in (5, 6)})
    with pytest.raises(ArchiveFormatError, match=r"not a 3\.x log archive of one source: it holds sources 5, 6"):
        LogArchiveReader(mixed)
