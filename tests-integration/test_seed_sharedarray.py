"""The SharedMemoryArray examples of the original README run verbatim, in README order, each in a fresh interpreter.

They import from the meta-package and all use the fixed name "unique_buffer": each must exit cleanly with warnings as
errors, print nothing to stderr and leave nothing in /dev/shm, since the next example creates the same name again
(several without `exist_ok`). An exclusive `flock` keeps any other test using "unique_buffer" from running meanwhile.
"""

import fcntl
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SEED = Path("/work/shared/seed/000_a994c21c065c430d.txt")
NAME = "unique_buffer"
LOCK_FILE = Path(tempfile.gettempdir()) / "ataraxis-unique_buffer.lock"


def _examples() -> list[str]:
    text = SEED.read_text()
    section = text[text.index("### SharedMemoryArray") : text.index("### DataLogger")]
    return re.findall(r"```[^\n]*\n(.*?)```", section, flags=re.DOTALL)


def _leftovers() -> list[str]:
    return [entry for entry in (NAME, f"sem.{NAME}.lock") if (Path("/dev/shm") / entry).exists()]


@pytest.fixture
def exclusive_unique_buffer() -> Iterator[None]:
    with LOCK_FILE.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.mark.skipif(not SEED.exists(), reason="the seed README is not available on this machine")
def test_seed_examples_run_in_order(exclusive_unique_buffer: None, tmp_path: Path) -> None:
    examples = _examples()
    assert len(examples) == 4, "the SharedMemoryArray section of the seed README has four examples"
    assert _leftovers() == [], f"{NAME} exists before the examples run"
    for number, code in enumerate(examples, start=1):
        script = tmp_path / f"example_{number}.py"
        script.write_text(code)
        result = subprocess.run(
            [sys.executable, "-W", "error", str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
        )
        assert (result.returncode, result.stderr) == (0, ""), f"example {number} failed:\n{result.stderr}"
        assert _leftovers() == [], f"example {number} left {_leftovers()} in /dev/shm"
