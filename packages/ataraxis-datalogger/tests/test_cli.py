"""The ataraxis-datalogger command: as a real process (the installed entry point, `python -m`) and through main()."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ataraxis_datalogger import LogArchiveReader
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name
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
