"""The `ataraxis-datalogger` command: `compress`, `inspect`, `export` or `follow` a log directory.

`compress` archives its entries, `inspect` says what it holds, `export` writes it to Parquet, Feather or MCAP,
`follow` prints a stream log's entries as they land.
`python -m ataraxis_datalogger` runs the same command. Exit status, the same for every command:

- 0: the command did all its work and found nothing wrong.
- 1: the command did what it could, but found problems, listed in its output: damaged or foreign files (left in
  place), or a source that could not be archived (left as it was).
- 2: usage error: a bad argument, an empty, missing or non-directory path. Nothing was done.
- 3: the command stopped on an operating-system error (permission denied, out of descriptors, ...), printed on
  stderr. Whatever it did before is safe: a compression is safe to interrupt at any point.
- 141: the output was closed by its reader (`... | head -1`): the command stopped quietly, as a program killed by
  SIGPIPE does (128 + 13). Whatever it did before is safe, as for 3.

Output goes through rich, which knows when it writes to a terminal: tables and progress bars there; plain lines with
no cursor or colour codes in a file or a pipe. The library's log messages (the `ataraxis_datalogger` loggers) and
warnings are written to stderr, one line each; `--verbose` adds the informational ones.
"""

import argparse
import contextlib
import errno
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Final, TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from ._archive.reports import DamagedFile
from ._files.listing import check_path_argument
from .compression import CompressionReport, compress_npy_logs
from .exceptions import DamagedLogFilesWarning, LogCompressionError, LogFilesChangedError, OptionalDependencyError
from .export import FORMATS, export_logs
from .follow import follow_logs
from .inspection import LogDirectorySummary, SourceSummary, inspect_logs

EXIT_OK = 0
"""The command did all its work and found nothing wrong."""
EXIT_PROBLEMS = 1
"""Damaged or foreign files were found (left in place and listed), or a source could not be archived."""
EXIT_USAGE = 2
"""Bad arguments, or a path that is empty, missing or not a directory; nothing was done."""
EXIT_ERROR = 3
"""An operating-system error stopped the command."""
EXIT_CLOSED_PIPE = 141
"""The output was closed by its reader (`| head`): the command stopped quietly, as a process killed by SIGPIPE
would (128 + 13), having done what it did until then."""

_EPILOG = (
    "exit status: 0 all done, nothing wrong; 1 problems found and listed (damaged or foreign files, a source "
    "that could not be archived); 2 usage error (bad argument; empty, missing or non-directory path); 3 stopped "
    "by an operating-system error; 141 the output was closed by its reader (| head)."
)

PLAIN_WIDTH: Final = 1000
"""The line width of tables written to a file or a pipe, where nothing wraps (rich would assume 80 columns)."""

TIME_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
"""The timestamp units `inspect --time-unit` knows, in seconds."""

_SEGMENT_STATES: Final = ("closed", "writing", "unclosed")

_VERSION: Final = version("ataraxis-datalogger")
"""Read once, on import: a command short of file descriptors must still parse its arguments."""

_LOGGER = logging.getLogger("ataraxis_datalogger.cli")
"""Named, not `__name__`: run as `python -m ataraxis_datalogger.cli`, the module is `__main__`, whose logger is
outside the package's and would print its messages without the command's formatting."""


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
    with _messages_on_stderr(verbose=arguments.verbose):
        try:
            status: int = arguments.run(arguments, _console(sys.stdout))
        except BrokenPipeError:
            _discard_standard_output()
            return EXIT_CLOSED_PIPE
        except (FileNotFoundError, NotADirectoryError, ValueError) as error:
            print(f"ataraxis-datalogger {arguments.command}: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except OSError as error:
            print(f"ataraxis-datalogger {arguments.command}: error: {error}", file=sys.stderr)
            return EXIT_ERROR
    return status


@contextlib.contextmanager
def _messages_on_stderr(*, verbose: bool) -> Iterator[None]:
    """Shows the library's log messages and warnings on stderr, one line each, while the command runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    package_logger = logging.getLogger("ataraxis_datalogger")
    previous_level, previous_propagate = package_logger.level, package_logger.propagate
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO if verbose else logging.WARNING)
    # The command reports to the person at the terminal: its messages are not passed on to handlers an embedding
    # program (or a test runner) installed at the root.
    package_logger.propagate = False

    def show_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        _LOGGER.warning("%s: %s", category.__name__, message)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            yield
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)
        package_logger.propagate = previous_propagate


class _LineFormatter(logging.Formatter):
    """Formats a record as `ataraxis-datalogger: warning: message`, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Returns the record's line."""
        text = f"ataraxis-datalogger: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _PipeConsole(Console):
    """A rich console whose closed output raises `BrokenPipeError` (rich's own exits with status 1, "problems")."""

    def on_broken_pipe(self) -> None:
        """Raises `BrokenPipeError`, for `main` to end the command with `EXIT_CLOSED_PIPE`."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the output was closed")


def _discard_standard_output() -> None:
    """Points standard output at the null device: flushing it at exit would otherwise fail again, with a message."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _console(stream: TextIO) -> Console:
    """A rich console on a stream: as wide as the terminal, or wide enough that nothing wraps in a file or pipe."""
    console = _PipeConsole(file=stream, highlight=False, markup=False, emoji=False)
    if not console.is_terminal:
        console.width = PLAIN_WIDTH
    return console


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ataraxis-datalogger",
        description=(
            "Compress the entries a DataLogger wrote (.npy files, .adlog stream segments) into per-source archives, "
            "inspect them, or follow a stream log as it is written."
        ),
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_VERSION}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show the library's informational messages (on stderr)"
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
    inspect.add_argument(
        "--time-unit",
        choices=tuple(TIME_UNITS),
        default=None,
        help="the unit of the logged timestamps (the logger does not record it): adds each source's time span",
    )
    inspect.add_argument("--quiet", action="store_true", help="no progress bar")
    inspect.set_defaults(run=_inspect)
    _add_export_command(commands)

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
        "--source",
        type=_source_id,
        action="append",
        metavar="ID",
        help="print only this source, 0 to 255 (may be repeated)",
    )
    follow.add_argument(
        "--poll", type=float, default=0.05, metavar="SECONDS", help="seconds between polls (default 0.05)"
    )
    follow.add_argument(
        "--bytes", type=_count, default=16, metavar="N", help="payload bytes shown per entry (default 16)"
    )
    follow.set_defaults(run=_follow)
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


def _source_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a source id, 0 to 255, got {text!r}") from None
    if not 0 <= value <= 255:  # a source id is one byte
        raise argparse.ArgumentTypeError(f"expected a source id, 0 to 255, got {value} (no entry has it)")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count, 0 or more, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count, 0 or more, got {value}")
    return value


def _compress(arguments: argparse.Namespace, out: Console) -> int:
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
                _print_compression(out, error.report)
            _print_problems(out, error.report.damaged_files, _foreign_files(error.report))
            print(f"ataraxis-datalogger compress: error: {error}", file=sys.stderr)
            return EXIT_PROBLEMS
    if not arguments.quiet:
        _print_compression(out, report)
        removed = len(report.segments_removed) + sum(len(nested.segments_removed) for nested in report.subdirectories)
        if removed:
            out.print(f"stream segments removed: {removed:,}")
    _print_problems(out, report.damaged_files, _foreign_files(report))
    return EXIT_OK if report.clean else EXIT_PROBLEMS


def _inspect(arguments: argparse.Namespace, out: Console) -> int:
    summary = inspect_logs(arguments.directory, verify=arguments.verify, verbose=not arguments.quiet)
    _print_summary(out, summary, arguments.time_unit)
    _print_problems(out, summary.damaged_files, summary.foreign_files)
    return EXIT_OK if summary.clean else EXIT_PROBLEMS


def _follow(arguments: argparse.Namespace, out: Console) -> int:
    sources = None if arguments.source is None else set(arguments.source)
    shown = arguments.bytes
    damaged = 0

    def report_damage(caught: list[warnings.WarningMessage]) -> None:
        nonlocal damaged
        for warning in caught:
            damaged += 1
            _LOGGER.warning("%s", warning.message)
        caught.clear()

    # Lines go to the stream as they come (rich would cost more per line than the entry took to read).
    stream = out.file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DamagedLogFilesWarning)
        entries = follow_logs(arguments.directory, poll_interval=arguments.poll, from_start=not arguments.from_now)
        try:
            for entry in entries:
                if sources is None or entry.source_id in sources:
                    head = entry.payload[:shown].tobytes().hex(" ")
                    stream.write(f"{entry.source_id:3d} {entry.time_stamp:20d} {entry.payload.size:10,d}  {head}\n")
                    stream.flush()
                report_damage(caught)
        except KeyboardInterrupt:
            pass
        finally:
            entries.close()
        report_damage(caught)
    return EXIT_PROBLEMS if damaged else EXIT_OK


def _print_rows(out: Console, columns: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[str] = ()) -> None:
    """Prints rows as a table whose numbers are right-aligned (the columns named in `left` are not).

    On a terminal a rule sets the header apart; in a file or a pipe the table is plain aligned columns. A table wider
    than the terminal would have its values cut or folded, so each row is then printed as a block of `column  value`
    lines instead, headed by its first value.
    """
    table = Table(box=box.SIMPLE_HEAD if out.is_terminal else None, show_edge=False, pad_edge=False)
    for column in columns:
        # On a terminal headers break between their words, to keep the columns narrow; elsewhere each row is one
        # line, the header included, for tools that read the output line by line.
        header = column.replace(" ", "\n") if out.is_terminal else column
        table.add_column(header, justify="left" if column in left else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    # Measured with room to spare: a measurement never exceeds the width it is given.
    if out.measure(table, options=out.options.update_width(PLAIN_WIDTH)).maximum <= out.width:
        out.print(table)
        return
    label_width = max(len(column) for column in columns[1:])
    for row in rows:
        out.print(f"{columns[0]} {row[0]}", soft_wrap=True)
        for column, value in zip(columns[1:], row[1:], strict=True):
            out.print(f"  {column:<{label_width}}  {value}", soft_wrap=True)


def _foreign_files(report: CompressionReport) -> list[Path]:
    """The foreign files of a compression, those of the log directories below the one named included."""
    return [*report.foreign_files, *(path for nested in report.subdirectories for path in nested.foreign_files)]


def _print_compression(out: Console, report: CompressionReport) -> None:
    if report.subdirectories:
        for nested in report.subdirectories:
            _print_compression(out, nested)
        return
    out.print(f"log directory: {report.log_directory}", soft_wrap=True)
    if not report.sources:
        out.print("no entry files to archive")
        return
    columns = ("source", "archived now", "in archive", "payload bytes", "archive bytes", "files removed", "archive")
    rows = [
        (
            str(source.source_id),
            f"{source.entries_archived:,}",
            f"{source.entries_total:,}",
            f"{source.payload_bytes:,}",
            f"{source.archive_bytes:,}",
            f"{source.files_removed:,}",
            "-" if source.archive_path is None else source.archive_path.name,
        )
        for source in report.sources.values()
    ]
    _print_rows(out, columns, rows, left=("archive",))


def _print_summary(out: Console, summary: LogDirectorySummary, time_unit: str | None) -> None:
    out.print(f"log directory: {summary.log_directory}", soft_wrap=True)
    if summary.segments:
        states = {state: sum(segment.state == state for segment in summary.segments) for state in _SEGMENT_STATES}
        counts = ", ".join(f"{states[state]:,} {state}" for state in _SEGMENT_STATES if states[state])
        entries = sum(segment.entries for segment in summary.segments)
        out.print(f"stream segments: {len(summary.segments):,} ({counts}), {entries:,} entries", soft_wrap=True)
    if not summary.sources:
        out.print("no log entries or archives")
        return
    columns = ["source", "state", "archived", "pending", "copies", "stream", "first timestamp", "last timestamp"]
    if time_unit is not None:
        columns.append("time span")
    columns += ["payload bytes", "archive bytes"]
    rows = []
    for source in summary.sources.values():
        row = [
            str(source.source_id),
            _state(source),
            f"{source.archived_entries:,}",
            f"{source.pending_entries:,}",
            f"{source.archived_copies + source.stream_copies:,}",
            f"{source.stream_entries:,}",
            "-" if source.first_time_stamp is None else str(source.first_time_stamp),
            "-" if source.last_time_stamp is None else str(source.last_time_stamp),
        ]
        if time_unit is not None:
            row.append(_time_span(source, time_unit))
        rows.append([*row, f"{source.payload_bytes:,}", f"{source.archive_bytes:,}"])
    _print_rows(out, columns, rows, left=("state",))
    if time_unit is None:
        out.print(
            "Timestamps are shown as logged, in the unit of the producers' clocks (the logger does not record it); "
            "give --time-unit ns, us, ms or s to see each source's time span.",
            soft_wrap=True,
        )
    unchecked = [source for source in summary.sources.values() if source.archive_format_version in (0, 1)]
    if unchecked:
        names = ", ".join(
            f"{source.archive_path.name} ({'3.x layout' if source.archive_format_version == 0 else 'format 1'})"
            for source in unchecked
            if source.archive_path is not None
        )
        out.print(
            f"{len(unchecked)} archive(s) without payload checksums (a compression that adds entries rewrites an "
            f"archive in format 2): {names}",
            soft_wrap=True,
        )


def _state(source: SourceSummary) -> str:
    """Whether a source is archived, loose (has pending entry files), in stream segments not archived yet, or some."""
    present = (
        ("archived", source.archive_path is not None),
        ("loose", source.pending_entries > 0),
        ("stream", source.stream_entries > 0),
    )
    return " + ".join(name for name, is_present in present if is_present) or "-"


def _time_span(source: SourceSummary, time_unit: str) -> str:
    """The time from a source's first entry to its last, with its unit."""
    if source.first_time_stamp is None or source.last_time_stamp is None:
        return "-"
    return _duration((source.last_time_stamp - source.first_time_stamp) * TIME_UNITS[time_unit])


def _duration(seconds: float) -> str:
    """Formats a duration with its unit: `850 ns`, `12.5 ms`, `3.20 s`, `4 min 05.0 s`, `2 h 03 min 04 s`.

    Each form is chosen by the rounded value, so 59.999 s reads `1 min 00.0 s`, never `60.00 s`.

    Args:
        seconds: The duration, not negative.
    """
    if seconds < 59.995:
        for scale, unit, decimals, limit in ((1e9, "ns", 0, 999.5), (1e6, "us", 1, 999.95), (1e3, "ms", 1, 999.95)):
            if seconds * scale < limit:
                return f"{seconds * scale:.{decimals}f} {unit}"
        return f"{seconds:.2f} s"
    minutes, tenths = divmod(round(seconds * 10), 600)
    if minutes < 60:
        return f"{minutes} min {tenths // 10:02d}.{tenths % 10} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min {rest % 60:02d} s"


def _print_problems(out: Console, damaged: Sequence[DamagedFile], foreign: Sequence[Path]) -> None:
    if damaged:
        out.print(f"{len(damaged)} damaged file(s), left in place:")
        for file in damaged:
            out.print(f"  {file.path}: {file.reason}", soft_wrap=True)
    if foreign:
        out.print(f"{len(foreign)} foreign file(s) (not log entries or archives), left in place:")
        for path in foreign:
            out.print(f"  {path}", soft_wrap=True)


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


def _export(arguments: argparse.Namespace, out: Console) -> int:
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
        out.print(
            f"exported {report.entries:,} entries ({report.payload_bytes:,} payload bytes) to {report.destination}",
            soft_wrap=True,
        )
        rows = [
            (str(source.source_id), f"{source.entries:,}", f"{source.payload_bytes:,}", f"{len(source.files):,}")
            for source in report.sources.values()
        ]
        _print_rows(out, ("source", "entries", "payload bytes", "files"), rows)
    problems = [str(caught.message) for caught in damage if issubclass(caught.category, DamagedLogFilesWarning)]
    if problems:
        out.print(f"{len(problems)} damaged part(s) of the log, left out of the export:")
        for problem in problems:
            out.print(f"  {problem}", soft_wrap=True)
    return EXIT_PROBLEMS if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
