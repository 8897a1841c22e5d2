"""Shared fixtures of the integration tests."""

import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Child processes started with spawn or forkserver import the functions they run by module name.
sys.path.insert(0, str(Path(__file__).parent))

_SHARED_MEMORY_LOCK = Path(tempfile.gettempdir()) / "ataraxis-integration-shared-memory.lock"


@pytest.fixture(scope="session")
def uv_executable() -> str:
    """The uv executable that runs this suite (uv exports its own path as `UV` to what it runs)."""
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None:
        pytest.fail("the integration tests need uv: run them through scripts/test or `uv run`")
    return found


def _hold_shared_memory_lock(operation: int) -> Iterator[None]:
    with _SHARED_MEMORY_LOCK.open("a") as lock_file:
        fcntl.flock(lock_file, operation)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


@pytest.fixture
def shared_memory_alone() -> Iterator[None]:
    """Runs the test while no other test that uses `shared_memory_in_use` runs (across xdist workers).

    Tests that compare /dev/shm before and after, or that use fixed segment names such as the README's
    "unique_buffer", need /dev/shm to themselves.
    """
    yield from _hold_shared_memory_lock(fcntl.LOCK_EX)


@pytest.fixture
def shared_memory_in_use() -> Iterator[None]:
    """Marks a test that creates shared memory, so that `shared_memory_alone` tests wait for it to finish."""
    yield from _hold_shared_memory_lock(fcntl.LOCK_SH)
