"""The `YamlConfig` dataclass base: configs that save themselves to, and load themselves from, YAML files."""

from __future__ import annotations

import dataclasses
import errno
import inspect
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Self

from ._atomic import write_atomically
from ._decode import Decoder
from ._encode import encode_config
from ._help import class_summary
from ._parse import locate, parse_file
from ._render import render_document
from ._schema import build_schema
from .errors import ConfigFileError, ConfigValidationError, UnknownFieldError

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

    def __init_subclass__(cls, *, schema_url: str | None = None, **kwargs: Any) -> None:
        """Records the class keywords of a config class: `class RigConfig(YamlConfig, schema_url=...)`.

        Args:
            schema_url: The JSON Schema that `to_yaml` names on the first line of every file of this class (not of
                its subclasses, whose schema differs), for editors; see `to_yaml`.
            **kwargs: Passed on to the next `__init_subclass__`.
        """
        super().__init_subclass__(**kwargs)
        if schema_url is not None:
            cls._yamlconfig_schema_url = _modeline_target(schema_url)

    def to_yaml(self, file_path: str | os.PathLike[str], *, schema_url: str | os.PathLike[str] | None = None) -> None:
        """Saves the config to a YAML file, replacing the file atomically.

        Every value is checked against its field's type first, so the file written always loads back, as the
        declared types (a tuple held by a `list` field comes back as a list; a field annotated `Any` comes back as
        plain YAML values); if a value does not fit, nothing is written. The file is written to a temporary file in
        the same folder, fsynced and renamed over the target, so a crash leaves either the old file or the new one.
        Missing parent folders are created.

        Args:
            file_path: The file to write; its name must end with `.yaml` or `.yml`.
            schema_url: A JSON Schema of the class (see `write_json_schema`) to name in the file's first line,
                `# yaml-language-server: $schema=...`, so that editors complete and check the file: a URL, or a
                path (a `Path` is written relative to the YAML file, as yaml-language-server resolves it). By
                default, the `schema_url` class keyword of the class, if it has one.

        Raises:
            ValueError: The file name does not end with `.yaml` or `.yml`, or `schema_url` holds a line break.
            ConfigTypeError: A field holds a value that does not fit its declared type (the file is left untouched).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            TypeError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        path = _config_path(file_path)
        cls = _require_dataclass(type(self))
        try:
            section = encode_config(self)
        except ConfigValidationError as error:
            error.file_path = path
            error.saving = True
            raise
        text = render_document(section, header=class_summary(cls))
        target = schema_url if schema_url is not None else cls.__dict__.get("_yamlconfig_schema_url")
        if target is not None:
            text = f"{_MODELINE}{_modeline_target(target, path)}\n{text}"
        write_atomically(path, text)

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
            TypeError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        schema: dict[str, Any] = build_schema(_require_dataclass(cls))
        return schema

    @classmethod
    def write_json_schema(cls, file_path: str | os.PathLike[str]) -> None:
        """Writes the class's JSON Schema (see `json_schema`) to a file, replacing it atomically.

        Point editors at it with `to_yaml(..., schema_url=...)` or the `schema_url` class keyword, or with the
        editor's own settings (VS Code: `yaml.schemas`).

        Args:
            file_path: The file to write; its name must end with `.json`.

        Raises:
            ValueError: The file name does not end with `.json` (a guard against overwriting a config).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            TypeError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        path = Path(file_path)
        if path.suffix.lower() != ".json":
            raise ValueError(f"a JSON Schema file name must end with .json, but {str(path)!r} does not")
        text = json.dumps(cls.json_schema(), indent=2, ensure_ascii=False, allow_nan=False)
        write_atomically(path, text + "\n")

    @classmethod
    def from_yaml(cls, file_path: str | os.PathLike[str], *, strict: bool = True) -> Self:
        """Loads a config from a YAML file, checking every value against its field's type.

        Fields missing from the file take their defaults. The instance is built through the class's `__init__`,
        so `__post_init__` validation runs; nested dataclasses are built the same way.

        Args:
            file_path: The file to read; its name must end with `.yaml` or `.yml`.
            strict: Whether a key that the class does not declare is an error (the default: a misspelt key in a
                hand-edited file must not pass silently). With False such keys are ignored, which lets an old file
                load after a field was removed from the class.

        Returns:
            A new instance of the class `from_yaml` was called on.

        Raises:
            ValueError: The file name does not end with `.yaml` or `.yml`.
            FileNotFoundError: There is no file at `file_path`.
            ConfigFileError: The file is not valid YAML, repeats a key, uses a tag such as `!!python/object`, or does
                not hold a mapping of fields (the message names the file and line).
            ConfigTypeError: A value does not fit its field's type (the message names the file, line, dotted field
                path, the value and the type expected).
            UnknownFieldError: With `strict=True`, the file holds a key that the class does not declare.
            MissingFieldError: The file lacks a field that has no default.
            ConfigValidationError: The class's `__init__` or `__post_init__` rejected the values (the original
                exception is the `__cause__`).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            TypeError: The class is not a dataclass (the `@dataclass` decorator is missing).
        """
        path = _config_path(file_path)
        _require_dataclass(cls)
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "no YAML config file at this path", str(path))
        data, root = parse_file(path)
        if data is None:
            data = {}  # an empty file (or one holding only comments): every field takes its default
        if not isinstance(data, dict):
            problem = f"the file holds a {type(data).__name__}, but a config is a mapping of {cls.__name__}'s fields"
            raise ConfigFileError(problem, path, locate(root, ()))
        try:
            config: Self = Decoder(strict).dataclass(cls, data, ())
        except ConfigValidationError as error:
            error.file_path = path
            error.line = locate(root, error.path, key=isinstance(error, UnknownFieldError))
            raise
        return config


def _config_path(file_path: str | os.PathLike[str]) -> Path:
    path = Path(file_path)
    if path.suffix.lower() not in _SUFFIXES:
        suffix = f"the suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ValueError(f"a config file name must end with .yaml or .yml, but {str(path)!r} has {suffix}")
    return path


def _modeline_target(target: str | os.PathLike[str], config_path: Path | None = None) -> str:
    """Returns the schema reference as the modeline writes it: a path relative to the config file, or the text given.

    Args:
        target: A URL or relative reference (str, written as given), or a path (made relative to the config's folder).
        config_path: The config file; None only checks the text.

    Raises:
        ValueError: The reference holds a line break, which would end the comment.
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
        raise ValueError(f"a schema reference must be one line, but {text!r} holds a line break")
    return text


def _require_dataclass(cls: type[Any]) -> type[Any]:
    # A subclass of a dataclass is itself a dataclass by inheritance, so also look for annotations that did not
    # become fields: the sign that this class's own @dataclass is missing.
    declared = getattr(cls, "__dataclass_fields__", {})
    if not dataclasses.is_dataclass(cls) or set(inspect.get_annotations(cls)) - set(declared):
        raise TypeError(f"{cls.__qualname__} subclasses YamlConfig but is not a dataclass: decorate it with @dataclass")
    return cls
