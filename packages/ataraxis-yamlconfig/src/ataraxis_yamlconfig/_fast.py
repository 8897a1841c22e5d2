"""Writes the common, simple fields without PyYAML's emitter, byte for byte as the emitter would.

PyYAML's pure-Python emitter is most of the cost of a save: it analyses every scalar for every style it might take.
Most fields of a config are numbers, flags and short words, for which the emitter's choice is known in advance: a
plain scalar. This module writes those (and short lists and flat mappings of them) directly, and declines anything
else (dates, text with spaces at its ends or punctuation, nested values), which the emitter then writes. A property
test checks that every text produced here is the one `_dialect.dump` produces for the same value.
"""

from __future__ import annotations

import math
import re
from typing import Any

from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from ._dialect import FLOW_ITEMS, FLOW_WIDTH, MISREAD_BY_OTHER_READERS, STR_TAG, simple_key

_SIMPLE_TEXT = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./+-]*(?: [A-Za-z0-9_./+-]+)*")
"""Text the emitter always writes plain, once it also reads back as a string: no indicator, quote, colon or hash."""

_RESOLVER = Resolver()
"""YAML 1.1's implicit types, as PyYAML's dumper checks them before writing a string plain."""

_LONGEST_SIMPLE_KEY = 127
"""The emitter writes a longer key in the explicit `? key` form."""


def entry_lines(key: str, value: Any) -> list[str] | None:
    """Writes one `key: value` entry of a block mapping, as `_dialect.dump({name: value})` would.

    Args:
        key: The key, as written in the file (already quoted if it needs to be).
        value: The plain value.

    Returns:
        The entry's lines, without line breaks, or None when the value is not one this module writes.
    """
    text = scalar_text(value)
    if text is not None:
        return [f"{key}: {text}"]
    if type(value) is list:
        return _list_lines(key, value)
    if type(value) is dict:
        return _mapping_lines(key, value)
    return None


def key_text(key: Any) -> str | None:
    """Writes a key of a mapping as the emitter would on the key's line, or returns None for the `? key` form.

    Args:
        key: The key: a str, number, bool, None or date.

    Returns:
        The key's text (quoted if a reader would misread it), or None when the emitter writes it in the explicit form
        (128 characters or more, or an empty string).
    """
    text = scalar_text(key)
    if text is None:
        return simple_key(key)
    return text if len(text) <= _LONGEST_SIMPLE_KEY else None


def scalar_text(value: Any) -> str | None:
    """Writes a scalar as the emitter would in a block or flow context, or returns None when it cannot tell.

    Args:
        value: A plain value.

    Returns:
        The scalar's text, or None.
    """
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        try:
            return str(value)
        except ValueError:  # more digits than Python converts: the emitter raises the same error
            return None
    if kind is float:
        return _float_text(value)
    if kind is str and _SIMPLE_TEXT.fullmatch(value) and _reads_as_text(value):
        text: str = value
        return text
    return None


def _float_text(value: float) -> str:
    """Writes a float as PyYAML's `SafeRepresenter.represent_float` does."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _reads_as_text(value: str) -> bool:
    if MISREAD_BY_OTHER_READERS.match(value):
        return False
    tag = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]  # untyped stubs
    return bool(tag == STR_TAG)


def _list_lines(key: str, items: list[Any]) -> list[str] | None:
    texts = []
    for item in items:
        text = scalar_text(item)
        if text is None or (type(item) is str and "\n" in item):
            return None
        texts.append(text)
    # The same rule as `_dialect._represent_list`: short lists of scalars on one line.
    if len(items) <= FLOW_ITEMS and sum(len(str(item)) + 2 for item in items) <= FLOW_WIDTH:
        return [f"{key}: [{', '.join(texts)}]"]
    return [f"{key}:", *(f"  - {text}" for text in texts)]


def _mapping_lines(key: str, mapping: dict[Any, Any]) -> list[str] | None:
    if not mapping:
        return [f"{key}: {{}}"]
    lines = [f"{key}:"]
    for item_key, item in mapping.items():
        key_text = scalar_text(item_key)
        value_text = scalar_text(item)
        if key_text is None or value_text is None or len(key_text) > _LONGEST_SIMPLE_KEY:
            return None
        lines.append(f"  {key_text}: {value_text}")
    return lines
