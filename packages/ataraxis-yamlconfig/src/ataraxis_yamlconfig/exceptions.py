"""The exceptions raised when a config cannot be saved or loaded: one root, `YamlConfigError`.

Every error that `to_yaml` and `from_yaml` raise about the config, its class or its file is a `YamlConfigError`,
and each subclass is also the built-in exception that code catching built-in errors expects:

```text
YamlConfigError (Exception)
├── ConfigPathError (ValueError)           the file name does not end with .yaml or .yml (.json for a schema)
├── ConfigNotFoundError (FileNotFoundError) there is no file to load
├── ConfigFileError (ValueError)           the file is not a readable YAML mapping
├── ConfigVersionError (ValueError)        the file's $version is newer than the class's, or malformed
├── MigrationError (ValueError)            a migration step failed on a file of an older version
├── OverrideError (ValueError)             an override or environment variable is malformed
├── ConfigValidationError (ValueError)     the content does not fit the class
│   ├── ConfigTypeError (TypeError)        a value of the wrong type
│   ├── UnknownFieldError                  a key the class does not declare
│   └── MissingFieldError                  a required field is absent
└── ConfigClassError (TypeError)           the class itself is not a usable config (a programming error)
    └── UnsupportedFieldTypeError          a field type with no YAML form
```

`ConfigMigrationWarning` (a `UserWarning`) says that an older file was migrated as it was loaded.

The errors carry where the problem is: the file, the line and the dotted field path (`camera.fps`,
`cameras[1].fps`). Errors of the file system itself (a folder that cannot be written, a full disk) are the
`OSError`s the operating system reports: they say nothing about the config.
"""

from __future__ import annotations

import errno
import reprlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any


class _ShortRepr(reprlib.Repr):
    """Shortens values for messages, including integers too long for Python to write out (more than 4,300 digits)."""

    def repr_int(self, x: int, level: int) -> str:
        """Returns the integer's repr, shortened; for one too long to convert, its approximate number of digits.

        Args:
            x: The integer.
            level: The nesting level (unused for integers).
        """
        try:
            return super().repr_int(x, level)
        except ValueError:
            return f"<an integer of about {round(x.bit_length() * 0.30103):,} digits>"


_REPR = _ShortRepr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = 8
_REPR.maxdict = 6


def format_field_path(path: tuple[Hashable, ...]) -> str:
    """Formats a field path as it reads in Python: `camera.fps`, `cameras[1].fps`, `gains[3]`.

    Args:
        path: The field names, sequence indexes and mapping keys leading from the config to the value.

    Returns:
        The dotted path; an empty string for the config itself.
    """
    text = ""
    for segment in path:
        if isinstance(segment, str) and segment.isidentifier():
            text = f"{text}.{segment}" if text else segment
        else:
            text += f"[{_REPR.repr(segment) if type(segment) is int else repr(segment)}]"
    return text


def describe_value(value: object) -> str:
    """Shows a value found in a file the way an error message should: short repr and type name.

    Args:
        value: The offending value.

    Returns:
        For example `'thirty' (str)` or `[1, 2, 3] (list)`.
    """
    return f"{_REPR.repr(value)} ({type(value).__name__})"


def _restore(cls: type[YamlConfigError], args: tuple[object, ...], state: dict[str, object]) -> YamlConfigError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class YamlConfigError(Exception):
    """The root of every error this package raises about a config, its class or its file."""

    def __init__(self, problem: str = "", file_path: Path | None = None, line: int | None = None) -> None:
        """The message shows the location (file and line, when known) before the problem.

        Args:
            problem: What is wrong, without the location (the file, line and field path are added to the message).
            file_path: The file being read or written, when known.
            line: The 1-based line of the file where the problem is, when known.
        """
        super().__init__(problem)
        self.problem: str = problem
        """What is wrong, without the location."""
        self.file_path: Path | None = file_path
        """The file being read or written, when known."""
        self.line: int | None = line
        """The 1-based line of the file where the problem is, when known."""
        self.source: str | None = None
        """Where the offending value came from when not from the file, such as `override 'camera.fps=abc'` or
        `environment variable RIG_CAMERA__FPS`; the message then shows it instead of the file and line."""

    def __reduce__(self) -> tuple[object, ...]:
        """Pickles the attributes, so the error crosses process boundaries intact."""
        return _restore, (type(self), self.args, dict(self.__dict__))

    def _location(self) -> str:
        if self.source is not None:
            return self.source
        parts = []
        if self.file_path is not None:
            parts.append(str(self.file_path))
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)

    def __str__(self) -> str:
        """Returns the message: the location, then the problem."""
        location = self._location()
        return f"{location}: {self.problem}" if location else self.problem


class ConfigPathError(YamlConfigError, ValueError):
    """The config file's name does not end with `.yaml` or `.yml` (checked before anything is read or written).

    Also raised for a JSON Schema file whose name does not end with `.json`, and for a schema reference (to write
    on a config file's first line) that holds a line break.
    """


class ConfigNotFoundError(YamlConfigError, FileNotFoundError):
    """There is no file to load at the given path; also a `FileNotFoundError` with `errno.ENOENT`."""

    def __init__(self, file_path: Path) -> None:
        """The message names the missing file.

        Args:
            file_path: The path that holds no file.
        """
        super().__init__("no YAML config file at this path", file_path=file_path)
        self.errno = errno.ENOENT
        self.strerror = self.problem
        self.filename = str(file_path)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickles the path; the `OSError` attributes are rebuilt from it."""
        return type(self), (self.file_path,)


class ConfigFileError(YamlConfigError, ValueError):
    """The file is not a readable YAML mapping.

    It holds malformed YAML, a forbidden tag such as `!!python/object`, a repeated key, bytes that are not UTF-8,
    or a document that is not a mapping of fields.
    """


class ConfigValidationError(YamlConfigError, ValueError):
    """The content does not fit the config class.

    The base of the field-level errors below; raised as itself when the class's own `__init__` or `__post_init__`
    rejects the values (the original exception is then the `__cause__`).
    """

    def __init__(
        self,
        problem: str,
        path: tuple[Hashable, ...] = (),
        file_path: Path | None = None,
        line: int | None = None,
        *,
        saving: bool = False,
    ) -> None:
        """The message shows the file, line and dotted field path before the problem.

        Args:
            problem: What is wrong with the field.
            path: The field names, indexes and keys leading from the config to the offending value.
            file_path: The file being read or written, when known.
            line: The 1-based line of the file where the problem is, when known.
            saving: Whether the problem was found while saving (the file was then left untouched).
        """
        super().__init__(problem, file_path=file_path, line=line)
        self.path: tuple[Hashable, ...] = path
        """The field names, sequence indexes and mapping keys leading from the config to the offending value."""
        self.saving: bool = saving
        """Whether the problem was found while saving; the file on disk was then left untouched."""

    @property
    def field_path(self) -> str:
        """The dotted path of the offending value, such as `camera.fps` or `cameras[1].fps`."""
        return format_field_path(self.path)

    def __str__(self) -> str:
        """Returns the message: the location, the field path, then the problem."""
        subject = f"{self.field_path}: {self.problem}" if self.path else self.problem
        location = self._location()
        if self.saving:
            return f"cannot save {location}: {subject}" if location else f"cannot save: {subject}"
        return f"{location}: {subject}" if location else subject


class ConfigTypeError(ConfigValidationError, TypeError):
    """A value does not have the declared type of its field (or is not one of its allowed values)."""

    def __init__(self, value: object, expected: str, path: tuple[Hashable, ...] = (), hint: str = "") -> None:
        """The message reads `expected <type>, found <value> (<its type>)`, then the hint.

        Args:
            value: The value found.
            expected: The declared type or the allowed values, as the message shows them.
            path: The field names, indexes and keys leading from the config to the offending value.
            hint: An extra sentence that tells how to fix the value, if there is a likely fix.
        """
        problem = f"expected {expected}, found {describe_value(value)}"
        super().__init__(f"{problem}; {hint}" if hint else problem, path=path)
        self.value: object = value
        """The value found."""
        self.expected: str = expected
        """The declared type or the allowed values."""


class UnknownFieldError(ConfigValidationError):
    """The file holds a key that the config class does not declare (with `strict=True`, the default)."""

    def __init__(
        self,
        key: object,
        class_name: str,
        path: tuple[Hashable, ...] = (),
        suggestion: str | None = None,
        reason: str = "",
        remedy: str = "remove it, or load with strict=False to ignore unknown keys",
    ) -> None:
        """The message names the key, the likely intended field, and `strict=False`.

        Args:
            key: The unknown key.
            class_name: The dataclass that was expected to declare it.
            path: The path of the unknown key (its parent's path plus the key).
            suggestion: The declared field the key most likely misspells, if any.
            reason: Why the key cannot be set, when the class has such a field that is not an `__init__` argument.
            remedy: How to fix it, as the message's last words.
        """
        problem = reason or f"unknown key {key!r}: {class_name} declares no such field"
        if suggestion is not None:
            problem += f" (did you mean {suggestion!r}?)"
        problem += f"; {remedy}"
        super().__init__(problem, path=path)
        self.key: object = key
        """The unknown key."""


class MissingFieldError(ConfigValidationError):
    """The file lacks a field that has no default value."""

    def __init__(self, name: str, class_name: str, path: tuple[Hashable, ...] = ()) -> None:
        """The message names the field and the class that declares it.

        Args:
            name: The missing field.
            class_name: The dataclass that declares it.
            path: The path of the missing field (its parent's path plus the name).
        """
        super().__init__(f"missing required field {name!r} of {class_name} (it has no default)", path=path)
        self.name: str = name
        """The missing field."""


class ConfigClassError(YamlConfigError, TypeError):
    """The config class itself cannot be saved or loaded: a mistake in the code, not in a file.

    Raised as itself when a `YamlConfig` subclass is not a dataclass (its `@dataclass` decorator is missing).
    """


class UnsupportedFieldTypeError(ConfigClassError):
    """A config class declares a field whose type has no YAML form (or whose annotation cannot be resolved)."""


class OverrideError(YamlConfigError, ValueError):
    """An override (`path=value`) or environment variable is malformed.

    It has no `=`, a malformed path, or a value that is not readable as YAML. An override that names no field is an
    `UnknownFieldError`, and a value of the wrong type a `ConfigTypeError`, both naming the override.
    """


class ConfigVersionError(YamlConfigError, ValueError):
    """The file's version (its `$version` key) is not one the class can read: newer than the class, or malformed."""

    def __init__(self, problem: str, found: object, supported: int) -> None:
        """The message says which version the file holds and which the class reads.

        Args:
            problem: What is wrong with the version.
            found: The value of the file's `$version` key.
            supported: The class's own version, the newest it reads.
        """
        super().__init__(problem)
        self.found: object = found
        """The value of the file's `$version` key."""
        self.supported: int = supported
        """The class's own version: it reads files of this version and of every older one."""


class MigrationError(YamlConfigError, ValueError):
    """A migration step failed while an older file was being upgraded (the original exception is the `__cause__`)."""

    def __init__(self, problem: str, from_version: int, to_version: int, step: int) -> None:
        """The message names the migration (its versions) and the step that failed.

        Args:
            problem: What failed, starting with the migration and step.
            from_version: The version the failed migration upgrades from.
            to_version: The version it upgrades to.
            step: The 1-based position of the failed step in the migration.
        """
        super().__init__(problem)
        self.from_version: int = from_version
        """The version the failed migration upgrades from."""
        self.to_version: int = to_version
        """The version the failed migration upgrades to."""
        self.step: int = step
        """The 1-based position of the failed step in its migration."""


class ConfigMigrationWarning(UserWarning):
    """An older file was migrated to the class's version while it was loaded (in memory, or also on disk)."""

    def __init__(
        self,
        file_path: Path,
        from_version: int,
        to_version: int,
        class_name: str,
        *,
        rewritten: bool,
        unchanged_because: str | None = None,
    ) -> None:
        """The message names the file, the versions and whether the file itself was rewritten.

        Args:
            file_path: The migrated file.
            from_version: The file's version.
            to_version: The class's version, which the config now has.
            class_name: The config class.
            rewritten: Whether the file was rewritten as the new version (`from_yaml(..., upgrade_file=True)`).
            unchanged_because: Why a file that `upgrade_file=True` asked to rewrite was left as it was, if it was.
        """
        if rewritten:
            where = f"the file was rewritten as version {to_version}"
        elif unchanged_because is not None:
            where = f"the file itself is unchanged: {unchanged_because}"
        else:
            where = "the file itself is unchanged (load with upgrade_file=True, or save the config, to upgrade it)"
        super().__init__(
            f"{file_path}: migrated from version {from_version} to version {to_version} of {class_name}; {where}"
        )
        self.file_path: Path = file_path
        """The migrated file."""
        self.from_version: int = from_version
        """The version the file was written as."""
        self.to_version: int = to_version
        """The version the loaded config has (the class's own)."""
        self.rewritten: bool = rewritten
        """Whether the file on disk was rewritten as `to_version`."""
        self.unchanged_because: str | None = unchanged_because
        """Why the file was not rewritten although `upgrade_file=True` asked for it (None otherwise)."""
        self._class_name = class_name

    def __reduce__(self) -> tuple[object, ...]:
        """Pickles the warning from its arguments, so that it crosses process boundaries intact."""
        arguments = (self.file_path, self.from_version, self.to_version, self._class_name)
        keywords = {"rewritten": self.rewritten, "unchanged_because": self.unchanged_because}
        return _rebuild_warning, (arguments, keywords)


def _rebuild_warning(arguments: tuple[Path, int, int, str], keywords: dict[str, Any]) -> object:
    return ConfigMigrationWarning(*arguments, **keywords)
