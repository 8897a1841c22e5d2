"""Finds the help text of config fields, which the saved file shows as comments above the keys.

A field's help comes from `field(metadata={"help": ...})` or, failing that, from the string written under the field
in the class body (the attribute docstring convention that mkdocstrings and Sphinx also read). Attribute docstrings
are not kept at run time, so they are read from the class's source; when the source is not available (a class
defined in `python -c`, in a REPL, or shipped without `.py` files) the fields simply get no comment.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import textwrap

HELP_KEY = "help"
"""The `field(metadata=...)` key that holds a field's help text."""


def _own_attribute_docstrings(cls: type) -> dict[str, str]:
    """Reads the attribute docstrings written in one class's own body."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, ValueError):
        return {}
    class_node = next((node for node in tree.body if isinstance(node, ast.ClassDef)), None)
    if class_node is None or class_node.name != cls.__name__:
        return {}
    docstrings = {}
    body = class_node.body
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docstrings[statement.target.id] = inspect.cleandoc(following.value.value)
    return docstrings


@functools.cache
def field_help(cls: type) -> dict[str, str]:
    """Returns the help text of each documented field of a dataclass, inherited fields included.

    Args:
        cls: The dataclass.

    Returns:
        Field name to help text; fields without help are absent.
    """
    help_texts: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            help_texts.update(_own_attribute_docstrings(klass))
    names = set()
    for field in dataclasses.fields(cls):
        names.add(field.name)
        declared = field.metadata.get(HELP_KEY)
        if isinstance(declared, str):
            help_texts[field.name] = inspect.cleandoc(declared)
    return {name: text for name, text in help_texts.items() if name in names and text}


def class_summary(cls: type) -> str | None:
    """Returns the first line of a class's own docstring, for the header comment of its file.

    `@dataclass` gives undocumented classes a docstring that repeats their signature; that one is not a summary.

    Args:
        cls: The config class.

    Returns:
        The summary line, or None when the class has no docstring of its own.
    """
    docstring = cls.__dict__.get("__doc__")
    if not isinstance(docstring, str):
        return None
    summary = inspect.cleandoc(docstring).partition("\n")[0].strip()
    if not summary or summary.startswith(f"{cls.__name__}("):
        return None
    return summary
