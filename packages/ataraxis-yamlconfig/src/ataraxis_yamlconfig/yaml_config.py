"""The `YamlConfig` dataclass base: configs that save themselves to, and load themselves from, YAML files."""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path
from typing import Any, Self

from ._atomic import read_existing, write_atomically
from ._decode import Decoder
from ._encode import encode_config
from ._help import class_summary
from ._layout import read_layout
from ._parse import locate, parse_file
from ._render import render_document
from .exceptions import (
    ConfigClassError,
    ConfigFileError,
    ConfigNotFoundError,
    ConfigPathError,
    ConfigValidationError,
    UnknownFieldError,
)

_SUFFIXES = (".yaml", ".yml")


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

    def to_yaml(self, file_path: str | os.PathLike[str], *, durable: bool = False) -> None:
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
                an empty one, which loads as the default config).

        Raises:
            ConfigPathError: The file name does not end with `.yaml` or `.yml`.
            ConfigTypeError: A field holds a value that does not fit its declared type (the file is left untouched).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
            OSError: The file system refused the write (the previous file is left untouched).
        """
        path = _config_path(file_path)
        cls = _require_dataclass(type(self))
        try:
            section = encode_config(self)
        except ConfigValidationError as error:
            error.file_path = path
            error.saving = True
            raise
        existing = read_existing(path)
        text = render_document(section, header=class_summary(cls), layout=read_layout(existing.content))
        write_atomically(existing, text, durable=durable)

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
            ConfigPathError: The file name does not end with `.yaml` or `.yml`.
            ConfigNotFoundError: There is no file at `file_path`.
            ConfigFileError: The file is not valid YAML, repeats a key, uses a tag such as `!!python/object`, or does
                not hold a mapping of fields (the message names the file and line).
            ConfigTypeError: A value does not fit its field's type (the message names the file, line, dotted field
                path, the value and the type expected).
            UnknownFieldError: With `strict=True`, the file holds a key that the class does not declare.
            MissingFieldError: The file lacks a field that has no default.
            ConfigValidationError: The class's `__init__` or `__post_init__` rejected the values (the original
                exception is the `__cause__`).
            UnsupportedFieldTypeError: The class declares a field type that has no YAML form.
            ConfigClassError: The class is not a dataclass (the `@dataclass` decorator is missing).
            OSError: The file exists but cannot be read.
        """
        path = _config_path(file_path)
        _require_dataclass(cls)
        if not path.exists():
            raise ConfigNotFoundError(path)
        data, root = parse_file(path)
        if data is None:
            data = {}  # an empty file (or one holding only comments): every field takes its default
        if not isinstance(data, dict):
            problem = f"the file holds a {type(data).__name__}, but a config is a mapping of {cls.__name__}'s fields"
            raise ConfigFileError(problem, path, locate(root, ()))
        try:
            config: Self = Decoder(strict=strict).dataclass(cls, data, ())
        except ConfigValidationError as error:
            error.file_path = path
            error.line = locate(root, error.path, key=isinstance(error, UnknownFieldError))
            raise
        return config


def _config_path(file_path: str | os.PathLike[str]) -> Path:
    path = Path(file_path)
    if path.suffix.lower() not in _SUFFIXES:
        suffix = f"the suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ConfigPathError(f"a config file name must end with .yaml or .yml, but {str(path)!r} has {suffix}")
    return path


def _require_dataclass(cls: type[Any]) -> type[Any]:
    # A subclass of a dataclass is itself a dataclass by inheritance, so also look for annotations that did not
    # become fields: the sign that this class's own @dataclass is missing.
    declared = getattr(cls, "__dataclass_fields__", {})
    if not dataclasses.is_dataclass(cls) or set(inspect.get_annotations(cls)) - set(declared):
        message = f"{cls.__qualname__} subclasses YamlConfig but is not a dataclass: decorate it with @dataclass"
        raise ConfigClassError(message)
    return cls
