"""Rebuilds a config instance from the plain data of a YAML file, checking every value against its declared type.

The first problem found stops loading with an error that names the dotted field path, the value found and the type
expected. `bool` is not accepted for `int` (YAML's `yes` is a bool), an `int` is accepted for a `float` and becomes
one, and unknown keys are refused unless `strict=False`.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import enum
from typing import Any, assert_never

from ._encode import encode_any, literal_choice, same_plain
from ._kinds import Kind, Shape, is_itself, shape_of
from ._types import (
    FieldPath,
    as_float,
    choices_text,
    convert_union,
    field_types,
    has_default,
    init_fields,
    type_name,
)
from .exceptions import ConfigTypeError, ConfigValidationError, MissingFieldError, UnknownFieldError

_TEXT_HINT = "write it in quotes to keep it as text (YAML reads unquoted yes, no, on, off, null, numbers and dates)"


class Decoder:
    """Rebuilds typed values from plain YAML data.

    Args:
        strict: Whether keys that a dataclass does not declare are refused (True) or ignored (False).
        ignored: A list to which the paths of ignored keys are added (with `strict=False`), if given.
    """

    def __init__(self, *, strict: bool, ignored: list[FieldPath] | None = None) -> None:
        self._strict = strict
        self._ignored = ignored

    def dataclass(self, cls: type, data: dict[Any, Any], path: FieldPath) -> Any:
        """Builds a dataclass instance from a mapping of its fields.

        Args:
            cls: The dataclass.
            data: The mapping read from the file.
            path: Where the mapping is.

        Returns:
            The instance, built through its `__init__` (so `__post_init__` runs).

        Raises:
            ConfigValidationError: A value does not fit, a key is unknown, a required field is missing, or the
                class's `__init__` rejected the values.
        """
        fields = {field.name: field for field in init_fields(cls)}
        if self._strict:
            for key in data:
                if key not in fields:
                    raise _unknown_key(cls, key, (*path, key))
        elif self._ignored is not None:
            self._ignored.extend((*path, key) for key in data if key not in fields)
        hints = field_types(cls)
        arguments = {}
        for name, field in fields.items():
            if name in data:
                arguments[name] = self.value(hints[name], data[name], (*path, name))
            elif not has_default(field):
                raise MissingFieldError(name, cls.__name__, (*path, name))
        try:
            return cls(**arguments)
        except Exception as error:
            if isinstance(error, ConfigValidationError) and error.file_path is None:
                # The class named the field at fault, by a path relative to itself: point at that field in the file.
                error.path = (*path, *error.path)
                raise
            problem = f"{cls.__name__} rejected the values: {type(error).__name__}: {error}"
            raise ConfigValidationError(problem, path) from error

    def value(self, tp: Any, data: Any, path: FieldPath) -> Any:
        """Rebuilds one value of the declared type.

        Args:
            tp: The declared type.
            data: The plain value read from the file.
            path: Where the value is.

        Returns:
            The typed value.

        Raises:
            ConfigValidationError: The value does not fit the type.
            UnsupportedFieldTypeError: The declared type has no YAML form.
        """
        shape = shape_of(tp, path)
        match shape.kind:
            case Kind.ANY:
                return data
            case Kind.UNION:
                return convert_union(shape.arguments, tp, data, path, self.value)
            case Kind.LITERAL:
                return literal_choice(shape, data, data, path)
            case Kind.NONE | Kind.DATETIME | Kind.DATE:
                if is_itself(shape, data):
                    return data
            case Kind.DATACLASS:
                if isinstance(data, dict):
                    return self.dataclass(shape.tp, data, path)
                raise ConfigTypeError(data, f"a mapping of {shape.tp.__name__}'s fields", path)
            case Kind.ENUM:
                return _enum_member(shape.tp, data, path)
            case Kind.SCALAR:
                return _scalar(shape.base, tp, data, path)
            case Kind.PATH:
                if isinstance(data, str):
                    return shape.tp(data)
            case Kind.SEQUENCE:
                return self._sequence(shape, data, path)
            case Kind.MAPPING:
                return self._mapping(shape.arguments, tp, data, path)
            case unreachable:
                assert_never(unreachable)
        raise ConfigTypeError(data, type_name(tp), path, _hint_for(tp, data))

    def _sequence(self, shape: Shape, data: Any, path: FieldPath) -> Any:
        base, items, tp = shape.base, shape.arguments, shape.tp
        if not isinstance(data, list):
            raise ConfigTypeError(data, type_name(tp), path)
        if shape.variadic:
            values = [self.value(items[0], item, (*path, index)) for index, item in enumerate(data)]
        elif len(data) != len(items):
            raise ConfigTypeError(data, f"{type_name(tp)} ({len(items)} items)", path)
        else:
            pairs = enumerate(zip(items, data, strict=True))
            values = [self.value(item_type, item, (*path, index)) for index, (item_type, item) in pairs]
        if base in (set, frozenset):
            try:
                return base(values)
            except TypeError:
                raise ConfigTypeError(data, type_name(tp), path, "set items must be hashable") from None
        return values if base is list else tuple(values)

    def _mapping(self, arguments: tuple[Any, ...], tp: Any, data: Any, path: FieldPath) -> dict[Any, Any]:
        if not isinstance(data, dict):
            raise ConfigTypeError(data, type_name(tp), path)
        key_type, value_type = arguments
        result = {}
        for key, item in data.items():
            try:
                typed_key = self.value(key_type, key, (*path, key))
            except ConfigTypeError as error:
                expected = f"a key of type {type_name(key_type)}"
                raise ConfigTypeError(key, expected, (*path, key), _hint_for(key_type, key)) from error
            result[typed_key] = self.value(value_type, item, (*path, key))
        return result


def _enum_member(enum_type: type[enum.Enum], data: Any, path: FieldPath) -> enum.Enum:
    for member in enum_type:
        if same_plain(encode_any(member.value, path), data):
            return member
    if issubclass(enum_type, enum.Flag) and type(data) is int and data >= 0:
        # A combination of flags (READ | WRITE is saved as 3); never a negative number, which Python would take for
        # the complement of its bits (-5 for READ | WRITE | EXECUTE). Only a number that the flag holds as it is:
        # a Flag whose boundary is CONFORM (the default before Python 3.11.4) drops unknown bits without a word.
        try:
            member = enum_type(data)
        except ValueError:
            pass
        else:
            if isinstance(member, enum_type) and member.value == data:
                return member
    allowed = [encode_any(member.value, path) for member in enum_type]
    named = enum_type.__members__.get(data) if isinstance(data, str) else None
    hint = f"write the value {encode_any(named.value, path)!r} of {data}, not its name" if named else ""
    raise ConfigTypeError(data, choices_text(allowed, enum_type.__name__), path, hint)


def _scalar(base: type | None, tp: Any, data: Any, path: FieldPath) -> Any:
    if base is bool and isinstance(data, bool):
        value: Any = data
    elif base is int and isinstance(data, int) and not isinstance(data, bool):
        value = data
    elif base is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        value = as_float(data, tp, path)
    elif base is str and isinstance(data, str):
        value = data
    else:
        raise ConfigTypeError(data, type_name(tp), path, _hint_for(tp, data))
    return value if type(value) is tp else tp(value)


def _hint_for(tp: Any, data: Any) -> str:
    """Suggests quoting when YAML read a value as something other than the text the field expects."""
    if tp is str and (data is None or isinstance(data, (bool, int, float, datetime.date))):
        return _TEXT_HINT
    return ""


def _unknown_key(cls: type, key: Any, path: FieldPath, **remedy: str) -> UnknownFieldError:
    settable = [field.name for field in init_fields(cls)]
    reason = ""
    if key in {field.name for field in dataclasses.fields(cls)} and key not in settable:
        reason = f"{key!r} is computed by {cls.__name__} (field(init=False)) and cannot be set from a file"
    suggestions = difflib.get_close_matches(str(key), settable, n=1) if isinstance(key, str) and not reason else []
    return UnknownFieldError(key, cls.__name__, path, suggestions[0] if suggestions else None, reason, **remedy)
