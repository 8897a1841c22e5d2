"""Turns a config instance into plain YAML data, checking every value against its declared type on the way.

Only values that loading turns back into the same thing are accepted, so a saved file always loads: a `Path` is
written as its string, an `Enum` as its member's value, a tuple or set as a list, a dataclass as a `Section` (a
mapping that remembers its fields' help text for the comments). NumPy scalars and arrays are recognised by their
`tolist()`/`item()` methods (duck typing), so this package never imports NumPy.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import pathlib
import sys
from collections.abc import Hashable, Mapping
from typing import Any, assert_never

from ._help import field_help
from ._kinds import Kind, Shape, is_itself, shape_of
from ._types import FieldPath, as_float, choices_text, convert_union, field_types, init_fields, type_name
from .exceptions import ConfigTypeError

_PLAIN_SCALARS = (type(None), bool, int, float, str, datetime.date, datetime.datetime)
_SCALAR_KEYS = (type(None), bool, int, float, str, datetime.date)

_MOST_DIGITS = sys.int_info.default_max_str_digits
"""Python (and so every YAML reader written in it) refuses to read an integer of more digits than this, by default."""
_FEWEST_BITS_OVER = int(_MOST_DIGITS * math.log2(10))
"""Integers of at most this many bits have at most `_MOST_DIGITS` digits: the one cheap check on the common path."""
_MINUTE = datetime.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One field of a saved dataclass."""

    name: Hashable
    """The field name (the YAML key); for a mapping written key by key (see `_render`), the mapping's key."""
    value: Any
    """The plain value: None, bool, int, float, str, date, list, dict or `Section`."""
    help: str | None
    """The field's help text, written as a comment above the key."""


@dataclasses.dataclass(frozen=True)
class Section:
    """A dataclass instance turned into plain data, in field order."""

    entries: tuple[Entry, ...]
    """The init fields, in declaration order."""
    mapping: bool = False
    """Whether the entries are the items of a mapping (written key by key to keep its comments), not fields."""


def encode_config(config: Any) -> Section:
    """Turns a config dataclass instance into a `Section`, checking each value against its declared type.

    Args:
        config: The dataclass instance.

    Returns:
        The plain data, ready to be written.

    Raises:
        ConfigTypeError: A value does not fit its declared type (the error names the field path).
        UnsupportedFieldTypeError: The class declares a type that has no YAML form.
    """
    return _dataclass(type(config), config, ())


def _dataclass(cls: type, value: Any, path: FieldPath) -> Section:
    hints = field_types(cls)
    help_texts = field_help(cls)
    entries = []
    for field in init_fields(cls):
        field_value = getattr(value, field.name)
        field_path = (*path, field.name)
        try:
            plain = encode(hints[field.name], field_value, field_path)
        except RecursionError:
            # A list that holds itself (or a value nested deeper than the stack) has no finite YAML form.
            hint = "it contains itself, or nests deeper than Python's stack allows"
            raise ConfigTypeError(field_value, "a value YAML can hold", field_path, hint) from None
        entries.append(Entry(field.name, plain, help_texts.get(field.name)))
    return Section(tuple(entries))


def encode(tp: Any, value: Any, path: FieldPath) -> Any:
    """Turns one value into plain YAML data according to its declared type.

    Args:
        tp: The declared type.
        value: The value held by the config.
        path: Where the value is (for error messages).

    Returns:
        The plain value.

    Raises:
        ConfigTypeError: The value does not fit the declared type.
        UnsupportedFieldTypeError: The declared type has no YAML form.
    """
    shape = shape_of(tp, path)
    match shape.kind:
        case Kind.ANY:
            return encode_any(value, path)
        case Kind.UNION:
            return convert_union(shape.arguments, tp, value, path, encode)
        case Kind.LITERAL:
            plain = encode_any(value, path)
            literal_choice(shape, plain, value, path)
            return plain
        case Kind.NONE | Kind.DATETIME | Kind.DATE:
            if is_itself(shape, value):
                return _moment(value, tp, path) if shape.kind is Kind.DATETIME else value
        case Kind.DATACLASS:
            if isinstance(value, shape.tp) and not _adds_fields(type(value), shape.tp):
                return _dataclass(shape.tp, value, path)
        case Kind.ENUM:
            if isinstance(value, shape.tp):
                return encode_any(value.value, path)
        case Kind.SCALAR:
            return _scalar(shape.base, tp, value, path)
        case Kind.PATH:
            if isinstance(value, shape.tp):
                return str(value)
        case Kind.SEQUENCE:
            return _sequence(shape, value, path)
        case Kind.MAPPING:
            return _mapping(shape.arguments, tp, value, path)
        case unreachable:
            assert_never(unreachable)
    raise ConfigTypeError(value, type_name(tp), path)


def literal_choice(shape: Shape, plain: Any, value: Any, path: FieldPath) -> Any:
    """Finds the choice of a `Literal` type whose plain form is a given plain value (saving and loading both use it).

    Args:
        shape: The shape of the `Literal` type.
        plain: The plain value to look for (as written in the file).
        value: The value as the error message should show it.
        path: Where the value is.

    Returns:
        The matching choice, as written in the annotation.

    Raises:
        ConfigTypeError: No choice matches.
    """
    allowed = [encode_any(choice, path) for choice in shape.arguments]
    for choice, choice_plain in zip(shape.arguments, allowed, strict=True):
        if same_plain(choice_plain, plain):
            return choice
    raise ConfigTypeError(value, choices_text(allowed), path)


def _adds_fields(actual: type, declared: type) -> bool:
    """Tells whether a subclass instance holds fields that its declared class would drop on loading."""
    if actual is declared:
        return False
    return bool({field.name for field in init_fields(actual)} - {field.name for field in init_fields(declared)})


def _unwrap(value: Any) -> Any:
    """Turns a NumPy scalar or array (or anything with the same methods) into Python values; else returns None."""
    for method in ("tolist", "item"):
        convert = getattr(type(value), method, None)
        if callable(convert):
            converted = convert(value)
            if type(converted) is not type(value):
                return converted
    return None


def _scalar(base: type | None, tp: Any, value: Any, path: FieldPath) -> Any:
    if not isinstance(value, _PLAIN_SCALARS) and not isinstance(value, enum.Enum):
        unwrapped = _unwrap(value)
        if unwrapped is not None:
            value = unwrapped
    if base is bool and isinstance(value, bool):
        return value
    if base is int and isinstance(value, int) and not isinstance(value, bool):
        return _integer(int(value), tp, path)
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return as_float(value, tp, path)
    if base is str and isinstance(value, str):
        return _text(value, tp, path)
    raise ConfigTypeError(value, type_name(tp), path)


def _expected(tp: Any) -> str:
    return "a value YAML can hold" if tp is Any else type_name(tp)


def _integer(value: int, tp: Any, path: FieldPath) -> int:
    """Returns an integer, refusing one of more digits than YAML readers read (the file would not load)."""
    if value.bit_length() > _FEWEST_BITS_OVER and abs(value) >= 10**_MOST_DIGITS:
        hint = f"it has more than {_MOST_DIGITS} digits, which Python's YAML readers refuse to read"
        raise ConfigTypeError(value, _expected(tp), path, hint)
    return value


def _moment(value: datetime.datetime, tp: Any, path: FieldPath) -> datetime.datetime:
    """Returns a datetime, refusing one whose time zone's offset a YAML timestamp cannot write (finer than minutes)."""
    offset = value.utcoffset()
    if offset is not None and offset % _MINUTE:
        hint = f"its time zone's offset ({offset}) is not a whole number of minutes, as YAML timestamps require"
        raise ConfigTypeError(value, _expected(tp), path, hint)
    return value


def _text(value: str, tp: Any, path: FieldPath) -> str:
    """Returns a string as an exact `str`, refusing text that cannot be written as UTF-8 (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ConfigTypeError(value, type_name(tp), path, f"it is not valid Unicode text ({error.reason})") from None
    return str.__str__(value)


def _sequence(shape: Shape, value: Any, path: FieldPath) -> list[Any]:
    base, items, tp = shape.base, shape.arguments, shape.tp
    if not isinstance(value, (list, tuple, set, frozenset, str, bytes, Mapping)):
        unwrapped = _unwrap(value)
        if unwrapped is not None:
            value = unwrapped
    is_set = base in (set, frozenset)
    if not (isinstance(value, (set, frozenset)) if is_set else isinstance(value, (list, tuple))):
        raise ConfigTypeError(value, type_name(tp), path)
    collection: list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any] = value
    if not shape.variadic:
        if len(collection) != len(items):
            raise ConfigTypeError(value, f"{type_name(tp)} ({len(items)} items)", path)
        pairs = enumerate(zip(items, collection, strict=True))
        return [encode(item_type, item, (*path, index)) for index, (item_type, item) in pairs]
    plain = [encode(items[0], item, (*path, index)) for index, item in enumerate(collection)]
    if isinstance(collection, (set, frozenset)):
        return _sorted(plain)
    return plain


def _sorted(items: list[Any]) -> list[Any]:
    """Sorts a set's items so that the file does not change from one run to the next, when they can be sorted."""
    try:
        return sorted(items)
    except TypeError:
        return items


def _mapping(arguments: tuple[Any, ...], tp: Any, value: Any, path: FieldPath) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise ConfigTypeError(value, type_name(tp), path)
    key_type, value_type = arguments
    plain = {}
    for key, item in value.items():
        plain[_key(encode(key_type, key, (*path, key)), key, (*path, key))] = encode(value_type, item, (*path, key))
    return plain


def _key(plain: Any, key: Any, path: FieldPath) -> Any:
    """Returns a mapping key turned into plain data, refusing one that YAML cannot hold as a key (a list, say)."""
    if not isinstance(plain, _SCALAR_KEYS):
        raise ConfigTypeError(key, "a key YAML can hold (str, int, float, bool, None or date)", path)
    return plain


def encode_any(value: Any, path: FieldPath) -> Any:
    """Turns a value of a field annotated `Any` (or an enum member's value) into plain YAML data, by its own type.

    Args:
        value: The value.
        path: Where the value is (for error messages).

    Returns:
        The plain value.

    Raises:
        ConfigTypeError: The value has no YAML form.
    """
    if isinstance(value, enum.Enum):
        return encode_any(value.value, path)
    kind = type(value)
    if kind is str:
        return _text(value, str, path)
    if kind is int:
        return _integer(value, Any, path)
    if kind is datetime.datetime:
        return _moment(value, Any, path)
    if value is None or kind in _PLAIN_SCALARS:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _integer(int(value), Any, path)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _text(value, str, path)
    if isinstance(value, datetime.datetime):
        return _moment(value, Any, path)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dataclass(type(value), value, path)
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            plain[_key(encode_any(key, (*path, key)), key, (*path, key))] = encode_any(item, (*path, key))
        return plain
    if isinstance(value, (list, tuple)):
        return [encode_any(item, (*path, index)) for index, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return _sorted([encode_any(item, (*path, index)) for index, item in enumerate(value)])
    unwrapped = _unwrap(value)
    if unwrapped is not None:
        return encode_any(unwrapped, path)
    raise ConfigTypeError(value, "a value YAML can hold", path)


def same_plain(first: Any, second: Any) -> bool:
    """Compares plain values by type as well as by value, so that `True` is not `1` and `1` is not `1.0`.

    Args:
        first: A plain value.
        second: Another plain value.

    Returns:
        True when both are the same YAML value.
    """
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(map(same_plain, first, second))
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(same_plain(first[key], second[key]) for key in first)
    return type(first) is type(second) and bool(first == second)
