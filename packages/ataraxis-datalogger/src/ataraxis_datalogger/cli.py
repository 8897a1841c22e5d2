"""The `ataraxis-datalogger` command: `compress` a log directory into archives, `inspect` what it holds, `export` it.

Exit status: 0 when all went well, 1 when damaged or foreign files were found (and left in place), 2 when the
command could not do its work (a bad argument, a missing directory, a source that could not be archived).
"""

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ._archive.reports import DamagedFile
from .compression import CompressionReport, compress_npy_logs
from .exceptions import DamagedLogFilesWarning, LogCompressionError, OptionalDependencyError
from .export import FORMATS, export_logs
from .inspection import LogDirectorySummary, inspect_logs

EXIT_OK = 0
"""Everything was archived or inspected and no damaged or foreign file was found."""
EXIT_DAMAGED = 1
"""Damaged or foreign files were found; they were left in place and listed."""
EXIT_FAILED = 2
"""The command could not do its work (bad arguments, missing directory, a source that could not be archived)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: The arguments after the program name; None reads them from `sys.argv`.

    Returns:
        The exit status (see the module description).
    """
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.run(arguments)
    except (OSError, ValueError) as error:
        print(f"ataraxis-datalogger {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ataraxis-datalogger",
        description="Compress the .npy entries a DataLogger wrote into per-source archives, or inspect them.",
        epilog="Exit status: 0 all well, 1 damaged or foreign files found (left in place), 2 failure.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compress = commands.add_parser(
        "compress",
        help="archive each source's .npy entries into {source_id}_log.npz",
        description=(
            "Archive each source's .npy entries into one {source_id}_log.npz (timestamp order), merging with an "
            "existing archive. Safe to run again. Damaged and foreign files are listed and left in place."
        ),
    )
    compress.add_argument("directory", type=Path, metavar="DIR", help="the log directory (DataLogger.output_directory)")
    compress.add_argument(
        "--remove-sources", action="store_true", help="remove each entry file once its archive is verified in place"
    )
    compress.add_argument(
        "--verify", action="store_true", help="compare every archived byte with the entry files before removing any"
    )
    compress.add_argument(
        "--no-compress", action="store_true", help="store instead of deflate: larger, faster, memory-mappable"
    )
    compress.add_argument(
        "--memory-mapping", action="store_true", help="memory-map entry files while reading (for large entries)"
    )
    compress.add_argument(
        "--workers", type=_positive_integer, default=None, metavar="N", help="worker processes (default: one per CPU)"
    )
    compress.add_argument("--quiet", action="store_true", help="no progress bars and no summary; list only problems")
    compress.set_defaults(run=_compress)

    inspect = commands.add_parser(
        "inspect",
        help="list sources, entry counts, time spans, bytes and damaged files",
        description=(
            "Read every entry file and archive of a log directory and print, per source, the archived and "
            "pending entries, their time span, their bytes and any damaged files. Changes nothing."
        ),
    )
    inspect.add_argument("directory", type=Path, metavar="DIR", help="the log directory (DataLogger.output_directory)")
    inspect.set_defaults(run=_inspect)
    _add_export_command(commands)
    return parser


def _positive_integer(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _compress(arguments: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        # The damaged files are listed below; the warning would say the same thing twice.
        warnings.simplefilter("ignore", DamagedLogFilesWarning)
        try:
            report = compress_npy_logs(
                arguments.directory,
                remove_sources=arguments.remove_sources,
                memory_mapping=arguments.memory_mapping,
                verbose=not arguments.quiet,
                compress=not arguments.no_compress,
                verify_integrity=arguments.verify,
                max_workers=arguments.workers,
            )
        except LogCompressionError as error:
            if not arguments.quiet:
                _print_compression(error.report)
            _print_problems(error.report.damaged_files, error.report.foreign_files)
            print(f"ataraxis-datalogger compress: error: {error}", file=sys.stderr)
            return EXIT_FAILED
    if not arguments.quiet:
        _print_compression(report)
    _print_problems(report.damaged_files, report.foreign_files)
    return EXIT_OK if report.clean else EXIT_DAMAGED


def _inspect(arguments: argparse.Namespace) -> int:
    summary = inspect_logs(arguments.directory)
    _print_summary(summary)
    _print_problems(summary.damaged_files, summary.foreign_files)
    return EXIT_OK if summary.clean else EXIT_DAMAGED


def _print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [list(header)] + [[f"{value:,}" if isinstance(value, int) else str(value) for value in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    for row in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _print_compression(report: CompressionReport) -> None:
    print(f"log directory: {report.log_directory}")
    if not report.sources:
        print("no entry files to archive")
        return
    header = ("source", "archived now", "in archive", "payload bytes", "archive bytes", "files removed", "archive")
    rows = [
        (
            source.source_id,
            source.entries_archived,
            source.entries_total,
            source.payload_bytes,
            source.archive_bytes,
            source.files_removed,
            "-" if source.archive_path is None else source.archive_path.name,
        )
        for source in report.sources.values()
    ]
    _print_table(header, rows)


def _print_summary(summary: LogDirectorySummary) -> None:
    print(f"log directory: {summary.log_directory}")
    if not summary.sources:
        print("no log entries or archives")
        return
    header = (
        "source",
        "state",
        "archived",
        "pending",
        "copies",
        "first timestamp",
        "last timestamp",
        "payload bytes",
        "archive bytes",
    )
    rows = []
    for source in summary.sources.values():
        state = " + ".join(
            name
            for name, present in (("archived", source.archive_path is not None), ("loose", source.pending_entries > 0))
            if present
        )
        rows.append(
            (
                source.source_id,
                state or "-",
                source.archived_entries,
                source.pending_entries,
                source.archived_copies,
                "-" if source.first_time_stamp is None else str(source.first_time_stamp),
                "-" if source.last_time_stamp is None else str(source.last_time_stamp),
                source.payload_bytes,
                source.archive_bytes,
            )
        )
    _print_table(header, rows)


def _print_problems(damaged: Sequence[DamagedFile], foreign: Sequence[Path]) -> None:
    if damaged:
        print(f"{len(damaged)} damaged file(s), left in place:")
        for file in damaged:
            print(f"  {file.path}: {file.reason}")
    if foreign:
        print(f"{len(foreign)} foreign .npy file(s) (not log entries), left in place:")
        for path in foreign:
            print(f"  {path}")


def _add_export_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    export = commands.add_parser(
        "export",
        help="write the log as a Parquet or Feather dataset, or an MCAP file",
        description=(
            "Write every entry of a log directory (archived or not) as a Parquet or Feather dataset partitioned by "
            "source (source_id=N/ folders, columns timestamp and payload), or as one MCAP file with a channel per "
            "source. The export appears only once complete. Parquet and Feather need the 'arrow' extra, MCAP the "
            "'mcap' extra: pip install 'ataraxis-datalogger[arrow,mcap]'."
        ),
    )
    export.add_argument("directory", type=Path, metavar="DIR", help="the log directory (DataLogger.output_directory)")
    export.add_argument("--format", choices=FORMATS, default="parquet", help="the format to write (default: parquet)")
    export.add_argument(
        "--output", "-o", type=Path, required=True, metavar="OUT", help="the dataset folder, or the .mcap file"
    )
    export.add_argument(
        "--session", metavar="NAME", help="export into OUT/session=NAME/, beside other sessions (parquet, feather)"
    )
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export at OUT")
    export.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    export.set_defaults(run=_export)


def _export(arguments: argparse.Namespace) -> int:
    try:
        report = export_logs(
            arguments.directory,
            arguments.output,
            arguments.format,
            session=arguments.session,
            overwrite=arguments.overwrite,
            verbose=not arguments.quiet,
        )
    except OptionalDependencyError as error:
        print(f"ataraxis-datalogger export: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not arguments.quiet:
        print(f"exported {report.entries:,} entries ({report.payload_bytes:,} payload bytes) to {report.destination}")
        rows = [
            (source.source_id, source.entries, source.payload_bytes, len(source.files))
            for source in report.sources.values()
        ]
        _print_table(("source", "entries", "payload bytes", "files"), rows)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
