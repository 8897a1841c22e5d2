"""Fixtures shared by the SharedMemoryArray tests.

Unique names, a check that nothing is left in /dev/shm, joining child processes with a timeout, and running scripts in
fresh interpreters.
"""

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_sharedarray import SharedMemoryArray

SHM = Path("/dev/shm")


def leftovers(name: str) -> list[str]:
    """The /dev/shm entries of the array `name` (its segment and its semaphore) that still exist."""
    return [entry for entry in (name, f"sem.{name}.lock") if (SHM / entry).exists()]


def remove_leftovers(name: str) -> list[str]:
    """Removes the /dev/shm entries of the array `name` and returns the ones that were there."""
    left = leftovers(name)
    for entry in left:
        with contextlib.suppress(FileNotFoundError):
            (SHM / entry).unlink()
    return left


@pytest.fixture
def array_name() -> Iterator[str]:
    """A name unique to this test and this xdist worker; the test fails if it leaves the array behind."""
    name = f"atx_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    yield name
    left = remove_leftovers(name)
    assert not left, f"the test left {left} in /dev/shm"


@pytest.fixture
def new_array(array_name: str) -> Iterator[Callable[[Any], SharedMemoryArray]]:
    """Creates the test's array (named `array_name`) from a prototype; destroys it after the test."""
    made: list[SharedMemoryArray] = []

    def make(prototype: Any) -> SharedMemoryArray:
        made.append(SharedMemoryArray.create_array(array_name, prototype))
        return made[-1]

    yield make
    for sma in made:
        sma.destroy()


@pytest.fixture
def filled(new_array: Callable[[Any], SharedMemoryArray]) -> SharedMemoryArray:
    """A uint64 array holding 1 to 6, as in the specification's examples."""
    return new_array(np.arange(1, 7, dtype=np.uint64))


@pytest.fixture
def derived_name(array_name: str) -> Iterator[Callable[[str], str]]:
    """Makes names of `array_name` plus a suffix (for names the package may refuse); the test fails if one is left."""
    made: list[str] = []

    def make(suffix: str) -> str:
        made.append(array_name + suffix)
        return made[-1]

    yield make
    left = {name: remove_leftovers(name) for name in made}
    assert not any(left.values()), f"the test left {left} in /dev/shm"


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


@pytest.fixture
def run_python(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """Runs code as a script in a fresh interpreter, with every warning an error, and returns its outcome.

    A script file rather than `-c`: spawn and forkserver children import the parent's main module by its path.
    """

    def run(code: str) -> subprocess.CompletedProcess[str]:
        script = tmp_path / "scenario.py"
        script.write_text(textwrap.dedent(code))
        command = [sys.executable, "-W", "error", str(script)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)

    return run


def wait_for_removal(name: str, timeout: float = 30.0) -> list[str]:
    """Waits up to `timeout` seconds for the /dev/shm entries of the array `name` to go; returns those still there."""
    deadline = time.monotonic() + timeout
    while leftovers(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    return leftovers(name)


@pytest.fixture
def removed() -> Callable[..., list[str]]:
    """`wait_for_removal`, for tests."""
    return wait_for_removal


_MOUNT_SMALL_SHM = 'mount -t tmpfs -o size="$SHM_SIZE",mode=1777 tmpfs /dev/shm && exec "$@"'


@functools.cache
def _private_shm_prefix() -> tuple[list[str], str]:
    """The command prefix that runs what follows with a private, small /dev/shm, or [] and the reason it cannot."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return [], "the unshare command is not installed"
    reasons = []
    for prefix in ([unshare, "--mount", "--propagation", "private"], [unshare, "--user", "--map-root-user", "--mount"]):
        command = [*prefix, "sh", "-c", _MOUNT_SMALL_SHM, "sh"]
        probe = subprocess.run(
            [*command, "true"], capture_output=True, text=True, env=_small_shm_env("64k"), check=False
        )
        if probe.returncode == 0:
            return command, ""
        reasons.append(f"{' '.join(prefix)}: {probe.stderr.strip()}")
    return [], "this machine allows neither a private mount namespace nor a user namespace (" + "; ".join(reasons) + ")"


def _small_shm_env(size: str) -> dict[str, str]:
    return {**os.environ, "SHM_SIZE": size}


@pytest.fixture
def run_with_small_shm(tmp_path: Path) -> Callable[[str, str], subprocess.CompletedProcess[str]]:
    """Runs code as a script in a fresh interpreter that sees an empty, private /dev/shm of the given size.

    The script runs in its own mount namespace (as root, or as the root of a user namespace) over a fresh tmpfs, so
    filling it never touches the machine's real /dev/shm. Skips where the machine allows neither.
    """
    prefix, reason = _private_shm_prefix()
    if not prefix:
        pytest.skip(f"cannot give a test a private /dev/shm: {reason}")

    def run(code: str, size: str) -> subprocess.CompletedProcess[str]:
        script = tmp_path / "scenario.py"
        script.write_text(textwrap.dedent(code))
        command = [*prefix, sys.executable, "-W", "error", str(script)]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path, env=_small_shm_env(size)
        )

    return run
