"""ataraxis-yamlconfig: dataclasses that save themselves to, and load themselves from, human-editable YAML files.

- `YamlConfig`: the dataclass base; `config.to_yaml(file_path=...)` and `MyConfig.from_yaml(file_path=...)`, with
  `overrides=` and `env_prefix=` for values from the command line and the environment, `config.with_overrides(...)`,
  and `MyConfig.json_schema()` / `MyConfig.write_json_schema(path)` for editors.
- `Migration`, `Rename`, `Remove` and `Retype`: how a versioned config class (`class C(YamlConfig, version=2,
  migrations=[...])`) upgrades files written by its older versions; `VERSION_KEY` is the key that holds the version.
- `YamlConfigError`, the root of every error the package raises, and its subclasses, each also the built-in
  exception callers expect: `ConfigPathError` (a `ValueError`: not a `.yaml`/`.yml` name), `ConfigNotFoundError`
  (a `FileNotFoundError`), `ConfigFileError` (a `ValueError`: not readable YAML), `ConfigVersionError` (a
  `ValueError`: a file newer than its class), `MigrationError` (a `ValueError`: a migration step failed),
  `OverrideError` (a `ValueError`: a malformed override), `ConfigValidationError` (a `ValueError`) and its
  subclasses `ConfigTypeError` (also a `TypeError`), `UnknownFieldError` and `MissingFieldError`, and
  `ConfigClassError` (a `TypeError`: the class is not a dataclass, or declares a wrong version or migration) with
  its subclass `UnsupportedFieldTypeError` (a field type that has no YAML form).
- `ConfigMigrationWarning` (a `UserWarning`): an older file was migrated as it was loaded.
"""

from importlib.metadata import version

from .exceptions import (
    ConfigClassError,
    ConfigFileError,
    ConfigMigrationWarning,
    ConfigNotFoundError,
    ConfigPathError,
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
    "ConfigClassError",
    "ConfigFileError",
    "ConfigMigrationWarning",
    "ConfigNotFoundError",
    "ConfigPathError",
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
