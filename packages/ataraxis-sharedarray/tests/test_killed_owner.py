"""An owner killed at any instant of creating an array leaves nothing in /dev/shm once the resource tracker runs."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SHM = Path("/dev/shm")

_CREATOR = """
import sys
import numpy as np
from ataraxis_sharedarray import SharedMemoryArray

# A large prototype that costs no memory of its own (a broadcast view), so that creating the array takes long
# enough for the test to kill the creator while it reserves and fills the segment.
prototype = np.broadcast_to(np.ones(1, dtype=np.uint8), (96 << 20,))
SharedMemoryArray.create_array(sys.argv[1], prototype)
print("created", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.01, 0.04])
def test_owner_killed_while_creating_leaves_nothing_behind(
    array_name: str, removed: Callable[..., list[str]], tmp_path: Path, delay: float
) -> None:
    script = tmp_path / "creator.py"
    script.write_text(textwrap.dedent(_CREATOR))
    creator = subprocess.Popen(
        [sys.executable, str(script), array_name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Killed once the segment has its size, that is, after the creator owns the name and before (at the shorter
        # delays) it has published the array.
        deadline = time.monotonic() + 60
        while creator.poll() is None and time.monotonic() < deadline:
            try:
                if (SHM / array_name).stat().st_size > 0:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.0002)
        time.sleep(delay)
        os.kill(creator.pid, signal.SIGKILL)
    finally:
        creator.kill()
        creator.communicate(timeout=60)
    assert creator.returncode == -signal.SIGKILL
    assert removed(array_name) == [], "the killed creator's array was left in /dev/shm"
