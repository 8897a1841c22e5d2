"""ataraxis-data-structures: one import for the whole suite.

This meta-package re-exports, by name, the public API of its three member distributions:

- `ataraxis-yamlconfig`: `YamlConfig`, a dataclass base that saves to and loads from YAML files, and the errors
  that name what is wrong with a config, its class or its file (`YamlConfigError` and its subclasses).
- `ataraxis-sharedarray`: `SharedMemoryArray`, a named NumPy array in shared memory (and `LockRecoveredWarning`).
- `ataraxis-datalogger`: `DataLogger`, `LogPackage` and `compress_npy_logs`, multi-process logging to disk;
  `LogArchiveReader`, `read_logs` and `inspect_logs` to read the logs back; `export_logs` for Parquet, Feather
  and MCAP (with the datalogger's `arrow` and `mcap` extras); its errors share the root `AtaraxisDataLoggerError`.

Each member can also be installed and imported on its own.
"""

from importlib.metadata import version

from ataraxis_datalogger import (
    ArchiveFormatError,
    ArchiveVerificationError,
    AtaraxisDataLoggerError,
    AtaraxisDataLoggerWarning,
    CompressionReport,
    DamagedFile,
    DamagedLogFilesWarning,
    DataLogger,
    DataLoggerError,
    DataLoggerWarning,
    EntryFormatError,
    ExportedSource,
    ExportError,
    ExportReport,
    LogArchiveReader,
    LogCompressionError,
    LogDirectorySummary,
    LogPackage,
    LogReaders,
    LogStatistics,
    OptionalDependencyError,
    SourceReport,
    SourceSummary,
    compress_npy_logs,
    export_logs,
    inspect_logs,
    read_logs,
)
from ataraxis_sharedarray import LockRecoveredWarning, SharedMemoryArray
from ataraxis_yamlconfig import (
    ConfigClassError,
    ConfigFileError,
    ConfigNotFoundError,
    ConfigPathError,
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
    "ArchiveFormatError",
    "ArchiveVerificationError",
    "AtaraxisDataLoggerError",
    "AtaraxisDataLoggerWarning",
    "CompressionReport",
    "ConfigClassError",
    "ConfigFileError",
    "ConfigNotFoundError",
    "ConfigPathError",
    "ConfigTypeError",
    "ConfigValidationError",
    "DamagedFile",
    "DamagedLogFilesWarning",
    "DataLogger",
    "DataLoggerError",
    "DataLoggerWarning",
    "EntryFormatError",
    "ExportError",
    "ExportReport",
    "ExportedSource",
    "LockRecoveredWarning",
    "LogArchiveReader",
    "LogCompressionError",
    "LogDirectorySummary",
    "LogPackage",
    "LogReaders",
    "LogStatistics",
    "MissingFieldError",
    "OptionalDependencyError",
    "SharedMemoryArray",
    "SourceReport",
    "SourceSummary",
    "UnknownFieldError",
    "UnsupportedFieldTypeError",
    "YamlConfig",
    "YamlConfigError",
    "__version__",
    "compress_npy_logs",
    "export_logs",
    "inspect_logs",
    "read_logs",
]
