"""Reads what a person typed around the keys of an existing config file, so that saving over it keeps it.

PyYAML drops comments, but its nodes carry the line and column where each key and value starts and ends, and
everything between one entry's last line and the next key is blank lines and comments. So the file is composed
once with the same loader that reads configs (libyaml's, when present: a fraction of a millisecond for a typical
config, where a round-trip YAML library would take several), and its text lines are cut up along the node marks.
Only block mappings are followed: a flow mapping (`{a: 1}`) or a list is a value, re-written whole.
"""

from __future__ import annotations

import dataclasses
import re

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ._dialect import Loader
from ._limits import MAX_DEPTH

_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""The line breaks YAML counts, so that line numbers match the node marks."""

_AFTER_SCALAR = re.compile(r"^(\s+#.*)$")
"""What follows a one-line value on its line, when it is a comment."""
_AFTER_KEY = re.compile(r"^\s*:(\s+#.*)$")
"""What follows a key whose value starts on the next lines, when it is a comment."""
_AFTER_BLOCK_SCALAR_HEADER = re.compile(r"^\s*:\s*[|>][-+0-9]*(\s+#.*)$")
"""What follows a block scalar's header (`notes: |`), when it is a comment."""


@dataclasses.dataclass
class KeyLayout:
    """What surrounds one key in the file."""

    above: list[str]
    """The blank and comment lines between the previous entry and the key, without their indentation."""
    end_comment: str | None
    """The comment at the end of the key's line, with the white space before it (`"  # Hz"`), if any."""
    nested: MappingLayout | None
    """The layout of the key's value, when it is a block mapping."""
    placed: bool = True
    """Whether the key keeps its place in the file's order; a key a migration moved into another mapping does not,
    and goes where the class puts a key new to the file."""

    def clone(self) -> KeyLayout:
        """Returns a copy that shares nothing that a save changes."""
        nested = self.nested.clone() if self.nested is not None else None
        return KeyLayout(list(self.above), self.end_comment, nested, self.placed)


@dataclasses.dataclass
class MappingLayout:
    """What surrounds the keys of one block mapping, in the order the file has them."""

    keys: dict[str, KeyLayout]
    """Each key's layout, in file order."""
    footer: list[str]
    """The blank and comment lines after the last entry (kept for the top-level mapping only)."""
    preamble: list[str] = dataclasses.field(default_factory=list)
    """The comments at the top of the file that a blank line separates from the first key (top-level mapping only):
    they belong to the file, not to that key, so they stay at the top whatever key comes first."""

    def clone(self) -> MappingLayout:
        """Returns a copy that shares nothing that a save changes."""
        keys = {name: kept.clone() for name, kept in self.keys.items()}
        return MappingLayout(keys, list(self.footer), list(self.preamble))


_CACHED_CONTENT_LIMIT = 64 << 10
"""Files up to this size have their layout kept for the next save (a config is a few kilobytes)."""

_last_read: tuple[bytes, MappingLayout | None] | None = None
"""The last file content read and its layout: a program that saves the same config again and again (a periodic
save, say) finds the same bytes each time, and a copy of the layout costs a fraction of reading it."""


def read_layout(content: bytes | None) -> MappingLayout | None:
    """Reads the comments, blank lines and key order of an existing config file.

    Args:
        content: The bytes of the file about to be replaced, or None when there is none.

    Returns:
        The layout of its top-level mapping (a file of comments only has a preamble and no keys), or None when there
        is no file or it does not hold a readable YAML mapping (it is then replaced without keeping anything). The
        caller owns it and may change it.
    """
    global _last_read  # a one-entry cache, read and replaced whole (no torn state between threads)
    if not content:
        return None
    cached = _last_read
    if cached is not None and cached[0] == content:
        return cached[1].clone() if cached[1] is not None else None
    layout = _read_layout(content)
    if len(content) <= _CACHED_CONTENT_LIMIT:
        _last_read = (content, layout.clone() if layout is not None else None)
    return layout


def _read_layout(content: bytes) -> MappingLayout | None:
    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
        parser = Loader(text)
        try:
            root = parser.get_single_node()
        finally:
            parser.dispose()
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    lines = _LINE_BREAKS.split(text)
    if root is None:  # comments only (or nothing): they are the file's, kept at its top
        return MappingLayout({}, footer=[], preamble=_trimmed(_blank_and_comments(lines)))
    if not isinstance(root, MappingNode) or root.flow_style:
        return None
    layout = _mapping_layout(root, lines, opening_line=-1, depth=1)
    if root.value:
        layout.footer = _blank_and_comments(lines[_last_line(root, lines) + 1 :])
        while layout.footer and not layout.footer[-1]:
            layout.footer.pop()
    first_node = root.value[0][0] if root.value else None
    first = layout.keys.get(first_node.value) if isinstance(first_node, ScalarNode) else None
    if first is not None and first is next(iter(layout.keys.values())) and "" in first.above:
        cut = len(first.above) - 1 - first.above[::-1].index("")
        layout.preamble = _trimmed(first.above[:cut])
        first.above = first.above[cut + 1 :]
    return layout


def _trimmed(lines: list[str]) -> list[str]:
    """Drops the blank lines at both ends of a stretch of lines (the writer sets the preamble apart itself)."""
    start, end = 0, len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return lines[start:end]


def _mapping_layout(node: MappingNode, lines: list[str], opening_line: int, depth: int) -> MappingLayout:
    keys: dict[str, KeyLayout] = {}
    previous_end = opening_line
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line
        if isinstance(key_node, ScalarNode) and isinstance(key_node.value, str) and key_node.value not in keys:
            nested = None
            if _is_block_mapping(value_node) and depth < MAX_DEPTH and value_node.start_mark.line > key_line:
                nested = _mapping_layout(value_node, lines, key_line, depth + 1)
            keys[key_node.value] = KeyLayout(
                above=_blank_and_comments(lines[previous_end + 1 : key_line]),
                end_comment=_end_comment(key_node, value_node, lines),
                nested=nested,
            )
        previous_end = max(key_line, _last_line(value_node, lines))
    return MappingLayout(keys, footer=[])


def _is_block_mapping(node: Node) -> bool:
    return isinstance(node, MappingNode) and not node.flow_style and bool(node.value)


def _last_line(node: Node, lines: list[str]) -> int:
    """The last line that holds a node's own text (the end mark of a block collection lies on the next key)."""
    floor = node.start_mark.line
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        if isinstance(node, MappingNode):
            floor = max(floor, last[0].start_mark.line)
            node = last[1]
        else:
            node = last
    mark = node.end_mark
    # An alias's node is its anchor's, whose marks lie earlier in the file: hence the floor.
    line = max(floor, mark.line if mark.column > 0 else mark.line - 1)
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        # A block scalar's end mark lies after the blank lines that follow it, which are the file's, not the value's
        # (they are even with `|+`, whose trailing line breaks this package never writes).
        while line > max(floor, node.start_mark.line) and not lines[line].strip():
            line -= 1
    return line


def _end_comment(key_node: Node, value_node: Node, lines: list[str]) -> str | None:
    key_line = key_node.start_mark.line
    line = lines[key_line]
    value_start = value_node.start_mark
    if value_start.line != key_line:  # a block collection below its key (or an alias's earlier anchor)
        match = _AFTER_KEY.match(line[key_node.end_mark.column :])
    elif isinstance(value_node, ScalarNode) and value_node.style in ("|", ">"):
        match = _AFTER_BLOCK_SCALAR_HEADER.match(line[key_node.end_mark.column :])
    elif value_node.end_mark.line == key_line:
        match = _AFTER_SCALAR.match(line[value_node.end_mark.column :])
    else:  # a value that starts on the key's line and ends below it
        match = None
    return match.group(1) if match else None


def _blank_and_comments(lines: list[str]) -> list[str]:
    """Keeps the blank lines and comments of a stretch of lines, without indentation (anything else is dropped)."""
    kept = []
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            kept.append(stripped)
    return kept


def move_key(layout: MappingLayout, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Moves a key's comments where a migration moved its value (`Rename("fps", "camera.fps")`).

    A key renamed within its mapping keeps its place in the file; a key moved into another mapping goes where the
    class puts a key new to the file, and a mapping that the file did not have yet takes the moved key's place.

    Args:
        layout: The file's layout (changed in place).
        old: The key's path in the file (mapping keys as the file writes them).
        new: Its path after the migration.
    """
    parent = _mapping_at(layout, old[:-1])
    if parent is None or old[-1] not in parent.keys:
        return
    names = list(parent.keys)
    position = names.index(old[-1])
    moved = parent.keys.pop(old[-1])
    target = layout
    for name in new[:-1]:
        kept = target.keys.get(name)
        if kept is None:  # a section new to the file: where the moved key was
            kept = KeyLayout(above=[], end_comment=None, nested=None)
            _insert(target, name, kept, position if target is parent else len(target.keys))
        if kept.nested is None:
            kept.nested = MappingLayout({}, footer=[])
        target = kept.nested
    if new[-1] in target.keys:
        return  # the migration refuses a value moved onto another one
    moved.placed = target is parent
    _insert(target, new[-1], moved, position if target is parent else len(target.keys))


def _mapping_at(layout: MappingLayout, path: tuple[str, ...]) -> MappingLayout | None:
    for name in path:
        kept = layout.keys.get(name)
        if kept is None or kept.nested is None:
            return None
        layout = kept.nested
    return layout


def _insert(layout: MappingLayout, name: str, kept: KeyLayout, position: int) -> None:
    items = list(layout.keys.items())
    items.insert(position, (name, kept))
    layout.keys = dict(items)
