"""ataraxis-yamlconfig: dataclasses that save themselves to, and load themselves from, human-editable YAML files.

- `YamlConfig`: the dataclass base; `config.to_yaml(file_path=...)` and `MyConfig.from_yaml(file_path=...)`, with
  `overrides=` and `env_prefix=` for values from the command line and the environment, `config.with_overrides(...)`,
  and `MyConfig.json_schema()` / `MyConfig.write_json_schema(path)` for editors.
- `Migration`, `Rename`, `Remove` and `Retype`: how a versioned config class (`class C(YamlConfig, version=2,
  migrations=[...])`) upgrades files written by its older versions; `VERSION_KEY` is the key that holds the version.
- `YamlConfigError` (a `ValueError`) and its subclasses: what is wrong with a file, with its path, line and field:
  `ConfigFileError` (not readable YAML), `ConfigValidationError` and its subclasses `ConfigTypeError`,
  `UnknownFieldError` and `MissingFieldError`.
- `ConfigVersionError` (a file newer than its class), `MigrationError` (a migration step failed) and
  `ConfigMigrationWarning` (an older file was migrated); `OverrideError` (a malformed override).
- `UnsupportedFieldTypeError` (a `TypeError`): a config class declares a field type that has no YAML form.
"""

from importlib.metadata import version

from .errors import (
    ConfigFileError,
    ConfigMigrationWarning,
    ConfigTypeError,
    ConfigValidationError,
    ConfigVersionError,
    MigrationError,
    MissingFieldError,
    OverrideError,
    UnknownFieldError,
    UnsupportedFieldTypeError,
    YamlConfigError,
)
from .migrations import VERSION_KEY, Migration, Remove, Rename, Retype
from .yaml_config import YamlConfig

__version__: str = version("ataraxis-yamlconfig")

__all__ = [
    "VERSION_KEY",
    "ConfigFileError",
    "ConfigMigrationWarning",
    "ConfigTypeError",
    "ConfigValidationError",
    "ConfigVersionError",
    "Migration",
    "MigrationError",
    "MissingFieldError",
    "OverrideError",
    "Remove",
    "Rename",
    "Retype",
    "UnknownFieldError",
    "UnsupportedFieldTypeError",
    "YamlConfig",
    "YamlConfigError",
    "__version__",
]
