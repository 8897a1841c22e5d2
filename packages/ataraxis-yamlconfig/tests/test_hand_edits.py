"""Random configs, saved, edited by hand (comments, blank lines, line endings), loaded, changed and saved again.

Whatever a person typed around the keys, a save writes the new values exactly (the file loads back as the config
saved) and keeps the comments the guide promises to keep; saving the same config again changes nothing.
"""

from __future__ import annotations

import enum
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ataraxis_yamlconfig import ConfigFileError, YamlConfig, _dialect
from ataraxis_yamlconfig._parse import parse_file


class Trigger(enum.Enum):
    INTERNAL = "internal"
    EXTERNAL = "external"


@dataclass
class Camera:
    fps: float = 30.0
    """Frames per second."""
    label: str = "main"
    roi: list[int] = field(default_factory=lambda: [0, 0, 640, 480])
    trigger: Trigger = field(default=Trigger.INTERNAL, metadata={"help": "What starts a frame.\nTwo lines of help."})


@dataclass
class Rig(YamlConfig):
    """Settings of one rig."""

    name: str = "rig-1"
    """The rig's name."""
    count: int = 0
    gain: float = 1.0
    """The amplifier's gain."""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    channels: dict[int, str] = field(default_factory=dict)
    camera: Camera = field(default_factory=Camera)
    """The behaviour camera."""
    cameras: list[Camera] = field(default_factory=list)
    extra: Any = None
    spare: Camera | None = None


_TEXT = st.text(max_size=12)
_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_CAMERAS = st.builds(
    Camera,
    fps=st.floats(allow_nan=False),
    label=_TEXT,
    roi=st.lists(st.integers(), max_size=14),
    trigger=st.sampled_from(Trigger),
)
_RIGS = st.builds(
    Rig,
    name=_TEXT,
    count=st.integers(),
    gain=st.floats(allow_nan=False),
    notes=st.text(max_size=30),
    tags=st.lists(_TEXT, max_size=4),
    channels=st.dictionaries(st.integers(), _TEXT, max_size=3),
    camera=_CAMERAS,
    cameras=st.lists(_CAMERAS, max_size=2),
    extra=_PLAIN,
    spare=st.none() | _CAMERAS,
)
_LINE_BREAKS = st.sampled_from(["\n", "\r\n"])


def _keys(node: Node, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], ScalarNode, Node]]:
    """Every key of a block mapping in the document, with its path (names of fields, list indexes) and its value."""
    found = []
    if isinstance(node, MappingNode) and not node.flow_style:
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                found.append(((*path, key_node.value), key_node, value_node))
                found.extend(_keys(value_node, (*path, key_node.value)))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            found.extend(_keys(item, (*path, index)))
    return found


def _kept_place(path: tuple[Any, ...], config: Rig) -> bool:
    """Whether the guide promises to keep a comment above this key in the file saved from `config`.

    Comments are kept above the keys of the config and of nested dataclasses, and above the keys of mappings (a
    `dict` field, or the mappings an `Any` field holds) that are still there and whose keys all fit on their lines
    (the empty key does not: it is written `? ''`); comments inside lists (`cameras[0].fps`) are written anew.
    """
    if len(path) == 1:
        return True
    if path[0] in ("camera", "spare"):
        return len(path) == 2 and getattr(config, path[0]) is not None
    value: Any = getattr(config, path[0])
    for key in path[1:]:
        key = int(key) if path[0] == "channels" else key
        if not isinstance(value, dict) or key not in value or None in map(_dialect.simple_key, value):
            return False
        value = value[key]
    return True


def _single_line(value: Any) -> bool:
    return isinstance(value, (bool, int, float)) or (isinstance(value, str) and "\n" not in value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(first=_RIGS, second=_RIGS, edits=st.data(), line_break=_LINE_BREAKS, byte_order_mark=st.booleans())
def test_a_hand_edited_file_saved_again_holds_the_new_values_and_keeps_the_comments(
    first: Rig, second: Rig, edits: st.DataObject, line_break: str, byte_order_mark: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rig.yaml"
        first.to_yaml(file_path=path)
        lines = path.read_text(encoding="utf-8").split("\n")
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_dialect.Loader)

        # Comments above randomly chosen keys, at the key's indentation or deeper; end-of-line comments after
        # randomly chosen one-line scalars; a note at the top and one at the end of the file.
        keys = _keys(root)
        chosen = edits.draw(st.lists(st.sampled_from(range(len(keys))), unique=True, max_size=8), label="above")
        above = {}
        for number in chosen:
            key_path, key_node, _ = keys[number]
            above[key_node.start_mark.line] = (key_path, key_node.start_mark.column)
        ends = {}
        for number in edits.draw(st.lists(st.sampled_from(range(len(keys))), unique=True, max_size=6), label="ends"):
            key_path, key_node, value_node = keys[number]
            one_line = value_node.start_mark.line == value_node.end_mark.line == key_node.start_mark.line
            if isinstance(value_node, ScalarNode) and not value_node.style and one_line:
                ends[key_node.start_mark.line] = key_path
        # And comments or blank lines anywhere, at any indentation: the values must come out right regardless.
        anywhere = edits.draw(
            st.dictionaries(st.integers(0, len(lines)), st.sampled_from(["", "#", "# x: 1", "  # - item"]), max_size=4),
            label="anywhere",
        )
        edited: list[str] = ["# a note at the top of the file", ""]
        expected_above: list[str] = []
        expected_ends: list[str] = []
        for number, line in enumerate(lines):
            if number in anywhere:
                edited.append(" " * edits.draw(st.integers(0, 6), label="indent") + anywhere[number])
            if number in above:
                key_path, column = above[number]
                extra = edits.draw(st.integers(0, 3), label="indent")
                comment = f"# note above {number}"
                edited.append(" " * (column + extra) + comment)
                if _kept_place(key_path, second):
                    expected_above.append(comment)
            if number in ends:
                comment = f"# end of {number}"
                line = f"{line}  {comment}"
                key_path = ends[number]
                if _kept_place(key_path, second) and _single_line(_field(second, key_path)):
                    expected_ends.append(comment)
            edited.append(line)
        edited.extend(["# a note at the end of the file", ""])
        text = line_break.join(edited)
        path.write_bytes((b"\xef\xbb\xbf" if byte_order_mark else b"") + text.encode("utf-8"))

        # A line put inside a literal block is text, or ends the block too early: such an edit is not a comment.
        try:
            assume(Rig.from_yaml(file_path=path) == first)
        except ConfigFileError:
            assume(False)

        second.to_yaml(file_path=path)
        saved = path.read_text(encoding="utf-8")

        assert Rig.from_yaml(file_path=path) == second
        for comment in ("# a note at the top of the file", "# a note at the end of the file", *expected_above):
            assert f"{comment}\n" in saved, comment
        for comment in expected_ends:
            assert f"  {comment}\n" in saved, comment
        assert saved.count("# Settings of one rig.") == 1
        second.to_yaml(file_path=path)
        assert path.read_text(encoding="utf-8") == saved  # saving again changes nothing


def _field(config: Any, path: tuple[Any, ...]) -> Any:
    """The value at a path of the file (field names and mapping keys as the file writes them)."""
    for name in path:
        if isinstance(config, dict):
            config = config[int(name)] if config and isinstance(next(iter(config)), int) else config[name]
        else:
            config = getattr(config, name)
    return config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=_RIGS, line_break=_LINE_BREAKS)
def test_both_loaders_read_every_saved_file_alike(config: Rig, line_break: str) -> None:
    # The package reads with libyaml's loader when PyYAML has it, else with the pure-Python one: the same values.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rig.yaml"
        config.to_yaml(file_path=path)
        path.write_bytes(path.read_bytes().replace(b"\n", line_break.encode()))

        python_data, _ = parse_file(path, _dialect.PythonLoader)
        default_data, _ = parse_file(path, _dialect.Loader)

        assert python_data == default_data
        assert Rig.from_yaml(file_path=path) == config
