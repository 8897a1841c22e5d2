"""File handling: suffixes, missing files and folders, malformed or unsafe YAML, and atomic replacement."""

import errno
import os
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ataraxis_yamlconfig import ConfigFileError, ConfigTypeError, YamlConfig
from ataraxis_yamlconfig._parse import parse_file


@dataclass
class Settings(YamlConfig):
    name: str = "rig"
    values: list[int] = field(default_factory=lambda: [1, 2, 3])
    extra: Any = None


@pytest.mark.parametrize("name", ["config.json", "config.yaml.bak", "config", "yaml"])
def test_a_file_without_a_yaml_suffix_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"must end with \.yaml or \.yml") as saving:
        Settings().to_yaml(file_path=tmp_path / name)
    with pytest.raises(ValueError, match=r"must end with \.yaml or \.yml") as loading:
        Settings.from_yaml(file_path=tmp_path / name)
    assert str(tmp_path / name) in str(saving.value)
    assert str(tmp_path / name) in str(loading.value)
    assert not (tmp_path / name).exists()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "config.yaml"

    with pytest.raises(FileNotFoundError) as caught:
        Settings.from_yaml(file_path=path)
    assert caught.value.filename == str(path)
    assert str(path) in str(caught.value)


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "config.yaml"

    Settings().to_yaml(file_path=path)

    assert Settings.from_yaml(file_path=path) == Settings()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: [unclosed\nvalues: [1]\n", 2, "did not find expected ',' or ']'"),
        ("name: a: b\n", 1, "mapping values are not allowed"),
        ("name: x\nvalues:\n  - 1\n - 2\n", 4, ""),
        ("name: x\nname: y\n", 2, "found the key 'name' twice (first on line 1)"),
        ("name: x\n---\nname: y\n", 2, "expected a single document"),
        ("name: 'unterminated\n", 2, "found unexpected end of stream"),
    ],
)
def test_malformed_yaml_names_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)

    with pytest.raises(ConfigFileError) as caught:
        Settings.from_yaml(file_path=path)
    assert caught.value.line == line
    assert caught.value.file_path == path
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert message in str(caught.value)


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "unsafe.yaml"
    # What PyYAML's default dumper writes for a Path: the original library could not reload such files.
    path.write_text(yaml.dump({"name": "rig", "extra": Path("/data")}, Dumper=yaml.Dumper))
    assert "!!python/object" in path.read_text()

    with pytest.raises(
        ConfigFileError, match=r"line 1: the tag '!!python/object/apply:pathlib\.[\w.]*Path' is not allowed"
    ):
        Settings.from_yaml(file_path=path)


def test_a_file_that_executes_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.yaml"
    path.write_text(f"extra: !!python/object/apply:os.system ['touch {marker}']\n")

    with pytest.raises(ConfigFileError, match="is not allowed"):
        Settings.from_yaml(file_path=path)
    assert not marker.exists()


@pytest.mark.parametrize(("text", "found"), [("- 1\n- 2\n", "list"), ("just text\n", "str"), ("42\n", "int")])
def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)

    with pytest.raises(ConfigFileError, match=f"the file holds a {found}, but a config is a mapping of Settings"):
        Settings.from_yaml(file_path=path)


def test_bytes_that_are_not_text_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"name: rig\nvalues: [1]\nextra: \xff\xfe\n")

    with pytest.raises(ConfigFileError, match=r"line 3: not readable as YAML text: .*0xff at byte 29"):
        Settings.from_yaml(file_path=path)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"name: rig\nextra: \xff\xfe\n", r"line 2: not readable as YAML text: .*0xff at byte 17\)$"),
        (b"name: rig\nextra: caf\xc3", r"line 2: not readable as YAML text: .*byte 20\)$"),
    ],
)
def test_bytes_that_are_not_text_are_refused_by_each_loader(
    tmp_path: Path, loader: type, content: bytes, pattern: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)

    with pytest.raises(ConfigFileError, match=pattern) as caught:
        parse_file(path, loader)
    assert caught.value.file_path == path
    assert "-0x" not in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"\n", b" \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"])
def test_an_empty_file_is_refused_not_read_as_the_defaults(tmp_path: Path, content: bytes) -> None:
    # A power cut right after a save (without durable=True) can leave an empty file on some file systems: loading
    # it as the default config would silently replace every setting.
    path = tmp_path / "config.yaml"
    path.write_bytes(content)

    with pytest.raises(ConfigFileError) as caught:
        Settings.from_yaml(file_path=path)

    assert str(caught.value) == (
        f"{path}: the file is empty: a save cut short by a power cut or a crash of the system can leave a file like "
        "this, so it is not taken for the default config; restore it from a backup, or delete it to start from "
        "the defaults (a file that holds only '{}' or a comment also loads as the defaults)"
    )
    assert caught.value.file_path == path


def test_a_file_of_zero_bytes_only_is_refused_as_cut_short(tmp_path: Path) -> None:
    # Some file systems (XFS) leave the blocks of a file that a power cut interrupted filled with zero bytes.
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\x00" * 4096)

    with pytest.raises(ConfigFileError, match=r"\.yaml: the file holds only zero bytes \(4096\): a save cut short"):
        Settings.from_yaml(file_path=path)


@pytest.mark.parametrize("content", ["{}\n", "# all defaults\n", "---\n", "\n# all defaults\n\n"])
def test_a_file_that_holds_no_values_but_is_not_empty_loads_as_the_defaults(tmp_path: Path, content: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(content)

    assert Settings.from_yaml(file_path=path) == Settings()


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: windows\n")

    assert Settings.from_yaml(file_path=path).name == "windows"


def _leftovers(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".tmp"))


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    Settings(name="first").to_yaml(file_path=path)
    before = path.read_bytes()

    with pytest.raises(ConfigTypeError, match=r"cannot save .*config\.yaml: extra\.handle: expected a value YAML"):
        Settings(name="second", extra={"handle": object()}).to_yaml(file_path=path)
    with pytest.raises(ConfigTypeError, match=r"values\[1\]: expected int, found 'two'"):
        Settings(values=[1, "two"]).to_yaml(file_path=path)  # type: ignore[list-item]

    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


_LIMITED_SAVER = """
import resource, signal, sys
from dataclasses import dataclass, field
from pathlib import Path
from ataraxis_yamlconfig import YamlConfig

@dataclass
class Settings(YamlConfig):
    name: str = "rig"
    values: list[int] = field(default_factory=lambda: [1, 2, 3])

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    Settings(name="too large", values=list(range(5000))).to_yaml(file_path=Path(sys.argv[1]))
except OSError as error:
    print(type(error).__name__, error.errno)
"""


def test_a_write_the_file_system_refuses_leaves_the_previous_file_and_no_temporary_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the write fail part way, as a full disk would.
    path = tmp_path / "config.yaml"
    Settings(name="first").to_yaml(file_path=path)
    before = path.read_bytes()

    saver = subprocess.run(
        [sys.executable, "-c", _LIMITED_SAVER, str(path)], capture_output=True, text=True, timeout=120, check=True
    )

    assert saver.stdout.split() == ["OSError", str(errno.EFBIG)]
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


_FULL_DISK = """
import errno, os, sys
from dataclasses import dataclass, field
from pathlib import Path
from ataraxis_yamlconfig import YamlConfig

@dataclass
class Settings(YamlConfig):
    name: str = "rig"
    values: list[int] = field(default_factory=lambda: [1, 2, 3])

folder = Path(sys.argv[1])
path = folder / "config.yaml"
Settings(name="first").to_yaml(file_path=path)
before = path.read_bytes()
filler = folder / "filler"
with open(filler, "wb", buffering=0) as stream:  # fill the file system up to its last block
    try:
        while True:
            stream.write(b"x" * 1024)
    except OSError as error:
        assert error.errno == errno.ENOSPC
for size in (10, 1000, 50_000):
    try:
        Settings(name="second", values=list(range(size))).to_yaml(file_path=path, durable=size == 1000)
    except OSError as error:
        assert error.errno == errno.ENOSPC, error
        assert path.read_bytes() == before
    else:
        before = path.read_bytes()
    assert Settings.from_yaml(file_path=path).name in ("first", "second")
    assert not [entry for entry in os.listdir(folder) if entry.endswith(".tmp")]
print("checked")
"""


def test_a_full_disk_leaves_the_previous_file_and_no_temporary_file(tmp_path: Path) -> None:
    # A file system of 64 KiB in a private mount namespace (no privileges needed where user namespaces are allowed).
    folder = tmp_path / "small"
    folder.mkdir()
    script = tmp_path / "full_disk.py"
    script.write_text(_FULL_DISK)
    command = (
        f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(folder))} && "
        f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(folder))}"
    )
    try:
        result = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    if "mount" in result.stderr or "unshare" in result.stderr:
        pytest.skip(f"cannot mount a small file system here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "checked\n"


@pytest.fixture(params=["posix", "portable"])
def system_calls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the POSIX calls of `_atomic`, then with the portable fallbacks other systems take."""
    if request.param == "portable":
        monkeypatch.delattr(os, "O_NOFOLLOW", raising=False)
        monkeypatch.delattr(os, "fchmod", raising=False)
    return str(request.param)


@pytest.mark.parametrize("durable", [True, False])
def test_saving_replaces_the_file_and_keeps_its_permissions(tmp_path: Path, system_calls: str, durable: bool) -> None:
    path = tmp_path / "config.yaml"
    Settings(name="first").to_yaml(file_path=path)
    path.chmod(0o640)
    inode = path.stat().st_ino

    Settings(name="second").to_yaml(file_path=path, durable=durable)

    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # a new file was renamed into place, not the old one rewritten
    assert Settings.from_yaml(file_path=path).name == "second"


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    Settings().to_yaml(file_path=path)
    umask = os.umask(0)
    os.umask(umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("letter", ["a", "\u00e9", "\U0001f600"])
def test_a_file_with_the_longest_name_the_folder_allows_is_saved(tmp_path: Path, letter: str) -> None:
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    stem = letter * ((name_max - len(".yaml")) // len(letter.encode()))
    path = tmp_path / f"{stem}.yaml"

    Settings(name="long").to_yaml(file_path=path)

    assert Settings.from_yaml(file_path=path).name == "long"
    assert _leftovers(tmp_path) == []


def test_saving_through_a_symbolic_link_replaces_its_target(tmp_path: Path, system_calls: str) -> None:
    target = tmp_path / "real" / "config.yaml"
    Settings(name="first").to_yaml(file_path=target)
    target.write_text("# kept through the link\nname: first\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)

    Settings(name="second").to_yaml(file_path=link)

    assert link.is_symlink()
    assert Settings.from_yaml(file_path=target).name == "second"
    assert target.read_text().startswith("# kept through the link\nname: second\n")


def test_saving_through_a_dangling_symbolic_link_creates_its_target(tmp_path: Path, system_calls: str) -> None:
    target = tmp_path / "real" / "config.yaml"
    link = tmp_path / "link.yaml"
    link.symlink_to(target)

    Settings(name="new").to_yaml(file_path=link)

    assert link.is_symlink()
    assert Settings.from_yaml(file_path=target).name == "new"


_WRITER = """
import sys
from dataclasses import dataclass, field
from pathlib import Path
from ataraxis_yamlconfig import YamlConfig

@dataclass
class Settings(YamlConfig):
    name: str = "rig"
    values: list[int] = field(default_factory=lambda: [1, 2, 3])
    extra: object = None

path = Path(sys.argv[1])
versions = [Settings(name=name, values=list(range(size))) for name, size in (("small", 10), ("large", 20_000))]
Settings(name="start").to_yaml(file_path=path)
print("ready", flush=True)
while True:
    for version in versions:
        version.to_yaml(file_path=path)
"""


@pytest.mark.slow
def test_readers_and_killed_writers_only_ever_see_complete_files(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    expected = {"start": 3, "small": 10, "large": 20_000}
    for delay in (0.4, 0.7):
        with subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True) as writer:
            try:
                assert writer.stdout is not None
                assert writer.stdout.readline() == "ready\n"
                # While the writer saves over and over, every read sees a whole file: the old one or the new one.
                reads = 0
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline:
                    text = path.read_text()
                    assert text.startswith("name: ") and text.endswith("extra: null\n"), f"partial file: {text[-80:]!r}"
                    reads += 1
                assert reads > 10
            finally:
                writer.send_signal(signal.SIGKILL)  # and then it dies, possibly in the middle of a save
                writer.wait(timeout=30)

        loaded = Settings.from_yaml(file_path=path)
        assert len(loaded.values) == expected[loaded.name]
        # A killed writer may leave its temporary file behind; it never replaces the config.
        assert all(name.startswith(".config.yaml.") for name in _leftovers(tmp_path))


_COMMENTED_WRITER = """
import sys
from dataclasses import dataclass, field
from pathlib import Path
from ataraxis_yamlconfig import YamlConfig

@dataclass
class Camera:
    fps: float = 30.0
    \"\"\"Frames per second.\"\"\"

@dataclass
class Rig(YamlConfig):
    \"\"\"Settings of one rig.\"\"\"

    name: str = "rig"
    camera: Camera = field(default_factory=Camera)
    values: list[int] = field(default_factory=lambda: [1, 2, 3])

versions = [Rig(name=name, values=list(range(size))) for name, size in (("small", 10), ("large", 5000))]
path = Path(sys.argv[1])
print("ready", flush=True)
count = 0
while True:
    versions[count % 2].to_yaml(file_path=path, durable=count % 3 == 0)
    count += 1
"""

_HAND_EDITED_RIG = """\
# yaml-language-server: $schema=rig.schema.json
# about this rig: ask before changing

# Settings of one rig.

name: start  # the rig by the window

# the behaviour camera
camera:
  # Frames per second.
  fps: 30.0
values: [1, 2, 3]
# end of the file
"""


@pytest.mark.slow
def test_a_saver_killed_at_random_instants_always_leaves_the_old_or_the_new_file_with_its_comments(
    tmp_path: Path,
) -> None:
    namespace: dict[str, Any] = {}
    exec(_COMMENTED_WRITER.split("versions = ")[0], namespace)  # the writer's classes, to load what it saved
    rig = namespace["Rig"]
    path = tmp_path / "rig.yaml"
    path.write_text(_HAND_EDITED_RIG)
    sizes = {"start": 3, "small": 10, "large": 5000}
    random = __import__("random").Random(20240501)
    for _ in range(25):
        with subprocess.Popen(
            [sys.executable, "-c", _COMMENTED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
        ) as writer:
            try:
                assert writer.stdout is not None
                assert writer.stdout.readline() == "ready\n"
                time.sleep(random.uniform(0, 0.1))
            finally:
                writer.send_signal(signal.SIGKILL)
                writer.wait(timeout=30)

        loaded = rig.from_yaml(file_path=path)
        assert len(loaded.values) == sizes[loaded.name]
        text = path.read_text()
        for kept in (
            "# yaml-language-server: $schema=rig.schema.json\n# about this rig: ask before changing\n\n",
            "  # the rig by the window\n",
            "\n# the behaviour camera\ncamera:\n  # Frames per second.\n  fps: 30.0\n",
            "# end of the file\n",
        ):
            assert kept in text
        assert text.count("# Settings of one rig.") == 1
        assert all(name.startswith(".rig.yaml.") for name in _leftovers(tmp_path))


def _save_repeatedly(path: Path, name: str, errors: list[str]) -> None:
    try:
        for count in range(100):
            Settings(name=name, values=list(range(count % 20))).to_yaml(file_path=path)
    except Exception as error:  # reported by the test, which must not hang on a thread that died
        errors.append(repr(error))


def test_savers_racing_in_threads_and_processes_never_leave_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# shared by everyone\n\nname: start  # first\n")
    errors: list[str] = []
    threads = [threading.Thread(target=_save_repeatedly, args=(path, f"thread-{index}", errors)) for index in range(2)]
    process = subprocess.Popen([sys.executable, "-c", _RACING_PROCESS, str(path)])
    for thread in threads:
        thread.start()
    try:
        while process.poll() is None or any(thread.is_alive() for thread in threads):
            loaded = Settings.from_yaml(file_path=path)
            assert len(loaded.values) < 20 or loaded.name == "start"
            text = path.read_text()
            assert text.startswith("# shared by everyone\n\nname: ") and "  # first\n" in text
    finally:
        for thread in threads:
            thread.join(timeout=60)
        process.wait(timeout=60)
    assert errors == []
    assert process.returncode == 0
    assert _leftovers(tmp_path) == []


_RACING_PROCESS = """
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from ataraxis_yamlconfig import YamlConfig

@dataclass
class Settings(YamlConfig):
    name: str = "rig"
    values: list[int] = field(default_factory=lambda: [1, 2, 3])
    extra: Any = None

for count in range(100):
    Settings(name="process", values=list(range(count % 20))).to_yaml(file_path=Path(sys.argv[1]))
"""
