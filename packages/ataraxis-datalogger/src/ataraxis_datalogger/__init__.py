"""ataraxis-datalogger: log timestamped messages from many processes to disk, then archive and read them back.

Archives and reading back:

- `compress_npy_logs`: turns each source's `.npy` entries into one columnar `{source_id}_log.npz`, returning a
  `CompressionReport` (per source a `SourceReport`; damaged files as `DamagedFile`, also named in a
  `DamagedLogFilesWarning`; a source that could not be archived raises `LogCompressionError`).
- `LogArchiveReader`: reads one source's entries in timestamp order; `read_logs` opens one per source of a log
  directory, archived or not. A damaged archive raises `ArchiveFormatError`.
- `inspect_logs`: summarises a log directory per source (`LogDirectorySummary`, `SourceSummary`).
- The `ataraxis-datalogger` command runs `compress` and `inspect` from a shell.
"""

from importlib.metadata import version

from ._archive_format import ArchiveFormatError
from .compression import (
    CompressionReport,
    DamagedFile,
    DamagedLogFilesWarning,
    LogCompressionError,
    SourceReport,
    compress_npy_logs,
)
from .inspection import LogDirectorySummary, SourceSummary, inspect_logs
from .reader import LogArchiveReader, read_logs

__version__: str = version("ataraxis-datalogger")

__all__ = [
    "ArchiveFormatError",
    "CompressionReport",
    "DamagedFile",
    "DamagedLogFilesWarning",
    "LogArchiveReader",
    "LogCompressionError",
    "LogDirectorySummary",
    "SourceReport",
    "SourceSummary",
    "__version__",
    "compress_npy_logs",
    "inspect_logs",
    "read_logs",
]
