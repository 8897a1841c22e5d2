"""Fixtures shared by the SharedMemoryArray tests: unique names, and a check that nothing is left in /dev/shm."""

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

SHM = Path("/dev/shm")


def leftovers(name: str) -> list[str]:
    """The /dev/shm entries of the array `name` (its segment and its semaphore) that still exist."""
    return [entry for entry in (name, f"sem.{name}.lock") if (SHM / entry).exists()]


@pytest.fixture
def array_name() -> Iterator[str]:
    """A name unique to this test and this xdist worker; the test fails if it leaves the array behind."""
    name = f"atx_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    yield name
    left = leftovers(name)
    for entry in left:
        with contextlib.suppress(FileNotFoundError):
            (SHM / entry).unlink()
    assert not left, f"the test left {left} in /dev/shm"


@pytest.fixture
def shm_entries() -> Callable[[str], list[str]]:
    """`leftovers`, for tests (the importlib import mode keeps tests from importing conftest)."""
    return leftovers


# The child-process bodies live in sharedarray_workers.py, which spawn and forkserver children must import by name.
sys.path.insert(0, str(Path(__file__).parent))


def join_all(processes: Iterable[BaseProcess], timeout: float = 90.0) -> list[int | None]:
    """Joins every process within `timeout` seconds in total; kills and reports the ones still running."""
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)
        codes.append(process.exitcode)
    return codes


@pytest.fixture
def join() -> Callable[..., list[int | None]]:
    """`join_all`, for tests."""
    return join_all
