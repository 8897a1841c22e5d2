"""Damaged and foreign files: reported by name, kept, never archived, never removed; the rest is archived."""

import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import DamagedLogFilesWarning, LogArchiveReader, compress_npy_logs
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name


def saved(array: np.ndarray) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


DAMAGE = {
    "truncated": (encode_entry_prefix(3, 1, 10) + b"12345", "not a .npy file"),
    "not numpy": (b"just some text, not an array", "not a .npy file"),
    "empty": (b"", "not a .npy file"),
    "wrong dtype": (saved(np.zeros(12, dtype=np.float64)), "expected a one-dimensional uint8 array"),
    "two dimensions": (saved(np.zeros((3, 12), dtype=np.uint8)), "expected a one-dimensional uint8 array"),
    "too short": (saved(np.zeros(4, dtype=np.uint8)), "at least 9"),
    "other source": (encode_entry_prefix(4, 1, 2) + b"ab", "the name says source 3 but the content says source 4"),
    "other timestamp": (encode_entry_prefix(3, 2, 2) + b"ab", "the name says timestamp 1 but the content says"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_entry_is_reported_kept_and_the_rest_archived(
    write_entry: Callable[..., Path], tmp_path: Path, kind: str
) -> None:
    content, reason = DAMAGE[kind]
    damaged = tmp_path / entry_file_name(3, 1)
    damaged.write_bytes(content)
    write_entry(tmp_path, 3, 0, b"before")
    write_entry(tmp_path, 3, 2, b"after")
    write_entry(tmp_path, 5, 1, b"other source")

    with pytest.warns(DamagedLogFilesWarning, match=re.escape(str(damaged))):
        report = compress_npy_logs(tmp_path, remove_sources=True, verify_integrity=True)

    assert damaged.read_bytes() == content
    assert sorted(path.name for path in tmp_path.glob("*.npy")) == [damaged.name]
    [found] = report.damaged_files
    assert found.path == damaged
    assert reason in found.reason
    assert report.sources[3].damaged_files == (found,)
    assert report.sources[3].entries_archived == 2
    assert not report.clean
    with LogArchiveReader(tmp_path / "3_log.npz") as reader:
        assert [(stamp, payload.tobytes()) for stamp, payload in reader] == [(0, b"before"), (2, b"after")]


def test_a_damaged_file_stays_reported_on_every_run(tmp_path: Path) -> None:
    damaged = tmp_path / entry_file_name(1, 1)
    damaged.write_bytes(b"garbage")
    for _ in range(2):
        with pytest.warns(DamagedLogFilesWarning, match="1 damaged or foreign"):
            report = compress_npy_logs(tmp_path, remove_sources=True)
        assert report.sources[1].archive_path is None
        assert report.sources[1].entries_total == 0
    assert damaged.exists()
    assert not (tmp_path / "1_log.npz").exists()


def test_foreign_npy_files_are_reported_and_kept_other_files_ignored(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    arabic_indic_digits = "\u0660\u0660\u0661_00000000000000000001.npy"  # isdigit() but not an entry name
    names = ["notes.npy", "1_2.npy", "001_00000000000000000001_x.npy", "300_00000000000000000001.npy"]
    names.append(arabic_indic_digits)
    foreign = [tmp_path / name for name in names]
    for path in foreign:
        path.write_bytes(saved(np.arange(3, dtype=np.uint8)))
    foreign.append(tmp_path / "folder.npy")
    foreign[-1].mkdir()
    others = [tmp_path / name for name in ("README.txt", "settings.yaml", "old.npz", ".001_00000000000000000009.npy")]
    for path in others:
        path.write_text("not mine")
    write_entry(tmp_path, 1, 1, b"entry")

    with pytest.warns(DamagedLogFilesWarning, match="6 damaged or foreign") as caught:
        report = compress_npy_logs(tmp_path, remove_sources=True)

    message = str(caught[0].message)
    assert all(str(path) in message for path in foreign)
    assert not any(str(path) in message for path in others)
    assert report.foreign_files == tuple(sorted(foreign))
    assert all(path.exists() for path in foreign + others)
    assert list(report.sources) == [1]
    assert report.sources[1].entries_archived == 1


def test_the_warning_names_ten_files_and_counts_the_rest(tmp_path: Path) -> None:
    for time_stamp in range(13):
        (tmp_path / entry_file_name(2, time_stamp)).write_bytes(b"bad")
    with pytest.warns(DamagedLogFilesWarning, match=r"13 damaged or foreign .* and 3 more") as caught:
        report = compress_npy_logs(tmp_path)
    assert str(caught[0].message).count("002_000") == 10
    assert len(report.damaged_files) == 13


def test_a_directory_named_like_an_entry_is_foreign(tmp_path: Path) -> None:
    folder = tmp_path / entry_file_name(1, 1)
    folder.mkdir()
    for memory_mapping in (False, True):
        with pytest.warns(DamagedLogFilesWarning, match=re.escape(str(folder))):
            report = compress_npy_logs(tmp_path, memory_mapping=memory_mapping)
        assert report.foreign_files == (folder,)
        assert report.damaged_files == ()
    assert folder.is_dir()


def test_entries_with_a_foreign_but_valid_npy_header_are_archived(tmp_path: Path) -> None:
    body = np.frombuffer(bytes([6]) + (77).to_bytes(8, "little") + b"version two header", dtype=np.uint8)
    with (tmp_path / entry_file_name(6, 77)).open("wb") as file:
        np.lib.format.write_array(file, body, version=(2, 0))
    report = compress_npy_logs(tmp_path, remove_sources=True)
    assert report.clean
    with LogArchiveReader(tmp_path / "6_log.npz") as reader:
        assert [(stamp, payload.tobytes()) for stamp, payload in reader] == [(77, b"version two header")]
