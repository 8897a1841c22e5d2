"""The committed golden files of each on-disk format version still read back, and are still what the writers write.

`golden/` holds two entry files (a pair sharing a source and timestamp) and the same archive in each format version
(1 and 2), deflated and stored, built by `build_golden_files` below (see `golden/README.md`). Reading them checks
every entry, so a reader that stops reading a released format fails here; building the current version's files
again with the current writers and comparing checks that the writers still write that format, so a format change
cannot pass unnoticed.

Run this file as a script to write the golden files of a new format version (existing folders are never rebuilt).
"""

import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import LogArchiveReader, LogPackage, compress_npy_logs, inspect_logs, read_logs
from ataraxis_datalogger._format.archive import CHECKSUM_BLOCK_BYTES, FORMAT_VERSION
from ataraxis_datalogger._format.entry import decode_entry, entry_file_name

GOLDEN = Path(__file__).parent / "golden"
SOURCE_ID = 7
FILE_MTIME_NS = 1_700_000_000_123_456_789
"""The modification time given to the entry files of the second compression, which the archive records."""
LARGE_PAYLOAD = bytes((index * 7) % 251 for index in range(3000))

FIRST_RUN = [  # (timestamp, duplicate index, payload): archived by the first compression
    (0, 0, b""),
    (5, 0, b"tie: first"),
    (5, 1, b"tie: second"),
    (9, 0, LARGE_PAYLOAD),
    (2**64 - 1, 0, b"the largest timestamp"),
]
SECOND_RUN = [  # logged after the first compression removed its files, merged by the second
    (5, 0, b"tie: logged after the first compression"),
    (7, 0, b"between"),
]
EXPECTED = [  # the reading order: timestamp order, archived entries first among ties, then arrival order
    (0, b""),
    (5, b"tie: first"),
    (5, b"tie: second"),
    (5, b"tie: logged after the first compression"),
    (7, b"between"),
    (9, LARGE_PAYLOAD),
    (2**64 - 1, b"the largest timestamp"),
]
EXPECTED_FILE_MTIMES = [0, 0, 0, FILE_MTIME_NS, FILE_MTIME_NS, 0, 0]
EXPECTED_FILE_DUPLICATES = [0, 0, 1, 0, 0, 0, 0]
MEMBERS_V1 = ["format_version", "source_id", "timestamps", "offsets", "file_mtimes", "file_duplicates", "payloads"]
MEMBERS = {1: MEMBERS_V1, 2: [*MEMBERS_V1, "payload_checksums"]}
"""The members of each format version, in the order they are written."""

ENTRY_PAIR = [(5, 0, b"tie: first"), (5, 1, b"tie: second")]
ARCHIVES = {
    f"archive_v{version}_{layout}": (version, layout == "deflated")
    for version in MEMBERS
    for layout in ("deflated", "stored")
}
"""Each golden archive folder: its format version, and whether its members are deflated."""
CURRENT = [name for name, (version, _) in ARCHIVES.items() if version == FORMAT_VERSION]
"""The folders the current writers must still write byte for byte (in content)."""


def _write_entries(directory: Path, entries: list[tuple[int, int, bytes]], mtime_ns: int | None = None) -> None:
    for time_stamp, duplicate_index, payload in entries:
        path = directory / entry_file_name(SOURCE_ID, time_stamp, duplicate_index)
        path.write_bytes(LogPackage(SOURCE_ID, time_stamp, payload).entry_bytes)
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))


def build_golden_files(target: Path) -> list[Path]:
    """Builds the current version's golden files under `target` with the current writers (the layout of `golden/`).

    Folders that already exist are left as they are. Returns the folders written.
    """
    written = []
    entries = target / "entries_v1"
    if not entries.exists():
        entries.mkdir(parents=True)
        _write_entries(entries, ENTRY_PAIR)
        written.append(entries)
    for name in CURRENT:
        compress = ARCHIVES[name][1]
        directory = target / name
        if directory.exists():
            continue
        directory.mkdir(parents=True)
        written.append(directory)
        _write_entries(directory, FIRST_RUN)
        compress_npy_logs(directory, remove_sources=True, compress=compress, max_workers=1)
        _write_entries(directory, SECOND_RUN, mtime_ns=FILE_MTIME_NS)
        compress_npy_logs(directory, remove_sources=True, compress=compress, max_workers=1)
    return written


def _members(path: Path) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_the_golden_archive_reads_back_entry_by_entry(name: str) -> None:
    path = GOLDEN / name / f"{SOURCE_ID}_log.npz"
    with LogArchiveReader(path) as reader:
        assert reader.source_id == SOURCE_ID
        assert [(time_stamp, payload.tobytes()) for time_stamp, payload in reader] == EXPECTED
        assert [payload.tobytes() for _, payload in reader.between(5, 6)] == [payload for _, payload in EXPECTED[1:4]]
    readers = read_logs(GOLDEN / name)
    assert list(readers) == [SOURCE_ID]
    with readers[SOURCE_ID] as reader:
        assert [(time_stamp, payload.tobytes()) for time_stamp, payload in reader] == EXPECTED
    summary = inspect_logs(GOLDEN / name, verify=True)
    assert summary.clean
    assert summary.sources[SOURCE_ID].archived_entries == len(EXPECTED)
    assert summary.sources[SOURCE_ID].archive_format_version == ARCHIVES[name][0]


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_the_golden_archive_holds_the_documented_members(name: str) -> None:
    path = GOLDEN / name / f"{SOURCE_ID}_log.npz"
    version, deflated = ARCHIVES[name]
    with zipfile.ZipFile(path) as archive:
        assert [info.filename for info in archive.infolist()] == [f"{member}.npy" for member in MEMBERS[version]]
        expected_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
        assert {info.compress_type for info in archive.infolist()} == {expected_type}
        payload_member = archive.read("payloads.npy")
    members = _members(path)
    assert members["format_version"].dtype == np.uint16 and members["format_version"].shape == ()
    assert int(members["format_version"]) == version
    if version >= 2:
        # One CRC-32 per block of the payload member, its .npy header included.
        checksums = members["payload_checksums"]
        assert checksums.dtype == np.uint32
        blocks = range(0, len(payload_member), CHECKSUM_BLOCK_BYTES)
        assert checksums.tolist() == [
            zlib.crc32(payload_member[start : start + CHECKSUM_BLOCK_BYTES]) for start in blocks
        ]
    assert members["source_id"].dtype == np.uint8 and int(members["source_id"]) == SOURCE_ID
    assert members["timestamps"].dtype == np.uint64
    assert members["timestamps"].tolist() == [time_stamp for time_stamp, _ in EXPECTED]
    lengths = [len(payload) for _, payload in EXPECTED]
    assert members["offsets"].dtype == np.uint64
    assert members["offsets"].tolist() == np.concatenate(([0], np.cumsum(lengths))).tolist()
    assert members["payloads"].dtype == np.uint8
    assert members["payloads"].tobytes() == b"".join(payload for _, payload in EXPECTED)
    assert members["file_mtimes"].dtype == np.uint64 and members["file_mtimes"].tolist() == EXPECTED_FILE_MTIMES
    assert members["file_duplicates"].dtype == np.uint64
    assert members["file_duplicates"].tolist() == EXPECTED_FILE_DUPLICATES


def test_the_golden_entry_files_decode_and_are_what_numpy_save_writes(tmp_path: Path) -> None:
    for time_stamp, duplicate_index, payload in ENTRY_PAIR:
        content = (GOLDEN / "entries_v1" / entry_file_name(SOURCE_ID, time_stamp, duplicate_index)).read_bytes()
        entry = decode_entry(content)
        assert (entry.source_id, entry.time_stamp, bytes(entry.payload)) == (SOURCE_ID, time_stamp, payload)
        array = np.load(GOLDEN / "entries_v1" / entry_file_name(SOURCE_ID, time_stamp, duplicate_index))
        prefix = np.frombuffer(bytes([SOURCE_ID]) + time_stamp.to_bytes(8, "little"), dtype=np.uint8)
        assert array.tobytes() == prefix.tobytes() + payload
        saved = tmp_path / "saved.npy"
        np.save(saved, array)
        assert saved.read_bytes() == content
    with read_logs(GOLDEN / "entries_v1")[SOURCE_ID] as reader:
        assert [(time_stamp, payload.tobytes()) for time_stamp, payload in reader] == [
            (time_stamp, payload) for time_stamp, _, payload in ENTRY_PAIR
        ]


def test_the_writers_still_write_the_golden_files(tmp_path: Path) -> None:
    build_golden_files(tmp_path)
    for time_stamp, duplicate_index, _ in ENTRY_PAIR:
        name = entry_file_name(SOURCE_ID, time_stamp, duplicate_index)
        assert (tmp_path / "entries_v1" / name).read_bytes() == (GOLDEN / "entries_v1" / name).read_bytes()
    assert CURRENT, f"no golden archive of the current format version {FORMAT_VERSION}: write them (see README)"
    for name in CURRENT:
        written, golden = tmp_path / name / f"{SOURCE_ID}_log.npz", GOLDEN / name / f"{SOURCE_ID}_log.npz"
        with zipfile.ZipFile(written) as new, zipfile.ZipFile(golden) as old:
            # The zip layer stamps each member with the time of writing; everything else must be the same.
            assert [(info.filename, info.compress_type) for info in new.infolist()] == [
                (info.filename, info.compress_type) for info in old.infolist()
            ]
            for info in old.infolist():
                assert new.read(info.filename) == old.read(info.filename), info.filename


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN
    folders = build_golden_files(target)
    if not folders:
        sys.exit(f"{target} already holds every golden file of this version: golden files are never rebuilt")
    print("golden files written:", ", ".join(str(folder) for folder in folders))
