"""FIFOs, sockets, symbolic links and folders named like entries or archives: foreign, never opened in a blocking way.

Every call runs in a child process with a timeout: opening a FIFO that has no writer blocks forever, so a regression
must fail the test rather than hang the suite.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

_TIMEOUT = 120

READ_ALL = """
import sys, warnings
from ataraxis_datalogger import compress_npy_logs, inspect_logs, read_logs
directory = sys.argv[1]
warnings.simplefilter("ignore")
action = sys.argv[2]
if action == "compress":
    report = compress_npy_logs(directory, remove_sources=True, max_workers=1)
    print(sorted(str(path) for path in report.foreign_files))
    print(sorted((source, r.entries_archived) for source, r in report.sources.items()))
elif action == "inspect":
    summary = inspect_logs(directory, verify=True)
    print(sorted(str(path) for path in summary.foreign_files))
    print(sorted((source, s.pending_entries + s.archived_entries) for source, s in summary.sources.items()))
else:
    readers = read_logs(directory, on_damage="raise")
    print([])
    print(sorted((source, len(list(reader))) for source, reader in readers.items()))
"""


def write_entry(directory: Path, source_id: int, time_stamp: int, payload: bytes) -> Path:
    path = directory / entry_file_name(source_id, time_stamp)
    path.write_bytes(encode_entry_prefix(source_id, time_stamp, len(payload)) + payload)
    return path


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=_TIMEOUT, check=False)


@pytest.fixture
def special_files(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A log directory with two valid entries and special files named like an entry or an archive of source 1."""
    write_entry(tmp_path, 1, 1, b"real")
    write_entry(tmp_path, 2, 1, b"other")
    fifo = tmp_path / entry_file_name(1, 2)
    os.mkfifo(fifo)
    archive_fifo = tmp_path / "3_log.npz"
    os.mkfifo(archive_fifo)
    link = tmp_path / entry_file_name(1, 3)
    link.symlink_to(tmp_path / entry_file_name(2, 1))
    folder = tmp_path / entry_file_name(1, 4)
    folder.mkdir()
    listener = socket.socket(socket.AF_UNIX)
    sock = tmp_path / entry_file_name(1, 5)
    try:
        listener.bind(str(sock))
    except OSError:  # a path too long for a socket address: the other special files still cover the test
        sock = None
    finally:
        listener.close()
    specials = [fifo, archive_fifo, link, folder] + ([sock] if sock is not None else [])
    return tmp_path, sorted(specials)


@pytest.mark.parametrize("action", ["compress", "inspect", "read"])
def test_special_files_are_foreign_and_never_block(special_files: tuple[Path, list[Path]], action: str) -> None:
    directory, specials = special_files
    result = run("-c", READ_ALL, str(directory), action)
    assert result.returncode == 0, result.stderr
    foreign, counts = result.stdout.splitlines()
    if action != "read":
        assert foreign == str([str(path) for path in specials])
    assert counts == str([(1, 1), (2, 1)])
    assert all(os.path.lexists(path) for path in specials)
    assert os.path.islink(specials[specials.index(directory / entry_file_name(1, 3))])


@pytest.mark.parametrize("command", ["compress", "inspect"])
def test_the_command_line_lists_special_files_and_exits_1(special_files: tuple[Path, list[Path]], command: str) -> None:
    directory, specials = special_files
    options = ["--quiet"] if command == "compress" else []
    result = run("-m", "ataraxis_datalogger.cli", command, str(directory), *options)
    assert result.returncode == 1, result.stderr
    assert all(str(path) in result.stdout for path in specials)


def test_an_archive_name_taken_by_a_fifo_fails_its_source_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "1_log.npz")
    write_entry(tmp_path, 1, 1, b"waiting")
    program = (
        "import sys\n"
        "from ataraxis_datalogger import LogCompressionError, compress_npy_logs\n"
        "try:\n"
        "    compress_npy_logs(sys.argv[1], remove_sources=True)\n"
        "except LogCompressionError as error:\n"
        "    print(error)\n"
    )
    result = run("-c", program, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1_log.npz is not a regular file" in result.stdout
    assert (tmp_path / entry_file_name(1, 1)).exists()
    assert not (tmp_path / "1_log.npz").is_file()


def test_a_fifo_given_as_an_archive_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "1_log.npz")
    program = (
        "import sys\n"
        "from ataraxis_datalogger import ArchiveFormatError, LogArchiveReader\n"
        "try:\n"
        "    LogArchiveReader(sys.argv[1])\n"
        "except ArchiveFormatError as error:\n"
        "    print(error)\n"
    )
    result = run("-c", program, str(tmp_path / "1_log.npz"))
    assert result.returncode == 0, result.stderr
    assert "is not a regular file" in result.stdout
