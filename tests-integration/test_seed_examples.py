"""Every usage example of the original README runs verbatim against the installed meta-package.

The examples are extracted from the specification file at test time (never copied into this repository), written
to files unchanged and run one after another, in README order, each in a fresh interpreter with warnings turned
into errors. A run fails if an example exits non-zero, writes anything to stderr, or leaves a shared-memory segment
or semaphore behind in /dev/shm.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEV_SHM = Path("/dev/shm")

# The specification lives beside the workspace in the development environment; a clone elsewhere (CI) uses the
# copy kept next to this file, which the first test proves identical whenever the original is reachable.
SPECIFICATION = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_a994c21c065c430d.txt"
SPECIFICATION_COPY = Path(__file__).resolve().parent / "seed" / "original_readme.md"
SEED_README = SPECIFICATION if SPECIFICATION.exists() else SPECIFICATION_COPY

# The examples create `tempfile.TemporaryDirectory()` objects and never clean them up; the standard library then
# emits "ResourceWarning: Implicitly cleaning up ..." at exit. That is the example's own habit, not the library's,
# so it is the one warning allowed through.
WARNING_FILTERS = ["-W", "error", "-W", "ignore:Implicitly cleaning up:ResourceWarning"]

# A segment that is new after an example but disappears within this grace period belonged to a test running
# concurrently in another process of the suite, not to the example.
LEAK_GRACE_SECONDS = 5.0


def extract_usage_examples(readme: str) -> list[str]:
    """Returns the fenced code blocks of the README's "Usage" section, in order.

    Only fences that stand on their own line open or close a block: the README also holds inline ```commands```
    inside sentences, which are not examples.
    """
    usage = readme.split("## Usage", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```[a-z]*\n(.*?)^```$", usage, flags=re.MULTILINE | re.DOTALL)


def _new_shared_memory_entries(before: set[str]) -> set[str]:
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    while True:
        new = {entry.name for entry in DEV_SHM.iterdir()} - before
        if not new or time.monotonic() > deadline:
            return new
        time.sleep(0.1)


def test_the_kept_copy_is_the_specification() -> None:
    if not SPECIFICATION.exists():
        pytest.skip(f"the specification is not reachable at {SPECIFICATION} from this clone")
    assert SPECIFICATION_COPY.read_bytes() == SPECIFICATION.read_bytes()


def test_the_readme_holds_the_six_documented_examples() -> None:
    examples = extract_usage_examples(SEED_README.read_text(encoding="utf-8"))
    assert len(examples) == 6
    assert all("from ataraxis_data_structures import" in example for example in examples)


@pytest.mark.slow
@pytest.mark.usefixtures("shared_memory_alone")
def test_every_readme_example_runs_verbatim_in_order(tmp_path: Path) -> None:
    examples = extract_usage_examples(SEED_README.read_text(encoding="utf-8"))
    for number, example in enumerate(examples, start=1):
        script = tmp_path / f"example_{number}.py"
        script.write_text(example, encoding="utf-8")
        before = {entry.name for entry in DEV_SHM.iterdir()}
        result = subprocess.run(
            [sys.executable, *WARNING_FILTERS, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"example {number} failed:\n{example}\n{result.stderr}"
        assert result.stderr == "", f"example {number} wrote to stderr:\n{result.stderr}"
        leaked = _new_shared_memory_entries(before)
        assert not leaked, f"example {number} left {sorted(leaked)} in {DEV_SHM}"
