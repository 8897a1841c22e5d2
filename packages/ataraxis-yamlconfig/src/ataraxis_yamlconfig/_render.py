"""Writes a saved config as YAML text, with each field's help text as a comment above its key.

PyYAML cannot emit comments, so the document is assembled here, one field at a time: a field that holds a
(non-empty) nested dataclass becomes `key:` followed by that dataclass's fields indented by two spaces, with their
own comments; every other field is emitted by the dumper as a one-key mapping and shifted to its indentation. YAML
structure is relative to indentation, so a fragment shifted as a whole keeps its meaning (block scalars included).
"""

from __future__ import annotations

import re

from ._dialect import dump, plain_key
from ._encode import Section

_INDENT = "  "
_NOT_PRINTABLE = re.compile("[^\x09\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters a YAML stream may not hold, even in a comment (YAML 1.1, section 5.1)."""


def render_document(section: Section, header: str | None = None) -> str:
    """Writes a saved config as the text of its YAML file.

    Args:
        section: The config, as plain data with help texts.
        header: A line to write as a comment at the top of the file, if any.

    Returns:
        The file's text, ending with a newline.
    """
    lines: list[str] = []
    if header:
        lines.extend(_comment(header, ""))
        lines.append("")
    lines.extend(_render_section(section, "", top_level=True))
    if not section.entries:
        lines.append("{}")
    return "\n".join(lines) + "\n"


def _render_section(section: Section, indent: str, top_level: bool) -> list[str]:
    lines: list[str] = []
    previous_nested = False
    for position, entry in enumerate(section.entries):
        nested = isinstance(entry.value, Section) and bool(entry.value.entries)
        if top_level and position and (entry.help or nested or previous_nested):
            lines.append("")  # top-level fields that carry a comment, and nested blocks, read better set apart
        previous_nested = nested
        if entry.help:
            lines.extend(_comment(entry.help, indent))
        if nested:
            lines.append(f"{indent}{plain_key(entry.name)}:")
            lines.extend(_render_section(entry.value, indent + _INDENT, top_level=False))
        else:
            fragment = dump({entry.name: entry.value})
            lines.extend(f"{indent}{line}" if line else line for line in fragment.split("\n")[:-1])
    return lines


def _comment(text: str, indent: str) -> list[str]:
    """Turns help text into comment lines.

    `splitlines` splits at every character YAML also takes for a line break, so none can end a comment early and
    leak text into the data; characters YAML forbids become spaces.
    """
    return [f"{indent}# {_NOT_PRINTABLE.sub(' ', line)}".rstrip() for line in text.splitlines()]
