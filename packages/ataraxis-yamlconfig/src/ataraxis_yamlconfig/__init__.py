"""ataraxis-yamlconfig: dataclasses that save themselves to, and load themselves from, human-editable YAML files.

- `YamlConfig`: the dataclass base; `config.to_yaml(file_path=...)` and `MyConfig.from_yaml(file_path=...)`.
- `YamlConfigError`, the root of every error the package raises, and its subclasses, each also the built-in
  exception callers expect: `ConfigPathError` (a `ValueError`: not a `.yaml`/`.yml` name), `ConfigNotFoundError`
  (a `FileNotFoundError`), `ConfigFileError` (a `ValueError`: not readable YAML), `ConfigValidationError` (a
  `ValueError`) and its subclasses `ConfigTypeError` (also a `TypeError`), `UnknownFieldError` and
  `MissingFieldError`, and `ConfigClassError` (a `TypeError`: the class is not a dataclass) with its subclass
  `UnsupportedFieldTypeError` (a field type that has no YAML form).
"""

from importlib.metadata import version

from .exceptions import (
    ConfigClassError,
    ConfigFileError,
    ConfigNotFoundError,
    ConfigPathError,
    ConfigTypeError,
    ConfigValidationError,
    MissingFieldError,
    UnknownFieldError,
    UnsupportedFieldTypeError,
    YamlConfigError,
)
from .yaml_config import YamlConfig

__version__: str = version("ataraxis-yamlconfig")

__all__ = [
    "ConfigClassError",
    "ConfigFileError",
    "ConfigNotFoundError",
    "ConfigPathError",
    "ConfigTypeError",
    "ConfigValidationError",
    "MissingFieldError",
    "UnknownFieldError",
    "UnsupportedFieldTypeError",
    "YamlConfig",
    "YamlConfigError",
    "__version__",
]
