"""Every error and warning of ataraxis-datalogger.

Errors share one root, `AtaraxisDataLoggerError`, so `except AtaraxisDataLoggerError` catches whatever the package
raises for its own reasons. Each error also subclasses the built-in class that describes its kind (`RuntimeError`
for a run or a compression that failed, `ValueError` for a file that is not in the expected format), so code that
catches the built-in class catches it too:

- `DataLoggerError` (`RuntimeError`): the logger cannot guarantee that the entries put on its queue reach the disk.
- `EntryTooLargeError` (`ValueError`): an entry does not fit a producer's buffer, whatever the logger does.
- `EntryFormatError` (`ValueError`): an entry file, or its name, is not in the entry format.
- `ArchiveFormatError` (`ValueError`): an archive is damaged, holds another source, or has an unsupported layout.
- `StreamFormatError` (`ValueError`): a stream segment is damaged or has an unsupported layout.
- `ArchiveVerificationError` (`RuntimeError`): an archive just written does not read back as written.
- `LogCompressionError` (`RuntimeError`): one or more sources of a log directory could not be archived.
- `LogFilesChangedError` (`RuntimeError`): files a reader was reading were removed under it (a compression with
  `remove_sources` archived them).
- `ExportError` (a `DataLoggerValueError`, so a `ValueError`): an export was asked for with an unknown format, a bad
  session name, or a destination it must not write to.
- `OptionalDependencyError` (`ImportError`): a feature needs an optional dependency (an "extra") that is not
  installed; the message names the extra to install.
- `DataLoggerTypeError` (`TypeError`) and `DataLoggerValueError` (`ValueError`): an argument of a public call has
  the wrong type or an unusable value; the message names the argument, the value received and what was expected.

The root is not `DataLoggerError` because that name already meant the logger's runtime failures, a `RuntimeError`
that user code catches by that name: a root that is a `RuntimeError` would make format errors `RuntimeError`s too.
Warnings share the root `AtaraxisDataLoggerWarning` (a `UserWarning`), so one filter covers all of them.

This module imports nothing else of the package at run time: every layer may import it.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .compression import CompressionReport


class AtaraxisDataLoggerError(Exception):
    """The root of every error ataraxis-datalogger raises for its own reasons; never raised itself."""


class DataLoggerError(AtaraxisDataLoggerError, RuntimeError):
    """Raised when the logger cannot guarantee that the entries put on its queue reach the disk.

    Causes: the logger process died, entries could not be written (for example the log folder was removed), the
    queue is used while the logger is stopped or after its owner died, or a process other than the logger's owner
    tries to control it.
    """


class EntryTooLargeError(AtaraxisDataLoggerError, ValueError):
    """Raised by a put whose entry is larger than a whole producer buffer (`DataLogger(buffer_size=...)`).

    Args:
        payload_size: The entry's payload size in bytes.
        record_size: The bytes the entry takes in the buffer: its payload, a 20-byte header and padding.
        buffer_size: The size of each producer buffer of the logger.
    """

    def __init__(self, payload_size: int, record_size: int, buffer_size: int) -> None:
        super().__init__(
            f"an entry of {payload_size} bytes (it takes {record_size} bytes with its header) does not fit the "
            f"logger's buffer of {buffer_size} bytes per producer process: create the DataLogger with a "
            f"buffer_size of at least {record_size}"
        )
        self.payload_size = payload_size
        """The entry's payload size in bytes."""
        self.record_size = record_size
        """The bytes the entry takes in the buffer."""
        self.buffer_size = buffer_size
        """The size of each producer buffer of the logger."""


class EntryFormatError(AtaraxisDataLoggerError, ValueError):
    """Raised when bytes or a file name do not hold a log entry in the entry format.

    A reader from `read_logs(..., on_damage="raise")` raises it, naming the file, when it reaches a damaged loose
    entry file (with the default `on_damage="warn"` the file is skipped with a `DamagedLogFilesWarning`).
    """


class ArchiveFormatError(AtaraxisDataLoggerError, ValueError):
    """Raised when a file that should be a log archive is not one, is damaged, or has an unsupported layout.

    Any damage is reported by this error, whatever part of the file it hit: the zip structure, a member, or payload
    bytes whose checksum does not match (archive format 2). A reader with `on_damage="warn"` skips the entries of
    damaged payload bytes with a `DamagedLogFilesWarning` instead.
    """


class StreamFormatError(AtaraxisDataLoggerError, ValueError):
    """Raised when a stream segment (`.adlog`) is not one, has an unsupported layout, or holds a damaged record.

    Reading with `on_damage="raise"` raises it at the first damaged record or torn tail, naming the file and offset.
    """


class ArchiveVerificationError(AtaraxisDataLoggerError, RuntimeError):
    """Raised when an archive just written does not read back as what was written into it.

    The new archive is then discarded, and the source's entry files and old archive are left as they were;
    `compress_npy_logs` names the error for that source in its `LogCompressionError`.
    """


class LogCompressionError(AtaraxisDataLoggerError, RuntimeError):
    """Raised when one or more sources could not be archived; their entries and old archives are untouched."""

    def __init__(self, report: "CompressionReport", failures: Mapping[int, str]) -> None:
        """Builds the error, whose message lists each failed source and why.

        Args:
            report: What was done for the sources that succeeded.
            failures: Why each failed source failed, by source id.
        """
        lines = "\n".join(f"  source {source_id}: {reason}" for source_id, reason in sorted(failures.items()))
        super().__init__(
            f"could not archive {len(failures)} source(s) of {report.log_directory}; their entry files and "
            f"archives were left as they were:\n{lines}"
        )
        self.report = report
        """What was done for the sources that succeeded."""
        self.failures = dict(failures)
        """Why each failed source failed, by source id."""


class LogFilesChangedError(AtaraxisDataLoggerError, RuntimeError):
    """Raised by a reader when a loose entry file it was about to read was removed from the log directory.

    A compression with `remove_sources=True` removes entry files once their archive is in place; a reader opened
    before it cannot follow them there. Opening the directory again with `read_logs` reads them from the archive.
    """


class OptionalDependencyError(AtaraxisDataLoggerError, ImportError):
    """Raised when a feature needs an optional dependency that is not installed.

    The message names the package and the extra that installs it, for example
    `pip install 'ataraxis-datalogger[arrow]'` for the Arrow, Parquet and Feather features.
    """


class DataLoggerTypeError(AtaraxisDataLoggerError, TypeError):
    """Raised when an argument of a public call has the wrong type (a float where an integer is expected, say).

    The message names the argument, the value received and what was expected. Nothing was written or changed.
    """


class DataLoggerValueError(AtaraxisDataLoggerError, ValueError):
    """Raised when an argument of a public call has the right type but an unusable value (out of range, empty).

    The message names the argument, the value received and what was expected. Nothing was written or changed.
    """


class ExportError(DataLoggerValueError):
    """Raised when `export_logs` refuses its arguments; nothing is written then.

    Causes: an unknown format, a session name that cannot be a folder name, or a destination that exists (without
    `overwrite=True`, also when another export put it in place while this one was written), lies inside the log
    directory, or holds the log directory. It is a `DataLoggerValueError`, so a `ValueError`.
    """


class AtaraxisDataLoggerWarning(UserWarning):
    """The root of every warning of ataraxis-datalogger; never issued itself."""


class DataLoggerWarning(AtaraxisDataLoggerWarning):
    """Warns about entries put on the logger's queue that were skipped, discarded or lost without a failure to raise.

    Objects that were not log packages (skipped), entries put on a logger that was never started (discarded), and
    entries of an earlier run into the same folder whose processes were all killed (lost, found by the next run).
    """


class DamagedLogFilesWarning(AtaraxisDataLoggerWarning):
    """Warns that a log directory holds damaged or foreign files, which were left in place.

    `compress_npy_logs` issues it for the entry files and archives it could not read and for foreign files; a
    reader with `on_damage="warn"` issues it for each damaged file or range of archived entries it skips. Reading
    a stream segment issues it when it skips damaged bytes or stops at a torn tail (the end of a record that a crash
    cut short), naming the file and the offset.
    """


class NestedLogDirectoriesWarning(AtaraxisDataLoggerWarning):
    """Warns that `compress_npy_logs` was given a folder whose logs are in its subfolders, and compressed each of them.

    ataraxis-data-structures 3.x archived every entry file below the folder it was given, writing the archives in
    that folder; this version compresses each log folder found below it in place, its archives inside it.
    """
