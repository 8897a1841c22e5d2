"""The demo as a person meets it: runs, reruns, refusals, signals, a killed parent, paths and what lands in a log file.

Each test runs the demo as its own program, in a new session (so that every process it starts can be found, and
killed should a test fail), with a private temporary folder and its output sent to files, as a redirected run
writes them.
"""

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ataraxis_data_structures import read_logs
from ataraxis_data_structures.demo.settings import DemoSettings
from ataraxis_data_structures.demo.verification import verify_source

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("shared_memory_in_use")]

WORKSPACE = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, "-m", "ataraxis_data_structures.demo"]
TIMEOUT_S = 240.0
"""The longest any demo run of these tests may take on a loaded machine."""
GONE_TIMEOUT_S = 60.0
"""How long every process of a run may take to end once its parent is gone (the bound the tests enforce)."""
ESCAPE = "\x1b"
SENDING = " s of 600.0 s |"
"""In a status line of a 600 s run: every producer is ready and the run's clock is going."""
# A user's environment may force colours or a terminal; these tests look at what a plain redirected run writes.
FORCING_VARIABLES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "COLUMNS")


class Demo:
    """One demo process started by a test, with its output in files and its session of processes.

    Args:
        folder: A folder of the test's own: it holds the output files and the run's temporary folder (`TMPDIR`).
        arguments: The demo's command-line arguments.
        command: The program to run (the demo module by default).
        cwd: The working directory of the demo.
        environment: Extra environment variables.
        default_sigint: Start with SIGINT at its default action: a process started in the background inherits an
            ignored SIGINT, while a terminal's Ctrl-C finds it default.
    """

    def __init__(
        self,
        folder: Path,
        *arguments: str,
        command: list[str] = DEMO,
        cwd: Path | None = None,
        environment: dict[str, str] | None = None,
        default_sigint: bool = False,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # A short path: multiprocessing puts its fork server's socket there, and socket paths are short (108 bytes).
        self.temporary = Path(tempfile.mkdtemp(prefix="ads-demo-", dir="/tmp"))
        self.stdout_path = folder / "stdout.txt"
        self.stderr_path = folder / "stderr.txt"
        env = {key: value for key, value in os.environ.items() if key not in FORCING_VARIABLES}
        env.update(TMPDIR=str(self.temporary), **(environment or {}))
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*command, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if default_sigint else None,
            )
        self.session = self.process.pid

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 120.0) -> None:
        """Waits until the demo has printed `text` on stdout."""
        deadline = time.monotonic() + timeout
        while text not in self.stdout:
            assert self.process.poll() is None, f"the demo ended before printing {text!r}:\n{self.stdout}{self.stderr}"
            assert time.monotonic() < deadline, f"the demo did not print {text!r} in {timeout} s:\n{self.stdout}"
            time.sleep(0.05)

    def wait(self, timeout: float = TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout)

    def processes(self) -> list[int]:
        """The live processes of the run's session (zombies count as gone)."""
        return session_processes(self.session)

    def wait_until_gone(self, timeout: float = GONE_TIMEOUT_S) -> list[int]:
        """Waits until no process of the run's session is left; returns those still alive at the timeout."""
        deadline = time.monotonic() + timeout
        while (left := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def kill_everything(self) -> None:
        """Kills whatever is left of the run, so that a failing test never leaves processes behind.

        The resource tracker goes last, and only if it does not end by itself: once the others are gone it removes
        the shared memory they left.
        """
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for attempt in range(2):
            for pid in self.processes():
                if attempt or not _is_resource_tracker(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self.wait_until_gone(timeout=10.0)
        shutil.rmtree(self.temporary, ignore_errors=True)


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    """The demos a test starts; whatever is left of them is killed when the test ends."""
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.kill_everything()


def session_processes(session: int) -> list[int]:
    """The live (not zombie) processes of a session, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[3]) == session and fields[0] not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def _is_resource_tracker(pid: int) -> bool:
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def mapped_shared_memory(pids: list[int]) -> set[int]:
    """The inodes of the /dev/shm files (segments and semaphores) that these processes have mapped.

    Inodes rather than names: glibc creates a named semaphore under a temporary name and links it to its real one,
    so a mapping may show a name the file no longer has.
    """
    inodes = set()
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/dev/shm/"):
                inodes.add(int(fields[4]))
    return inodes


def shared_memory_inodes() -> set[int]:
    inodes = set()
    for entry in Path("/dev/shm").iterdir():
        try:
            inodes.add(entry.stat().st_ino)
        except FileNotFoundError:
            continue
    return inodes


def leftover_temporary_folders(demo: Demo) -> list[Path]:
    """The demo's temporary output folders that hold no log entries (a failed start must not leave them behind)."""
    return [folder for folder in demo.temporary.glob("ataraxis-demo-*") if not any(folder.glob("demo_data_log/*"))]


def summary_rows(stdout: str) -> dict[str, dict[str, str]]:
    """The summary table, as {source: {column: cell}}, read from a redirected run's output."""
    lines = stdout.splitlines()
    header_at = next(index for index, line in enumerate(lines) if re.search(r"source\W+id\W+sent\W+logged", line))
    header = [cell.strip() for cell in re.split(r"[│┃|]", lines[header_at])[1:-1]]
    rows = {}
    for line in lines[header_at + 1 :]:
        cells = [cell.strip() for cell in re.split(r"[│|]", line)[1:-1]]
        if len(cells) == len(header):
            rows[cells[0]] = dict(zip(header, cells, strict=True))
        elif rows and not line.strip(" ─━└┘┗┛╰╯-+"):
            break
    return rows


def check_logs(log_directory: Path, expected_total: int | None = None) -> int:
    """Checks, independently of the demo, that each source's entries are its messages 0..n-1, intact and in order.

    Returns:
        The number of entries found.
    """
    sources = {source.source_id: source for source in DemoSettings().sources}
    readers = read_logs(log_directory)
    try:
        total = 0
        for source_id, reader in readers.items():
            verdict = verify_source(sources[source_id], len(reader), reader)
            assert verdict.ok, verdict
            total += verdict.logged
    finally:
        for reader in readers.values():
            reader.close()
    if expected_total is not None:
        assert total == expected_total
    return total


def test_a_short_run_logs_every_message_and_says_so_with_units(tmp_path: Path, demos: list[Demo]) -> None:
    output = tmp_path / "run"
    demos.append(demo := Demo(tmp_path, "--duration", "2", "--output", str(output)))

    assert demo.wait() == 0, demo.stdout + demo.stderr
    stdout = demo.stdout
    assert "every one logged intact and in order" in stdout
    rows = summary_rows(stdout)
    assert sorted(rows) == ["camera", "events", "sensor"]
    for row in rows.values():
        assert row["sent"] == row["logged"] and row["lost"] == "0" and row["damaged"] == "0", row
        assert re.fullmatch(r"\+\d+\.\d{3} s", row["first entry"]) and re.fullmatch(
            r"\+\d+\.\d{3} s", row["last entry"]
        )
    assert re.search(r"timestamps are time\.monotonic_ns\(\) values: the producers were started at [\d,]+ ns", stdout)
    assert re.search(r"msg/s", stdout) and re.search(r"heartbeat [\d,]+ ms ago", stdout), stdout
    assert (output / "demo_settings.yaml").is_file()
    assert sorted(path.name for path in (output / "demo_data_log").iterdir()) == ["1_log.npz", "2_log.npz", "3_log.npz"]
    check_logs(output / "demo_data_log")
    assert demo.wait_until_gone() == []


def test_a_redirected_run_writes_no_escape_codes(tmp_path: Path, demos: list[Demo]) -> None:
    demos.append(demo := Demo(tmp_path, "--duration", "1.5", "--output", str(tmp_path / "run")))

    assert demo.wait() == 0, demo.stdout + demo.stderr
    assert ESCAPE not in demo.stdout and ESCAPE not in demo.stderr, repr(demo.stdout + demo.stderr)
    assert "\r" not in demo.stdout + demo.stderr, repr(demo.stdout + demo.stderr)
    assert "compress" in demo.stdout


def test_a_run_uses_the_settings_file_it_is_given(tmp_path: Path, demos: list[Demo]) -> None:
    settings = tmp_path / "edited.yaml"
    DemoSettings().to_yaml(file_path=settings)
    settings.write_text(settings.read_text().replace("name: events", "name: licks"))
    demos.append(
        demo := Demo(tmp_path, "--duration", "0.5", "--output", str(tmp_path / "run"), "--config", str(settings))
    )

    assert demo.wait() == 0, demo.stdout + demo.stderr
    assert f"settings: {settings}" in demo.stdout
    assert "licks" in summary_rows(demo.stdout)


def test_a_second_run_into_the_same_output_folder_is_refused(tmp_path: Path, demos: list[Demo]) -> None:
    output = tmp_path / "run"
    demos.append(first := Demo(tmp_path / "first", "--duration", "0.5", "--output", str(output)))
    assert first.wait() == 0, first.stdout + first.stderr
    before = sorted(path.name for path in (output / "demo_data_log").iterdir())

    demos.append(second := Demo(tmp_path / "second", "--duration", "0.5", "--output", str(output)))

    assert second.wait() == 2, second.stdout + second.stderr
    [line] = second.stderr.strip().splitlines()
    assert str(output / "demo_data_log") in line and "earlier run" in line
    assert sorted(path.name for path in (output / "demo_data_log").iterdir()) == before
    check_logs(output / "demo_data_log")


def _default_settings_file(folder: Path) -> Path:
    path = folder / "settings.yaml"
    DemoSettings().to_yaml(file_path=path)
    return path


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("original", "replacement", "expected"),
    [
        ("  - name: sensor", "  - name: sensor: x", "mapping values are not allowed"),
        ("rate_hz: 60.0", "rate_hz: fast", "sources[0].rate_hz: expected float, found 'fast' (str)"),
        ("verify_integrity: true", "verify_integrity: true\ncolour: red", "unknown key 'colour'"),
        ("rate_hz: 60.0", "rate_hz: -1.0", "sources[0].rate_hz: must be a positive rate in Hz"),
        ("source_id: 3", "source_id: 2", "sources[2].source_id: 2 is already the id of source 'sensor'"),
        ("duration_s: 10.0", "duration_s: 0.0", "duration_s: must be a positive, finite number of seconds"),
    ],
    ids=["syntax", "type", "unknown key", "rate", "repeated id", "duration"],
)
def test_a_bad_settings_file_is_refused_in_one_line_naming_file_and_line(
    tmp_path: Path, demos: list[Demo], original: str, replacement: str, expected: str
) -> None:
    path = _default_settings_file(tmp_path)
    text = path.read_text()
    # The line the problem is on: the replaced line itself, or the line added after it.
    line = _line_of(path, original) + replacement.count("\n")
    assert original in text
    path.write_text(text.replace(original, replacement, 1))

    demos.append(demo := Demo(tmp_path, "--config", str(path)))

    assert demo.wait() == 2, demo.stdout + demo.stderr
    [message] = demo.stderr.strip().splitlines()
    assert f"{path}, line {line}: " in message and expected in message, message
    assert "Traceback" not in demo.stdout
    assert list(demo.temporary.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--duration", "0"], "--duration: must be a positive, finite number of seconds, got '0'"),
        (["--duration", "nan"], "--duration: must be a positive, finite number of seconds, got 'nan'"),
        (["--config", "missing.yaml"], "--config: no settings file at "),
        (["--config", "settings.txt"], "must end with .yaml or .yml"),
    ],
    ids=["zero duration", "nan duration", "missing config", "config suffix"],
)
def test_bad_arguments_are_refused_in_one_line(
    tmp_path: Path, demos: list[Demo], arguments: list[str], expected: str
) -> None:
    (tmp_path / "settings.txt").write_text("duration_s: 1.0\n")
    demos.append(demo := Demo(tmp_path, *arguments, cwd=tmp_path))

    assert demo.wait() == 2, demo.stdout + demo.stderr
    [message] = demo.stderr.strip().splitlines()
    assert expected in message, message
    assert list(demo.temporary.iterdir()) == []


def test_scripts_demo_resolves_paths_against_the_callers_folder(
    tmp_path: Path, demos: list[Demo], uv_executable: str
) -> None:
    caller = tmp_path / "caller"
    caller.mkdir()
    _default_settings_file(caller).rename(caller / "mine.yaml")
    existed = (WORKSPACE / "runs").exists()
    path = f"{Path(uv_executable).parent}{os.pathsep}{os.environ['PATH']}"
    demos.append(
        demo := Demo(
            tmp_path,
            "--duration",
            "0.5",
            "--config",
            "mine.yaml",
            "--output",
            "runs",
            command=[str(WORKSPACE / "scripts" / "demo")],
            cwd=caller,
            environment={"PATH": path},
        )
    )
    try:
        assert demo.wait() == 0, demo.stdout + demo.stderr
        assert f"settings: {caller / 'mine.yaml'}" in demo.stdout
        check_logs(caller / "runs" / "demo_data_log")
        assert existed or not (WORKSPACE / "runs").exists()
    finally:
        if not existed:
            shutil.rmtree(WORKSPACE / "runs", ignore_errors=True)


def test_ctrl_c_stops_the_run_cleanly_keeps_every_message_and_exits_130(tmp_path: Path, demos: list[Demo]) -> None:
    output = tmp_path / "run"
    demos.append(demo := Demo(tmp_path, "--duration", "600", "--output", str(output), default_sigint=True))
    demo.wait_for_output(SENDING)
    mapped = mapped_shared_memory(demo.processes())

    os.killpg(demo.session, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group

    assert demo.wait() == 130, demo.stdout + demo.stderr
    assert "every one logged intact and in order" in demo.stdout
    [line] = [line for line in demo.stderr.splitlines() if "interrupted" in line]
    assert "Ctrl-C" in line
    assert "Traceback" not in demo.stderr
    check_logs(output / "demo_data_log")
    assert demo.wait_until_gone() == []
    assert mapped and not mapped & shared_memory_inodes()


def test_ctrl_c_during_start_up_prints_one_line_and_leaves_no_empty_folder(tmp_path: Path, demos: list[Demo]) -> None:
    demos.append(demo := Demo(tmp_path, "--duration", "600", default_sigint=True))
    demo.wait_for_output("settings: ")  # printed just before the logger and the producers start

    os.killpg(demo.session, signal.SIGINT)

    assert demo.wait() == 130, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr + demo.stdout, demo.stderr
    [line] = [line for line in demo.stderr.splitlines() if line.strip()]
    assert "interrupted" in line and "Ctrl-C" in line, line
    assert demo.wait_until_gone() == []
    assert leftover_temporary_folders(demo) == []


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_everything_and_exit_with_128_plus_the_signal(
    tmp_path: Path, demos: list[Demo], signal_number: signal.Signals
) -> None:
    output = tmp_path / "run"
    demos.append(demo := Demo(tmp_path, "--duration", "600", "--output", str(output)))
    demo.wait_for_output(SENDING)
    mapped = mapped_shared_memory(demo.processes())

    os.kill(demo.process.pid, signal_number)  # the parent alone, as `kill PID` or a service manager does

    assert demo.wait() == 128 + signal_number, demo.stdout + demo.stderr
    [line] = [line for line in demo.stderr.splitlines() if "interrupted" in line]
    assert f"interrupted by {signal_number.name}" in line, line
    assert "Traceback" not in demo.stderr
    written = re.search(r"([\d,]+) messages sent, all written", line)
    assert written, line
    check_logs(output / "demo_data_log", expected_total=int(written.group(1).replace(",", "")))
    assert demo.wait_until_gone() == []
    assert mapped and not mapped & shared_memory_inodes()


@pytest.mark.parametrize("case", ["kernel", "portable", "logger too"])
def test_when_the_parent_is_killed_every_process_stops_and_nothing_is_left(
    tmp_path: Path, demos: list[Demo], case: str
) -> None:
    # "portable": producers rely on the check that works on every system (their parent id changes), which the
    # Linux-only parent-death signal would otherwise beat to it. "logger too": the logger's process dies first, so
    # nobody empties the queue's pipe, which a producer's exit waits to flush everything it put into.
    environment = {"ATARAXIS_DEMO_PORTABLE_PARENT_WATCH": "1"} if case == "portable" else {}
    output = tmp_path / "run"
    demos.append(demo := Demo(tmp_path, "--duration", "600", "--output", str(output), environment=environment))
    demo.wait_for_output(SENDING)
    mapped = mapped_shared_memory(demo.processes())

    if case == "logger too":
        # The parent frozen first, so it cannot notice the logger's death and tell the producers: they go on
        # sending into the queue's pipe until it is full, then their parent dies as well.
        os.kill(demo.process.pid, signal.SIGSTOP)
        os.kill(_logger_process(demo), signal.SIGKILL)
        time.sleep(2.0)
    os.kill(demo.process.pid, signal.SIGKILL)
    demo.wait()

    assert demo.wait_until_gone() == [], f"processes of the run still alive {GONE_TIMEOUT_S} s after its parent died"
    log_files = sorted(os.listdir(output / "demo_data_log"))
    time.sleep(1.0)
    assert sorted(os.listdir(output / "demo_data_log")) == log_files
    assert mapped and not mapped & shared_memory_inodes()
    if case != "logger too":  # a killed logger takes the entries it had not written yet with it
        check_logs(output / "demo_data_log")


def _producer_pids(demo: Demo) -> dict[str, int]:
    line = next(line for line in demo.stdout.splitlines() if line.startswith("producers: "))
    return {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", line)}


def _logger_process(demo: Demo) -> int:
    """The DataLogger's writer: forked by the fork server that the demo's process started (same command line)."""
    servers = {
        pid
        for pid in demo.processes()
        if _parent_of(pid) == demo.process.pid and b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }
    return next(pid for pid in demo.processes() if _parent_of(pid) in servers)


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


@pytest.mark.parametrize("victim", ["producer", "logger"])
def test_a_process_of_the_run_that_dies_ends_it_with_a_clear_failure(
    tmp_path: Path, demos: list[Demo], victim: str
) -> None:
    demos.append(demo := Demo(tmp_path, "--duration", "600", "--output", str(tmp_path / "run")))
    demo.wait_for_output(SENDING)
    mapped = mapped_shared_memory(demo.processes())
    pid = _producer_pids(demo)["sensor"] if victim == "producer" else _logger_process(demo)

    os.kill(pid, signal.SIGKILL)

    assert demo.wait() == 1, demo.stdout + demo.stderr
    failures = [line for line in demo.stderr.splitlines() if line.startswith("FAILED: ")]
    expected = "sensor (exit code -9)" if victim == "producer" else "the logger failed during the run"
    assert any(expected in line for line in failures), demo.stderr
    assert "did not stop" not in demo.stderr  # the other producers stopped by themselves, promptly
    assert "Traceback" not in demo.stderr
    assert demo.wait_until_gone() == []
    assert mapped and not mapped & shared_memory_inodes()


def test_sigterm_while_the_logs_are_compressed_stops_and_loses_nothing(tmp_path: Path, demos: list[Demo]) -> None:
    output = tmp_path / "run"
    demos.append(demo := Demo(tmp_path, "--duration", "5", "--output", str(output)))
    demo.wait_for_output("compressing the logs")

    os.kill(demo.process.pid, signal.SIGTERM)

    # Compression, verification or the summary: wherever the signal landed, the demo stops with 143 and every
    # message is in the log folder, archived or still as an entry file.
    assert demo.wait() == 143, demo.stdout + demo.stderr
    assert "SIGTERM" in demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr
    assert check_logs(output / "demo_data_log") > 0
    assert demo.wait_until_gone() == []


def test_on_a_terminal_the_status_is_redrawn_in_place(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    environment = {key: value for key, value in os.environ.items() if key not in FORCING_VARIABLES}
    environment.update(TERM="xterm-256color")
    environment.pop("NO_COLOR", None)
    with subprocess.Popen(
        [*DEMO, "--duration", "1", "--output", str(tmp_path / "run")],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=environment,
        start_new_session=True,
    ) as process:
        os.close(terminal)
        screen = bytearray()
        deadline = time.monotonic() + TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                if select.select([controller], [], [], 0.2)[0]:
                    try:
                        chunk = os.read(controller, 65536)
                    except OSError:  # the terminal closed: every process writing to it has ended
                        break
                    if not chunk:
                        break
                    screen += chunk
                elif process.poll() is not None:
                    break
            assert process.wait(timeout=TIMEOUT_S) == 0, screen.decode(errors="replace")
        finally:
            os.close(controller)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    text = screen.decode(errors="replace")
    assert "\x1b[2K" in text  # lines erased: the status table redrawn in place
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert "run: 1.0 s of 1.0 s" in plain and "heartbeat" in plain
    assert "every one logged intact and in order" in plain
