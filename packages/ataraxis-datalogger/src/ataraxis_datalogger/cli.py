"""The `ataraxis-datalogger` command: `compress`, `inspect` or `follow` a log directory.

`compress` archives its entries, `inspect` says what it holds, `follow` prints a stream log's entries as they land.

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
from .exceptions import DamagedLogFilesWarning, LogCompressionError
from .follow import follow_logs
from .inspection import LogDirectorySummary, inspect_logs

EXIT_OK = 0
"""The command did all its work and found nothing wrong."""
EXIT_PROBLEMS = 1
"""Damaged or foreign files were found (left in place and listed), or a source could not be archived."""
EXIT_USAGE = 2
"""Bad arguments, or a path that is empty, missing or not a directory; nothing was done."""
EXIT_ERROR = 3
"""An operating-system error stopped the command."""

_SEGMENT_STATES = ("closed", "writing", "unclosed")

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
        description=(
            "Compress the entries a DataLogger wrote (.npy files, .adlog stream segments) into per-source archives, "
            "inspect them, or follow a stream log as it is written."
        ),
        epilog=_EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compress = commands.add_parser(
        "compress",
        help="archive each source's entries (.npy files, stream segments) into {source_id}_log.npz",
        description=(
            "Archive each source's entries (.npy files and stream segments) into one {source_id}_log.npz "
            "(timestamp order), merging with an existing archive. Safe to run again, and to interrupt. Damaged and "
            "foreign files are listed and left in place; archives of sources without new entries are checked."
        ),
        epilog=_EPILOG,
    )
    compress.add_argument(
        "directory", type=_directory, metavar="DIR", help="the log directory (DataLogger.output_directory)"
    )
    compress.add_argument(
        "--remove-sources",
        action="store_true",
        help="remove each entry file once its archive is verified in place, and each stream segment whose writer is "
        "done with it once all its records are",
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
            "Read every entry file, every stream segment and the metadata of every archive of a log directory and "
            "print, per source, the archived and pending entries, their time span, their bytes, the segments and "
            "any damaged or foreign files. Changes nothing."
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

    follow = commands.add_parser(
        "follow",
        help="print the entries of a stream log as they are written",
        description=(
            "Print one line per entry of a stream log (source, timestamp, payload size, first payload bytes in hex) "
            "as it is written, until the logger closes it (or Ctrl+C). Changes nothing."
        ),
        epilog=_EPILOG,
    )
    follow.add_argument(
        "directory", type=_directory, metavar="DIR", help="the log directory (DataLogger.output_directory)"
    )
    follow.add_argument("--from-now", action="store_true", help="skip the entries already written")
    follow.add_argument(
        "--source", type=int, action="append", metavar="ID", help="print only this source (may be repeated)"
    )
    follow.add_argument(
        "--poll", type=float, default=0.05, metavar="SECONDS", help="seconds between polls (default 0.05)"
    )
    follow.add_argument("--bytes", type=int, default=16, metavar="N", help="payload bytes shown per entry (16)")
    follow.set_defaults(run=_follow)
    return parser


def _directory(text: str) -> Path:
    try:
        return check_path_argument(text, "the log directory")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
        if report.segments_removed:
            print(f"stream segments removed: {len(report.segments_removed):,}")
    _print_problems(report.damaged_files, report.foreign_files)
    return EXIT_OK if report.clean else EXIT_PROBLEMS


def _inspect(arguments: argparse.Namespace) -> int:
    summary = inspect_logs(arguments.directory, verify=arguments.verify)
    _print_summary(summary)
    _print_problems(summary.damaged_files, summary.foreign_files)
    return EXIT_OK if summary.clean else EXIT_PROBLEMS


def _follow(arguments: argparse.Namespace) -> int:
    sources = None if arguments.source is None else set(arguments.source)
    shown = max(0, arguments.bytes)
    damaged = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DamagedLogFilesWarning)
        entries = follow_logs(arguments.directory, poll_interval=arguments.poll, from_start=not arguments.from_now)
        try:
            for entry in entries:
                if sources is None or entry.source_id in sources:
                    head = entry.payload[:shown].tobytes().hex(" ")
                    print(f"{entry.source_id:3d} {entry.time_stamp:20d} {entry.payload.size:10,d}  {head}", flush=True)
                for warning in caught:
                    damaged = True
                    print(f"damaged: {warning.message}", file=sys.stderr, flush=True)
                caught.clear()
        except KeyboardInterrupt:
            pass
        finally:
            entries.close()
        for warning in caught:
            damaged = True
            print(f"damaged: {warning.message}", file=sys.stderr)
    return EXIT_PROBLEMS if damaged else EXIT_OK


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
    if summary.segments:
        states = {state: sum(segment.state == state for segment in summary.segments) for state in _SEGMENT_STATES}
        counts = ", ".join(f"{states[state]:,} {state}" for state in _SEGMENT_STATES if states[state])
        entries = sum(segment.entries for segment in summary.segments)
        print(f"stream segments: {len(summary.segments):,} ({counts}), {entries:,} entries")
    if not summary.sources:
        print("no log entries or archives")
        return
    header = (
        "source",
        "state",
        "archived",
        "pending",
        "copies",
        "stream",
        "first timestamp",
        "last timestamp",
        "payload bytes",
        "archive bytes",
    )
    rows = []
    for source in summary.sources.values():
        state = " + ".join(
            name
            for name, present in (
                ("archived", source.archive_path is not None),
                ("loose", source.pending_entries > 0),
                ("stream", source.stream_entries > 0),
            )
            if present
        )
        rows.append(
            (
                source.source_id,
                state or "-",
                source.archived_entries,
                source.pending_entries,
                source.archived_copies + source.stream_copies,
                source.stream_entries,
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


if __name__ == "__main__":
    sys.exit(main())
