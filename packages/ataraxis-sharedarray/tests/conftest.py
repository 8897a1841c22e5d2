"""Fixtures shared by the SharedMemoryArray tests: unique names, and a check that nothing is left in /dev/shm."""

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
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
