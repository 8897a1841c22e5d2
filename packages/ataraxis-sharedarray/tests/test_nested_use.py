"""Disconnecting, destroying or forking inside a locked block neither leaves the lock taken nor takes it away."""

import subprocess
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ataraxis_sharedarray import SharedMemoryArray
from ataraxis_sharedarray._posix import semaphore_value


@pytest.mark.parametrize("leave", ["disconnect", "destroy"])
def test_disconnecting_inside_a_block_still_releases_the_lock_when_the_block_ends(array_name: str, leave: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.int64))
    other = SharedMemoryArray.attach(array_name)
    try:
        with sma.array() as view:
            view[0] = 7
            getattr(sma, leave)()
        assert semaphore_value(other._connection.lock.semaphore) == 1, "the block's end did not release the lock"
        assert other._connection.words[8] == 0
        assert other.add(0, 1) == 8
    finally:
        other.disconnect()
        sma.destroy()


def test_an_update_that_disconnects_its_array_still_releases_the_lock(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.int64))
    other = SharedMemoryArray.attach(array_name)
    try:

        def disconnect_then_increment(value: Any) -> Any:
            sma.disconnect()
            return value + 1

        assert sma.update(0, disconnect_then_increment) == 1
        assert semaphore_value(other._connection.lock.semaphore) == 1
        assert other.add(0, 1) == 2
    finally:
        other.disconnect()
        sma.destroy()


_FORK_IN_BLOCK = """
import os, sys
import numpy as np
from ataraxis_sharedarray import NotConnectedError, SharedMemoryArray
from ataraxis_sharedarray._posix import semaphore_value

sma = SharedMemoryArray.create_array(NAME, np.zeros(3, dtype=np.int64))
semaphore = sma._connection.lock.semaphore
words = sma._connection.words

# A child forked inside the parent's block leaves that block in its own copy of the code: the lock is the parent's.
with sma.array() as view:
    view[0] = 1
    child = os.fork()
    if child == 0:
        pass
    else:
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert semaphore_value(semaphore) == 0, "the child released the parent's lock"
        assert words[8] == os.getpid(), f"the child changed the holder to {words[8]}"
if child == 0:
    os._exit(0)
assert semaphore_value(semaphore) == 1

# The same inside update's function: the child's copy of the update must neither write nor release.
def fork_and_double(value):
    global child
    child = os.fork()
    return value * 2 + (1000 if child == 0 else 0)

try:
    result = sma.update(0, fork_and_double)
except NotConnectedError:
    os._exit(0 if child == 0 else 3)
if child == 0:
    os._exit(4)
_, status = os.waitpid(child, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert result == 2 and sma.read_data(0) == 2, sma.read_data(0)
assert semaphore_value(semaphore) == 1 and words[8] == 0
sma.destroy()
print("done")
"""


def test_a_child_forked_inside_a_locked_block_leaves_the_parents_lock_alone(
    array_name: str, run_python: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    result = run_python(_FORK_IN_BLOCK.replace("NAME", repr(array_name)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "done"
