"""ataraxis-data-structures: one import for the whole suite.

This meta-package re-exports, by name, the public API of its three member distributions:

- `ataraxis-yamlconfig`: `YamlConfig`, a dataclass base that saves to and loads from YAML files, and the errors
  that name what is wrong with a config, its class or its file (`YamlConfigError` and its subclasses).
- `ataraxis-sharedarray`: `SharedMemoryArray`, a named NumPy array in shared memory, its errors (`SharedArrayError`
  and its subclasses) and `LockRecoveredWarning`.
- `ataraxis-datalogger`: `DataLogger`, `LogPackage`, `LogQueue`, `LogSource` and `compress_npy_logs`, multi-process
  logging to disk;
  `LogArchiveReader`, `read_logs`, `inspect_logs` and `follow_logs` to read the logs back; its errors share the root
  `AtaraxisDataLoggerError`.

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
    EntryTooLargeError,
    FollowedEntry,
    LogArchiveReader,
    LogCompressionError,
    LogDirectorySummary,
    LogPackage,
    LogQueue,
    LogSource,
    LogStatistics,
    SourceReport,
    SourceSummary,
    StreamFormatError,
    compress_npy_logs,
    follow_logs,
    inspect_logs,
    read_logs,
)
from ataraxis_sharedarray import (
    ArrayConstructorError,
    ArrayExistsError,
    ArrayHeaderError,
    ArrayIndexError,
    ArrayNameError,
    ArrayNotFoundError,
    ArrayReplacedError,
    DataFitError,
    DataKindError,
    DataRangeError,
    DataShapeError,
    IndexKindError,
    LockRecoveredWarning,
    LockReentryError,
    NotConnectedError,
    PrototypeError,
    ReversedRangeError,
    SharedArrayError,
    SharedMemoryArray,
    UnsupportedPlatformError,
)
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
    "ArrayConstructorError",
    "ArrayExistsError",
    "ArrayHeaderError",
    "ArrayIndexError",
    "ArrayNameError",
    "ArrayNotFoundError",
    "ArrayReplacedError",
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
    "DataFitError",
    "DataKindError",
    "DataLogger",
    "DataLoggerError",
    "DataLoggerWarning",
    "DataRangeError",
    "DataShapeError",
    "EntryFormatError",
    "EntryTooLargeError",
    "FollowedEntry",
    "IndexKindError",
    "LockRecoveredWarning",
    "LockReentryError",
    "LogArchiveReader",
    "LogCompressionError",
    "LogDirectorySummary",
    "LogPackage",
    "LogQueue",
    "LogSource",
    "LogStatistics",
    "MissingFieldError",
    "NotConnectedError",
    "PrototypeError",
    "ReversedRangeError",
    "SharedArrayError",
    "SharedMemoryArray",
    "SourceReport",
    "SourceSummary",
    "StreamFormatError",
    "UnknownFieldError",
    "UnsupportedFieldTypeError",
    "UnsupportedPlatformError",
    "YamlConfig",
    "YamlConfigError",
    "__version__",
    "compress_npy_logs",
    "follow_logs",
    "inspect_logs",
    "read_logs",
]
