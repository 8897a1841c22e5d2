"""ataraxis-data-structures: one import for the whole suite.

This meta-package re-exports, by name, the public API of its three member distributions:

- `ataraxis-yamlconfig`: `YamlConfig`, a dataclass base that saves to and loads from YAML files.
- `ataraxis-sharedarray`: `SharedMemoryArray`, a named NumPy array in shared memory (and `LockRecoveredWarning`).
- `ataraxis-datalogger`: `DataLogger`, `LogPackage` and `compress_npy_logs`, multi-process logging to disk.

Each member can also be installed and imported on its own.
"""

from importlib.metadata import version

from ataraxis_datalogger import DataLogger, DataLoggerError, DataLoggerWarning, LogPackage, LogStatistics
from ataraxis_sharedarray import LockRecoveredWarning, SharedMemoryArray

__version__: str = version("ataraxis-data-structures")

__all__ = [
    "DataLogger",
    "DataLoggerError",
    "DataLoggerWarning",
    "LockRecoveredWarning",
    "LogPackage",
    "LogStatistics",
    "SharedMemoryArray",
    "__version__",
]
