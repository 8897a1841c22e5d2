"""The `ataraxis-datalogger` command: `compress` a log directory into archives, `inspect` what it holds, `export` it.

Exit status, the same for every command:

- 0: the command did all its work and found nothing wrong.
- 1: the command did what it could, but found problems, listed in its output: damaged or foreign files (left in
  place), or a source that could not be archived (left as it was).
- 2: usage error: a bad argument, an empty, missing or non-directory path. Nothing was done.
- 3: the command stopped on an operating-system error (permission denied, out of descriptors, ...), printed on
  stderr. Whatever it did before is safe: a compression is safe to interrupt at any point.
"""

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ._archive.reports import DamagedFile
from ._files.listing import check_path_argument
from .compression import CompressionReport, compress_npy_logs
from .exceptions import DamagedLogFilesWarning, LogCompressionError, LogFilesChangedError, OptionalDependencyError
from .export import FORMATS, export_logs
from .inspection import LogDirectorySummary, inspect_logs

EXIT_OK = 0
"""The command did all its work and found nothing wrong."""
EXIT_PROBLEMS = 1
"""Damaged or foreign files were found (left in place and listed), or a source could not be archived."""
EXIT_USAGE = 2
"""Bad arguments, or a path that is empty, missing or not a directory; nothing was done."""
EXIT_ERROR = 3
"""An operating-system error stopped the command."""

_EPILOG = (
    "exit status: 0 all done, nothing wrong; 1 problems found and listed (damaged or foreign files, a source "
    "that could not be archived); 2 usage error (bad argument; empty, missing or non-directory path); 3 stopped "
    "by an operating-system error."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: The arguments after the program name; None reads them from `sys.argv`.

    Returns:
        The exit status (see the module description). Usage errors found while parsing the arguments exit with
        status 2 through `SystemExit`, as `argparse` does.
    """
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.run(arguments)
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        print(f"ataraxis-datalogger {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"ataraxis-datalogger {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ataraxis-datalogger",
        description="Compress the .npy entries a DataLogger wrote into per-source archives, or inspect them.",
        epilog=_EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compress = commands.add_parser(
        "compress",
        help="archive each source's .npy entries into {source_id}_log.npz",
        description=(
            "Archive each source's .npy entries into one {source_id}_log.npz (timestamp order), merging with an "
            "existing archive. Safe to run again, and to interrupt. Damaged and foreign files are listed and left "
            "in place; archives of sources without new entries are checked."
        ),
        epilog=_EPILOG,
    )
    compress.add_argument(
        "directory", type=_directory, metavar="DIR", help="the log directory (DataLogger.output_directory)"
    )
    compress.add_argument(
        "--remove-sources", action="store_true", help="remove each entry file once its archive is verified in place"
    )
    compress.add_argument(
        "--verify",
        action="store_true",
        help="compare every archived byte with the entry files before removing any, and check every byte of the "
        "archives that get no new entries",
    )
    compress.add_argument(
        "--no-compress", action="store_true", help="store instead of deflate: larger, faster to write and to read"
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
            "Read every entry file and the metadata of every archive of a log directory and print, per source, "
            "the archived and pending entries, their time span, their bytes and any damaged or foreign files. "
            "Changes nothing."
        ),
        epilog=_EPILOG,
    )
    inspect.add_argument(
        "directory", type=_directory, metavar="DIR", help="the log directory (DataLogger.output_directory)"
    )
    inspect.add_argument(
        "--verify",
        action="store_true",
        help="also read every payload byte of every archive and check it against its checksum",
    )
    inspect.set_defaults(run=_inspect)
    _add_export_command(commands)
    return parser


def _directory(text: str) -> Path:
    try:
        return check_path_argument(text, "the log directory")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _output(text: str) -> Path:
    if text == "":
        raise argparse.ArgumentTypeError(
            "the output is an empty string (''): an unset variable in a shell command gives an empty argument"
        )
    return Path(text)


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
            return EXIT_PROBLEMS
    if not arguments.quiet:
        _print_compression(report)
    _print_problems(report.damaged_files, report.foreign_files)
    return EXIT_OK if report.clean else EXIT_PROBLEMS


def _inspect(arguments: argparse.Namespace) -> int:
    summary = inspect_logs(arguments.directory, verify=arguments.verify)
    _print_summary(summary)
    _print_problems(summary.damaged_files, summary.foreign_files)
    return EXIT_OK if summary.clean else EXIT_PROBLEMS


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
    legacy = [source.archive_path for source in summary.sources.values() if source.archive_format_version == 1]
    if legacy:
        print(
            f"{len(legacy)} archive(s) in format 1, without payload checksums (a compression that adds entries "
            "rewrites an archive in format 2): " + ", ".join(path.name for path in legacy if path is not None)
        )


def _print_problems(damaged: Sequence[DamagedFile], foreign: Sequence[Path]) -> None:
    if damaged:
        print(f"{len(damaged)} damaged file(s), left in place:")
        for file in damaged:
            print(f"  {file.path}: {file.reason}")
    if foreign:
        print(f"{len(foreign)} foreign file(s) (not log entries or archives), left in place:")
        for path in foreign:
            print(f"  {path}")


def _add_export_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    export = commands.add_parser(
        "export",
        help="write the log as a Parquet or Feather dataset, or an MCAP file",
        description=(
            "Write every entry of a log directory (archived or not) as a Parquet or Feather dataset partitioned by "
            "source (source_id=N/ folders, columns timestamp and payload), or as one MCAP file with a channel per "
            "source. The export appears only once complete; damaged entries are left out and listed. Parquet and "
            "Feather need the 'arrow' extra, MCAP the 'mcap' extra: pip install 'ataraxis-datalogger[arrow,mcap]'."
        ),
        epilog=_EPILOG + " A missing extra, or a destination that exists, is a usage error.",
    )
    export.add_argument(
        "directory", type=_directory, metavar="DIR", help="the log directory (DataLogger.output_directory)"
    )
    export.add_argument("--format", choices=FORMATS, default="parquet", help="the format to write (default: parquet)")
    export.add_argument(
        "--output", "-o", type=_output, required=True, metavar="OUT", help="the dataset folder, or the .mcap file"
    )
    export.add_argument(
        "--session", metavar="NAME", help="export into OUT/session=NAME/, beside other sessions (parquet, feather)"
    )
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export at OUT")
    export.add_argument("--quiet", action="store_true", help="no progress bar and no summary; list only problems")
    export.set_defaults(run=_export)


def _export(arguments: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as damage:
        # Damaged entries are left out of the export; each warning names the file, and is listed below.
        warnings.simplefilter("always", DamagedLogFilesWarning)
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
            return EXIT_USAGE
        except LogFilesChangedError as error:
            print(f"ataraxis-datalogger export: error: {error}; nothing was written, run it again", file=sys.stderr)
            return EXIT_ERROR
    if not arguments.quiet:
        print(f"exported {report.entries:,} entries ({report.payload_bytes:,} payload bytes) to {report.destination}")
        rows = [
            (source.source_id, source.entries, source.payload_bytes, len(source.files))
            for source in report.sources.values()
        ]
        _print_table(("source", "entries", "payload bytes", "files"), rows)
    problems = [str(caught.message) for caught in damage if issubclass(caught.category, DamagedLogFilesWarning)]
    if problems:
        print(f"{len(problems)} damaged part(s) of the log, left out of the export:")
        for problem in problems:
            print(f"  {problem}")
    return EXIT_PROBLEMS if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
