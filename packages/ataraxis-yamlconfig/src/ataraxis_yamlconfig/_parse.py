"""Reads a YAML config file into plain data, keeping its node tree so that errors can name the line of a field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ._atomic import read_config
from ._dialect import Loader
from ._limits import check_node_limits
from ._types import FieldPath
from .exceptions import ConfigFileError

_BOM = b"\xef\xbb\xbf"
_CUT_SHORT = (
    "a save cut short by a power cut or a crash of the system can leave a file like this, so it is not taken for "
    "the default config; restore it from a backup, or delete it to start from the defaults (a file that holds only "
    "'{}' or a comment also loads as the defaults)"
)


def parse_file(path: Path, loader: type[Any] = Loader) -> tuple[Any, Node | None]:
    """Reads one YAML document with the safe loader.

    Args:
        path: The file.
        loader: The loader class.

    Returns:
        The plain data (None for an empty document) and the document's root node (None for an empty document).

    Raises:
        ConfigNotFoundError: There is no file at the path.
        OSError: The file cannot be opened or read.
        ConfigFileError: The path names a FIFO, a device or a socket; the file is not valid UTF-8 (or UTF-16)
            YAML, holds several documents, repeats a key, uses a tag that the safe loader does not construct (such
            as `!!python/object`), holds a value its tag cannot build (`2024-02-30`), or exceeds the limits of
            `_limits` (aliases, self-reference, nesting); or the file is empty (nothing but white space) or holds
            only zero bytes, as a save cut short by a power cut can leave it.
    """
    content = read_config(path)
    _refuse_cut_short(content, path)
    try:
        # The pure-Python loader decodes the text as soon as it is built, so building it can raise ReaderError too.
        parser = loader(content)
        try:
            root = parser.get_single_node()
            if root is not None:
                check_node_limits(root, aliases_possible=b"*" in content)
            data = None if root is None else parser.construct_document(root)
        finally:
            parser.dispose()
    except yaml.MarkedYAMLError as error:
        raise _file_error(error, path) from None
    except yaml.reader.ReaderError as error:  # bytes that do not decode, or a control character YAML forbids
        line = content[: error.position].count(b"\n") + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        # libyaml reports a sequence cut short by the end of the file with the character -1: there is none to show.
        character = f"character {code:#04x} at " if code >= 0 else ""
        problem = f"not readable as YAML text: {error.reason} ({character}byte {error.position})"
        raise ConfigFileError(problem, path, line) from None
    return data, root


def _refuse_cut_short(content: bytes, path: Path) -> None:
    """Refuses a file that holds nothing, which must not pass for a config of defaults.

    An empty document is a valid YAML mapping of no fields, so an empty file would load as the default config. But
    a file that a power cut interrupted right after a save (without `durable=True`) can be left empty (ext4 without
    `auto_da_alloc`, network shares) or filled with zero bytes (XFS), and reading it as the defaults would silently
    replace every setting. A person who wants the defaults can write `{}` or a comment.
    """
    text = content.removeprefix(_BOM)
    if text and not text.isspace():
        if text[0] or text.count(0) != len(text):  # the first byte settles it for nearly every file
            return
        problem = f"the file holds only zero bytes ({len(content)})"
    else:
        problem = "the file is empty"
    raise ConfigFileError(f"{problem}: {_CUT_SHORT}", path)


def _file_error(error: yaml.MarkedYAMLError, path: Path) -> ConfigFileError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "malformed YAML"
    if isinstance(error, yaml.constructor.ConstructorError) and problem.startswith("could not determine a constructor"):
        tag = problem.removeprefix("could not determine a constructor for the tag ").replace("tag:yaml.org,2002:", "!!")
        problem = f"the tag {tag} is not allowed: configs are read with the safe loader, which builds plain values only"
    elif error.context:
        problem = f"{problem} ({error.context}"
        if error.context_mark is not None and error.context_mark is not mark:
            problem += f" started on line {error.context_mark.line + 1}"
        problem += ")"
    return ConfigFileError(problem, path, None if mark is None else mark.line + 1)


def locate(root: Node | None, path: FieldPath, *, key: bool = False) -> int | None:
    """Finds the 1-based line of the value (or of the key) at a field path, following the path as far as it goes.

    Args:
        root: The document's root node.
        path: The field names, indexes and keys leading to the value.
        key: Whether to return the line of the last key itself rather than of its value.

    Returns:
        The line of the deepest node reached, or None without a document.
    """
    node = root
    if node is None:
        return None
    line = node.start_mark.line + 1
    for position, segment in enumerate(path):
        child: Node | None = None
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(segment):
                    last = position == len(path) - 1
                    child = key_node if key and last else value_node
                    break
        elif isinstance(node, SequenceNode) and isinstance(segment, int) and 0 <= segment < len(node.value):
            child = node.value[segment]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
