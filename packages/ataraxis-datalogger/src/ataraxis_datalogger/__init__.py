"""ataraxis-datalogger: log timestamped messages from many processes without losing one; archive and read them.

Logging:

- `DataLogger`: runs the logger process. Producers in any process put `LogPackage` objects on its `input_queue`
  (a `LogQueue`), or log through a `LogSource` (`logger.source(id).log(time_stamp, payload)`, the hot path); each
  producer process writes into a bounded shared-memory buffer of its own. `stop()` returns once every entry put
  before it is on disk, one `.npy` file per entry.
- `LogPackage`: one entry (source id, timestamp, serialized payload), validated where it is built.
- `LogStatistics`: how many entries a run received, wrote, skipped or failed to write.
- `DataLoggerError` and `DataLoggerWarning`: what the logger raises when entries are at risk, and warns about
  objects that were not log packages; `EntryTooLargeError`: an entry larger than a producer's buffer.

Archives and reading back:

- `compress_npy_logs` (and `DataLogger.compress_logs`): turns each source's `.npy` entries into one columnar
  `{source_id}_log.npz`, returning a `CompressionReport` (per source a `SourceReport`; damaged files as
  `DamagedFile`, also named in a `DamagedLogFilesWarning`; a source that could not be archived raises
  `LogCompressionError`).
- `LogArchiveReader`: reads one source's entries in timestamp order; `read_logs` opens one per source of a log
  directory, archived or not. Damaged data is skipped with a `DamagedLogFilesWarning`, or raises
  `ArchiveFormatError` (an archive) or `EntryFormatError` (an entry file) with `on_damage="raise"`; a loose file
  removed under a reader raises `LogFilesChangedError`.
- `inspect_logs`: summarises a log directory per source (`LogDirectorySummary`, `SourceSummary`); with
  `verify=True` it checks every archived byte.
- The `ataraxis-datalogger` command runs `compress`, `inspect` and `export` from a shell.

For other engines (the `arrow` and `mcap` extras):

- `LogArchiveReader.to_arrow` and `LogReaders.to_arrow` (`read_logs` returns a `LogReaders` dict): the entries as a
  `pyarrow.Table`, built on an archive's own columns; `LogArchiveReader.iter_batches` in bounded record batches.
- `export_logs`: writes a log directory as a Parquet or Feather dataset partitioned by source, or as an MCAP file,
  returning an `ExportReport` (per source an `ExportedSource`).

Errors and warnings (all in `ataraxis_datalogger.exceptions`):

- `AtaraxisDataLoggerError` is the root of every error the package raises; each error also subclasses the
  built-in class of its kind: `DataLoggerError`, `LogCompressionError`, `ArchiveVerificationError` and
  `LogFilesChangedError` are `RuntimeError`s, `EntryFormatError`, `ArchiveFormatError` and `StreamFormatError` are
  `ValueError`s.
- `DataLoggerTypeError` (`TypeError`) and `DataLoggerValueError` (`ValueError`) refuse an argument of a public call
  of the wrong type or value, naming it and what was expected.
- `ExportError` (`ValueError`) refuses an export's arguments; `OptionalDependencyError` (`ImportError`) names the
  extra to install when pyarrow or mcap is missing.
- `AtaraxisDataLoggerWarning` is the root of every warning: `DataLoggerWarning`, `DamagedLogFilesWarning`,
  `NestedLogDirectoriesWarning`.
"""

from importlib.metadata import version

from ._archive.reports import DamagedFile, SourceReport
from ._runtime.log_queue import LogQueue, LogSource
from ._runtime.run_state import LogStatistics
from .compression import CompressionReport, compress_npy_logs
from .data_logger import DataLogger
from .exceptions import (
    ArchiveFormatError,
    ArchiveVerificationError,
    AtaraxisDataLoggerError,
    AtaraxisDataLoggerWarning,
    DamagedLogFilesWarning,
    DataLoggerError,
    DataLoggerTypeError,
    DataLoggerValueError,
    DataLoggerWarning,
    EntryFormatError,
    EntryTooLargeError,
    ExportError,
    LogCompressionError,
    LogFilesChangedError,
    NestedLogDirectoriesWarning,
    OptionalDependencyError,
    StreamFormatError,
)
from .export import ExportedSource, ExportReport, export_logs
from .follow import FollowedEntry, follow_logs
from .inspection import LogDirectorySummary, SegmentSummary, SourceSummary, inspect_logs
from .log_package import LogPackage
from .reader import LogArchiveReader, LogReaders, read_logs

__version__: str = version("ataraxis-datalogger")

__all__ = [
    "ArchiveFormatError",
    "ArchiveVerificationError",
    "AtaraxisDataLoggerError",
    "AtaraxisDataLoggerWarning",
    "CompressionReport",
    "DamagedFile",
    "DamagedLogFilesWarning",
    "DataLogger",
    "DataLoggerError",
    "DataLoggerTypeError",
    "DataLoggerValueError",
    "DataLoggerWarning",
    "EntryFormatError",
    "EntryTooLargeError",
    "ExportError",
    "ExportReport",
    "ExportedSource",
    "FollowedEntry",
    "LogArchiveReader",
    "LogCompressionError",
    "LogDirectorySummary",
    "LogFilesChangedError",
    "LogPackage",
    "LogQueue",
    "LogReaders",
    "LogSource",
    "LogStatistics",
    "NestedLogDirectoriesWarning",
    "OptionalDependencyError",
    "SegmentSummary",
    "SourceReport",
    "SourceSummary",
    "StreamFormatError",
    "__version__",
    "compress_npy_logs",
    "export_logs",
    "follow_logs",
    "inspect_logs",
    "read_logs",
]
