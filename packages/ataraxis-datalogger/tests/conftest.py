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

from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

HERE = Path(__file__).parent
SHM = Path("/dev/shm")


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
