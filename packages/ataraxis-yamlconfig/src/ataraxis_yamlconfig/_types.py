"""Reads the declared fields of config dataclasses and names types the way error messages show them."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import types
import typing
from collections.abc import Callable, Hashable
from typing import Any

from .exceptions import ConfigTypeError, ConfigValidationError, UnsupportedFieldTypeError

NONE_TYPE = type(None)

FieldPath = tuple[Hashable, ...]
"""Field names, sequence indexes and mapping keys leading from the config to a value."""


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """Resolves the field annotations of a dataclass, string annotations (`from __future__ import annotations`) too.

    Each class of the hierarchy resolves its own annotations in its module and its class body, as
    `typing.get_type_hints` does, except that the names annotated in the class body are left out of it: a field
    named like a builtin (`list: list = None`, `type: str`) would otherwise hide the builtin from the annotations,
    since its class attribute is its default value. A field whose default is `None` but whose type does not admit
    `None` (`param: list = None`, common in older configs) is typed `X | None`, so that its default saves and loads.

    Args:
        cls: The dataclass.

    Returns:
        Each field name mapped to its type, with `Annotated` metadata removed.

    Raises:
        UnsupportedFieldTypeError: An annotation names something that cannot be found from the class's module (for
            example a class defined inside a function, referred to by a string annotation).
    """
    fields = {field.name: field for field in dataclasses.fields(cls)}
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations = inspect.get_annotations(base)
        own = {name: annotation for name, annotation in annotations.items() if name in fields}
        if own:
            hints.update(_resolve(base, own))
    for name, field in fields.items():
        if field.default is None and not admits_none(hints[name]):
            hints[name] = hints[name] | None
    return hints


def _resolve(base: type, annotations: dict[str, Any]) -> dict[str, Any]:
    """Evaluates some of one class's annotations, looking names up in its module, then its body, then builtins."""
    module = sys.modules.get(base.__module__)
    module_names = dict(vars(module)) if module is not None else {}
    annotated = inspect.get_annotations(base)
    body_names = {name: value for name, value in vars(base).items() if name not in annotated}
    holder = type(base.__name__, (), {"__annotations__": annotations, "__module__": base.__module__})
    try:
        # get_type_hints evaluates in (globals, locals): locals are searched first, so the module comes first.
        return typing.get_type_hints(holder, globalns=body_names, localns=module_names)
    except NameError as error:
        message = (
            f"cannot resolve the field annotations of {base.__qualname__}: {error}. String annotations (such as "
            "those of `from __future__ import annotations`) must name classes defined at module level"
        )
        raise UnsupportedFieldTypeError(message) from error


_TYPE_ALIAS: Any = getattr(typing, "TypeAliasType", None)
"""The class of the aliases the `type` statement makes (Python 3.12 and later)."""


def unwrap_alias(tp: Any) -> Any:
    """Returns the type that a `NewType` or a type alias (`type Gains = dict[str, float]`) stands for.

    Args:
        tp: The declared type.

    Returns:
        The type itself, when it is neither.
    """
    while True:
        if hasattr(tp, "__supertype__"):  # typing.NewType
            tp = tp.__supertype__
        elif _TYPE_ALIAS is not None and isinstance(tp, _TYPE_ALIAS):
            tp = tp.__value__
        else:
            return tp


def admits_none(tp: Any) -> bool:
    """Tells whether a type accepts `None` as a value (`Any`, `None`, `X | None`, `Literal[None, ...]`).

    Args:
        tp: The resolved type.

    Returns:
        True when `None` fits the type.
    """
    tp = unwrap_alias(tp)
    if tp is Any or tp is object or tp is None or tp is NONE_TYPE or isinstance(tp, typing.TypeVar):
        return True
    if is_union(tp):
        return any(admits_none(member) for member in typing.get_args(tp))
    return typing.get_origin(tp) is typing.Literal and None in typing.get_args(tp)


def init_fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """Returns the fields of a dataclass that are `__init__` arguments: the ones a config file holds.

    Args:
        cls: The dataclass.

    Returns:
        The fields in declaration order (base classes first, as `dataclasses.fields` orders them).
    """
    return tuple(field for field in dataclasses.fields(cls) if field.init)


def has_default(field: dataclasses.Field[Any]) -> bool:
    """Tells whether a dataclass field has a default value or a default factory.

    Args:
        field: The field.

    Returns:
        True when the field may be left out of `__init__` arguments.
    """
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def is_union(tp: object) -> bool:
    """Tells whether a type is a union (`X | Y`, `Union[X, Y]` or `Optional[X]`).

    Args:
        tp: The type.

    Returns:
        True for unions.
    """
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def type_name(tp: object) -> str:
    """Names a type the way it is written in an annotation: `int`, `list[Camera]`, `float | None`, `Path`.

    Args:
        tp: The type.

    Returns:
        The readable name.
    """
    if tp is NONE_TYPE or tp is None:
        return "None"
    if tp is Any:
        return "Any"
    if tp is Ellipsis:
        return "..."
    if is_union(tp):
        return " | ".join(type_name(member) for member in typing.get_args(tp))
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(choice) for choice in typing.get_args(tp))}]"
    if origin is not None:
        arguments = typing.get_args(tp)
        inner = ", ".join(type_name(argument) for argument in arguments) if arguments else "()"
        return f"{type_name(origin)}[{inner}]"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp)


def choices_text(values: typing.Iterable[object], owner: str = "") -> str:
    """Lists allowed values for an error message: `one of 'red', 'green' (Color)`.

    Args:
        values: The allowed values, as they are written in the file.
        owner: The type that defines them, if any.

    Returns:
        The readable list.
    """
    listed = ", ".join(repr(value) for value in values)
    return f"one of {listed} ({owner})" if owner else f"one of {listed}"


def as_float(value: int | float, tp: Any, path: FieldPath) -> float:
    """Converts an int (or float) to a float for a float field, refusing integers too large for a float.

    Args:
        value: The number.
        tp: The declared type (for the error message).
        path: Where the value is.

    Returns:
        The float.

    Raises:
        ConfigTypeError: The integer is beyond the float range.
    """
    try:
        return float(value)
    except OverflowError:
        raise ConfigTypeError(value, type_name(tp), path, "the integer is too large for a float") from None


def convert_union(
    members: tuple[Any, ...], tp: Any, value: Any, path: FieldPath, convert: Callable[[Any, Any, FieldPath], Any]
) -> Any:
    """Converts a value of a union type with the first member type that accepts it; saving and loading both use it.

    Args:
        members: The union's member types.
        tp: The union itself (for the error message).
        value: The value to convert.
        path: Where the value is.
        convert: Converts a value to one member type (`encode` when saving, `Decoder.value` when loading), raising
            ConfigValidationError when the value does not fit it.

    Returns:
        The value as the first member that accepts it converts it; None for None when the union holds None.

    Raises:
        ConfigValidationError: No member accepts the value.
    """
    if value is None and NONE_TYPE in members:
        return None
    candidates = [member for member in members if member is not NONE_TYPE]
    if len(candidates) == 1:
        return convert(candidates[0], value, path)
    failures = []
    for member in candidates:
        try:
            return convert(member, value, path)
        except ConfigValidationError as failure:
            failures.append(failure)
    # A failure deeper than the union itself means one member matched the shape of the value (a mapping of a
    # dataclass's fields, say) and then found a specific problem inside it: that problem is the useful one.
    deepest = max(failures, key=lambda failure: len(failure.path))
    if len(deepest.path) > len(path):
        raise deepest
    raise ConfigTypeError(value, type_name(tp), path)
