"""Overrides: values for individual fields from `path=value` strings and from prefixed environment variables.

Both are applied to the plain data of a config (read from its file, or saved from an instance) before it is checked
and built, so an overridden value passes exactly the checks a value written in the file passes, with the same
messages; an error about an overridden value names the override instead of a line of the file.

- `camera.fps=60`, `cameras[1].fps=60` or `cameras.1.fps=60`, `channels[2]=reward`: the path as error messages
  write it (a list index may also be a dotted part), then `=`, then the value as it would be written after the key
  in the file: `60`, `'yes'` (quoted: a string), `[1, 2]`, `{fps: 60}`, nothing at all (None).
- `RIG_CAMERA__FPS=60` with the prefix `RIG_`: the parts of the path joined by `__` after the prefix, matched to
  field names and existing mapping keys without regard to case (pydantic-settings' `env_nested_delimiter="__"`).

Paths are checked against the class's field types, whatever the file holds: a path that names no field is an
`UnknownFieldError`. Sections the file leaves out are filled with their defaults before a value is set inside them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ._decode import Decoder, _unknown_key
from ._dialect import Loader
from ._dotted import Part, parse_path, part_scalar
from ._encode import Section, encode, same_plain
from ._kinds import Kind, shape_of
from ._limits import check_node_limits
from ._types import FieldPath, field_types, init_fields, type_name
from .exceptions import ConfigTypeError, ConfigValidationError, OverrideError, UnknownFieldError, format_field_path

_DELIMITER = "__"
"""Separates the parts of a path in an environment variable's name, as in pydantic-settings."""
_REMEDY = "check the override's path against the class's fields"


@dataclasses.dataclass(frozen=True)
class Override:
    """One value to set, with where it came from."""

    parts: tuple[Part, ...]
    """The path, as parsed."""
    text: str
    """The value, as YAML text."""
    source: str
    """How error messages name it: `override 'camera.fps=60'` or `environment variable RIG_CAMERA__FPS`."""
    loose_names: bool
    """Whether names match fields and keys without regard to case (environment variables)."""
    optional: bool
    """Whether a path that names no field is ignored rather than refused (environment variables, strict=False)."""


def collect(overrides: Iterable[str], env_prefix: str | None, *, strict: bool) -> list[Override]:
    """Reads the environment variables with the prefix, then the `path=value` strings, in the order they apply.

    Args:
        overrides: The `path=value` strings; a later one wins over an earlier one for the same path.
        env_prefix: The prefix of the environment variables to read (matched without regard to case), or None.
        strict: Whether an environment variable with the prefix that names no field is an error (as an unknown
            key in the file is) rather than ignored.

    Returns:
        The overrides: environment variables first (fewer parts first, then by name), then the strings.

    Raises:
        OverrideError: A string has no `=` or a malformed path, a variable a malformed name, or the prefix is empty.
    """
    if isinstance(overrides, str):
        raise OverrideError(f"overrides is a list of 'path=value' strings; put the single {overrides!r} in a list")
    collected = []
    if env_prefix is not None:
        if not env_prefix:
            raise OverrideError("env_prefix must not be empty: it would make every environment variable an override")
        found = []
        for name, text in os.environ.items():
            if name.upper().startswith(env_prefix.upper()) and len(name) > len(env_prefix):
                texts = name[len(env_prefix) :].split(_DELIMITER)
                source = f"environment variable {name}"
                if not all(part.strip() for part in texts):
                    raise OverrideError(f"{source}: the name has an empty part between '{_DELIMITER}' separators")
                parts = tuple(Part(part) for part in texts)
                found.append(Override(parts, text, source, loose_names=True, optional=not strict))
        collected.extend(sorted(found, key=lambda override: (len(override.parts), override.source)))
    for override in overrides:
        if not isinstance(override, str):
            raise OverrideError(f"an override is a 'path=value' string, not {override!r}")
        source = f"override {override!r}"
        path, equals, text = override.partition("=")
        if not equals:
            raise OverrideError(f"{source}: expected 'path=value' (such as 'camera.fps=60'), found no '='")
        try:
            parts = parse_path(path.strip())
        except ValueError as error:
            raise OverrideError(f"{source}: {error}") from None
        collected.append(Override(parts, text, source, loose_names=False, optional=False))
    return collected


def apply(cls: type, data: dict[Any, Any], overrides: Iterable[Override]) -> dict[FieldPath, str]:
    """Sets the overrides' values in a config's plain data, checking each path against the class's field types.

    Args:
        cls: The config class.
        data: The config's plain data (changed in place).
        overrides: The overrides, applied in order.

    Returns:
        Each set path mapped to its override's source, for error messages.

    Raises:
        OverrideError: A value is not readable as YAML.
        UnknownFieldError: A path names no field (or an index beyond a list's end); ignored for optional overrides.
        ConfigTypeError: A mapping key in a path does not fit the mapping's key type.
    """
    sources: dict[FieldPath, str] = {}
    for override in overrides:
        value = _read_value(override)
        try:
            place = _Walk(cls, data, override).place()
        except ConfigValidationError as error:
            if override.optional and isinstance(error, UnknownFieldError):
                continue
            error.source = override.source
            raise
        container, key, path = place
        container[key] = value
        sources[path] = override.source
    return sources


def blame(error: ConfigValidationError, sources: Mapping[FieldPath, str]) -> bool:
    """Names the override as the error's source when the error is about a value an override set.

    When the error is about a section that holds overridden values (its `__post_init__` refused them, say), the
    overrides are named at the end of the message instead.

    Args:
        error: An error raised while checking the overridden data.
        sources: The set paths and their overrides' sources, as `apply` returned them.

    Returns:
        True when an override is to blame (its source is then on the error, and the file and line are cleared).
    """
    for length in range(len(error.path), 0, -1):
        source = sources.get(error.path[:length])
        if source is not None:
            error.source = source
            error.file_path = None
            error.line = None
            return True
    inside = [source for path, source in sources.items() if path[: len(error.path)] == error.path]
    if inside:
        error.problem += f" (with {', '.join(inside)})"
    return False


def plain_data(value: Any) -> Any:
    """Turns encoded data (with `Section`s for dataclasses) into plain mappings and lists, as a file would hold it.

    Args:
        value: The encoded value.

    Returns:
        The same data with every `Section` turned into a dict.
    """
    if isinstance(value, Section):
        return {entry.name: plain_data(entry.value) for entry in value.entries}
    if isinstance(value, dict):
        return {key: plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_data(item) for item in value]
    return value


def _read_value(override: Override) -> Any:
    """Reads the value as it would read after `key:` in a file (so `a: b` needs quotes, as it does there).

    The same loader and limits as for a file apply (no alias bombs, no self-references, bounded nesting).
    """
    lines = override.text.split("\n")
    document = "value: " + "\n".join([lines[0], *(f"  {line}" for line in lines[1:])])
    try:
        loader = Loader(document)
        try:
            root = loader.get_single_node()
            check_node_limits(root, aliases_possible="*" in document)
            loaded = loader.construct_document(root)
        finally:
            loader.dispose()
    except Exception as error:  # whatever fails, the value is not readable YAML
        reason = getattr(error, "problem", None) or f"{type(error).__name__}: {error}"
        hint = "; write it in quotes to keep it as text" if ": " in override.text or "#" in override.text else ""
        raise OverrideError(f"{override.source}: the value is not readable as YAML ({reason}){hint}") from None
    return loaded["value"]


class _Walk:
    """Follows an override's path through the class's field types and the data, creating what is missing."""

    def __init__(self, cls: type, data: dict[Any, Any], override: Override) -> None:
        self._override = override
        self._tp: Any = cls
        self._holder: Any = {None: data}  # the container of the current node, so that a None node can be replaced
        self._slot: Any = None
        self._path: FieldPath = ()

    def place(self) -> tuple[Any, Any, FieldPath]:
        parts = self._override.parts
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            key, child_type = self._step(part)
            node = self._holder[self._slot]
            self._path = (*self._path, key)
            if last:
                return node, key, self._path
            self._holder, self._slot, self._tp = node, key, child_type
        raise AssertionError("unreachable: a path has at least one part")  # pragma: no cover

    def _node(self, container: type) -> Any:
        """Returns the current node, replacing a None or absent one by an empty container of the given type."""
        node = self._holder.get(self._slot) if isinstance(self._holder, dict) else self._holder[self._slot]
        if node is None:
            node = container()
            self._holder[self._slot] = node
        return node

    def _step(self, part: Part) -> tuple[Any, Any]:
        """Resolves one part: returns the key (or index) in the current node and the type of the value there."""
        shape = shape_of(self._tp, self._path)
        if shape.kind is Kind.UNION:
            shape = self._member_for(shape.arguments, part)
        match shape.kind:
            case Kind.DATACLASS:
                return self._field(shape.tp, part)
            case Kind.MAPPING:
                return self._mapping_key(shape.arguments, part)
            case Kind.SEQUENCE if shape.base in (list, tuple):
                node = self._node(list)
                index = self._index(node, part)
                if shape.variadic:
                    return index, shape.arguments[0]
                if index < len(shape.arguments):
                    return index, shape.arguments[index]
                reason = f"{self._where()} holds {type_name(self._tp)}, which has {len(shape.arguments)} items"
                raise self._unknown(part, reason, index)
            case Kind.ANY:
                node = self._node(dict)
                if isinstance(node, list):
                    return self._index(node, part), Any
                if isinstance(node, dict):
                    return self._loose_key(node, part, Any), Any
        raise self._unknown(part, f"{self._where()} holds {type_name(self._tp)}, which has no part {part.text!r}")

    def _member_for(self, members: tuple[Any, ...], part: Part) -> Any:
        """Picks the union member to follow: the first that has parts, preferring one that fits the current node."""
        node = self._holder.get(self._slot) if isinstance(self._holder, dict) else self._holder[self._slot]
        walkable = []
        for member in members:
            shape = shape_of(member, self._path)
            if shape.kind is Kind.DATACLASS and part.text in {field.name for field in init_fields(shape.tp)}:
                walkable.append((shape, isinstance(node, dict)))
            elif shape.kind is Kind.MAPPING:
                walkable.append((shape, isinstance(node, dict)))
            elif shape.kind is Kind.SEQUENCE and shape.base in (list, tuple):
                walkable.append((shape, isinstance(node, list)))
        if not walkable:
            classes = [member for member in members if shape_of(member, self._path).kind is Kind.DATACLASS]
            if len(classes) == 1:  # `Camera | None`: the part is a misspelt field of Camera
                raise _unknown_key(classes[0], part.text, (*self._path, part.text), remedy=_REMEDY)
            message = f"{self._where()} holds {type_name(self._tp)}, which has no part {part.text!r}"
            raise self._unknown(part, message)
        fitting = [shape for shape, fits in walkable if fits]
        return (fitting or [walkable[0][0]])[0]

    def _field(self, cls: type, part: Part) -> tuple[str, Any]:
        node = self._node(dict)
        names = [field.name for field in init_fields(cls)]
        name = part.text
        if name not in names and self._override.loose_names:
            name = next((candidate for candidate in names if candidate.lower() == part.text.lower()), part.text)
        if name not in names or part.quoted:
            raise _unknown_key(cls, part.text, (*self._path, part.text), remedy=_REMEDY)
        if not isinstance(node, dict):
            raise self._unknown(part, f"{self._where()} holds {type(node).__name__}, not {cls.__name__}'s fields")
        if name not in node:
            node[name] = _default_data(cls, name, (*self._path, name))
        return name, field_types(cls)[name]

    def _mapping_key(self, arguments: tuple[Any, ...], part: Part) -> tuple[Any, Any]:
        key_type, value_type = arguments
        node = self._node(dict)
        if not isinstance(node, dict):
            raise self._unknown(part, f"{self._where()} holds {type(node).__name__}, not a mapping")
        if key_type is str or part.quoted:
            key: Any = self._loose_key(node, part, str)
        else:
            key = self._loose_key(node, part, key_type)
            try:
                Decoder(strict=True).value(key_type, key, (*self._path, key))
            except ConfigTypeError as error:
                expected = f"a key of type {type_name(key_type)}"
                raise ConfigTypeError(key, expected, (*self._path, key)) from error
        return key, value_type

    def _loose_key(self, node: dict[Any, Any], part: Part, key_type: Any) -> Any:
        """Finds the existing key a part names (without regard to case for environment variables), else makes one."""
        text = part.text
        if text in node:
            return text
        scalar = text if key_type is str or part.quoted else part_scalar(text)
        for key in node:
            if same_plain(key, scalar):
                return key
            if self._override.loose_names and isinstance(key, str) and isinstance(scalar, str):
                if key.lower() == scalar.lower():
                    return key
        return scalar

    def _index(self, node: Any, part: Part) -> int:
        index = int(part.text) if part.text.isdigit() and not part.quoted else None
        if not isinstance(node, list):
            raise self._unknown(part, f"{self._where()} holds {type(node).__name__}, not a list", index)
        if index is None or index >= len(node):
            reason = f"{self._where()} has {len(node)} items, so {part.text!r} names none of them"
            raise self._unknown(part, reason, index)
        return index

    def _where(self) -> str:
        return format_field_path(self._path) or "the config"

    def _unknown(self, part: Part, reason: str, key: Any = None) -> UnknownFieldError:
        key = part.text if key is None else key
        return UnknownFieldError(key, type_name(self._tp), (*self._path, key), reason=reason, remedy=_REMEDY)


def _default_data(cls: type, name: str, path: FieldPath) -> Any:
    """Returns a field's default as the plain data a file would hold; None for a field without a default."""
    field = next(field for field in init_fields(cls) if field.name == name)
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    elif field.default is not dataclasses.MISSING:
        value = field.default
    else:
        return None
    return plain_data(encode(field_types(cls)[name], value, path))
