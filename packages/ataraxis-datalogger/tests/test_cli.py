"""The ataraxis-datalogger command: as a real process (the installed entry point, `python -m`) and through main()."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import ataraxis_datalogger
from ataraxis_datalogger import LogArchiveReader
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name
from ataraxis_datalogger._format.stream import encode_record
from ataraxis_datalogger.cli import main

ENTRY_POINT = Path(sys.executable).parent / "ataraxis-datalogger"
MODULE = [sys.executable, "-m", "ataraxis_datalogger.cli"]


def run(*arguments: str, command: list[str] = MODULE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=120, check=False)


def test_help_is_available_from_the_installed_entry_point() -> None:
    result = run("--help", command=[str(ENTRY_POINT)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ataraxis-datalogger")
    assert "compress" in result.stdout and "inspect" in result.stdout


@pytest.mark.parametrize("command", ["compress", "inspect"])
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: ataraxis-datalogger {command} [-h]")


def test_compress_archives_removes_and_reports(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    for time_stamp in range(3):
        write_entry(tmp_path, 2, time_stamp, b"abcd")
    result = run("compress", str(tmp_path), "--remove-sources", "--verify", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "2_log.npz" in result.stdout
    assert "Archiving log entries" in result.stderr
    assert list(tmp_path.glob("*.npy")) == []
    with LogArchiveReader(tmp_path / "2_log.npz") as reader:
        assert len(reader) == 3


def test_compress_quiet_no_compress(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_entry(tmp_path, 1, 1, b"x")
    assert main(["compress", str(tmp_path), "--quiet", "--no-compress", "--memory-mapping"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "1_log.npz").exists()


def test_compress_lists_damaged_files_and_exits_1(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / entry_file_name(1, 5)
    damaged.write_bytes(b"broken")
    write_entry(tmp_path, 1, 6, b"fine")
    (tmp_path / "stray.npy").write_bytes(b"?")
    # Warnings are errors in this suite: the command must list the files itself, not (also) warn.
    assert main(["compress", str(tmp_path), "--remove-sources", "--quiet"]) == 1
    output = capsys.readouterr().out
    assert f"{damaged}: not a .npy file" in output
    assert str(tmp_path / "stray.npy") in output
    assert damaged.exists()


def test_a_source_that_could_not_be_archived_exits_1(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1_log.npz").write_text("not an archive")
    write_entry(tmp_path, 1, 1, b"x")
    assert main(["compress", str(tmp_path), "--quiet"]) == 1
    assert "could not archive 1 source(s)" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["compress", "inspect"])
def test_a_damaged_archive_alone_exits_1_for_every_command(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1_log.npz").write_text("not an archive")
    assert main([command, str(tmp_path)]) == 1
    output = capsys.readouterr().out
    assert f"{tmp_path / '1_log.npz'}: " in output
    assert "is not a readable log archive" in output


@pytest.mark.parametrize("command", ["compress", "inspect"])
def test_an_empty_directory_argument_is_refused_and_nothing_is_touched(
    write_entry: Callable[..., Path],
    tmp_path: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `ataraxis-datalogger compress "$UNSET"` must not compress (and, with --remove-sources, empty) the current folder.
    monkeypatch.chdir(tmp_path)
    entry = write_entry(tmp_path, 1, 1, b"in the current folder")
    extra = ["--remove-sources"] if command == "compress" else []
    with pytest.raises(SystemExit) as exited:
        main([command, "", *extra])
    assert exited.value.code == 2
    assert "the log directory is an empty string" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == [entry.name]


@pytest.mark.parametrize("function", ["compress_npy_logs", "inspect_logs", "read_logs", "LogArchiveReader"])
def test_library_functions_refuse_an_empty_path(
    write_entry: Callable[..., Path], tmp_path: Path, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ataraxis_datalogger

    monkeypatch.chdir(tmp_path)
    write_entry(tmp_path, 1, 1, b"x")
    with pytest.raises(ValueError, match="is an empty string"):
        getattr(ataraxis_datalogger, function)("")
    assert [path.name for path in tmp_path.iterdir()] == [entry_file_name(1, 1)]


OUT_OF_DESCRIPTORS = """
import os, resource, sys
from ataraxis_datalogger.cli import main
highest = max(int(name) for name in os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (highest, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
@pytest.mark.parametrize("command", ["compress", "inspect"])
def test_an_operating_system_error_exits_3(write_entry: Callable[..., Path], tmp_path: Path, command: str) -> None:
    write_entry(tmp_path, 1, 1, b"x")
    result = run("-c", OUT_OF_DESCRIPTORS, command, str(tmp_path), command=[sys.executable])
    assert result.returncode == 3, result.stderr
    assert "Too many open files" in result.stderr
    assert (tmp_path / entry_file_name(1, 1)).exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["compress", "{missing}"], "does not exist"),
        (["inspect", "{missing}"], "does not exist"),
        (["inspect", "{file}"], "is not a directory"),
        (["compress", "{directory}", "--workers", "0"], "expected a positive integer, got 0"),
        (["compress", "{directory}", "--workers", "two"], "expected a positive integer, got 'two'"),
        (["compress"], "the following arguments are required: DIR"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_invocations_exit_2(
    tmp_path: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    filled = [
        argument.format(missing=tmp_path / "missing", directory=tmp_path, file=tmp_path / "file")
        for argument in arguments
    ]
    try:
        status = main(filled)
    except SystemExit as exited:  # argparse's own usage errors
        status = exited.code  # type: ignore[assignment]
    assert status == 2
    assert message in capsys.readouterr().err


def test_inspect_summarises_each_source(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 1, 100, b"12345")
    write_entry(tmp_path, 1, 200, b"67")
    assert main(["compress", str(tmp_path), "--quiet", "--remove-sources"]) == 0
    write_entry(tmp_path, 1, 300, b"890")
    write_entry(tmp_path, 7, 5, b"loose")

    result = run("inspect", str(tmp_path), command=[str(ENTRY_POINT)])

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"log directory: {tmp_path}"
    assert lines[1].split() == [
        "source",
        "state",
        "archived",
        "pending",
        "copies",
        "stream",
        "first",
        "timestamp",
        "last",
        "timestamp",
        "payload",
        "bytes",
        "archive",
        "bytes",
    ]
    assert lines[2].split()[:10] == ["1", "archived", "+", "loose", "2", "1", "0", "0", "100", "300"]
    assert lines[2].split()[10] == "10"
    assert lines[3].split() == ["7", "loose", "0", "1", "0", "0", "5", "5", "5", "0"]


def test_inspect_lists_damaged_files_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / entry_file_name(3, 1)
    damaged.write_bytes(encode_entry_prefix(4, 1, 0))
    assert main(["inspect", str(tmp_path)]) == 1
    assert f"{damaged}: the name says source 3 but the content says source 4" in capsys.readouterr().out


def test_inspect_of_an_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "no log entries or archives"


PACKAGE = [sys.executable, "-m", "ataraxis_datalogger"]
ESCAPE_FREE_ENVIRONMENT = {
    # A terminal type that supports colour and cursor motion: only the output not being a terminal may stop them.
    **{name: value for name, value in os.environ.items() if name not in {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"}},
    "TERM": "xterm-256color",
    "COLUMNS": "200",
}


def test_the_package_runs_as_a_module_and_tells_its_version(tmp_path: Path) -> None:
    result = run("--version", command=PACKAGE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ataraxis-datalogger {ataraxis_datalogger.__version__}\n"
    assert run("--version", command=[str(ENTRY_POINT)]).stdout == result.stdout
    result = run("inspect", str(tmp_path), command=PACKAGE)
    assert result.returncode == 0, result.stderr
    assert "no log entries or archives" in result.stdout


def test_output_to_a_file_or_a_pipe_holds_no_escape_codes(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for time_stamp in range(300):
        write_entry(logs, time_stamp % 3, time_stamp, b"payload")
    (logs / entry_file_name(1, 999)).write_bytes(b"damaged")
    commands = [
        ["--verbose", "inspect", str(logs), "--time-unit", "us"],
        ["--verbose", "compress", str(logs), "--remove-sources", "--verify", "--workers", "1"],
        ["inspect", str(logs)],
    ]
    for arguments in commands:
        piped = subprocess.run(
            [*PACKAGE, *arguments], capture_output=True, env=ESCAPE_FREE_ENVIRONMENT, timeout=120, check=False
        )
        with (tmp_path / "out.txt").open("w+b") as out, (tmp_path / "err.txt").open("w+b") as err:
            to_files = subprocess.run(
                [*PACKAGE, *arguments], stdout=out, stderr=err, env=ESCAPE_FREE_ENVIRONMENT, timeout=120, check=False
            )
        assert piped.returncode == to_files.returncode == 1, piped.stderr
        for output in (piped.stdout, piped.stderr, (tmp_path / "out.txt").read_bytes()):
            assert b"\x1b" not in output and b"\r" not in output, output
        assert b"damaged file(s), left in place" in piped.stdout
    # The progress went somewhere all the same: one plain line per step.
    assert "Checking log entries: 1 of 1 entries" in (tmp_path / "err.txt").read_text()


def test_compress_of_a_folder_without_entries_shows_no_progress(tmp_path: Path) -> None:
    result = run("compress", str(tmp_path), "--remove-sources")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [f"log directory: {tmp_path}", "no entry files to archive"]


def _run_in_terminal(arguments: list[str], columns: int) -> str:
    """Runs the command with a pseudo-terminal as its stdout and stderr; returns everything it wrote."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {name: value for name, value in ESCAPE_FREE_ENVIRONMENT.items() if name != "COLUMNS"}
    process = subprocess.Popen([*PACKAGE, *arguments], stdout=terminal, stderr=terminal, env=environment)
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + 120
    try:
        while select.select([controller], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer of the terminal has exited
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
        if process.poll() is None and time.monotonic() >= deadline:
            process.kill()
        process.wait(120)
    assert process.returncode == 0, output
    return output.decode()


def test_a_terminal_gets_a_live_progress_bar_and_tables_that_fit_it(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    for time_stamp in range(2000):
        write_entry(tmp_path, 1, 1_700_000_000_000_000_000 + time_stamp * 1_000_000, b"payload")

    wide = _run_in_terminal(["inspect", str(tmp_path), "--time-unit", "ns"], columns=200)

    assert "\x1b[" in wide  # the bar is drawn and redrawn in place
    assert "Checking log entries" in wide and "2000/2000" in wide
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", wide)
    assert re.search(r"1\s+loose\s+0\s+2,000\s+0\s+0\s+1700000000000000000\s+1700000001999000000\s+2.00 s", plain)

    narrow = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", _run_in_terminal(["inspect", str(tmp_path)], columns=60))

    # Too narrow for the table: one block per source, nothing cut.
    assert "  first timestamp  1700000000000000000" in narrow
    assert "  last timestamp   1700000001999000000" in narrow


@pytest.mark.parametrize(
    ("unit", "span"),
    [("ns", "3.6 ms"), ("us", "3.60 s"), ("ms", "1 h 00 min 00 s"), ("s", "1000 h 08 min 20 s")],
)
def test_inspect_gives_each_time_span_with_its_unit(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], unit: str, span: str
) -> None:
    write_entry(tmp_path, 1, 1_000, b"a")
    write_entry(tmp_path, 1, 3_601_500, b"b")
    write_entry(tmp_path, 2, 7, b"c")
    assert main(["inspect", str(tmp_path), "--time-unit", unit, "--quiet"]) == 0
    output = capsys.readouterr()
    assert output.err == ""
    rows = [line.split("  ") for line in output.out.splitlines()[2:4]]
    assert [[cell.strip() for cell in row if cell.strip()][8] for row in rows] == [span, "0 ns"]
    assert "give --time-unit" not in output.out


def test_inspect_without_a_time_unit_says_the_unit_is_not_recorded(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_entry(tmp_path, 1, 1_000, b"a")
    assert main(["inspect", str(tmp_path), "--quiet"]) == 0
    output = capsys.readouterr().out
    assert output.splitlines()[1].split()[-6:] == ["last", "timestamp", "payload", "bytes", "archive", "bytes"]
    assert "the logger does not record it); give --time-unit ns, us, ms or s" in output


def test_verbose_shows_the_library_log_messages_one_line_each(write_entry: Callable[..., Path], tmp_path: Path) -> None:
    write_entry(tmp_path, 4, 1, b"x")
    quiet = run("compress", str(tmp_path), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    write_entry(tmp_path, 4, 2, b"y")
    verbose = run("--verbose", "compress", str(tmp_path), "--quiet")
    assert verbose.returncode == 0
    assert verbose.stderr == (
        f"ataraxis-datalogger: info: source 4: 1 entries archived now, 2 in {tmp_path / '4_log.npz'}; "
        "0 entry files removed\n"
    )


def test_inspect_verify_checks_every_archived_byte(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for time_stamp in range(20):
        write_entry(tmp_path, 1, time_stamp, bytes([time_stamp]) * 100)
    assert main(["compress", str(tmp_path), "--quiet", "--remove-sources", "--no-compress"]) == 0
    path = tmp_path / "1_log.npz"
    data = bytearray(path.read_bytes())
    data[data.rindex(bytes([19]) * 100) + 50] ^= 0x01
    path.write_bytes(bytes(data))
    assert main(["inspect", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(tmp_path), "--verify"]) == 1
    assert f"{path}: " in capsys.readouterr().out


def test_the_exit_statuses_are_documented_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for status in ("0 ", "1 ", "2 ", "3 "):
        assert status in text


@pytest.mark.parametrize("command", [MODULE, PACKAGE, [str(ENTRY_POINT)]], ids=["cli-module", "package", "entry-point"])
def test_warnings_reach_stderr_formatted_however_the_command_is_started(
    write_entry: Callable[..., Path], tmp_path: Path, command: list[str]
) -> None:
    # Run as `python -m ataraxis_datalogger.cli`, the module is `__main__`: its logger must still be the package's.
    (tmp_path / "session").mkdir()
    write_entry(tmp_path / "session", 1, 1, b"x")
    result = run("compress", str(tmp_path), "--quiet", command=command)
    assert result.returncode == 0, result.stderr
    warning_lines = [line for line in result.stderr.splitlines() if "NestedLogDirectoriesWarning" in line]
    assert len(warning_lines) == 1, result.stderr
    assert warning_lines[0].startswith("ataraxis-datalogger: warning: NestedLogDirectoriesWarning: "), result.stderr


@pytest.mark.parametrize(
    "arguments",
    [["inspect"], ["inspect", "--verify"], ["compress"], ["follow"], ["export", "--output"]],
    ids=["inspect", "inspect-verify", "compress", "follow", "export"],
)
def test_output_to_a_closed_pipe_ends_quietly_with_status_141(tmp_path: Path, arguments: list[str]) -> None:
    # `ataraxis-datalogger follow DIR | head -1`: once the reader is gone, the command stops as a process killed by
    # SIGPIPE would (status 128 + 13), without an error message: it is not a problem the log has.
    log = tmp_path / "log"
    log.mkdir()
    with StreamSegmentWriter(log, segment_bytes=1 << 20, sync="none") as writer:
        records = [encode_record(index % 200, index, b"entry %d" % index) for index in range(20_000)]
        writer.write(records, len(records))
    command, *options = arguments
    if command == "export":
        options.append(str(tmp_path / "export"))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [*MODULE, command, str(log), *options],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert "error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("option", "value"), [("--source", "256"), ("--source", "-1"), ("--source", "one"), ("--bytes", "-5")]
)
def test_follow_refuses_a_source_id_no_entry_can_have_and_a_negative_byte_count(
    tmp_path: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A source id outside 0 to 255 matches no entry: the command would wait forever, printing nothing.
    with pytest.raises(SystemExit) as exited:
        main(["follow", str(tmp_path), option, value])
    assert exited.value.code == 2
    assert f"argument {option}: expected" in capsys.readouterr().err
