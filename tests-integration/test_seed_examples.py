"""Every usage example of the original README runs verbatim against the installed meta-package.

The examples are extracted from the specification at test time, written to files unchanged and run one after
another, in README order, each in a fresh interpreter with warnings turned into errors (`seed_example_driver.py`).
A run fails if an example exits non-zero, writes anything to stderr, or leaves a shared-memory segment or semaphore
behind. Where the machine allows it (root, or a user namespace), the examples run with a private, empty /dev/shm
(`unshare --mount` and a fresh tmpfs), so every leftover is theirs whatever else runs on the machine; elsewhere the
driver compares /dev/shm before and after each example, with a grace period for unrelated segments.
"""

import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The specification lives beside the workspace in the development environment; a clone elsewhere (CI) uses the
# copy kept next to this file, which the first test proves identical whenever the original is reachable.
SPECIFICATION = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_a994c21c065c430d.txt"
SPECIFICATION_COPY = Path(__file__).resolve().parent / "seed" / "original_readme.md"
SEED_README = SPECIFICATION if SPECIFICATION.exists() else SPECIFICATION_COPY
DRIVER = Path(__file__).resolve().parent / "seed_example_driver.py"

_MOUNT_PRIVATE_SHM = ["sh", "-c", 'mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec "$@"', "sh"]


@functools.cache
def _private_shared_memory_prefix() -> list[str]:
    """The command prefix that gives what follows a private, empty /dev/shm, or [] where that is not allowed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for prefix in ([unshare, "--mount", "--propagation", "private"], [unshare, "--user", "--map-root-user", "--mount"]):
        probe = subprocess.run([*prefix, *_MOUNT_PRIVATE_SHM, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [*prefix, *_MOUNT_PRIVATE_SHM]
    return []


def extract_usage_examples(readme: str) -> list[str]:
    """Returns the fenced code blocks of the README's "Usage" section, in order.

    Only fences that stand on their own line open or close a block: the README also holds inline ```commands```
    inside sentences, which are not examples.
    """
    usage = readme.split("## Usage", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```[a-z]*\n(.*?)^```$", usage, flags=re.MULTILINE | re.DOTALL)


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
    scripts = []
    for number, example in enumerate(examples, start=1):
        script = tmp_path / f"example_{number}" / "example.py"
        script.parent.mkdir()
        script.write_text(example, encoding="utf-8")
        scripts.append(str(script))
    results_path = tmp_path / "results.json"

    driver = [*_private_shared_memory_prefix(), sys.executable, str(DRIVER), str(results_path), *scripts]
    subprocess.run(driver, check=True, timeout=600)

    for number, (example, result) in enumerate(zip(examples, json.loads(results_path.read_text()), strict=True), 1):
        assert result["returncode"] == 0, f"example {number} failed:\n{example}\n{result['stderr']}"
        assert result["stderr"] == "", f"example {number} wrote to stderr:\n{result['stderr']}"
        assert result["leftovers"] == [], f"example {number} left {result['leftovers']} in /dev/shm"
