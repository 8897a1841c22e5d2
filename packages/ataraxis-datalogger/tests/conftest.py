"""Fixtures of the datalogger tests: the helper module for child processes, the leak check, entry files on disk."""

import importlib
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ataraxis_datalogger import compress_npy_logs
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

HERE = Path(__file__).parent
SHM = Path("/dev/shm")
# Test modules import the plain helper modules of this folder (export_helpers) by name.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def helpers() -> ModuleType:
    """The producer targets, importable by name in spawned children (they inherit `sys.path`)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module("datalogger_runtime_helpers")


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Fails a test that leaves a logger process or a shared-memory segment of this process behind."""
    prefix = f"adl{os.getpid():x}_"
    yield
    leftovers = [name for name in os.listdir(SHM) if name.startswith(prefix) or name.startswith(f"sem.{prefix}")]
    writers = [child for child in multiprocessing.active_children() if child.name.startswith("DataLogger[")]
    for child in writers:
        child.kill()
        child.join(5)
    assert not leftovers, f"left in /dev/shm: {leftovers}"
    assert not writers, f"logger processes still running: {writers}"


@pytest.fixture
def fast_directory() -> Iterator[Path]:
    """A folder on tmpfs, for tests that write many thousands of files (disks here create files slowly)."""
    directory = Path(tempfile.mkdtemp(prefix=f"adl-test-{os.getpid()}-", dir=SHM if SHM.is_dir() else None))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _write_entry(directory: Path, source_id: int, time_stamp: int, payload: bytes, duplicate_index: int = 0) -> Path:
    """Writes one entry file as the logger writes it, without a logger; returns its path."""
    path = directory / entry_file_name(source_id, time_stamp, duplicate_index)
    path.write_bytes(encode_entry_prefix(source_id, time_stamp, len(payload)) + payload)
    return path


@pytest.fixture(scope="session")
def write_entry() -> Callable[..., Path]:
    """`write_entry(directory, source_id, time_stamp, payload, duplicate_index=0)`: writes one entry file."""
    return _write_entry


@pytest.fixture(scope="session")
def mixed_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log directory of every kind of source (read only: tests must not change it).

    Source 1 is archived in a stored archive, 2 in a deflated archive with newer loose entries (one tied with an
    archived timestamp), 3 is loose only (two entries sharing a timestamp), 4 is in a deflated archive only.
    """
    directory = tmp_path_factory.mktemp("mixed_log")
    for stamp in range(300):
        _write_entry(directory, 1, stamp * 10, bytes([stamp % 256]) * (stamp % 17))
    compress_npy_logs(directory, remove_sources=True, compress=False)
    for stamp in range(200):
        _write_entry(directory, 2, stamp, stamp.to_bytes(4, "little"))
        _write_entry(directory, 4, 5 * stamp, bytes(stamp % 5))
    compress_npy_logs(directory, remove_sources=True)
    _write_entry(directory, 2, 50, b"loose tie at 50")
    _write_entry(directory, 2, 1_000, b"loose after")
    _write_entry(directory, 3, 7, b"")
    _write_entry(directory, 3, 7, b"second at 7", 1)
    return directory
