import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import LogPackage
from ataraxis_datalogger._files.entry_creator import EntryCreator


@pytest.fixture(params=["anonymous", "temporary name"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EntryCreator]:
    """An EntryCreator on an empty folder, in each of its two ways of creating files."""
    entry_files = EntryCreator(tmp_path)
    if request.param == "temporary name":
        entry_files.anonymous = False
    elif not entry_files.anonymous:
        pytest.skip("O_TMPFILE is not available here")
    yield entry_files
    entry_files.close()


def _write(files: EntryCreator, source_id: int, time_stamp: int, data: bytes) -> str:
    return files.write(source_id, time_stamp, LogPackage(source_id, time_stamp, data).entry_bytes)


def test_an_entry_is_a_complete_npy_file_with_the_documented_name(files: EntryCreator, tmp_path: Path) -> None:
    name = _write(files, 3, 42, b"hello")
    assert name == "003_00000000000000000042.npy"
    assert [path.name for path in tmp_path.iterdir()] == [name]
    loaded = np.load(tmp_path / name)
    assert loaded.dtype == np.uint8
    assert loaded.tobytes() == bytes([3]) + (42).to_bytes(8, "little") + b"hello"


def test_entries_sharing_source_and_timestamp_all_survive_in_arrival_order(files: EntryCreator, tmp_path: Path) -> None:
    names = [_write(files, 1, 7, bytes([index])) for index in range(4)]
    assert names == [
        "001_00000000000000000007.npy",
        "001_00000000000000000007_1.npy",
        "001_00000000000000000007_2.npy",
        "001_00000000000000000007_3.npy",
    ]
    assert [np.load(tmp_path / name)[-1] for name in names] == [0, 1, 2, 3]
    assert _write(files, 2, 7, b"other source") == "002_00000000000000000007.npy"


def test_entries_of_an_earlier_run_are_never_overwritten(files: EntryCreator, tmp_path: Path) -> None:
    earlier = tmp_path / "001_00000000000000000000.npy"
    earlier.write_bytes(b"an entry of an earlier run, whatever its content")
    (tmp_path / "001_00000000000000000000_1.npy").write_bytes(b"and its duplicate")
    assert _write(files, 1, 0, b"new") == "001_00000000000000000000_2.npy"
    assert earlier.read_bytes() == b"an entry of an earlier run, whatever its content"


def test_two_writers_on_one_folder_never_overwrite_each_other(tmp_path: Path) -> None:
    first, second = EntryCreator(tmp_path), EntryCreator(tmp_path)
    second.anonymous = False
    try:
        names = [writer.write(1, 5, bytes([index])) for index, writer in enumerate([first, second, first, second])]
    finally:
        first.close()
        second.close()
    assert len(set(names)) == 4
    assert sorted((tmp_path / name).read_bytes() for name in names) == [b"\x00", b"\x01", b"\x02", b"\x03"]


def test_no_temporary_file_is_left_behind(files: EntryCreator, tmp_path: Path) -> None:
    for index in range(20):
        _write(files, index % 3, index // 3, b"x" * index)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{index % 3:03d}_{index // 3:020d}.npy" for index in range(20)
    )


def test_a_removed_folder_is_an_error_not_a_silent_loss(files: EntryCreator, tmp_path: Path) -> None:
    _write(files, 1, 1, b"before")
    shutil.rmtree(tmp_path)
    tmp_path.write_bytes(b"a file where the folder was")
    with pytest.raises(OSError):
        _write(files, 1, 2, b"after")
    assert tmp_path.read_bytes() == b"a file where the folder was"
    tmp_path.unlink()
    tmp_path.mkdir()


def test_a_missing_folder_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        EntryCreator(tmp_path / "missing")


def test_large_entries_are_written_whole(files: EntryCreator, tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 256, 5_000_000, dtype=np.uint8)
    name = _write(files, 9, 9, data.tobytes())
    assert np.array_equal(np.load(tmp_path / name)[9:], data)


def test_sync_flushes_without_error(files: EntryCreator) -> None:
    _write(files, 1, 1, b"durable")
    files.sync()
