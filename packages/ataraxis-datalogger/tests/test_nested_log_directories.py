"""compress_npy_logs on a folder whose logs are in subfolders (3.x searched them): each is compressed in place."""

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ataraxis_datalogger import (
    DataLogger,
    LogCompressionError,
    LogPackage,
    NestedLogDirectoriesWarning,
    compress_npy_logs,
    read_logs,
)


def read_all(folder: Path) -> dict[int, list[tuple[int, bytes]]]:
    result = {}
    for source_id, reader in read_logs(folder).items():
        with reader:
            result[source_id] = [(time_stamp, payload.tobytes()) for time_stamp, payload in reader]
    return result


def test_each_log_folder_below_is_compressed_in_place_with_a_warning(tmp_path: Path) -> None:
    # A session folder as 3.x users had them: the folders of two loggers that both use source id 1.
    session = tmp_path / "session"
    for name in ("camera", "rig"):
        with DataLogger(session, name) as logger:
            for time_stamp in range(3):
                logger.input_queue.put(LogPackage(1, time_stamp, f"{name} {time_stamp}".encode()))
    (session / ".hidden" / "skipped_data_log").mkdir(parents=True)
    hidden = session / ".hidden" / "skipped_data_log" / "001_00000000000000000000.npy"
    hidden.write_bytes(LogPackage(1, 0, b"hidden").entry_bytes)

    with pytest.warns(NestedLogDirectoriesWarning, match=r"its subfolders camera_data_log, rig_data_log do") as caught:
        report = compress_npy_logs(session, remove_sources=True, max_workers=1)

    assert caught[0].filename == __file__
    assert [nested.log_directory for nested in report.subdirectories] == [
        session / "camera_data_log",
        session / "rig_data_log",
    ]
    assert (report.sources, report.entries_archived, report.files_removed, report.clean) == ({}, 6, 6, True)
    for name in ("camera", "rig"):
        folder = session / f"{name}_data_log"
        assert sorted(path.name for path in folder.iterdir()) == ["1_log.npz"]
        assert read_all(folder) == {1: [(stamp, f"{name} {stamp}".encode()) for stamp in range(3)]}
    assert sorted(path.name for path in session.iterdir()) == [".hidden", "camera_data_log", "rig_data_log"]
    assert hidden.exists()


def test_a_folder_with_logs_of_its_own_is_compressed_alone(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 2, 1, b"own")
    (tmp_path / "below").mkdir()
    below = write_entry(tmp_path / "below", 3, 1, b"below")
    report = compress_npy_logs(tmp_path, remove_sources=True)
    assert (list(report.sources), report.subdirectories) == ([2], ())
    assert below.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert compress_npy_logs(empty) == compress_npy_logs(empty)
    assert compress_npy_logs(empty).subdirectories == ()


def test_a_failing_log_folder_fails_after_the_others_are_compressed(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    for name in ("a_data_log", "b_data_log"):
        (tmp_path / name).mkdir()
        write_entry(tmp_path / name, 1, 1, b"entry")
    (tmp_path / "a_data_log" / "1_log.npz").write_bytes(b"not an archive")

    with (
        pytest.warns(NestedLogDirectoriesWarning),
        pytest.raises(LogCompressionError, match=re.escape(f"source 1: {tmp_path / 'a_data_log'}: ")) as raised,
    ):
        compress_npy_logs(tmp_path, remove_sources=True, max_workers=1)

    assert [nested.log_directory.name for nested in raised.value.report.subdirectories] == ["a_data_log", "b_data_log"]
    assert (tmp_path / "a_data_log" / "001_00000000000000000001.npy").exists()
    assert read_all(tmp_path / "b_data_log") == {1: [(1, b"entry")]}
    assert not (tmp_path / "b_data_log" / "001_00000000000000000001.npy").exists()


def test_the_command_compresses_each_folder_and_says_so_on_one_line(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    for name in ("a_data_log", "b_data_log"):
        (tmp_path / name).mkdir()
        write_entry(tmp_path / name, 4, 9, b"entry")
    result = subprocess.run(
        [sys.executable, "-m", "ataraxis_datalogger", "compress", str(tmp_path), "--remove-sources"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("log directory:")] == [
        f"log directory: {tmp_path / 'a_data_log'}",
        f"log directory: {tmp_path / 'b_data_log'}",
    ]
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"ataraxis-datalogger: warning: NestedLogDirectoriesWarning: {tmp_path} holds no log entries or archives of "
        "its own; its subfolders a_data_log, b_data_log do, and each was compressed in place, its archives inside it "
        "(ataraxis-data-structures 3.x wrote archives merging them all in the folder named); compress each log "
        "folder (DataLogger.output_directory) instead"
    ]
