"""The `YamlConfig` dataclass base: configs that save themselves to, and load themselves from, YAML files."""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from ._atomic import read_existing, write_atomically
from ._decode import Decoder
from ._encode import Entry, Section, encode_config
from ._help import class_summary
from ._layout import MappingLayout, move_key, read_layout
from ._overrides import apply, blame, collect, plain_data
from ._parse import locate, parse_file
from ._render import render_document
from ._schema import build_schema
from ._types import FieldPath
from ._versioning import declare, renamed_keys, upgrade, version_schema, versioning_of
from .exceptions import (
    ConfigClassError,
    ConfigFileError,
    ConfigMigrationWarning,
    ConfigPathError,
    ConfigValidationError,
    UnknownFieldError,
    format_field_path,
)
from .migrations import VERSION_KEY, Migration

_SUFFIXES = (".yaml", ".yml")
_MODELINE = "# yaml-language-server: $schema="
"""The first-line comment that tells yaml-language-server (VS Code's YAML extension and others) the file's schema."""


class YamlConfig:
    """Base class for dataclasses that save themselves to, and load themselves from, human-editable YAML files.

    Subclass it and decorate the subclass with `@dataclass`; the field annotations are the schema:

    ```python
    @dataclass
    class MyConfig(YamlConfig):
        integer: int = 0
        string: str = "random"

    MyConfig(integer=123, string="hello").to_yaml(file_path=Path("my_config.yaml"))
    loaded = MyConfig.from_yaml(file_path=Path("my_config.yaml"))
    ```

    Fields may hold None, bool, int, float (inf and nan included), str, `Path`, `date`, `datetime`, `Enum`,
    `Literal`, nested dataclasses (plain or `YamlConfig`), and lists, tuples, sets and dicts of these, in any
    combination and with `Optional`/unions; a field annotated `Any` holds any plain YAML value. NumPy scalars and
    arrays are saved as plain numbers and lists. Each field's help text, from `field(metadata={"help": ...})` or
    from the string written under the field, is written as a comment above its key.
    """

    _yamlconfig_schema_url: ClassVar[str | None] = None
    """The `schema_url` class keyword of the class that declares it (looked up in the class's own namespace)."""

    def __init_subclass__(
        cls,
        *,
        version: int | None = None,
        migrations: Iterable[Migration] = (),
        schema_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Records the class keywords of a config class: `class RigConfig(YamlConfig, version=2, migrations=[...])`.

        Args:
            version: The version of the class's file format, written to every file as its `$version` key; a file
                without one is version 1. Declare it, and add a migration, whenever a change of the fields would
                stop older files from loading. A subclass inherits its base's version and migrations unless it
                declares its own.
            migrations: One `Migration` from each older version to the next (`Migration(1, 2, ...)` up to the
                class's version), run in order on older files as they are loaded.
            schema_url: The JSON Schema that `to_yaml` names on the first line of every file of this class (not of
                its subclasses, whose schema differs), for editors; see `to_yaml`.
            **kwargs: Passed on to the next `__init_subclass__`.

        Raises:
            ConfigClassError: The version is not an integer from 1 up, or the migrations do not lead from version
                1 to it one version at a time.
        """
        super().__init_subclass__(**kwargs)
        migrations = list(migrations)
        if version is not None or migrations:
            declare(cls, version, migrations)
        if schema_url is not None:
            cls._yamlconfig_schema_url = _modeline_target(schema_url)

    def to_yaml(
        self,
        file_path: str | os.PathLike[str],
        *,
        durable: bool = False,
        schema_url: str | os.PathLike[str] | None = None,
    ) -> None:
        """Saves the config to a YAML file, replacing the file atomically.

        Every value is checked against its field's type first, so the file written always loads back, as the
        declared types (a tuple held by a `list` field comes back as a list; a field annotated `Any` comes back as
        plain YAML values); if a value does not fit, nothing is written. The text goes to a temporary file in the
        same folder, which is then renamed over the target, so a reader or a crash sees either the old file or the
        new one. Missing parent folders are created. When the file already exists, the comments and blank lines a
        person typed there, and its key order, are kept for the keys that still exist.

        Args:
            file_path: The file to write; its name must end with `.yaml` or `.yml`.
            durable: Whether the new file must survive a power cut right after the call returns: the temporary file
                is fsynced before the rename and the folder after it, at the cost of disk flushes (well under a
                millisecond on an SSD, tens on a busy disk or a network share). With False (the default), the file
                is still replaced atomically, so a crashed or killed process never leaves a half-written file; only
                a power cut or kernel crash within the seconds before the operating system writes the file back can
                lose the new content (leaving the old file, or on file systems other than ext4 and btrfs possibly
                an empty one, which `from_yaml` refuses rather than load as the default config: the settings are
                lost either way).
            schema_url: A JSON Schema of the class (see `write_json_schema`) to name in the file's first line,
                `# yaml-language-server: $schema=...`, so that editors complete and check the file: a URL, or a
                path (a `Path` is written relative to the YAML file, as yaml-language-server resolves it). By
                default, the `schema_url` class keyword of the class, if it has one, else the schema the file being
                replaced names; `""` writes no such line.

        Raises:
            ConfigPathError: The file name does not end with `.yaml` or `.yml` or holds a null character, or
                `schema_url` holds a line break.
            ConfigFileError: The path names a FIFO, a device or a socket (or is a link to one), which a save
                never replaces.
            ConfigTypeError: A field holds a value that does not fit its declared type (the file is left untouched).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
            OSError: The file system refused the write (the previous file is left untouched).
        """
        self._save(_config_path(file_path), schema_url, durable=durable, moves=())

    def _save(
        self,
        path: Path,
        schema_url: str | os.PathLike[str] | None,
        *,
        durable: bool,
        moves: Iterable[tuple[tuple[str, ...], tuple[str, ...]]],
    ) -> None:
        """Saves the config as `to_yaml` does; `moves` are the keys a migration renamed, whose comments follow them."""
        cls = _require_dataclass(type(self))
        try:
            section = encode_config(self)
        except ConfigValidationError as error:
            error.file_path = path
            error.saving = True
            raise
        versioning = versioning_of(cls)
        if versioning.declared:
            section = Section((Entry(VERSION_KEY, versioning.version, None), *section.entries))
        existing = read_existing(path)
        layout = read_layout(existing.content)
        if layout is not None:
            for old, new in moves:
                move_key(layout, old, new)
        kept = _take_modeline(layout)
        target = schema_url if schema_url is not None else cls.__dict__.get("_yamlconfig_schema_url") or kept
        text = render_document(section, header=class_summary(cls), layout=layout)
        if target:  # an empty schema_url leaves out the schema line for this save
            text = f"{_MODELINE}{_modeline_target(target, path)}\n{text}"
        write_atomically(existing, text, durable=durable)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """Returns the JSON Schema (draft 2020-12) of the class's YAML files, for editors and validators.

        The schema describes every field (nested dataclasses under `$defs`), with each field's help text as its
        `description` and its default as its `default`, and refuses keys the class does not declare. It accepts
        every file `to_yaml` writes, read as a YAML editor reads it (mapping keys and timestamps as their text).
        `from_yaml` remains the full check: the guide lists what a JSON Schema cannot express (an integral float
        such as `30.0` in an `int` field, a quoted number as a `dict[int, ...]` key, `__post_init__` checks).

        Returns:
            The schema, a dict that `json.dumps` can write.

        Raises:
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        versioning = versioning_of(_require_dataclass(cls))
        extra, required = version_schema(versioning, cls.__name__)
        schema: dict[str, Any] = build_schema(cls, extra, extra_required=required)
        return schema

    @classmethod
    def write_json_schema(cls, file_path: str | os.PathLike[str]) -> None:
        """Writes the class's JSON Schema (see `json_schema`) to a file, replacing it atomically.

        Point editors at it with `to_yaml(..., schema_url=...)` or the `schema_url` class keyword, or with the
        editor's own settings (VS Code: `yaml.schemas`).

        Args:
            file_path: The file to write; its name must end with `.json`.

        Raises:
            ConfigPathError: The file name does not end with `.json` (a guard against overwriting a config).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        path = Path(file_path)
        if path.suffix.lower() != ".json":
            raise ConfigPathError(f"a JSON Schema file name must end with .json, but {str(path)!r} does not")
        text = json.dumps(cls.json_schema(), indent=2, ensure_ascii=False, allow_nan=False)
        write_atomically(read_existing(path), text + "\n", durable=False)

    @classmethod
    def from_yaml(
        cls,
        file_path: str | os.PathLike[str],
        *,
        strict: bool = True,
        overrides: Iterable[str] = (),
        env_prefix: str | None = None,
        upgrade_file: bool = False,
    ) -> Self:
        """Loads a config from a YAML file, checking every value against its field's type.

        Fields missing from the file take their defaults. The instance is built through the class's `__init__`,
        so `__post_init__` validation runs; nested dataclasses are built the same way.

        A file written by an older version of a versioned class (see the `version` class keyword) is migrated in
        memory, with a `ConfigMigrationWarning` naming the file and both versions. Overrides then replace values
        of the file, environment variables first and `overrides` last; they pass the same checks as the file, and
        an error about an overridden value names the override.

        Args:
            file_path: The file to read; its name must end with `.yaml` or `.yml`.
            strict: Whether a key that the class does not declare is an error (the default: a misspelt key in a
                hand-edited file must not pass silently). With False such keys are ignored, which lets an old file
                load after a field was removed from the class; an environment variable with `env_prefix` that
                names no field is then ignored too.
            overrides: `path=value` strings (OmegaConf's dotlist): `camera.fps=60`, `cameras[1].fps=60`,
                `channels[2]=reward`, the value written as it would be in the file (`'yes'` in quotes for the
                text, `[1, 2]`, `{fps: 60}`). A later one wins for the same path.
            env_prefix: Also read environment variables whose names start with this prefix (case-insensitive):
                `RIG_CAMERA__FPS=60` sets `camera.fps` with the prefix `RIG_`, the parts of a path joined by `__`.
            upgrade_file: Whether to rewrite an older file as the class's version once it has loaded (without the
                overrides); by default the file is left as it is and migrated again at every load. A rewrite that
                fails raises the `OSError` and leaves the file as it was.

        Returns:
            A new instance of the class `from_yaml` was called on.

        Raises:
            ConfigPathError: The file name does not end with `.yaml` or `.yml`, or holds a null character.
            ConfigNotFoundError: There is no file at `file_path`.
            ConfigFileError: The file is not valid YAML, repeats a key, uses a tag such as `!!python/object`, or does
                not hold a mapping of fields (the message names the file and line); or it is empty (a file that a
                power cut cut short, not a config of defaults: `{}` or a comment is one); or the path names a
                FIFO, a device or a socket.
            ConfigVersionError: The file's `$version` is newer than the class's, or not a version number.
            MigrationError: A migration step failed on an older file (the message names the migration and step).
            OverrideError: An override has no `=`, a malformed path, or a value that is not readable as YAML.
            ConfigTypeError: A value does not fit its field's type (the message names the file, line, dotted field
                path, the value and the type expected, or the override that set the value).
            UnknownFieldError: With `strict=True`, the file holds a key that the class does not declare; or an
                override's path names no field.
            MissingFieldError: The file lacks a field that has no default.
            ConfigValidationError: The class's `__init__` or `__post_init__` rejected the values (the original
                exception is the `__cause__`).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
            OSError: The file exists but cannot be read.
        """
        path = _config_path(file_path)
        _require_dataclass(cls)
        data, root = parse_file(path)
        if data is None:
            data = {}  # an empty file (or one holding only comments): every field takes its default
        if not isinstance(data, dict):
            problem = f"the file holds a {type(data).__name__}, but a config is a mapping of {cls.__name__}'s fields"
            raise ConfigFileError(problem, path, locate(root, ()))
        versioning = versioning_of(cls)
        data, version = upgrade(data, versioning, cls.__name__, path, root)
        migrated = version < versioning.version
        note = f" (in the file as migrated from version {version} to {versioning.version})" if migrated else ""
        changes = collect(overrides, env_prefix, strict=strict)
        upgraded = None
        unchanged_because = None
        if migrated and upgrade_file:
            ignored: list[FieldPath] = []
            upgraded = _build(
                cls, copy.deepcopy(data) if changes else data, path, root, {}, note, ignored, strict=strict
            )
            if ignored:  # the rewrite would delete them: a load must not lose what the file holds
                upgraded = None
                unchanged_because = _ignored_keys(ignored, cls.__name__)
        config: Self
        if upgraded is not None and not changes:
            config = upgraded
        else:
            config = _build(cls, data, path, root, apply(cls, data, changes), note, strict=strict)
        if upgraded is not None:
            upgraded._save(path, None, durable=False, moves=renamed_keys(versioning, version))  # noqa: SLF001
        if migrated:
            warning = ConfigMigrationWarning(
                path,
                version,
                versioning.version,
                cls.__name__,
                rewritten=upgraded is not None,
                unchanged_because=unchanged_because,
            )
            warnings.warn(warning, stacklevel=2)
        return config

    def with_overrides(
        self, overrides: Iterable[str] = (), *, env_prefix: str | None = None, strict: bool = True
    ) -> Self:
        """Returns a copy of the config with overrides applied, checked exactly as `from_yaml` checks them.

        The config is saved to plain data (as `to_yaml` would write it), the overrides are set in it, and a new
        instance is built from the result; the config itself is not changed.

        Args:
            overrides: `path=value` strings, as for `from_yaml`.
            env_prefix: Also read environment variables with this prefix, as for `from_yaml`.
            strict: Whether unknown keys inside override values, and environment variables with the prefix that
                name no field, are errors (as in a file).

        Returns:
            A new instance of the config's class.

        Raises:
            OverrideError: An override has no `=`, a malformed path, or a value that is not readable as YAML.
            UnknownFieldError: An override's path names no field.
            ConfigTypeError: An override's value does not fit its field's type, or the config holds a value that
                does not fit its own field's type.
            ConfigValidationError: The class's `__init__` or `__post_init__` rejected the values.
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        cls = _require_dataclass(type(self))
        changes = collect(overrides, env_prefix, strict=strict)
        data = plain_data(encode_config(self))
        sources = apply(cls, data, changes)
        try:
            config: Self = Decoder(strict=strict).dataclass(cls, data, ())
        except ConfigValidationError as error:
            blame(error, sources)
            raise
        return config


def _build(
    cls: type[Any],
    data: dict[Any, Any],
    path: Path,
    root: Any,
    sources: Mapping[FieldPath, str],
    note: str,
    ignored: list[FieldPath] | None = None,
    *,
    strict: bool,
) -> Any:
    """Builds the config from a file's (migrated, overridden) data, naming the file's line or the override in errors.

    With `strict=False`, the paths of the keys ignored are added to `ignored`, if given.
    """
    try:
        return Decoder(strict=strict, ignored=ignored).dataclass(cls, data, ())
    except ConfigValidationError as error:
        if not blame(error, sources):
            error.file_path = path
            error.line = locate(root, error.path, key=isinstance(error, UnknownFieldError))
            error.problem += note
        raise


def _ignored_keys(ignored: list[FieldPath], class_name: str) -> str:
    shown = ", ".join(format_field_path(path) for path in ignored[:5]) + (", ..." if len(ignored) > 5 else "")
    return (
        f"it holds keys that {class_name} does not declare ({shown}), which rewriting it would delete; remove them, "
        "or save the config, to upgrade it"
    )


def _config_path(file_path: str | os.PathLike[str]) -> Path:
    path = Path(file_path)
    if "\x00" in str(path):
        raise ConfigPathError(f"a file name cannot hold a null character, as {str(path)!r} does")
    if path.suffix.lower() not in _SUFFIXES:
        suffix = f"the suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ConfigPathError(f"a config file name must end with .yaml or .yml, but {str(path)!r} has {suffix}")
    return path


def _modeline_target(target: str | os.PathLike[str], config_path: Path | None = None) -> str:
    """Returns the schema reference as the modeline writes it: a path relative to the config file, or the text given.

    Args:
        target: A URL or relative reference (str, written as given), or a path (made relative to the config's folder).
        config_path: The config file; None only checks the text.

    Raises:
        ConfigPathError: The reference holds a line break, which would end the comment.
    """
    if isinstance(target, os.PathLike) and config_path is not None:
        schema = Path(target).absolute()
        try:
            text = Path(os.path.relpath(schema, config_path.absolute().parent)).as_posix()
        except ValueError:  # on Windows, a schema on another drive has no relative path
            text = schema.as_uri()
    else:
        text = os.fspath(target)
    if "\n" in text or "\r" in text:
        raise ConfigPathError(f"a schema reference must be one line, but {text!r} holds a line break")
    return text


def _take_modeline(layout: MappingLayout | None) -> str | None:
    """Removes the schema line from the comments of the file being replaced, and returns the schema it names.

    Saving writes the schema line itself, first, so it must not also be kept among the comments at the top of the
    file (its preamble, or the comments above its first key).
    """
    if layout is None:
        return None
    tops = [layout.preamble]
    if layout.keys:
        tops.append(next(iter(layout.keys.values())).above)
    found = [line for top in tops for line in top if line.startswith(_MODELINE)]
    for top in tops:
        top[:] = [line for line in top if not line.startswith(_MODELINE)]
    return found[0].removeprefix(_MODELINE).strip() if found else None


def _require_dataclass(cls: type[Any]) -> type[Any]:
    checked: type = cls  # mypy takes type[Any] for unhashable
    undecorated = _undecorated_class(checked)
    if undecorated is not None:
        message = (
            f"{undecorated.__qualname__} subclasses YamlConfig but is not a dataclass: decorate it with @dataclass"
        )
        raise ConfigClassError(message)
    return cls


@functools.cache
def _undecorated_class(cls: type) -> type | None:
    """Finds the config class of a hierarchy whose own `@dataclass` is missing, if any.

    A subclass of a dataclass is itself a dataclass by inheritance, and `@dataclass` collects fields only from bases
    that are dataclasses themselves: the annotations of a class without its own decorator, the config class itself
    or one between two dataclasses, silently become no fields at all. A decorated class's annotations are all
    fields, pseudo-fields (`ClassVar`, `InitVar`) or the `KW_ONLY` marker.
    """
    if not dataclasses.is_dataclass(cls):
        return cls
    declared = set(cls.__dataclass_fields__)
    for klass in cls.__mro__:
        if klass is YamlConfig or not issubclass(klass, YamlConfig) or "__dataclass_fields__" in klass.__dict__:
            continue
        if set(inspect.get_annotations(klass)) - declared:
            return klass
    return None
