"""Runs example scripts one after another, each in a fresh interpreter, and records how each one ended.

Usage: `python seed_example_driver.py RESULTS.json SCRIPT...`. For each script the driver records its exit code,
its stderr and the entries it left in /dev/shm (those that were not there before it ran and are still there once
a grace period has passed, so that segments of unrelated processes that come and go are not counted). The test
runs the driver inside a private /dev/shm when the machine allows it, where every leftover is the examples' own.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

DEV_SHM = Path("/dev/shm")
GRACE_SECONDS = 5.0

# The examples create `tempfile.TemporaryDirectory()` objects and never clean them up; the standard library then
# emits "ResourceWarning: Implicitly cleaning up ..." at exit. That is the examples' own habit, not the library's,
# so it is the one warning allowed through.
WARNING_FILTERS = ["-W", "error", "-W", "ignore:Implicitly cleaning up:ResourceWarning"]


def _shared_memory() -> set[str]:
    return {entry.name for entry in DEV_SHM.iterdir()}


def _leftovers(before: set[str]) -> list[str]:
    deadline = time.monotonic() + GRACE_SECONDS
    while (new := _shared_memory() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    return sorted(new)


def main() -> None:
    results_path, *scripts = sys.argv[1:]
    results = []
    for script in scripts:
        before = _shared_memory()
        completed = subprocess.run(
            [sys.executable, *WARNING_FILTERS, script],
            cwd=Path(script).parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        results.append(
            {
                "script": script,
                "returncode": completed.returncode,
                "stderr": completed.stderr,
                "leftovers": _leftovers(before),
            }
        )
    Path(results_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
