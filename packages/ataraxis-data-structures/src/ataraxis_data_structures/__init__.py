"""ataraxis-data-structures: one import for the whole suite.

This meta-package re-exports, by name, the public API of its three member distributions:

- `ataraxis-yamlconfig`: `YamlConfig`, a dataclass base that saves to and loads from YAML files, and the errors
  that name what is wrong with a config file (`YamlConfigError` and its subclasses, `UnsupportedFieldTypeError`).
- `ataraxis-sharedarray`: `SharedMemoryArray`, a named NumPy array in shared memory (and `LockRecoveredWarning`).
- `ataraxis-datalogger`: `DataLogger`, `LogPackage` and `compress_npy_logs`, multi-process logging to disk.

Each member can also be installed and imported on its own.
"""

from importlib.metadata import version

from ataraxis_sharedarray import LockRecoveredWarning, SharedMemoryArray
from ataraxis_yamlconfig import (
    ConfigFileError,
    ConfigTypeError,
    ConfigValidationError,
    MissingFieldError,
    UnknownFieldError,
    UnsupportedFieldTypeError,
    YamlConfig,
    YamlConfigError,
)

__version__: str = version("ataraxis-data-structures")

__all__ = [
    "ConfigFileError",
    "ConfigTypeError",
    "ConfigValidationError",
    "LockRecoveredWarning",
    "MissingFieldError",
    "SharedMemoryArray",
    "UnknownFieldError",
    "UnsupportedFieldTypeError",
    "YamlConfig",
    "YamlConfigError",
    "__version__",
]
