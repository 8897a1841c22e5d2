"""Parses the dotted paths that migrations and overrides use to name a place in a config.

Examples: `camera.fps`, `cameras[1].fps`, `cameras.1.fps`, `gains['left.x']`, `cameras[*].fps`. A path is a
sequence of parts separated by dots, each a name (`camera`) or a bracketed part (`[1]`, `['a.b']`, `[*]`).
Brackets hold what a name cannot: a dot, or text to keep verbatim (quoted). `*` (bare or in brackets) stands for
every item of a list or every value of a mapping, where the caller allows it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import yaml

from ._dialect import Loader

_NAME = re.compile(r"[^.\[\]]+")
_QUOTED = re.compile(r"""\[(?:'([^']*)'|"([^"]*)")\]""")
_BRACKETED = re.compile(r"\[([^\]]*)\]")


@dataclasses.dataclass(frozen=True)
class Part:
    """One part of a dotted path."""

    text: str
    """The part's text (without brackets or quotes)."""
    quoted: bool = False
    """Whether the text was quoted in brackets, which makes it a string key however it reads."""

    @property
    def wildcard(self) -> bool:
        """Whether the part is `*`: every item of a list or every value of a mapping."""
        return self.text == "*" and not self.quoted


def parse_path(path: str) -> tuple[Part, ...]:
    """Splits a dotted path into its parts.

    Args:
        path: The path, such as `camera.fps` or `cameras[1].fps`.

    Returns:
        The parts, at least one.

    Raises:
        ValueError: The path is empty or malformed (an empty part, an unclosed bracket); the message says where.
    """
    parts: list[Part] = []
    position = 0
    expect_name = True
    while position < len(path):
        character = path[position]
        if character == "[":
            match = _QUOTED.match(path, position)
            if match:
                text = match.group(1) if match.group(1) is not None else match.group(2)
                parts.append(Part(text, quoted=True))
            else:
                match = _BRACKETED.match(path, position)
                if match is None or not match.group(1).strip():
                    raise ValueError(_malformed(path, position, "an unclosed or empty bracket"))
                parts.append(Part(match.group(1).strip()))
            position = match.end()
            expect_name = False
        elif character == "." and not expect_name:
            position += 1
            expect_name = True
        elif expect_name and (match := _NAME.match(path, position)) is not None and match.group(0).strip():
            parts.append(Part(match.group(0).strip()))
            position = match.end()
            expect_name = False
        else:
            raise ValueError(_malformed(path, position, "an empty part"))
    if expect_name:
        raise ValueError(_malformed(path, len(path), "an empty part" if path else "nothing"))
    return tuple(parts)


def _malformed(path: str, position: int, problem: str) -> str:
    return f"malformed path {path!r}: {problem} at character {position + 1}"


def part_scalar(text: str) -> Any:
    """Reads a path part as YAML reads a mapping key: `2` is the integer 2, `true` a bool, `red` the string 'red'.

    Args:
        text: The part's text.

    Returns:
        The scalar the text reads as; the text itself when it reads as a collection or not at all.
    """
    try:
        value = yaml.load(text, Loader=Loader)
    except Exception:  # text that YAML cannot read as a scalar is simply text
        return text
    return text if isinstance(value, (dict, list)) else value
