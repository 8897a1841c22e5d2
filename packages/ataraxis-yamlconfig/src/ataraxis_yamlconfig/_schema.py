"""Builds the JSON Schema (draft 2020-12) of a config class, for editors that complete and check YAML files.

The schema describes a config file as a YAML editor sees it, converted to JSON: mappings with their keys as the text
written in the file, timestamps as their text, everything else as the value YAML reads. Nested dataclasses become
`$defs` entries reached through `$ref` (the config class itself is `#`, so recursive classes work), each closed with
`additionalProperties: false` as `from_yaml` refuses unknown keys.

Two choices keep the schema useful in editors whose validator still follows draft 7 (yaml-language-server, behind
VS Code's YAML extension, is one): fixed-length tuples use `prefixItems` with `minItems`/`maxItems` and never
`items: false` (which a draft-7 validator applies to every item, refusing any non-empty list), and dates and
timestamps are checked with a `pattern`, not `format` (editors check `format: date-time` as RFC 3339, which a naive
YAML timestamp such as `2024-01-01 12:30:00` is not).
"""

from __future__ import annotations

import dataclasses
import enum
import io
import itertools
import math
from typing import Any, assert_never

from ._dialect import Dumper
from ._encode import Section, encode, encode_any
from ._help import class_summary, field_help
from ._kinds import Kind, shape_of
from ._types import FieldPath, field_types, has_default, init_fields
from .exceptions import ConfigValidationError

DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect of the schemas built here."""

_DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A YAML date (the date-only form of YAML 1.1's timestamp)."""
_TIMESTAMP = (
    "^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \\t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]*)?"
    "(?:[ \\t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$"
)
"""A YAML timestamp with a time of day, as PyYAML's resolver recognises it."""
_INT_TEXT = (
    "^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
)
"""Keys that the loader reads as integers (YAML 1.1's int forms)."""
_FLOAT_TEXT = (
    "^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)"
    "|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+)$"
)
"""Keys that the loader reads as floats (YAML 1.1's float forms, and `1e3`)."""
_BOOL_TEXT = "^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
"""Keys that the loader reads as booleans."""
_NULL_TEXT = "^(?:~|null|Null|NULL|)$"
"""Keys that the loader reads as None."""

_SCALAR_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
_FLAG_COMBINATIONS = 4096
"""A strict `Flag` with at most this many valid values lists them all; a larger one is described as any integer."""


class _NotJson(Exception):
    """A value that JSON cannot hold (an infinite or NaN float)."""


def scalar_text(value: Any) -> str:
    """Returns the text the dumper writes for a scalar, without quotes: how a mapping key reads in a YAML editor.

    Args:
        value: A plain scalar (None, bool, int, float, str, date or datetime).

    Returns:
        The scalar's text, for example `true`, `12`, `.inf` or `2024-01-01`; a string is returned as itself.
    """
    if isinstance(value, str):
        return value
    node = Dumper(io.StringIO()).represent_data(value)
    text: str = node.value
    return text


def json_value(plain: Any) -> Any:
    """Converts plain YAML data (as the encoder makes it) to its JSON form: keys and timestamps as their text.

    Args:
        plain: The plain data.

    Returns:
        The JSON value.

    Raises:
        _NotJson: The data holds an infinite or NaN float, which JSON cannot hold.
    """
    if isinstance(plain, Section):
        return {entry.name: json_value(entry.value) for entry in plain.entries}
    if isinstance(plain, dict):
        return {scalar_text(key): json_value(item) for key, item in plain.items()}
    if isinstance(plain, list):
        return [json_value(item) for item in plain]
    if isinstance(plain, float) and not math.isfinite(plain):
        raise _NotJson
    if plain is None or isinstance(plain, (bool, int, float, str)):
        return plain
    return scalar_text(plain)


def build_schema(cls: type, extra_properties: dict[str, Any] | None = None, *, extra_required: bool = False) -> Any:
    """Builds the JSON Schema of a config dataclass.

    Args:
        cls: The config dataclass.
        extra_properties: Top-level keys that the file holds besides the fields (the reserved version key), each
            mapped to its schema; they come first.
        extra_required: Whether the extra properties are required.

    Returns:
        The schema, a JSON-serialisable dict.

    Raises:
        UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
    """
    builder = _Builder(cls)
    body = builder.object_schema(cls, ())
    if extra_properties:
        body["properties"] = {**extra_properties, **body["properties"]}
        if extra_required:
            body["required"] = [*extra_properties, *body.get("required", ())]
    schema: dict[str, Any] = {"$schema": DIALECT, **body}
    if builder.definitions:
        schema["$defs"] = builder.definitions
    return schema


class _Builder:
    """Walks a config class's field types, collecting nested dataclasses as `$defs`."""

    def __init__(self, root: type) -> None:
        self._root = root
        self._names: dict[type, str] = {}
        self.definitions: dict[str, Any] = {}

    def object_schema(self, cls: type, path: FieldPath) -> dict[str, Any]:
        hints = field_types(cls)
        help_texts = field_help(cls)
        properties: dict[str, Any] = {}
        required = []
        for field in init_fields(cls):
            field_path = (*path, field.name)
            schema = self.schema(hints[field.name], field_path)
            if field.name in help_texts:
                schema["description"] = help_texts[field.name]
            if has_default(field):
                default = _default_json(field, hints[field.name], field_path)
                if default is not _NO_DEFAULT:
                    schema["default"] = default
            else:
                required.append(field.name)
            properties[field.name] = schema
        body: dict[str, Any] = {"title": cls.__name__}
        summary = class_summary(cls)
        if summary:
            body["description"] = summary
        body.update(type="object", properties=properties, additionalProperties=False)
        if required:
            body["required"] = required
        return body

    def schema(self, tp: Any, path: FieldPath) -> dict[str, Any]:
        shape = shape_of(tp, path)
        match shape.kind:
            case Kind.ANY:
                return {}
            case Kind.NONE:
                return {"type": "null"}
            case Kind.UNION:
                return _any_of([self.schema(member, path) for member in shape.arguments])
            case Kind.LITERAL:
                return _choices([encode_any(choice, path) for choice in shape.arguments])
            case Kind.DATACLASS:
                return self._reference(shape.tp, path)
            case Kind.ENUM:
                return _enum_schema(shape.tp, path)
            case Kind.SCALAR:
                assert shape.base is not None
                return {"type": _SCALAR_TYPES[shape.base]}
            case Kind.PATH:
                return {"type": "string"}
            case Kind.DATETIME:
                return {"type": "string", "pattern": _TIMESTAMP}
            case Kind.DATE:
                return {"type": "string", "pattern": _DATE}
            case Kind.SEQUENCE:
                if shape.variadic:
                    return {"type": "array", "items": self.schema(shape.arguments[0], (*path, 0))}
                items = [self.schema(item, (*path, index)) for index, item in enumerate(shape.arguments)]
                fixed: dict[str, Any] = {"type": "array", "minItems": len(items), "maxItems": len(items)}
                if items:
                    fixed["prefixItems"] = items
                return fixed
            case Kind.MAPPING:
                key_type, value_type = shape.arguments
                mapping: dict[str, Any] = {"type": "object"}
                names = self._key_schema(key_type, path)
                if names:
                    mapping["propertyNames"] = names
                mapping["additionalProperties"] = self.schema(value_type, (*path, "*"))
                return mapping
            case _:
                assert_never(shape.kind)

    def _reference(self, cls: type, path: FieldPath) -> dict[str, Any]:
        if cls is self._root:
            return {"$ref": "#"}
        name = self._names.get(cls)
        if name is None:
            name = self._unique_name(cls)
            self._names[cls] = name
            self.definitions[name] = {}  # reserved first, so that a class that holds itself refers to this entry
            self.definitions[name] = self.object_schema(cls, path)
        return {"$ref": f"#/$defs/{name}"}

    def _unique_name(self, cls: type) -> str:
        base = "".join(character if character.isalnum() or character in "_-" else "_" for character in cls.__name__)
        for suffix in itertools.count(1):
            name = base if suffix == 1 else f"{base}_{suffix}"
            if name not in self.definitions and name != self._root.__name__:
                return name
        raise AssertionError("unreachable")  # pragma: no cover

    def _key_schema(self, key_type: Any, path: FieldPath) -> dict[str, Any]:
        """Describes the keys of a mapping as the text a YAML editor sees (the schema's `propertyNames`)."""
        shape = shape_of(key_type, path)
        match shape.kind:
            case Kind.ANY | Kind.PATH:
                return {}
            case Kind.SCALAR:
                if shape.base is str:
                    return {}
                return {
                    "pattern": {bool: _BOOL_TEXT, int: _INT_TEXT, float: _alternatives(_FLOAT_TEXT, _INT_TEXT)}[
                        shape.base or int
                    ]
                }
            case Kind.NONE:
                return {"pattern": _NULL_TEXT}
            case Kind.DATE:
                return {"pattern": _DATE}
            case Kind.DATETIME:
                return {"pattern": _TIMESTAMP}
            case Kind.LITERAL | Kind.ENUM:
                choices = shape.arguments if shape.kind is Kind.LITERAL else [member.value for member in shape.tp]
                return {"enum": sorted({scalar_text(encode_any(choice, path)) for choice in choices})}
            case Kind.UNION:
                members = [self._key_schema(member, path) for member in shape.arguments]
                return {} if any(not member for member in members) else {"anyOf": members}
            case Kind.DATACLASS | Kind.SEQUENCE | Kind.MAPPING:
                return {}  # the encoder refuses such keys when saving; no file can hold them
            case _:
                assert_never(shape.kind)


_NO_DEFAULT = object()


def _default_json(field: dataclasses.Field[Any], tp: Any, path: FieldPath) -> Any:
    """Returns a field's default in its JSON form, or `_NO_DEFAULT` when it has none that JSON and the type allow."""
    factory = field.default_factory
    value = field.default if factory is dataclasses.MISSING else factory()
    try:
        return json_value(encode(tp, value, path))
    except (ConfigValidationError, _NotJson):
        return _NO_DEFAULT


def _alternatives(*patterns: str) -> str:
    return "|".join(f"(?:{pattern})" for pattern in patterns)


def _any_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Joins union members: as one `type` list when each member is a bare type (clearer editor messages)."""
    if all(set(schema) == {"type"} and isinstance(schema["type"], str) for schema in schemas):
        return {"type": list(dict.fromkeys(schema["type"] for schema in schemas))}
    if any(not schema for schema in schemas):
        return {}
    return {"anyOf": schemas}


def _choices(plain: list[Any]) -> dict[str, Any]:
    """Lists allowed values; a NaN or infinite choice, which JSON cannot list, widens the schema to any number."""
    listed = []
    widened = False
    for value in plain:
        try:
            listed.append(json_value(value))
        except _NotJson:
            widened = True
    if widened:
        return {"anyOf": [{"enum": listed}, {"type": "number"}]}
    return {"enum": listed}


def _enum_schema(enum_type: type[enum.Enum], path: FieldPath) -> dict[str, Any]:
    plain = [encode_any(member.value, path) for member in enum_type]
    if not issubclass(enum_type, enum.Flag) or not all(type(value) is int for value in plain):
        return _choices(plain)
    # A combination of flags is saved as its number. A Flag accepts exactly the combinations of its members' bits
    # (whatever its boundary: from_yaml refuses the bits a CONFORM flag would drop), one that keeps unknown bits
    # (IntFlag, KEEP) any integer.
    if getattr(enum_type, "_boundary_", None) is enum.KEEP:
        return {"type": "integer"}
    combinations = {0}
    for member in enum_type.__members__.values():
        combinations |= {combination | member.value for combination in combinations}
        if len(combinations) > _FLAG_COMBINATIONS:
            return {"type": "integer"}
    return {"enum": sorted(combinations)}
