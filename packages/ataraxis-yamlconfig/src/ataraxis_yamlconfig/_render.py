"""Writes a saved config as YAML text, with each field's help text as a comment above its key.

PyYAML cannot emit comments, so the document is assembled here: a field that holds a (non-empty) nested dataclass
becomes `key:` followed by that dataclass's fields indented by two spaces, with their own comments; the other
fields of a mapping are emitted by the dumper in one call, cut into one fragment per field and shifted to their
indentation. YAML structure is relative to indentation, so a fragment shifted as a whole keeps its meaning (block
scalars included). When the file being replaced had comments, blank lines and a key order of its own (see
`_layout`), they are written back around the same keys.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

from ._dialect import dump, plain_key
from ._encode import Entry, Section
from ._fast import entry_lines, key_text
from ._layout import KeyLayout, MappingLayout

_INDENT = "  "
_OPENS_A_BLOCK = re.compile(r":(?: [|>][-+0-9]*)?$")
"""The first line of an entry whose value is written below it (a block list, a literal block): a comment may follow."""
_NOT_PRINTABLE = re.compile("[^\x09\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters a YAML stream may not hold, even in a comment (YAML 1.1, section 5.1)."""


def render_document(section: Section, header: str | None = None, layout: MappingLayout | None = None) -> str:
    """Writes a saved config as the text of its YAML file.

    Args:
        section: The config, as plain data with help texts.
        header: A line to write as a comment at the top of the file, if any.
        layout: The comments, blank lines and key order of the file being replaced, to keep (see `_layout`).

    Returns:
        The file's text, ending with a newline.
    """
    lines: list[str] = []
    header_lines = _comment(header, "") if header else []
    preamble = layout.preamble if layout is not None else []
    first = next(iter(layout.keys.values()), None) if layout is not None else None
    # The header is written unless the file already shows it: in its preamble, or (without the blank line that
    # the header is written with) right above the first key.
    shown = _holds(preamble, header_lines) or (
        not preamble and first is not None and first.above[: len(header_lines)] == header_lines
    )
    if header_lines and not shown:
        lines.extend(header_lines)
        lines.append("")
    if preamble:
        lines.extend(preamble)
        lines.append("")
    lines.extend(_render_section(section, "", top_level=True, layout=layout))
    if not section.entries:
        lines.append("{}")
    if layout is not None and layout.footer:
        lines.extend(layout.footer)
    return "\n".join(lines) + "\n"


def _render_section(section: Section, indent: str, *, top_level: bool, layout: MappingLayout | None) -> list[str]:
    lines: list[str] = []
    previous_nested = False
    mapping = section.mapping
    entries = _in_file_order(section.entries, layout, mapping=mapping) if layout is not None else section.entries
    # Per entry: its layout in the file, and the entries to write below its key (None: one fragment).
    kept_layouts: list[KeyLayout | None]
    if layout is None:
        kept_layouts = [None] * len(entries)
    else:
        kept_layouts = [
            layout.keys.get(name) if isinstance(name, str) else None for name in _names(entries, mapping=mapping)
        ]
    blocks = [
        (value if value.entries else None)
        if type(value := entry.value) is Section
        else (_mapping_block(value, kept) if kept is not None and type(value) is dict else None)
        for entry, kept in zip(entries, kept_layouts, strict=True)
    ]
    singles = [entry for entry, block in zip(entries, blocks, strict=True) if block is None]
    fragments = _fragments(singles, mapping=mapping)
    for position, (entry, kept, block) in enumerate(zip(entries, kept_layouts, blocks, strict=True)):
        nested = block is not None and not block.mapping
        help_lines = _comment(entry.help, indent) if entry.help else []
        if kept is not None:
            lines.extend(f"{indent}{line}" if line else line for line in kept.above)
            if _holds(kept.above, [line.lstrip() for line in help_lines]):
                help_lines = []  # the file shows the current help already, perhaps with a note of its own around it
        elif top_level and position and (entry.help or nested or previous_nested):
            lines.append("")  # top-level fields that carry a comment, and nested blocks, read better set apart
        previous_nested = nested
        lines.extend(help_lines)
        end_comment = kept.end_comment if kept is not None and kept.end_comment else ""
        if block is not None:
            lines.append(f"{indent}{_key(entry.name, mapping=mapping)}:{end_comment}")
            inner = kept.nested if kept is not None else None
            lines.extend(_render_section(block, indent + _INDENT, top_level=False, layout=inner))
        else:
            fragment = fragments[entry.name]
            if len(fragment) > 1 and not _OPENS_A_BLOCK.search(fragment[0]):
                end_comment = ""  # the value continues on the next lines: a comment here could fall inside it
            lines.append(f"{indent}{fragment[0]}{end_comment}")
            lines.extend(f"{indent}{line}" if line else line for line in fragment[1:])
    return lines


def _mapping_block(value: dict[Any, Any], kept: KeyLayout) -> Section | None:
    """Returns a mapping's items as entries to write one by one below its key, or None to write it as one fragment.

    A mapping (a `dict` field, or one held by an `Any` field) is written key by key when the file has comments or
    blank lines among its keys, so that they are kept as a nested dataclass's are. Its keys must then all fit on
    their lines, and its values hold no dataclass (whose fields would get help comments that dataclasses inside
    mappings never get); otherwise it is written whole and its inner comments are not kept.
    """
    if not value or kept.nested is None or not _has_notes(kept.nested):
        return None
    entries = []
    for key, item in value.items():
        if isinstance(item, Section) or key_text(key) is None:
            return None
        entries.append(Entry(key, item, None))
    return Section(tuple(entries), mapping=True)


def _has_notes(layout: MappingLayout) -> bool:
    """Tells whether a mapping's layout holds anything a person typed: comments or blank lines between its keys."""
    return any(
        kept.above or kept.end_comment or (kept.nested is not None and _has_notes(kept.nested))
        for kept in layout.keys.values()
    )


def _names(entries: tuple[Entry, ...], *, mapping: bool) -> list[Hashable]:
    """The entries' keys as the file's layout names them: field names and text keys themselves, others as written."""
    if not mapping:
        return [entry.name for entry in entries]
    return [entry.name if isinstance(entry.name, str) else key_text(entry.name) for entry in entries]


def _key(name: Hashable, *, mapping: bool) -> str | None:
    """The key as it is written: a field name (quoted if a reader would misread it), or a mapping's key."""
    return key_text(name) if mapping else plain_key(str(name))


def _fragments(entries: list[Entry], *, mapping: bool) -> dict[Hashable, list[str]]:
    """Writes the entries of one mapping and cuts the text into each entry's lines.

    Numbers, flags, short words, and short lists and flat mappings of them are written directly (`_fast`); the
    other entries are dumped in one call, because setting up PyYAML's emitter costs more than emitting a field.
    Each dumped entry starts at column 0 and its further lines are indented (lists, literal blocks), so the cut is
    at the unindented lines; if the count does not match (an explicit `? key`, for a very long name), each entry is
    dumped on its own.
    """
    fragments: dict[Hashable, list[str]] = {}
    slow = []
    for entry in entries:
        key = key_text(entry.name) if mapping else plain_key(entry.name)  # type: ignore[arg-type,unused-ignore]
        lines = entry_lines(key, entry.value) if key is not None else None
        if lines is None:
            slow.append(entry)
        else:
            fragments[entry.name] = lines
    if not slow:
        return fragments
    text = dump({entry.name: entry.value for entry in slow})
    lines = text.split("\n")[:-1]
    starts = [index for index, line in enumerate(lines) if line[:1] not in ("", " ")]
    if len(starts) != len(slow):
        fragments.update({entry.name: dump({entry.name: entry.value}).split("\n")[:-1] for entry in slow})
        return fragments
    bounds = [*starts, len(lines)]
    fragments.update({entry.name: lines[bounds[index] : bounds[index + 1]] for index, entry in enumerate(slow)})
    return fragments


def _in_file_order(entries: tuple[Entry, ...], layout: MappingLayout, *, mapping: bool) -> tuple[Entry, ...]:
    """Orders the entries as the file had them; an entry new to the file follows its predecessor in the class.

    So the entries new to the file that follow a known entry in the class come right after it, in class order, and
    those before the first known entry come first. Linear in the number of entries (a mapping may hold many).
    """
    file_position = {name: index for index, (name, kept) in enumerate(layout.keys.items()) if kept.placed}
    positions = [
        file_position.get(name) if isinstance(name, str) else None for name in _names(entries, mapping=mapping)
    ]
    if None not in positions and positions == sorted(positions):  # type: ignore[type-var]  # no None in it
        return entries  # the usual case: a file this package wrote, saved again
    first_run: list[Entry] = []
    known: list[tuple[int, Entry, list[Entry]]] = []
    run = first_run
    for entry, position in zip(entries, positions, strict=True):
        if position is None:
            run.append(entry)
        else:
            run = []
            known.append((position, entry, run))
    ordered = first_run
    for _, entry, following in sorted(known, key=lambda item: item[0]):
        ordered.append(entry)
        ordered.extend(following)
    return tuple(ordered)


def _holds(lines: list[str], block: list[str]) -> bool:
    """Tells whether comment lines kept from the file hold a block of lines written by this package (a help text).

    The package writes the current help above a key, and the class's summary at the top of the file, unless the
    file shows them already. Lines that differ from the current text (an older help text, a note of a person's) are
    never removed: they cannot be told apart, and a person's comment must survive a save.
    """
    if not block:
        return False
    width = len(block)
    return any(lines[start : start + width] == block for start in range(len(lines) - width + 1))


def _comment(text: str, indent: str) -> list[str]:
    """Turns help text into comment lines.

    `splitlines` splits at every character YAML also takes for a line break, so none can end a comment early and
    leak text into the data; characters YAML forbids become spaces.
    """
    return [f"{indent}# {_NOT_PRINTABLE.sub(' ', line)}".rstrip() for line in text.splitlines()]
