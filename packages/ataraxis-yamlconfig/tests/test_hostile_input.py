"""Values PyYAML refuses, alias bombs, self-references and deep nesting become `ConfigFileError`s with file and line.

Each case runs with both loaders: libyaml's C loader and the pure-Python one (the package uses either).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ataraxis_yamlconfig import ConfigFileError, YamlConfig, YamlConfigError, _dialect
from ataraxis_yamlconfig._limits import MAX_DEPTH, MAX_VALUES, check_node_limits
from ataraxis_yamlconfig._parse import parse_file


@dataclass
class Loose(YamlConfig):
    name: Any = None
    other: Any = None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("other: 1\nname: 2024-02-30\n", 2, r"cannot read '2024-02-30' as !!timestamp: day is out of range for month"),
        ("name: !!int abc\n", 1, r"cannot read 'abc' as !!int: invalid literal"),
        ("name: !!float abc\n", 1, r"cannot read 'abc' as !!float"),
        ("other: 1\n\nname: !!bool maybe\n", 3, r"cannot read 'maybe' as !!bool$"),
        ("name: !!timestamp garbage\n", 1, r"cannot read 'garbage' as !!timestamp$"),
        ("name: 2001-13-14t21:59:43.10-05:00\n", 1, r"as !!timestamp: month must be in 1\.\.12"),
        (f"other:\n  - {'9' * 5000}\n", 2, r"cannot read '9999.*' as !!int: Exceeds the limit \(4300 digits\)"),
        ("name: !!set [1]\n", 1, r"the tag '!!set' is not allowed"),
        ("name: !!map [1]\n", 1, r"expected a mapping node, but found sequence"),
    ],
)
def test_values_the_constructors_refuse_name_the_file_and_line(
    tmp_path: Path, loader: type, text: str, line: int, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)

    with pytest.raises(ConfigFileError, match=message) as caught:
        parse_file(path, loader)
    assert caught.value.file_path == path
    assert caught.value.line == line
    with pytest.raises(ConfigFileError):
        Loose.from_yaml(file_path=path)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("other: 1\nname: !!binary aGVsbG8=\n", "!!binary"),
        ("name: !!set {a, b}\n", "!!set"),
        ("name: !!omap [a: 1]\n", "!!omap"),
        ("name: !!pairs [a: 1, a: 2]\n", "!!pairs"),
    ],
)
def test_tags_for_values_a_config_cannot_hold_are_refused(tmp_path: Path, loader: type, text: str, tag: str) -> None:
    # They build bytes, sets and lists of tuples: an `Any` field took them, and the config then could not be saved.
    path = tmp_path / "config.yaml"
    path.write_text(text)

    with pytest.raises(ConfigFileError, match=rf"line {text.count(chr(10))}: the tag '{tag}' is not allowed"):
        parse_file(path, loader)


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels):
        references = ",".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{references}]")
    return "other:\n" + "".join(f"  {line}\n" for line in lines) + f"name: *a{levels - 1}\n"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path, loader: type) -> None:
    path = tmp_path / "config.yaml"
    text = _alias_bomb()
    assert len(text) < 500
    path.write_text(text)

    with pytest.raises(ConfigFileError, match=rf"more than {MAX_VALUES:,} values once its aliases are expanded"):
        parse_file(path, loader)


def test_a_modest_use_of_aliases_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("other: &base {gain: 2, offset: [1, 2, 3]}\nname: [*base, *base, *base]\n")

    config = Loose.from_yaml(file_path=path)
    config.to_yaml(file_path=path)

    assert Loose.from_yaml(file_path=path) == config


@pytest.mark.parametrize(
    ("text", "line"), [("name: &a [*a]\n", 1), ("other: 1\nname: &a\n  key: [1, {deeper: *a}]\n", 3)]
)
def test_a_value_that_contains_itself_is_refused(tmp_path: Path, loader: type, text: str, line: int) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)

    with pytest.raises(ConfigFileError, match="contains itself") as caught:
        parse_file(path, loader)
    assert caught.value.line == line


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 5000])
def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path, loader: type, depth: int) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("other: 1\nname: " + "[" * depth + "]" * depth + "\n")

    with pytest.raises(ConfigFileError, match="nest") as caught:
        parse_file(path, loader)
    assert caught.value.line == 2


def test_nesting_up_to_the_limit_loads_and_saves(tmp_path: Path, loader: type) -> None:
    path = tmp_path / "config.yaml"
    levels = MAX_DEPTH - 1  # the document's root mapping is one level
    path.write_text("name: " + "[" * levels + "1" + "]" * levels + "\n")

    data, _ = parse_file(path, loader)
    config = Loose.from_yaml(file_path=path)
    config.to_yaml(file_path=path)

    assert Loose.from_yaml(file_path=path) == config
    assert config.name == data["name"]


def _nested(levels: int) -> Node:
    node: Node = ScalarNode("tag:yaml.org,2002:int", "1")
    for level in range(levels):
        node = SequenceNode("tag:yaml.org,2002:seq", [node]) if level % 2 else _mapping(node)
    return node


def _mapping(value: Node) -> MappingNode:
    return MappingNode("tag:yaml.org,2002:map", [(ScalarNode("tag:yaml.org,2002:str", "key"), value)])


@pytest.mark.parametrize("aliases_possible", [True, False])
def test_both_walks_of_the_node_limits_agree(aliases_possible: bool) -> None:
    # A file without `*` takes the cheaper walk for trees; it must refuse and accept exactly what the general one does.
    check_node_limits(_nested(MAX_DEPTH), aliases_possible=aliases_possible)
    with pytest.raises(ComposerError, match=f"nest more than {MAX_DEPTH} levels"):
        check_node_limits(_nested(MAX_DEPTH + 1), aliases_possible=aliases_possible)

    scalars = [ScalarNode("tag:yaml.org,2002:int", "1") for _ in range(MAX_VALUES // 2)]
    # Keys count as values: a mapping of n pairs and the root describe 2n + 1 values.
    pairs = list(zip(scalars[: MAX_VALUES // 4], scalars[MAX_VALUES // 4 :], strict=True))
    check_node_limits(MappingNode("tag:yaml.org,2002:map", pairs), aliases_possible=aliases_possible)
    longest = [ScalarNode("tag:yaml.org,2002:int", "1") for _ in range(MAX_VALUES - 1)]
    check_node_limits(SequenceNode("tag:yaml.org,2002:seq", longest), aliases_possible=aliases_possible)
    longest.append(ScalarNode("tag:yaml.org,2002:int", "1"))
    with pytest.raises(ComposerError, match=f"more than {MAX_VALUES:,} values"):
        check_node_limits(SequenceNode("tag:yaml.org,2002:seq", longest), aliases_possible=aliases_possible)


def test_saving_a_value_that_contains_itself_is_refused(tmp_path: Path) -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    path = tmp_path / "config.yaml"
    path.write_text("name: kept\n")

    with pytest.raises(YamlConfigError, match=r"name: .*contains itself"):
        Loose(name=cyclic).to_yaml(file_path=path)
    assert path.read_text() == "name: kept\n"


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_and_resave(path: Path, content: bytes) -> None:
    """Loads a file and saves what it held: either works, or fails with the package's own error."""
    path.write_bytes(content)
    try:  # the pure-Python loader; from_yaml below uses libyaml's when PyYAML has it
        parse_file(path, _dialect.PythonLoader)
    except ConfigFileError:
        pass
    try:
        config = Loose.from_yaml(file_path=path, strict=False)
    except YamlConfigError:
        return
    try:
        config.to_yaml(file_path=path)
    except YamlConfigError:
        return
    Loose.from_yaml(file_path=path)


@_SETTINGS
@given(content=st.binary(max_size=200))
def test_random_bytes_raise_only_the_package_errors(tmp_path: Path, content: bytes) -> None:
    _load_and_resave(tmp_path / "random.yaml", content)


_YAML_PIECES = st.sampled_from(
    [
        "name", "other", ": ", ":", "- ", "\n", "  ", "[", "]", "{", "}", ", ", "&a ", "*a", "&b ", "*b", "!!int ",
        "!!float ", "!!bool ", "!!timestamp ", "!!str ", "!!set ", "!!map ", "!!seq ", "!!binary ", "!!omap ",
        "!!pairs ", "!!null ", "!!python/object ", "<<: ", "? ", "|", ">", "'", '"', "#", "---", "...", "%YAML 1.1",
        "2024-02-30", "1e3", "0x1F", "0o17", "yes", "~", ".inf", ".nan", "9" * 40, "12:30:45", "abc", "\t", "\\",
    ]
)  # fmt: skip


@_SETTINGS
@given(pieces=st.lists(_YAML_PIECES, max_size=30))
def test_random_yaml_raises_only_the_package_errors(tmp_path: Path, pieces: list[str]) -> None:
    _load_and_resave(tmp_path / "random.yaml", "".join(pieces).encode())


_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10) | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@_SETTINGS
@given(value=_PLAIN)
def test_any_plain_value_written_by_pyyaml_loads_and_saves(tmp_path: Path, value: Any) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump({"name": value, "other": [value, value]}))

    config = Loose.from_yaml(file_path=path)
    config.to_yaml(file_path=path)

    assert Loose.from_yaml(file_path=path) == config
