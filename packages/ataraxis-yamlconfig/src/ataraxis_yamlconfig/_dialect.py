"""The YAML loader and dumper: PyYAML's safe classes (libyaml's C loader when present) with a few refinements.

- Strings that any YAML reader could take for something else are quoted: PyYAML already quotes what its YAML 1.1
  resolver would misread (`yes`, `no`, `on`, `off`, `null`, `~`, `0x10`, `2024-01-01`, ...), and the dumper also
  quotes what YAML 1.2 readers (ruamel.yaml, for one) would misread (`1e3`, `0o17`, `.5`) and YAML 1.1's `y`/`n`,
  so a file edited with other tools keeps its strings. Multi-line strings are written as literal blocks (`|`).
- Short lists of scalars are written on one line (`[640, 480]`), other lists one item per line, indented under
  their key.
- The loader reads `1e3` as the float 1000.0, as YAML 1.2 does, instead of as a string; the dumper knows this and
  quotes such strings, so saved files read back the same either way.
- The loader refuses a mapping that repeats a key (PyYAML silently keeps the last one), since in a hand-edited
  config a repeated key is always a mistake.
- An integer with a leading zero that YAML 1.1 and 1.2 read as different numbers (`017`: the octal 15 for PyYAML,
  17 for editors and ruamel.yaml) is refused rather than silently read as octal.
- A value that PyYAML's constructors cannot build (`2024-02-30`, `!!int abc`, `!!bool maybe`, an integer of more
  digits than Python converts) is a `ConstructorError` that marks its line, never a bare `ValueError`, `KeyError`
  or `AttributeError`.

Only the safe classes are used: `!!python/...` tags are never written and are refused on reading, and so are the
safe tags that build values a config cannot hold (`!!binary`, `!!set`, `!!omap`, `!!pairs`).
"""

from __future__ import annotations

import functools
import re
import reprlib
from collections.abc import Hashable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.representer import SafeRepresenter

from ._encode import Section
from ._limits import MAX_DEPTH

STR_TAG = "tag:yaml.org,2002:str"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SEQ_TAG = "tag:yaml.org,2002:seq"

_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
"""Floats written without a dot (`1e3`, `-2E-5`): YAML 1.2 reads them as floats, PyYAML's YAML 1.1 as strings."""

MISREAD_BY_OTHER_READERS = re.compile(
    r"""^(?:
        ~|null|Null|NULL
        |true|True|TRUE|false|False|FALSE|y|Y|n|N
        |[-+]?[0-9]+
        |0o[0-7]+|0x[0-9a-fA-F]+
        |[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    )$""",
    re.VERBOSE,
)
"""Scalars that the YAML 1.2 core schema (or YAML 1.1's `y`/`n`) does not read as strings."""

_SHORT = reprlib.Repr()
_SHORT.maxstring = 40

_ODD_LINE_BREAKS = re.compile("[\r\x85\u2028\u2029]")
"""Line breaks other than `\\n`, which YAML readers normalise to `\\n` unless they are escaped."""

_WIDTH = 1 << 20
"""The emitter's line width: wide enough that no value is ever folded onto several lines."""

FLOW_ITEMS = 12
"""Lists of at most this many scalars are written on one line (`[640, 480]`), when they also fit `FLOW_WIDTH`."""
FLOW_WIDTH = 72
"""The longest one-line list, in characters, roughly."""


def _represent_str(dumper: SafeRepresenter, text: str) -> ScalarNode:
    if _ODD_LINE_BREAKS.search(text):
        # Written raw, a reader would turn these into plain newlines: only the escapes of the double-quoted style
        # keep them.
        return dumper.represent_scalar(STR_TAG, text, style='"')
    if "\n" in text.rstrip("\n") and not text.endswith("\n\n"):
        # A literal block (`|` or `|-`) reads best. The emitter still falls back to a quoted style by itself when a
        # block cannot hold the text faithfully (trailing spaces, special characters). Text ending in several
        # newlines would need the keep indicator (`|+`), whose trailing blank lines belong to the value and so
        # would swallow the blank lines and comments written after it: such text is quoted instead.
        return dumper.represent_scalar(STR_TAG, text, style="|")
    if MISREAD_BY_OTHER_READERS.match(text):
        return dumper.represent_scalar(STR_TAG, text, style="'")
    return dumper.represent_scalar(STR_TAG, text)


def _represent_list(dumper: SafeRepresenter, items: list[Any]) -> SequenceNode:
    # A short list of scalars reads best on one line (`size: [640, 480]`); anything longer or nested, one per line.
    short = len(items) <= FLOW_ITEMS and all(
        item is None or isinstance(item, (bool, int, float)) or (isinstance(item, str) and "\n" not in item)
        for item in items
    )
    if short and sum(len(str(item)) + 2 for item in items) <= FLOW_WIDTH:
        return dumper.represent_sequence(_SEQ_TAG, items, flow_style=True)
    return dumper.represent_sequence(_SEQ_TAG, items, flow_style=False)


def _represent_section(dumper: SafeRepresenter, section: Section) -> MappingNode:
    return dumper.represent_dict({entry.name: entry.value for entry in section.entries})


_AMBIGUOUS_OCTAL = re.compile(r"^[-+]?0[0-7]+$")
"""Integers with a leading zero: octal in YAML 1.1 (PyYAML reads `017` as 15), decimal in YAML 1.2 (17)."""

_CONSTRUCTION_FAILURES = (ValueError, KeyError, IndexError, AttributeError, TypeError, OverflowError)
"""What PyYAML's safe constructors let escape for a scalar they cannot build."""


class _CheckedConstructor(SafeConstructor):
    """Refuses repeated keys and octal-looking integers (the constructors that can fail are wrapped by `_located`)."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        """Builds an integer, refusing one with a leading zero that YAML 1.1 and 1.2 readers read differently.

        Args:
            node: The scalar node.

        Returns:
            The integer.

        Raises:
            ConstructorError: The text is `017` or the like: the octal 15 for PyYAML, 17 for editors.
        """
        number: int = super().construct_yaml_int(node)
        text = str(node.value)
        if _AMBIGUOUS_OCTAL.match(text) and number != int(text, 10):
            decimal = int(text, 10)
            problem = (
                f"{text} is the number {number} (octal) in YAML 1.1, as PyYAML reads it, but {decimal} in YAML 1.2, "
                f"as editors read it: write {decimal} (or {number}) without the leading zero, or '{text}' in quotes "
                "for text"
            )
            raise ConstructorError(None, None, problem, node.start_mark)
        return number

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Hashable, Any]:
        """Builds a mapping after checking that none of its own keys repeats (merged `<<` keys may be overridden).

        Args:
            node: The mapping node.
            deep: Whether to build nested values at once.

        Returns:
            The mapping.

        Raises:
            ConstructorError: A key appears twice (the error marks the second one).
        """
        if not isinstance(node, MappingNode):  # `!!set [1]`, `!!map [1]`: the tag asks for a mapping
            kind = "sequence" if isinstance(node, SequenceNode) else "scalar"
            raise ConstructorError(None, None, f"expected a mapping node, but found {kind}", node.start_mark)
        pairs = list(node.value)  # the base class's merge of `<<` keys changes node.value
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(pairs):  # keys collapsed: a repeated key, or a merged one overridden (allowed)
            self._refuse_repeated_keys(node, pairs)
        return mapping

    def _refuse_repeated_keys(self, node: MappingNode, pairs: list[tuple[Node, Node]]) -> None:
        seen: dict[Any, Node] = {}
        for key_node, _ in pairs:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not key_node:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice (first on line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )


class PythonLoader(_CheckedConstructor, yaml.SafeLoader):
    """The pure-Python safe loader, refined as the module docstring says.

    Its composer is recursive, so it stops at `MAX_DEPTH` levels of nesting, before Python's stack runs out
    (libyaml stops at 1,000 levels by itself, and `check_node_limits` applies the same limit to both loaders).
    """

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Composes one node, counting how deeply it nests.

        Args:
            parent: The enclosing node.
            index: The node's key or position in its parent.

        Returns:
            The node.

        Raises:
            ComposerError: The nesting exceeds `MAX_DEPTH`.
        """
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
            problem = f"the values nest more than {MAX_DEPTH} levels deep; this is refused to protect the stack"
            raise ComposerError(None, None, problem, mark)
        self._depth += 1
        try:
            node: Node | None = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node


class Dumper(yaml.SafeDumper):
    """The safe dumper, refined as the module docstring says, that indents block sequences under their key.

    It is always the pure-Python emitter: libyaml's C emitter escapes every character outside Unicode's Basic
    Multilingual Plane (emoji, rarer CJK characters) even with `allow_unicode`, and a saved file should read the
    same, byte for byte, on every machine whether or not PyYAML was built with libyaml. Configs are small: a save
    takes milliseconds either way.
    """

    def ignore_aliases(self, data: Any) -> bool:
        """Writes a value held in two places twice, never as an anchor and alias (`&id001`, `*id001`).

        An alias would tie two settings together: a person editing one would change the other without knowing.
        The data written is a tree (saving refuses a value that contains itself), so writing it out is finite.

        Args:
            data: The value.

        Returns:
            Always True.
        """
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indents a block sequence under its mapping key (`key:` then `  - item`), as yamllint expects by default.

        Args:
            flow: Whether a flow collection is starting.
            indentless: Whether PyYAML would write the sequence at its key's indentation (ignored: never).
        """
        super().increase_indent(flow=flow, indentless=False)


_NOT_PLAIN_TAGS = ("binary", "set", "omap", "pairs")
"""Tags the safe loader builds into values a config cannot hold (bytes, sets, lists of pairs): refused as unknown."""

_FALLIBLE_TAGS = ("null", "bool", "int", "float", "timestamp")
"""Tags whose constructors let a bare exception escape for text they cannot read (`!!bool maybe`: a `KeyError`).

The others cannot fail that way: strings, and lists and mappings, whose items are built by these constructors (and
whose own faults PyYAML reports as `ConstructorError`s). Wrapping only these keeps the common path free of an extra
call per value.
"""


def _located(construct: Any) -> Any:
    """Wraps a constructor so that a bare exception becomes a `ConstructorError` marking the node's line."""

    @functools.wraps(construct)
    def located(loader: Any, node: Node) -> Any:
        try:
            return construct(loader, node)
        except _CONSTRUCTION_FAILURES as error:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            shown = _SHORT.repr(node.value) if isinstance(node, ScalarNode) else "this collection"
            reason = f": {error}" if isinstance(error, ValueError) else ""
            raise ConstructorError(None, None, f"cannot read {shown} as {tag}{reason}", node.start_mark) from None

    return located


def _refine(loader: Any) -> None:
    """Gives a loader class this module's resolvers and constructors (the same for the C and pure-Python ones)."""
    loader.add_implicit_resolver(_FLOAT_TAG, _EXPONENT_FLOAT, list("-+0123456789"))
    loader.add_constructor(_INT_TAG, loader.construct_yaml_int)
    for tag in _FALLIBLE_TAGS:
        full = f"tag:yaml.org,2002:{tag}"
        loader.add_constructor(full, _located(loader.yaml_constructors[full]))
    for tag in _NOT_PLAIN_TAGS:
        loader.add_constructor(f"tag:yaml.org,2002:{tag}", loader.construct_undefined)


_refine(PythonLoader)
Dumper.add_implicit_resolver(_FLOAT_TAG, _EXPONENT_FLOAT, list("-+0123456789"))
Dumper.add_representer(str, _represent_str)
Dumper.add_representer(list, _represent_list)
Dumper.add_representer(Section, _represent_section)

Loader: type[Any] = PythonLoader
"""The loader in use: libyaml's C parser when PyYAML was built with it (much faster), else the pure-Python one."""

if yaml.__with_libyaml__:

    class LibyamlLoader(_CheckedConstructor, yaml.CSafeLoader):
        """libyaml's safe loader, refined as the module docstring says."""

    _refine(LibyamlLoader)
    Loader = LibyamlLoader


def dump(data: Any) -> str:
    """Writes plain data as block-style YAML: keys in their order, 2-space indents, unicode kept, no markers.

    Args:
        data: Plain data (a mapping, for the writer's use).

    Returns:
        The YAML text, ending with a newline.
    """
    text: str = yaml.dump(
        data,
        Dumper=Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        indent=2,
        width=_WIDTH,
    )
    return text


def simple_key(key: Hashable) -> str | None:
    """Writes a mapping key as the dumper writes it in a block mapping, when it fits on the key's line.

    Args:
        key: The key: a field name, or a key of a mapping (a str, number, bool, None or date).

    Returns:
        The key as written in the file, without the colon (quoted when a YAML reader would take it for something
        else: `'on'`), or None when the dumper writes it in the explicit `? key` form (a key of 128 or more
        characters).
    """
    line = dump({key: None})  # not cached: keys of mappings are data, of any number
    if line.endswith(": null\n") and line.count("\n") == 1:
        return line.removesuffix(": null\n")
    return None


@functools.cache
def plain_key(name: str) -> str:
    """Writes a field name as a mapping key, quoted when a YAML reader would take it for something else (`on`).

    Args:
        name: The field name (a Python identifier, so it never holds a quote).

    Returns:
        The key as written in the file, without the colon.
    """
    return simple_key(name) or f"'{name}'"  # a name too long for an implicit key in the emitter's view
