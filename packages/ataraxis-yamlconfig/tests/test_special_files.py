"""Paths that name something other than a regular file: refused at once, never waited on, never replaced."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from ataraxis_yamlconfig import ConfigFileError, ConfigNotFoundError, ConfigPathError, YamlConfig


@dataclass
class Settings(YamlConfig):
    name: str = "rig"


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fails a test that blocks (opening a FIFO without a writer waits forever) instead of hanging the suite."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the call blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_loading_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, deadline: None) -> None:
    path = _fifo(tmp_path)

    with pytest.raises(ConfigFileError, match=r"pipe\.yaml: not a regular file: it is a FIFO") as caught:
        Settings.from_yaml(file_path=path)
    assert caught.value.file_path == path


def test_saving_over_a_fifo_is_refused_and_leaves_it(tmp_path: Path, deadline: None) -> None:
    path = _fifo(tmp_path)

    with pytest.raises(ConfigFileError, match=r"pipe\.yaml: cannot save over it: not a regular file: it is a FIFO"):
        Settings().to_yaml(file_path=path)
    assert stat.S_ISFIFO(path.lstat().st_mode)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["pipe.yaml"]


def test_a_link_to_a_fifo_is_refused_both_ways(tmp_path: Path, deadline: None) -> None:
    fifo = _fifo(tmp_path)
    link = tmp_path / "link.yaml"
    link.symlink_to(fifo)

    with pytest.raises(ConfigFileError, match="not a regular file: it is a FIFO"):
        Settings.from_yaml(file_path=link)
    with pytest.raises(ConfigFileError, match="not a regular file: it is a FIFO"):
        Settings().to_yaml(file_path=link)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_saving_through_a_link_to_a_device_never_replaces_the_device(tmp_path: Path) -> None:
    # As /dev/null would be, if a config were linked to it; a private device node keeps the test harmless.
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    link = tmp_path / "config.yaml"
    link.symlink_to(device)

    with pytest.raises(ConfigFileError, match="not a regular file: it is a character device"):
        Settings().to_yaml(file_path=link)
    with pytest.raises(ConfigFileError, match="not a regular file: it is a character device"):
        Settings.from_yaml(file_path=link)
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_a_folder_is_an_is_a_directory_error_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.mkdir()

    with pytest.raises(IsADirectoryError, match=r"Is a directory: .*config\.yaml"):
        Settings.from_yaml(file_path=path)
    with pytest.raises(IsADirectoryError, match=r"Is a directory: .*config\.yaml"):
        Settings().to_yaml(file_path=path)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["config.yaml"]  # no temporary file was written


def test_a_loop_of_symbolic_links_is_an_os_error_that_names_it(tmp_path: Path) -> None:
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.symlink_to(second)
    second.symlink_to(first)

    with pytest.raises(OSError) as loading:
        Settings.from_yaml(file_path=first)
    with pytest.raises(OSError) as saving:
        Settings().to_yaml(file_path=first)

    for caught in (loading, saving):
        assert caught.value.errno == errno.ELOOP
        assert not isinstance(caught.value, FileNotFoundError)
        assert "first.yaml" in str(caught.value)


def test_a_file_below_a_file_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "plain.yaml").write_text("name: x\n")

    with pytest.raises(ConfigNotFoundError):
        Settings.from_yaml(file_path=tmp_path / "plain.yaml" / "config.yaml")


def test_a_name_holding_a_null_character_is_a_path_error(tmp_path: Path) -> None:
    path = tmp_path / "con\x00fig.yaml"

    with pytest.raises(ConfigPathError, match="cannot hold a null character"):
        Settings().to_yaml(file_path=path)
    with pytest.raises(ConfigPathError, match="cannot hold a null character"):
        Settings.from_yaml(file_path=path)


_READ_ONLY_SAVER = """
import errno, os, sys
from dataclasses import dataclass
from pathlib import Path
from ataraxis_yamlconfig import YamlConfig

@dataclass
class Settings(YamlConfig):
    name: str = "rig"

path = Path(sys.argv[1])
try:
    Settings(name="changed").to_yaml(file_path=path)
except PermissionError as error:
    print("refused", error.errno == errno.EACCES, "read-only" in str(error))
else:
    print("saved")
"""


def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    # The folder is writable, so an atomic rename could replace the file: but a person made it read-only to protect it.
    command = [sys.executable, "-c", _READ_ONLY_SAVER]
    if os.geteuid() == 0:  # root may write any file: run the save as an ordinary user, in a folder it can reach
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to run the save as an ordinary user")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        probe = [*command[:-2], "-c", "import ataraxis_yamlconfig"]
        trial = subprocess.run(probe, capture_output=True, timeout=120, check=False)
        if trial.returncode:  # an interpreter or a checkout where only root may read (pyenv under /root, a 0700 clone)
            pytest.skip(f"an ordinary user cannot import the package here: {trial.stderr.decode().strip()[-200:]}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder.chmod(0o777)
        path = folder / "config.yaml"
        path.write_text("name: locked\n")
        path.chmod(0o444)

        result = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120, check=False)

        assert result.stdout == "refused True True\n", result.stderr
        assert path.read_text() == "name: locked\n"
        assert sorted(entry.name for entry in folder.iterdir()) == ["config.yaml"]
