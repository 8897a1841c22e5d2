"""Limits that keep a hostile or broken file from exhausting memory or the stack: checked before values are built.

YAML aliases let a few hundred bytes describe billions of values (the "billion laughs" file: each line repeats the
previous one nine times), and an alias inside its own anchor describes a value that contains itself. PyYAML builds
either cheaply, since an alias becomes a second reference to the same object, but anything that walks the values
(saving the config again, comparing it, printing it) then expands them: a `MemoryError` after seconds, or a
`RecursionError`. Deep nesting exhausts the stack of the pure-Python loader itself. So the document's node graph is
checked first, in one pass that visits each node once.

An alias is written `*name`, so a file without the byte `*` (in UTF-8 and UTF-16 alike) has none: its nodes form a
tree, which nothing can contain twice or contain itself, and counting its nodes and levels is all the check needs.
That walk is several times cheaper than the general one, and it is the one nearly every config takes.
"""

from __future__ import annotations

from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 100
"""The deepest nesting of lists and mappings a file may hold; the document's top-level mapping is level 1."""

MAX_VALUES = 1_000_000
"""The most values (scalars, lists and mappings) a file may describe once its aliases are expanded."""


_TOO_DEEP = f"the values nest more than {MAX_DEPTH} levels deep"
_TOO_MANY = f"the file describes more than {MAX_VALUES:,} values once its aliases are expanded"


def check_node_limits(root: Node, *, aliases_possible: bool = True) -> None:
    """Refuses a document that nests too deeply, contains itself, or expands to too many values through aliases.

    Each node's expanded size and depth are computed once and reused wherever an alias refers to it, so the check
    takes time in proportion to the file, not to what its aliases describe.

    Args:
        root: The document's root node.
        aliases_possible: False when the document's text holds no `*`, hence no alias: its nodes then form a tree,
            and a cheaper walk that counts them applies the same limits.

    Raises:
        ComposerError: A limit is exceeded or a value contains itself (the error marks the node where it was found).
    """
    if not aliases_possible:
        _check_tree(root)
        return
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    started: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            size = 1 + sum(sizes[id(child)] for child in children)
            nested = isinstance(node, (SequenceNode, MappingNode))
            depth = 1 + max((depths[id(child)] for child in children), default=0) if nested else 0
            if size > MAX_VALUES:
                raise _refusal(_TOO_MANY, node)
            if depth > MAX_DEPTH:
                raise _refusal(_TOO_DEEP, node)
            sizes[key], depths[key] = size, depth
            started.discard(key)
            continue
        if key in sizes:
            continue
        started.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in started:  # an ancestor still being walked: an alias inside its own anchor
                raise _refusal("a value contains itself (an alias refers to the anchor that encloses it)", node)
            if id(child) not in sizes:
                stack.append((child, False))


def _check_tree(root: Node) -> None:
    """Applies the limits to a document whose nodes form a tree: each node counts once, and no node holds itself."""
    values = 1
    stack: list[tuple[Node, int]] = [(root, 1)]  # collections still to visit, with their nesting level
    while stack:
        node, level = stack.pop()
        if isinstance(node, ScalarNode):
            continue
        if level > MAX_DEPTH:
            raise _refusal(_TOO_DEEP, node)
        children = _children(node)
        values += len(children)
        if values > MAX_VALUES:
            raise _refusal(_TOO_MANY, node)
        stack.extend((child, level + 1) for child in children if not isinstance(child, ScalarNode))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _refusal(problem: str, node: Node) -> ComposerError:
    return ComposerError(None, None, f"{problem}; this is refused to protect the memory and stack", node.start_mark)
