"""Exporting a log directory for other engines: `export_logs` writes a Parquet or Feather dataset, or an MCAP file.

See the "Exporting logs" guide for the layouts, and the "Beyond one machine" page for the engines that read them.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Final, Literal

from ._export.destination import StagedDestination, check_apart, check_session
from ._export.optional import requires_extra
from ._files.listing import check_log_directory, check_path_argument
from ._format.arguments import check_flag, check_integer
from ._format.damage import OnDamage, check_on_damage
from ._format.export import EXPORT_LAYOUT, session_folder_name
from ._progress import ProgressDisplay
from .exceptions import ExportError
from .reader import read_logs

ExportFormat = Literal["parquet", "feather", "mcap"]
"""The formats `export_logs` writes."""

FORMATS: Final[tuple[ExportFormat, ...]] = ("parquet", "feather", "mcap")
"""Every format `export_logs` writes, as the `format` argument names it."""

ROW_GROUP_BYTES: Final = 64 << 20
"""The default payload bytes of one Parquet row group (or group of Feather record batches)."""
FILE_BYTES: Final = 1 << 30
"""The default payload bytes of one part file of a Parquet or Feather dataset."""

_BATCH_BYTES: Final = 8 << 20
"""Payload bytes read at once, at most: a row group gathers batches of this size (or of the row group's, if less)."""


@dataclass(frozen=True)
class ExportedSource:
    """What `export_logs` wrote for one source."""

    source_id: int
    """The source."""
    entries: int
    """Entries written."""
    payload_bytes: int
    """Payload bytes written."""
    files: tuple[Path, ...]
    """The files that hold them (for MCAP, the one file of the export)."""


@dataclass(frozen=True)
class ExportReport:
    """What `export_logs` wrote."""

    log_directory: Path
    """The exported log directory."""
    destination: Path
    """The export, as an absolute path: the dataset folder (for a session, its `session=NAME` folder) or the MCAP
    file."""
    format: ExportFormat
    """The format written."""
    session: str | None
    """The session name the export was made under, or None."""
    sources: Mapping[int, ExportedSource]
    """What was written for each source, by source id."""

    @property
    def entries(self) -> int:
        """Entries written, over all sources."""
        return sum(source.entries for source in self.sources.values())

    @property
    def payload_bytes(self) -> int:
        """Payload bytes written, over all sources."""
        return sum(source.payload_bytes for source in self.sources.values())

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file written, in source order (without the dataset's marker file)."""
        return tuple(dict.fromkeys(path for source in self.sources.values() for path in source.files))


def export_logs(
    log_directory: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    format: ExportFormat = "parquet",
    *,
    session: str | None = None,
    overwrite: bool = False,
    verbose: bool = False,
    row_group_bytes: int = ROW_GROUP_BYTES,
    file_bytes: int = FILE_BYTES,
    on_damage: OnDamage = "warn",
) -> ExportReport:
    """Exports every entry of a log directory, archived or not, as a Parquet or Feather dataset or an MCAP file.

    The entries are read as `read_logs` reads them (archives, loose entry files, or both merged; damaged data
    skipped with a `DamagedLogFilesWarning`, or raising, as `on_damage` says) and written a bounded batch at a
    time, so a log larger than memory exports in constant memory (about one row group).

    - **parquet** and **feather**: `destination` is a dataset folder with one hive-style partition per source,
      `source_id=7/part-00000.parquet` (or `.feather`), whose files hold the columns `timestamp` (uint64) and
      `payload` (binary); `pyarrow.dataset`, Dask, DuckDB, Spark and polars read the folder as one table with the
      columns `timestamp`, `payload` and `source_id`. With `session="NAME"` the export goes into
      `destination/session=NAME/` instead, so that several sessions exported into one `destination` read as one
      dataset with a `session` column. Feather files are uncompressed Arrow IPC files, which readers can
      memory-map.
    - **mcap**: `destination` is one MCAP file with a channel per source (topic `/source/{source_id}`) and a
      message per entry, whose `log_time` is the entry's timestamp, in timestamp order over all sources.

    The export is written under a hidden temporary name beside `destination` and renamed into place only once
    complete and fsynced: a reader sees the whole export or none, and an export that fails or is killed leaves
    the destination as it was.

    Args:
        log_directory: The directory the logger wrote to (`DataLogger.output_directory`).
        destination: The dataset folder (parquet, feather) or the file (mcap) to write.
        format: "parquet", "feather" or "mcap".
        session: A name for this log among several exported into the same dataset folder (letters, digits,
            `.`, `_`, `-`): the export goes into `destination/session=NAME/`. For MCAP, recorded in the metadata.
        overwrite: Replace an earlier export at the destination (only a folder that holds an export's marker file,
            or a regular file for MCAP) instead of refusing it.
        verbose: Show a progress bar (entries written) on standard error.
        row_group_bytes: The payload bytes of one Parquet row group, about (Parquet and Feather only).
        file_bytes: The payload bytes of one part file, about, before the next one starts (Parquet and Feather
            only).
        on_damage: "warn" skips damaged entries with a `DamagedLogFilesWarning` and exports the rest; "raise"
            stops at the first damage, and nothing is written.

    Returns:
        What was written, per source.

    Raises:
        ExportError: If the format or the session name is unknown or malformed, the destination is empty, exists
            (without `overwrite`, also when another export puts it in place first) or overlaps the log directory.
        DataLoggerTypeError: If a path is not a `str` or `os.PathLike` path, `session` is not a string or None,
            a flag is not True or False, or a size is not an integer.
        DataLoggerValueError: If the log directory is empty, a size is below 1, or `on_damage` is not "warn" or
            "raise" (`ExportError` is one too).
        OptionalDependencyError: If the format's extra is not installed: `ataraxis-datalogger[arrow]` for parquet
            and feather, `ataraxis-datalogger[mcap]` for mcap.
        FileNotFoundError: If the log directory does not exist.
        NotADirectoryError: If it is not a directory.
        ArchiveFormatError: If an archive is damaged and `on_damage` is "raise".
        EntryFormatError: If a loose entry file is damaged and `on_damage` is "raise".
        LogFilesChangedError: If loose entry files were removed while they were read (a compression with
            `remove_sources` ran meanwhile); nothing is written then.
    """
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    group_limit = check_integer(row_group_bytes, "row_group_bytes", 1)
    file_limit = check_integer(file_bytes, "file_bytes", 1)
    session = check_session(session)
    overwrite, verbose = check_flag(overwrite, "overwrite"), check_flag(verbose, "verbose")
    policy = check_on_damage(on_damage)
    directory = check_log_directory(log_directory)
    if destination == "":
        raise ExportError(
            "the destination is an empty string (''): an unset variable in a shell command gives an empty argument"
        )
    # Absolute and normalised, so that "." or "a/.." name a real folder with a real parent to stage beside.
    root = Path(os.path.abspath(check_path_argument(destination, "the destination")))
    final = root / session_folder_name(session) if session is not None and format != "mcap" else root
    check_apart(directory, root)
    with requires_extra(f"export_logs(format={format!r})"):
        # Imported before anything is written, so that a missing extra leaves no trace.
        if format == "mcap":
            from ._export.mcap_file import write_mcap
        else:
            from ._export.dataset_writer import write_dataset
    description = {
        "export_layout": str(EXPORT_LAYOUT),
        "exported_by": f"ataraxis-datalogger {version('ataraxis-datalogger')}",
        # Metadata is UTF-8 text: bytes of a folder name that are not UTF-8 are written as \xNN.
        "log_directory": os.fsencode(directory.resolve()).decode("utf-8", "backslashreplace"),
        "session": "" if session is None else session,
    }
    with (
        read_logs(directory, on_damage=policy) as readers,
        StagedDestination(final, staging=root.parent, directory=format != "mcap", overwrite=overwrite) as staged,
        ProgressDisplay(enabled=verbose) as progress,
    ):
        progress.add_step("export", f"export {format}", "entries", sum(len(reader) for reader in readers.values()))

        def advance(count: int) -> None:
            progress.advance("export", count)

        if format == "mcap":
            counts = write_mcap(
                staged.path,
                dict(readers),
                library=description["exported_by"],
                metadata=description,
                advance=advance,
            )
            sources = {
                source_id: ExportedSource(source_id, entries, payload_bytes, (final,))
                for source_id, (entries, payload_bytes) in counts.items()
            }
        else:
            batches = {
                source_id: reader.iter_batches(max_bytes=min(group_limit, _BATCH_BYTES))
                for source_id, reader in readers.items()
            }
            written = write_dataset(
                staged.path,
                batches,
                file_format=format,
                row_group_bytes=group_limit,
                file_bytes=file_limit,
                metadata=description,
                advance=advance,
            )
            sources = {
                source_id: ExportedSource(
                    source_id,
                    part.entries,
                    part.payload_bytes,
                    tuple(final / path.relative_to(staged.path) for path in part.files),
                )
                for source_id, part in written.items()
            }
        staged.commit()
    return ExportReport(directory, final, format, session, sources)
