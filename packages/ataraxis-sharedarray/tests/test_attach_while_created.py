"""Attaching to an array whose creator is still filling it waits for it, and says so when the creator died."""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ataraxis_sharedarray import ArrayNotFoundError, SharedMemoryArray

SHM = Path("/dev/shm")

_CREATOR = """
import sys
import numpy as np
from ataraxis_sharedarray import SharedMemoryArray

# A large prototype that costs no memory of its own, so that the creation takes long enough to be caught.
prototype = np.broadcast_to(np.arange(4, dtype=np.uint8), (48 << 20, 4))
SharedMemoryArray.create_array(sys.argv[1], prototype)
print("created", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def creator(array_name: str, tmp_path: Path, removed: Callable[..., list[str]]) -> Iterator[subprocess.Popen[bytes]]:
    """A process creating the test's array, paused (SIGSTOP) once it has written the header but not published it."""
    script = tmp_path / "creator.py"
    script.write_text(textwrap.dedent(_CREATOR))
    process = subprocess.Popen([sys.executable, str(script), array_name], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            header = _first_bytes(array_name)
            if len(header) == 48 and header[:8] == bytes(8) and int.from_bytes(header[32:40], "little") != 0:
                os.kill(process.pid, signal.SIGSTOP)
                header = _first_bytes(array_name)
                if header[:8] == bytes(8):
                    break
                os.kill(process.pid, signal.SIGCONT)  # published in between: too late to catch this one
                pytest.skip("the creation finished before it could be paused")
            time.sleep(0.0002)
        else:
            pytest.fail(f"the creator never wrote its header (exit code {process.poll()})")
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)
        process.communicate(b"", timeout=60)  # a creator that finished exits, and removes its array
        assert removed(array_name) == [], "the array was left in /dev/shm"


def _first_bytes(name: str) -> bytes:
    try:
        with (SHM / name).open("rb") as segment:
            return segment.read(48)
    except FileNotFoundError:
        return b""


def test_attach_waits_for_a_creator_still_filling_the_array(array_name: str, creator: subprocess.Popen[bytes]) -> None:
    resume = threading.Timer(1.5, os.kill, (creator.pid, signal.SIGCONT))
    resume.start()
    try:
        sma = SharedMemoryArray.attach(array_name)
    finally:
        resume.join()
    assert sma.shape == (48 << 20, 4)
    assert sma.read_data(-1, convert_output=True) == [0, 1, 2, 3]
    sma.disconnect()


def test_attach_to_an_array_whose_creator_died_before_finishing_it_is_not_found(
    array_name: str, creator: subprocess.Popen[bytes]
) -> None:
    # The creator's resource tracker removes the unfinished array once the creator is gone: it is paused meanwhile,
    # so that attach meets the segment the dead creator left.
    trackers = _children(creator.pid)
    for tracker in trackers:
        os.kill(tracker, signal.SIGSTOP)
    try:
        os.kill(creator.pid, signal.SIGKILL)
        creator.wait(60)
        started = time.monotonic()
        with pytest.raises(ArrayNotFoundError, match=rf"process {creator.pid}, which was creating it, died before"):
            SharedMemoryArray.attach(array_name)
        assert time.monotonic() - started < 0.5, "attach waited for a dead creator"
    finally:
        for tracker in trackers:
            os.kill(tracker, signal.SIGCONT)


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_bytes()
                if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                    children.append(int(entry.name))
    return children


@pytest.mark.parametrize("content", [b"\x01" * 256, bytes(256)], ids=["ones", "zeros"])
def test_a_segment_that_is_no_array_is_still_refused_as_such(array_name: str, content: bytes) -> None:
    (SHM / array_name).write_bytes(content)
    try:
        with pytest.raises(ValueError, match="not a SharedMemoryArray"):
            SharedMemoryArray.attach(array_name)
        assert (SHM / array_name).read_bytes() == content
    finally:
        (SHM / array_name).unlink()
