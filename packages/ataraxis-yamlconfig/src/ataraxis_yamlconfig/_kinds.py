"""Classifies field types into the few kinds that saving and loading treat differently.

Every annotation is taken apart once (`shape_of`, cached per type) into a `Shape`: its `Kind` and the parts the
walkers need. The encoder (`_encode.encode`) and the decoder (`_decode.Decoder.value`) each dispatch on the kind
with one `match` that ends in `assert_never`, so a kind added here and forgotten by either walker is a mypy error.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import enum
import functools
import pathlib
import typing
from typing import Any

from ._types import NONE_TYPE, FieldPath, is_union, type_name, unwrap_alias
from .exceptions import UnsupportedFieldTypeError, format_field_path


class Kind(enum.Enum):
    """What a field type is, as far as saving and loading are concerned."""

    ANY = enum.auto()
    """`Any`, `object` or a type variable: any plain YAML value."""
    NONE = enum.auto()
    """`None` only."""
    UNION = enum.auto()
    """A union; `arguments` holds its members."""
    LITERAL = enum.auto()
    """A `Literal`; `arguments` holds the allowed values."""
    DATACLASS = enum.auto()
    """A (nested) dataclass, written as a mapping of its fields."""
    ENUM = enum.auto()
    """An `Enum`, written as its member's value."""
    SCALAR = enum.auto()
    """bool, int, float or str (or a subclass); `base` is the one of these four it derives from."""
    PATH = enum.auto()
    """A `pathlib` path, written as a string."""
    DATETIME = enum.auto()
    """A `datetime.datetime`, written as a YAML timestamp."""
    DATE = enum.auto()
    """A `datetime.date`, written as a YAML date."""
    SEQUENCE = enum.auto()
    """A list, tuple, set or frozenset (`base` says which); `arguments` holds the item types."""
    MAPPING = enum.auto()
    """A dict; `arguments` holds the key and value types."""


@dataclasses.dataclass(frozen=True)
class Shape:
    """A field type taken apart: its kind and the parts the walkers need."""

    kind: Kind
    """What the type is."""
    tp: Any
    """The annotation itself (NewTypes and type aliases unwrapped; a generic dataclass without its arguments)."""
    arguments: tuple[Any, ...] = ()
    """Union members, Literal values, sequence item types, or the mapping's key and value types."""
    base: type | None = None
    """For scalars: bool, int, float or str. For sequences: list, tuple, set or frozenset."""
    variadic: bool = True
    """For sequences: whether every item has the one type `arguments[0]` (False for fixed-length tuples)."""


_SEQUENCES: dict[object, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: frozenset,
    collections.abc.MutableSet: set,
}
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def shape_of(tp: Any, path: FieldPath) -> Shape:
    """Takes a field type apart.

    Args:
        tp: The declared type.
        path: Where it is declared (for the error message).

    Returns:
        The type's shape.

    Raises:
        UnsupportedFieldTypeError: The type has no YAML form.
    """
    try:
        shape = _classify_cached(tp)
    except TypeError:  # an unhashable annotation (a Literal of a list, say): classified without the cache
        shape = _classify(tp)
    if shape is None:
        raise unsupported(tp, path)
    return shape


def is_itself(shape: Shape, value: Any) -> bool:
    """Tells whether a value of a None, date or datetime field is saved and loaded as itself (it has that type).

    A `datetime` is also a `date`, so a date field refuses it: it would load back as a `datetime`.

    Args:
        shape: The shape of a `Kind.NONE`, `Kind.DATE` or `Kind.DATETIME` type.
        value: The value to check.

    Returns:
        True when the value is its own plain form for that type.
    """
    if shape.kind is Kind.NONE:
        return value is None
    if shape.kind is Kind.DATETIME:
        return isinstance(value, datetime.datetime)
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def unsupported(tp: object, path: FieldPath) -> UnsupportedFieldTypeError:
    """Builds the error for a field type that has no YAML form.

    Args:
        tp: The unsupported type.
        path: Where the type is declared.

    Returns:
        The error to raise.
    """
    where = format_field_path(path) or "the config"
    return UnsupportedFieldTypeError(
        f"{where}: the type {type_name(tp)} has no YAML form; config fields may be None, bool, int, float, str, "
        "Path, date, datetime, Enum, Literal, dataclasses, and list, tuple, set, frozenset, dict or unions of these"
    )


def _classify(tp: Any) -> Shape | None:
    """Takes a type apart; None when it has no YAML form."""
    tp = unwrap_alias(tp)
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return Shape(Kind.ANY, tp)
    if tp is NONE_TYPE or tp is None:
        return Shape(Kind.NONE, NONE_TYPE)
    origin = typing.get_origin(tp)
    arguments = typing.get_args(tp)
    if is_union(tp):
        return Shape(Kind.UNION, tp, arguments)
    if origin is typing.Literal:
        return Shape(Kind.LITERAL, tp, arguments)
    if isinstance(origin, type) and dataclasses.is_dataclass(origin):
        # A generic dataclass with its type arguments (`Box[int]`): the dataclass itself, its type variables any
        # plain value, as a dataclass's own type variables are everywhere else.
        return Shape(Kind.DATACLASS, origin)
    if origin is None and isinstance(tp, type):
        origin = tp
        arguments = ()
    if origin in _SEQUENCES:
        container = _SEQUENCES[origin]
        fixed_tuple = container is tuple and tp is not tuple and tp is not typing.Tuple  # noqa: UP006
        if fixed_tuple and (not arguments or arguments[-1] is not Ellipsis):
            return Shape(Kind.SEQUENCE, tp, arguments, base=tuple, variadic=False)
        return Shape(Kind.SEQUENCE, tp, arguments[:1] or (Any,), base=container)
    if origin in _MAPPINGS:
        return Shape(Kind.MAPPING, tp, arguments or (Any, Any), base=dict)
    if isinstance(tp, type):
        return _classify_class(tp)
    return None


def _classify_class(tp: type) -> Shape | None:
    if dataclasses.is_dataclass(tp):
        return Shape(Kind.DATACLASS, tp)
    if issubclass(tp, enum.Enum):
        return Shape(Kind.ENUM, tp)
    for base in (bool, int, float, str):
        if issubclass(tp, base):
            return Shape(Kind.SCALAR, tp, base=base)
    if issubclass(tp, pathlib.PurePath):
        return Shape(Kind.PATH, tp)
    if issubclass(tp, datetime.datetime):
        return Shape(Kind.DATETIME, tp)
    if issubclass(tp, datetime.date):
        return Shape(Kind.DATE, tp)
    return None


# Annotations are few and long-lived (one per field), so an unbounded cache stays small.
_classify_cached = functools.cache(_classify)
