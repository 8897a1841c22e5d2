"""Archive format 2: every byte an archive holds is checked when read; corruption raises ArchiveFormatError.

The golden files of each format version are tested in `test_golden_files.py`.
"""

import random
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import (
    ArchiveFormatError,
    DamagedLogFilesWarning,
    LogArchiveReader,
    LogCompressionError,
    compress_npy_logs,
    inspect_logs,
    read_logs,
)
from ataraxis_datalogger._format.archive import CHECKSUM_BLOCK_BYTES
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

GOLDEN = Path(__file__).parent / "golden"


def write_entry(directory: Path, source_id: int, time_stamp: int, payload: bytes, duplicate_index: int = 0) -> Path:
    path = directory / entry_file_name(source_id, time_stamp, duplicate_index)
    path.write_bytes(encode_entry_prefix(source_id, time_stamp, len(payload)) + payload)
    return path


def pairs(entries: object) -> list[tuple[int, bytes]]:
    return [(stamp, payload.tobytes()) for stamp, payload in entries]  # type: ignore[attr-defined]


def read_everything(path: Path) -> tuple[int, list[tuple[int, bytes]], list[list[int]]]:
    """Everything a reader can get out of an archive: source, entries, file records; raises on any damage."""
    with LogArchiveReader(path, on_damage="raise") as reader:
        entries = pairs(reader)
        archive = reader._source.archive
        assert archive is not None
        records = [column.tolist() for column in archive.file_records()]
        return reader.source_id, entries, records


def test_the_checksums_cover_the_payload_member_in_blocks(tmp_path: Path) -> None:
    payloads = [bytes([index % 251]) * 1000 for index in range(300)]
    for time_stamp, payload in enumerate(payloads):
        write_entry(tmp_path, 2, time_stamp, payload)
    compress_npy_logs(tmp_path, compress=False)
    with zipfile.ZipFile(tmp_path / "2_log.npz") as archive:
        member = archive.read("payloads.npy")
        checksums = np.lib.format.read_array(archive.open("payload_checksums.npy"))
    assert checksums.dtype == np.uint32
    block = CHECKSUM_BLOCK_BYTES
    expected = [zlib.crc32(member[start : start + block]) for start in range(0, len(member), block)]
    assert checksums.tolist() == expected


def small_archive(directory: Path, compress: bool) -> Path:
    for time_stamp in range(6):
        write_entry(directory, 3, time_stamp, bytes([time_stamp]) * (time_stamp * 7))
    write_entry(directory, 3, 4, b"tie", 1)
    compress_npy_logs(directory, compress=compress)
    for path in directory.glob("*.npy"):
        path.unlink()
    return directory / "3_log.npz"


@pytest.mark.slow
@pytest.mark.parametrize("compress", [False, True], ids=["stored", "deflated"])
def test_every_flipped_bit_is_detected_or_harmless(tmp_path: Path, compress: bool) -> None:
    """Flip one bit of every byte in turn: reading raises ArchiveFormatError or returns exactly the original."""
    path = small_archive(tmp_path, compress)
    original = path.read_bytes()
    expected = read_everything(path)
    rng = random.Random(f"flip-{compress}")
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        try:
            found = read_everything(path)
        except ArchiveFormatError:
            found = None
        assert found in (None, expected), f"byte {position}: the damage read back as other data"
        summary = inspect_logs(tmp_path, verify=True)
        assert summary.clean == (found is not None), f"byte {position}: inspect --verify disagrees with reading"


@pytest.mark.slow
def test_v1_archives_raise_only_the_packages_error_whatever_byte_is_flipped(tmp_path: Path) -> None:
    path = tmp_path / "7_log.npz"
    original = (GOLDEN / "archive_v1_deflated" / "7_log.npz").read_bytes()
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 0x10
        path.write_bytes(bytes(damaged))
        try:
            read_everything(path)
        except ArchiveFormatError:
            pass


def flip_payload_byte(path: Path, data_offset: int) -> None:
    """Flips one payload byte of a stored archive (data_offset counts from the first payload byte)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("payloads.npy")
    data = bytearray(path.read_bytes())
    local_name = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    local_extra = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + local_name + local_extra + 128
    data[start + data_offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def big_stored_archive(tmp_path: Path) -> Path:
    """300 entries of 1000 bytes (about 5 checksum blocks), stored."""
    for time_stamp in range(300):
        write_entry(tmp_path, 2, time_stamp, bytes([time_stamp % 251]) * 1000)
    compress_npy_logs(tmp_path, remove_sources=True, compress=False)
    return tmp_path / "2_log.npz"


def test_a_flipped_payload_byte_is_skipped_with_a_warning_or_raised(big_stored_archive: Path) -> None:
    flip_payload_byte(big_stored_archive, 150_500)  # in the third block of 64 KiB
    with LogArchiveReader(big_stored_archive) as reader:
        with pytest.warns(DamagedLogFilesWarning, match=re.escape(str(big_stored_archive))) as caught:
            found = pairs(reader)
        assert len(caught) == 1
        lost = sorted(set(range(300)) - {time_stamp for time_stamp, _ in found})
        # The entries that overlap the damaged block (and only those) are skipped.
        block_start, block_end = 2 * CHECKSUM_BLOCK_BYTES - 128, 3 * CHECKSUM_BLOCK_BYTES - 128
        assert lost == [stamp for stamp in range(300) if stamp * 1000 < block_end and (stamp + 1) * 1000 > block_start]
        assert all(payload == bytes([stamp % 251]) * 1000 for stamp, payload in found)
        assert f"{len(lost)} entries" in str(caught[0].message)
    with pytest.raises(ArchiveFormatError, match="checksum"):
        with LogArchiveReader(big_stored_archive, on_damage="raise") as reader:
            pairs(reader.between(140, 160))


def test_inspect_finds_payload_damage_only_when_asked_to_verify(big_stored_archive: Path) -> None:
    flip_payload_byte(big_stored_archive, 10)
    assert inspect_logs(big_stored_archive.parent).clean
    summary = inspect_logs(big_stored_archive.parent, verify=True)
    [damaged] = summary.damaged_files
    assert damaged.path == big_stored_archive
    assert "checksum" in damaged.reason


def test_compressing_onto_a_damaged_archive_fails_its_source_and_changes_nothing(big_stored_archive: Path) -> None:
    flip_payload_byte(big_stored_archive, 70_000)
    before = big_stored_archive.read_bytes()
    kept = write_entry(big_stored_archive.parent, 2, 1000, b"new")
    with pytest.raises(LogCompressionError, match="checksum"):
        compress_npy_logs(big_stored_archive.parent, remove_sources=True)
    assert big_stored_archive.read_bytes() == before
    assert kept.exists()


def test_compress_lists_a_damaged_archive_of_a_source_without_entries(big_stored_archive: Path) -> None:
    data = bytearray(big_stored_archive.read_bytes())
    data[60] ^= 0x01  # inside the first member (the format version)
    big_stored_archive.write_bytes(bytes(data))
    with pytest.warns(DamagedLogFilesWarning, match=re.escape(str(big_stored_archive))):
        report = compress_npy_logs(big_stored_archive.parent)
    assert [damaged.path for damaged in report.damaged_files] == [big_stored_archive]
    assert not report.clean
    assert report.sources == {}


def test_compress_verify_checks_the_payloads_of_archives_it_does_not_rewrite(big_stored_archive: Path) -> None:
    flip_payload_byte(big_stored_archive, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compress_npy_logs(big_stored_archive.parent).clean
    with pytest.warns(DamagedLogFilesWarning):
        report = compress_npy_logs(big_stored_archive.parent, verify_integrity=True)
    assert [damaged.path for damaged in report.damaged_files] == [big_stored_archive]


def test_read_logs_reads_a_damaged_archive_past_its_damage(big_stored_archive: Path) -> None:
    flip_payload_byte(big_stored_archive, 0)
    readers = read_logs(big_stored_archive.parent)
    with readers[2] as reader, pytest.warns(DamagedLogFilesWarning, match="checksum"):
        found = pairs(reader)
    assert [stamp for stamp, _ in found] == list(range(66, 300))
