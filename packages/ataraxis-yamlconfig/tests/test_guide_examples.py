"""The examples of the guide's schema, versioning and override sections run as written and print what they show.

Each section's Python blocks are joined into one program, written to a file (so that help texts can be read from
its source) and run in a fresh interpreter, in an empty folder, with warnings turned into errors. A `print(...)`
followed by comment lines (or an end-of-line comment) shows its output in the guide: the test checks that the
program prints exactly that.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "guides" / "yamlconfig.md"
SECTIONS = [
    "## Schema for editors",
    "## Versioned configs and migrations",
    "## Overrides from the command line and the environment",
]
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _section(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    assert title in text, f"the guide has no section {title!r}"
    return text.split(title, 1)[1].split("\n## ", 1)[0]


def _blocks(section: str, language: str) -> list[str]:
    return [body for found, body in _BLOCK.findall(section) if found == language]


def _shown_output(program: str) -> list[str]:
    """The output the guide shows for each print: the comment at the end of its line, or the comment lines below."""
    shown = []
    lines = program.splitlines()
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("print("):
            continue
        if "  # " in line:
            shown.append(line.split("  # ", 1)[1])
            continue
        comments = []
        for following in lines[index + 1 :]:
            if not following.lstrip().startswith("#"):
                break
            comments.append(following.lstrip()[2:])
        shown.append(" ".join(comments))
    return shown


@pytest.mark.parametrize("title", SECTIONS)
def test_the_guide_examples_run_and_print_what_the_guide_shows(tmp_path: Path, title: str) -> None:
    program = "\n".join(_blocks(_section(title), "python"))
    assert program, title
    (tmp_path / "example.py").write_text(program, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-W", "error", "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == _shown_output(program)


def test_the_upgraded_file_is_the_one_the_guide_shows(tmp_path: Path) -> None:
    section = _section("## Versioned configs and migrations")
    (tmp_path / "example.py").write_text("\n".join(_blocks(section, "python")), encoding="utf-8")
    subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    )

    assert (tmp_path / "old_rig.yaml").read_text(encoding="utf-8") == _blocks(section, "yaml")[0]
