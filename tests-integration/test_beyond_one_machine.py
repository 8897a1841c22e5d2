"""Every example on the "Beyond one machine" page runs: its fenced code blocks are extracted and run in order.

The blocks run as a user would run them: each Python block as a script of its own (`python block.py`, so that a
Dask cluster's worker processes can import it), each `$ ` line of a console block in a shell, all in one folder
where a `DataLogger` wrote two sessions (one compressed with entries logged after it, one still loose). A block
preceded by `<!-- not run: REASON -->` is skipped; the page says why, and this test pins which blocks those are.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow.parquet as pq
import pytest

from ataraxis_data_structures import DataLogger, LogPackage, read_logs

pytestmark = pytest.mark.slow

PAGE = Path(__file__).resolve().parents[1] / "docs" / "beyond-one-machine.md"
WORKSPACE = PAGE.parents[1]
SESSIONS = ("2024-06-01_mouse7", "2024-06-02_mouse7")
_FENCE = re.compile(r"(?:<!-- not run: (?P<reason>[^>]*) -->\n)?```(?P<language>\w*)\n(?P<code>.*?)\n```", re.DOTALL)


class Block(NamedTuple):
    language: str
    code: str
    skipped_because: str | None


def page_blocks() -> list[Block]:
    return [Block(match["language"], match["code"], match["reason"]) for match in _FENCE.finditer(PAGE.read_text())]


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    """Two sessions logged by a real DataLogger, as the page describes them, in `tmp_path/sessions`."""
    for index, name in enumerate(SESSIONS):
        with DataLogger(tmp_path / "sessions" / name, instance_name="rig") as logger:
            for stamp in range(200):
                logger.input_queue.put(LogPackage(1, 1_000 * stamp + index, np.full(4, stamp % 256, dtype=np.uint8)))
                if stamp % 4 == 0:
                    logger.input_queue.put(LogPackage(2, 1_000 * stamp + 500, f"frame {stamp}".encode()))
        if index == 0:
            logger.compress_logs(remove_sources=True)
            with DataLogger(tmp_path / "sessions" / name, instance_name="rig") as late:
                late.input_queue.put(LogPackage(1, 10**9, b"after the archive"))
    return tmp_path


def test_the_page_has_the_examples_this_test_expects() -> None:
    blocks = page_blocks()
    assert {block.language for block in blocks} == {"python", "console", "text"}
    assert [block.code for block in blocks if block.skipped_because is not None] == [
        block.code for block in blocks if "pyspark" in block.code
    ]
    assert sum(block.language == "python" and block.skipped_because is None for block in blocks) >= 7
    # The text block lists the commands that run these checks: the files they name exist.
    [commands] = [block.code for block in blocks if block.language == "text"]
    named = re.findall(r"\S+\.py", commands)
    assert named and all((WORKSPACE / path).is_file() for path in named)


def test_every_example_of_the_page_runs(sessions: Path) -> None:
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for number, block in enumerate(page_blocks()):
        if block.skipped_because is not None or block.language == "text":
            continue
        if block.language == "python":
            script = sessions / f"block_{number}.py"
            script.write_text(block.code + "\n")
            commands = [[sys.executable, script.name]]
        else:
            lines = block.code.splitlines()
            commands = [["bash", "-c", line.removeprefix("$ ")] for line in lines if line.startswith("$ ")]
            assert commands, f"a console block without a command:\n{block.code}"
        for command in commands:
            result = subprocess.run(
                command, cwd=sessions, env=environment, capture_output=True, text=True, timeout=600, check=False
            )
            assert result.returncode == 0, f"block {number} failed:\n{block.code}\n{result.stdout}\n{result.stderr}"
            outputs.append(result.stdout)
    printed = "\n".join(outputs)
    for name in SESSIONS:
        assert name in printed
        assert (sessions / "dataset" / f"session={name}" / "source_id=1" / "part-00000.parquet").is_file()
    assert (sessions / "2024-06-01_mouse7.mcap").is_file()
    # The shell export replaced the first session's export by the same entries: nothing doubled.
    with read_logs(sessions / "sessions" / SESSIONS[0] / "rig_data_log") as readers:
        expected = sum(len(reader) for reader in readers.values())
    files = list((sessions / "dataset" / f"session={SESSIONS[0]}").rglob("*.parquet"))
    assert sum(pq.read_metadata(path).num_rows for path in files) == expected == 200 + 50 + 1
