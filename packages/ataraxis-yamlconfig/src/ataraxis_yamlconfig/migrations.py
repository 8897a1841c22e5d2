"""Versioned config files: the steps that upgrade a file written by an older version of a config class.

A config class declares its version and its migrations as class keywords:

```python
@dataclass
class RigConfig(
    YamlConfig,
    version=3,
    migrations=[
        Migration(1, 2, Rename("fps", "camera.fps"), Remove("legacy_mode")),
        Migration(2, 3, Retype("camera.exposure", lambda ms: round(ms * 1000))),
    ],
):
    ...
```

`to_yaml` writes the version as the file's first key, `$version` (a name no field can have). `from_yaml` reads a file
without it as version 1, runs the migrations from the file's version up to the class's, one step at a time, on the
mapping read from the file, and then checks the result against the class as usual.

Steps name places with dotted paths (`camera.fps`, `cameras[*].fps` for every item of a list, `gains['a.b']` for a
key holding a dot). A step whose path is absent from the file does nothing, since a file may leave any field with a
default out. Any function that takes the file's mapping and returns it (or changes it in place and returns None)
is a step too, for what the three step types cannot say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeAlias

from ._dotted import Part, parse_path, part_scalar
from .exceptions import ConfigClassError, describe_value, format_field_path

VERSION_KEY = "$version"
"""The top-level key that holds a versioned config file's version; no dataclass field can have this name."""

MappingFunction: TypeAlias = Callable[[dict[str, Any]], "dict[str, Any] | None"]
"""A step written as a function: it takes the file's top-level mapping and returns the migrated one (or changes it in
place and returns None)."""


class StepFailure(Exception):
    """Raised by a step with what went wrong and where; the migration turns it into a `MigrationError`."""


@dataclasses.dataclass(frozen=True)
class Rename:
    """Moves a value to a new key: a renamed field, or one moved into or out of a section.

    `Rename("fps", "frame_rate")` renames a field; `Rename("fps", "camera.fps")` moves it into a section, which
    is created when the file lacks it. Both paths may hold `[*]` (every item of a list or value of a mapping), the
    same number of times: `Rename("cameras[*].fps", "cameras[*].frame_rate")`.

    Raises:
        ConfigClassError: A path is malformed, or the paths hold different numbers of `[*]`.
    """

    old: str
    """The value's path in the older version."""
    new: str
    """Its path in the newer version."""

    def __post_init__(self) -> None:
        """Checks both paths."""
        old, new = _parts(self.old), _parts(self.new)
        if sum(part.wildcard for part in old) != sum(part.wildcard for part in new):
            raise _definition_error(f"{self!r}: both paths must hold [*] the same number of times")

    def _apply(self, data: dict[str, Any]) -> None:
        old, new = _parts(self.old), _parts(self.new)
        wildcards = [position for position, part in enumerate(old) if part.wildcard]
        for parent, key, path in _matches(data, old):
            if not isinstance(parent, dict):
                continue
            # Taken out first, so that a value can move into a new section of its own name (`camera` to
            # `camera.main`) without becoming part of itself.
            value = parent.pop(key)
            filled = iter([path[position] for position in wildcards])
            target, walked = _container(data, [next(filled) if part.wildcard else part for part in new[:-1]])
            new_key = _existing_key(target, new[-1])
            if new_key is not _ABSENT:
                moved = format_field_path(path)
                raise StepFailure(f"the file holds both {moved} and {format_field_path((*walked, new_key))}")
            target[new[-1].text] = value


@dataclasses.dataclass(frozen=True)
class Remove:
    """Deletes a value that the newer version no longer has: `Remove("legacy_mode")`, `Remove("cameras[*].gain")`.

    Raises:
        ConfigClassError: The path is malformed.
    """

    path: str
    """The value's path in the older version."""

    def __post_init__(self) -> None:
        """Checks the path."""
        _parts(self.path)

    def _apply(self, data: dict[str, Any]) -> None:
        for parent, key, _ in _matches(data, _parts(self.path)):
            if isinstance(parent, dict):
                del parent[key]


@dataclasses.dataclass(frozen=True)
class Retype:
    """Converts a value to its newer type or unit: `Retype("exposure", lambda ms: round(ms * 1000))`.

    The function gets the value as read from the file (plain YAML data: a number, a string, a list, a mapping) and
    returns the new plain value. If it raises, loading stops with a `MigrationError` that names the step, the path
    and the value.

    Raises:
        ConfigClassError: The path is malformed.
    """

    path: str
    """The value's path (`[*]` converts every item of a list or value of a mapping)."""
    convert: Callable[[Any], Any]
    """Takes the old plain value and returns the new one."""

    def __post_init__(self) -> None:
        """Checks the path."""
        _parts(self.path)

    def __repr__(self) -> str:
        """Shows the function by name, as a migration error names the step."""
        return f"Retype({self.path!r}, {_function_name(self.convert)})"

    def _apply(self, data: dict[str, Any]) -> None:
        for parent, key, path in _matches(data, _parts(self.path)):
            value = parent[key]
            try:
                parent[key] = self.convert(value)
            except Exception as error:
                where = format_field_path(path)
                raise StepFailure(f"{where}: cannot convert {describe_value(value)}: {_error_text(error)}") from error


Step: TypeAlias = Rename | Remove | Retype | MappingFunction
"""One step of a migration."""


class Migration:
    """The steps that upgrade a file from one version of a config class to the next, run in order.

    Args:
        from_version: The version of the files this migration reads.
        to_version: The version it produces: `from_version + 1` (stated, so a migration reads unambiguously).
        *steps: `Rename`, `Remove` and `Retype` steps, and functions over the file's top-level mapping.

    Raises:
        ConfigClassError: The versions are not consecutive integers from 1 up, or a step is not one of these.
    """

    def __init__(self, from_version: int, to_version: int, *steps: Step) -> None:
        for version in (from_version, to_version):
            if type(version) is not int or version < 1:
                raise _definition_error(f"a migration's versions are integers from 1 up, not {version!r}")
        if to_version != from_version + 1:
            raise _definition_error(
                f"Migration({from_version}, {to_version}) must lead to the next version, {from_version + 1}: "
                "write one migration per version"
            )
        for step in steps:
            if not isinstance(step, (Rename, Remove, Retype)) and not callable(step):
                raise _definition_error(f"{step!r} is not a migration step: use Rename, Remove, Retype or a function")
        self.from_version: int = from_version
        """The version of the files this migration reads."""
        self.to_version: int = to_version
        """The version it produces."""
        self.steps: tuple[Step, ...] = steps
        """The steps, run in order."""

    def __repr__(self) -> str:
        """Shows the migration as it is declared."""
        steps = "".join(f", {describe_step(step)}" for step in self.steps)
        return f"Migration({self.from_version}, {self.to_version}{steps})"


def describe_step(step: Step) -> str:
    """Names a step the way an error message shows it: `Rename('fps', 'camera.fps')`, `add_channels`.

    Args:
        step: The step.

    Returns:
        Its description.
    """
    if isinstance(step, (Rename, Remove, Retype)):
        return repr(step)
    return _function_name(step)


def run_step(step: Step, data: dict[str, Any]) -> dict[str, Any]:
    """Runs one step on a file's top-level mapping.

    Args:
        step: The step.
        data: The mapping, which the step may change in place.

    Returns:
        The migrated mapping.

    Raises:
        StepFailure: The step cannot be applied (its message says why).
        Exception: A function step raised (it propagates as is).
    """
    if isinstance(step, (Rename, Remove, Retype)):
        step._apply(data)  # noqa: SLF001  # the step classes are defined in this module
        return data
    result = step(data)
    if result is None:
        return data
    if not isinstance(result, dict):
        raise StepFailure(f"the function returned {describe_value(result)}, not the migrated mapping")
    return result


_ABSENT = object()


def _parts(path: str) -> tuple[Part, ...]:
    try:
        return parse_path(path)
    except ValueError as error:
        raise _definition_error(f"a migration step's path is wrong: {error}") from None


def _definition_error(message: str) -> ConfigClassError:
    return ConfigClassError(message)


def _function_name(function: Callable[..., Any]) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _existing_key(mapping: dict[Any, Any], part: Part) -> Any:
    """Finds the key of a mapping that a path part names: its text, or (unquoted) the scalar its text reads as."""
    if part.text in mapping:
        return part.text
    if not part.quoted:
        scalar = part_scalar(part.text)
        for key in mapping:
            if type(key) is type(scalar) and key == scalar:
                return key
    return _ABSENT


def _matches(data: Any, parts: tuple[Part, ...]) -> list[tuple[Any, Any, tuple[Any, ...]]]:
    """Finds every place a path names in plain data, as (the container, the key or index, the place's path)."""
    found: list[tuple[Any, Any, Any, tuple[Any, ...]]] = [(None, None, data, ())]
    for part in parts:
        following: list[tuple[Any, Any, Any, tuple[Any, ...]]] = []
        for _, _, value, path in found:
            keys: list[Any] = []
            if isinstance(value, dict):
                key = _existing_key(value, part)
                keys = list(value) if part.wildcard else [] if key is _ABSENT else [key]
            elif isinstance(value, list):
                if part.wildcard:
                    keys = list(range(len(value)))
                elif part.text.isdigit() and int(part.text) < len(value) and not part.quoted:
                    keys = [int(part.text)]
            following.extend((value, key, value[key], (*path, key)) for key in keys)
        found = following
    return [(parent, key, path) for parent, key, _, path in found]


def _container(data: dict[str, Any], parts: list[Part | Any]) -> tuple[dict[Any, Any], tuple[Any, ...]]:
    """Walks to the mapping that receives a renamed value, creating missing sections; parts may be concrete keys."""
    target: Any = data
    walked: tuple[Any, ...] = ()
    for part in parts:
        if isinstance(part, Part):
            key = _existing_key(target, part) if isinstance(target, dict) else _ABSENT
            if key is _ABSENT:
                key = part.text
        else:
            key = part
        if isinstance(target, dict):
            if target.get(key) is None:
                target[key] = {}
        elif not (isinstance(target, list) and isinstance(key, int) and 0 <= key < len(target)):
            raise StepFailure(f"{format_field_path(walked)} holds {describe_value(target)}, not a mapping")
        target = target[key]
        walked = (*walked, key)
    if not isinstance(target, dict):
        raise StepFailure(f"{format_field_path(walked)} holds {describe_value(target)}, not a mapping")
    return target, walked
