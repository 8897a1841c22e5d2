"""ataraxis-yamlconfig: dataclasses that save themselves to, and load themselves from, human-editable YAML files.

- `YamlConfig`: the dataclass base; `config.to_yaml(file_path=...)` and `MyConfig.from_yaml(file_path=...)`.
- `YamlConfigError` (a `ValueError`) and its subclasses: what is wrong with a file, with its path, line and field:
  `ConfigFileError` (not readable YAML), `ConfigValidationError` and its subclasses `ConfigTypeError`,
  `UnknownFieldError` and `MissingFieldError`.
- `UnsupportedFieldTypeError` (a `TypeError`): a config class declares a field type that has no YAML form.
"""

from importlib.metadata import version

from .errors import (
    ConfigFileError,
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
    "ConfigFileError",
    "ConfigTypeError",
    "ConfigValidationError",
    "MissingFieldError",
    "UnknownFieldError",
    "UnsupportedFieldTypeError",
    "YamlConfig",
    "YamlConfigError",
    "__version__",
]
