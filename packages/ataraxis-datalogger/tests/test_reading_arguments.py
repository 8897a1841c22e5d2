"""Bad arguments of the reading, compressing, inspecting and exporting calls raise the package's own errors.

Each refusal is a `DataLoggerTypeError` (a `TypeError`) or `DataLoggerValueError` (a `ValueError`), both under
`AtaraxisDataLoggerError`, naming the argument, the value received and what was expected; the refused call changes
nothing on disk.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_datalogger import (
    AtaraxisDataLoggerError,
    DataLoggerTypeError,
    DataLoggerValueError,
    ExportError,
    LogArchiveReader,
    compress_npy_logs,
    export_logs,
    inspect_logs,
    read_logs,
)


@pytest.fixture
def log(tmp_path: Path, write_entry: Callable[..., Path]) -> Path:
    """A log directory of one source: two archived entries and one loose entry file."""
    directory = tmp_path / "log"
    directory.mkdir()
    write_entry(directory, 1, 10, b"archived")
    write_entry(directory, 1, 20, b"archived too")
    compress_npy_logs(directory, remove_sources=True)
    write_entry(directory, 1, 30, b"loose")
    return directory


def _names(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"max_workers": 0}, DataLoggerValueError, r"max_workers must be a positive integer or None, got 0"),
        ({"max_workers": -3}, DataLoggerValueError, r"got -3"),
        ({"max_workers": 1.5}, DataLoggerTypeError, r"max_workers must be a positive integer or None, got 1\.5 "),
        ({"max_workers": "2"}, DataLoggerTypeError, r"got '2' \(str\)"),
        ({"max_workers": True}, DataLoggerTypeError, r"got True \(bool\)"),
        # A string is truthy: "False" would have removed every archived entry file.
        ({"remove_sources": "False"}, DataLoggerTypeError, r"remove_sources must be True or False, got 'False'"),
        ({"remove_sources": None}, DataLoggerTypeError, r"remove_sources must be True or False, got None"),
        ({"compress": 1}, DataLoggerTypeError, r"compress must be True or False, got 1 \(int\)"),
        ({"verify_integrity": "yes"}, DataLoggerTypeError, r"verify_integrity must be True or False"),
        ({"memory_mapping": []}, DataLoggerTypeError, r"memory_mapping must be True or False"),
        ({"verbose": "no"}, DataLoggerTypeError, r"verbose must be True or False"),
    ],
)
def test_bad_compression_arguments_raise_the_packages_errors_and_change_nothing(
    log: Path, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    before = _names(log)
    with pytest.raises(error, match=message):
        compress_npy_logs(log, **arguments)
    assert _names(log) == before


def test_numpy_integers_and_booleans_are_accepted(log: Path) -> None:
    report = compress_npy_logs(log, max_workers=np.int64(1), remove_sources=np.bool_(True), compress=np.True_)
    assert report.sources[1].entries_total == 3
    assert _names(log) == {"1_log.npz"}


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("", DataLoggerValueError, r"the log directory is an empty string"),
        (5, DataLoggerTypeError, r"the log directory must be a str or os\.PathLike path, got 5 of type int"),
        (
            b"log",
            DataLoggerTypeError,
            r"the log directory must be a str or os\.PathLike path, got b'log' of",
        ),
        (None, DataLoggerTypeError, r"got None of type NoneType"),
    ],
)
@pytest.mark.parametrize("call", ["compress_npy_logs", "read_logs", "inspect_logs", "export_logs"])
def test_bad_log_directories_raise_the_packages_errors(
    tmp_path: Path, call: str, path: object, error: type[Exception], message: str
) -> None:
    calls: dict[str, Callable[[Any], object]] = {
        "compress_npy_logs": compress_npy_logs,
        "read_logs": read_logs,
        "inspect_logs": inspect_logs,
        "export_logs": lambda directory: export_logs(directory, tmp_path / "out"),
    }
    with pytest.raises(error, match=message):
        calls[call](path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("", DataLoggerValueError, r"the archive path is an empty string"),
        (3.0, DataLoggerTypeError, r"the archive path must be a str or os\.PathLike path, got 3\.0 of type float"),
    ],
)
def test_bad_archive_paths_raise_the_packages_errors(path: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        LogArchiveReader(path)  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", ["skip", "WARN", None, 1, b"warn"])
def test_bad_damage_policies_raise_the_packages_errors(log: Path, policy: object) -> None:
    for call in (
        lambda: read_logs(log, on_damage=policy),  # type: ignore[arg-type]
        lambda: LogArchiveReader(log / "1_log.npz", on_damage=policy),  # type: ignore[arg-type]
        lambda: export_logs(log, log.parent / "out", on_damage=policy),  # type: ignore[arg-type]
    ):
        with pytest.raises(DataLoggerValueError, match=rf"on_damage must be 'warn' or 'raise', got {policy!r}"):
            call()
    assert not (log.parent / "out").exists()


@pytest.mark.parametrize(
    ("start", "stop", "error", "message"),
    [
        (1.5, 10, DataLoggerTypeError, r"start must be an integer timestamp, got 1\.5 of type float"),
        (0, "10", DataLoggerTypeError, r"stop must be an integer timestamp, got '10' of type str"),
        (-1, 10, DataLoggerValueError, r"start must be between 0 and 2\*\*64, got -1"),
        (0, 2**64 + 1, DataLoggerValueError, r"stop must be between 0 and 2\*\*64, got 18446744073709551617"),
        (20, 10, DataLoggerValueError, r"start \(20\) must not be greater than stop \(10\)"),
    ],
)
def test_bad_time_bounds_raise_the_packages_errors(
    log: Path, start: object, stop: object, error: type[Exception], message: str
) -> None:
    with read_logs(log) as readers, pytest.raises(error, match=message):
        readers[1].between(start, stop)  # type: ignore[arg-type]


def test_a_closed_reader_raises_the_packages_error(log: Path) -> None:
    reader = read_logs(log)[1]
    reader.close()
    for call in (lambda: iter(reader), lambda: reader.between(0, 10)):
        with pytest.raises(DataLoggerValueError, match="the reader of source 1 is closed"):
            call()


@pytest.mark.parametrize("verify", ["yes", 1, None])
def test_bad_inspection_flags_raise_the_packages_errors(log: Path, verify: object) -> None:
    with pytest.raises(DataLoggerTypeError, match=rf"verify must be True or False, got {verify!r}"):
        inspect_logs(log, verify=verify)  # type: ignore[arg-type]
    with pytest.raises(DataLoggerTypeError, match=rf"verbose must be True or False, got {verify!r}"):
        inspect_logs(log, verbose=verify)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"destination": 5}, DataLoggerTypeError, r"the destination must be a str or os\.PathLike path, got 5"),
        (
            {"destination": b"out"},
            DataLoggerTypeError,
            r"the destination must be a str or os\.PathLike path, got b'o",
        ),
        ({"destination": ""}, ExportError, r"the destination is an empty string"),
        ({"format": 5}, ExportError, r"format must be one of parquet, feather, mcap, got 5"),
        ({"session": 7}, DataLoggerTypeError, r"session must be a string or None, got 7 \(int\)"),
        ({"session": "a/b"}, ExportError, r"got 'a/b'"),
        ({"overwrite": "yes"}, DataLoggerTypeError, r"overwrite must be True or False, got 'yes'"),
        ({"verbose": 0}, DataLoggerTypeError, r"verbose must be True or False, got 0"),
        ({"row_group_bytes": 0}, DataLoggerValueError, r"row_group_bytes must be at least 1, got 0"),
        ({"file_bytes": 2.5}, DataLoggerTypeError, r"file_bytes must be an integer, got 2\.5 of type float"),
    ],
)
def test_bad_export_arguments_raise_the_packages_errors_and_write_nothing(
    log: Path, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    call = {"log_directory": log, "destination": log.parent / "out", **arguments}
    before = set(os.listdir(log.parent))
    with pytest.raises(error, match=message):
        export_logs(**call)
    assert set(os.listdir(log.parent)) == before


def test_export_errors_are_value_errors_of_the_package() -> None:
    # Code that catches DataLoggerValueError for any refused argument catches the export's refusals too.
    assert issubclass(ExportError, DataLoggerValueError)
    assert issubclass(ExportError, AtaraxisDataLoggerError)
    assert issubclass(ExportError, ValueError)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"max_bytes": 0}, DataLoggerValueError, r"max_bytes must be at least 1, got 0"),
        ({"max_rows": "5"}, DataLoggerTypeError, r"max_rows must be an integer, got '5' of type str"),
    ],
)
def test_bad_batch_limits_raise_the_packages_errors(
    log: Path, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    pytest.importorskip("pyarrow")
    with read_logs(log) as readers, pytest.raises(error, match=message):
        readers[1].iter_batches(**arguments)
