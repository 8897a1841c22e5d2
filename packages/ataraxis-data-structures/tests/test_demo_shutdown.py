"""The demo's parts that make it stop cleanly: stop signals, the parent watch, the output folder, stale boards, output.

Signals are real (sent to this process or to child processes), and so are the processes and the shared memory.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ataraxis_data_structures.demo._platform import PORTABLE_PARENT_WATCH_VARIABLE, process_exists, signals_blocked
from ataraxis_data_structures.demo.cli import UsageError, load_settings, parse_arguments
from ataraxis_data_structures.demo.control import board_name, remove_stale_boards
from ataraxis_data_structures.demo.display import SafeStream
from ataraxis_data_structures.demo.signals import Interrupted, StopSignals, describe
from ataraxis_data_structures.demo.workspace import OutputFolder

TIMEOUT_S = 60.0


@pytest.fixture
def stop_signals() -> Iterator[StopSignals]:
    signals = StopSignals()
    signals.install()
    try:
        yield signals
    finally:
        signals.restore()


def _deliver(signal_number: int) -> None:
    """Sends a signal to this very thread (the main one), which runs the Python handler before returning.

    A signal sent to the process (os.kill) may be delivered to another of pytest's threads.
    """
    signal.raise_signal(signal_number)


def test_signals_are_recorded_and_checked_at_safe_points(stop_signals: StopSignals) -> None:
    stop_signals.check()
    _deliver(signal.SIGINT)
    _deliver(signal.SIGHUP)
    assert stop_signals.received == [signal.SIGINT, signal.SIGHUP]
    assert (stop_signals.terminating, stop_signals.exit_signal) == (signal.SIGHUP, signal.SIGHUP)
    with pytest.raises(Interrupted) as caught:
        stop_signals.check()
    assert caught.value.signal_number == signal.SIGHUP


def test_inside_immediate_a_signal_interrupts_at_once(stop_signals: StopSignals) -> None:
    with pytest.raises(Interrupted) as caught, stop_signals.immediate():
        signal.raise_signal(signal.SIGTERM)
        time.sleep(TIMEOUT_S)  # never reached: the handler raises
    assert caught.value.signal_number == signal.SIGTERM
    _deliver(signal.SIGTERM)  # outside the block again: recorded only
    assert stop_signals.received == [signal.SIGTERM, signal.SIGTERM]


def test_a_second_ctrl_c_can_be_ignored_but_not_a_sigterm(stop_signals: StopSignals) -> None:
    _deliver(signal.SIGINT)
    with stop_signals.immediate(sigint=False):
        _deliver(signal.SIGINT)
    with pytest.raises(Interrupted), stop_signals.immediate(sigint=False):
        _deliver(signal.SIGTERM)
    with pytest.raises(Interrupted), stop_signals.immediate(sigint=False):
        pass  # the SIGTERM received before the block interrupts it on entry


def test_signals_are_named_as_people_know_them() -> None:
    assert (describe(signal.SIGINT), describe(signal.SIGTERM), describe(signal.SIGHUP)) == (
        "Ctrl-C",
        "SIGTERM",
        "SIGHUP",
    )


def test_a_blocked_signal_is_delivered_when_the_block_ends(stop_signals: StopSignals) -> None:
    with signals_blocked([signal.SIGHUP]):
        _deliver(signal.SIGHUP)
        assert stop_signals.received == []
    assert stop_signals.received == [signal.SIGHUP]


_ORPHAN = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    from ataraxis_data_structures.demo.producers import ParentWatch, StopRequest
    import signal

    def watch(parent_pid, report):
        stop = StopRequest()
        signal.signal(signal.SIGTERM, stop.set)
        parent = ParentWatch(parent_pid)
        with open(report, "w") as file:
            file.write(f"{os.getpid()} {parent.kernel_signal}\\n")
        while parent.parent_alive() and not stop.requested:
            time.sleep(0.01)
        with open(report, "a") as file:
            file.write("signal" if stop.requested else "parent id")

    if __name__ == "__main__":
        child = multiprocessing.get_context("spawn").Process(target=watch, args=(os.getpid(), sys.argv[1]))
        child.start()
        time.sleep(3600)
    """
)


@pytest.mark.parametrize(("portable", "noticed_by"), [(False, "signal"), (True, "parent id")])
def test_a_producer_notices_its_parent_died_by_sigkill(tmp_path: Path, portable: bool, noticed_by: str) -> None:
    script, report = tmp_path / "orphan.py", tmp_path / "report.txt"
    script.write_text(_ORPHAN)
    environment = {**os.environ, PORTABLE_PARENT_WATCH_VARIABLE: "1" if portable else ""}
    parent = subprocess.Popen([sys.executable, str(script), str(report)], env=environment)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not report.exists() or not report.read_text().endswith("\n"):
            assert time.monotonic() < deadline and parent.poll() is None, "the watching child never started"
            time.sleep(0.05)
        child_pid, kernel_signal = report.read_text().split()
        assert kernel_signal == str(sys.platform == "linux" and not portable)
        parent.kill()
        parent.wait()
        while process_exists(int(child_pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_exists(int(child_pid)), "the child outlived its parent"
        assert report.read_text().splitlines()[-1] == noticed_by
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_the_board_of_a_demo_killed_with_its_helpers_is_removed_by_the_next(tmp_path: Path) -> None:
    program = (
        "from ataraxis_data_structures.demo.control import ControlBoard\n"
        "ControlBoard.create(1)\nprint(1, flush=True)\ninput()"
    )
    command = [sys.executable, "-c", program]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True) as killed:
        name = board_name(killed.pid)
        try:
            assert killed.stdout is not None and killed.stdout.readline() == b"1\n"
            os.killpg(killed.pid, signal.SIGKILL)  # the process and its resource tracker: nobody is left to clean up
            killed.wait()
            time.sleep(0.5)
            assert (Path("/dev/shm") / name).exists()

            assert name in remove_stale_boards()

            assert not (Path("/dev/shm") / name).exists()
            assert not (Path("/dev/shm") / f"sem.{name}.lock").exists()
        finally:
            if killed.poll() is None:
                os.killpg(killed.pid, signal.SIGKILL)
                killed.wait()
            for path in (Path("/dev/shm") / name, Path("/dev/shm") / f"sem.{name}.lock"):
                path.unlink(missing_ok=True)


def test_an_output_folder_with_logs_of_an_earlier_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo_data_log").mkdir()
    (tmp_path / "demo_data_log" / "1_log.npz").write_bytes(b"")
    with pytest.raises(UsageError, match="already holds the logs of an earlier run"):
        OutputFolder.prepare(tmp_path, writes_settings=False)


def test_a_settings_file_the_defaults_would_overwrite_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo_settings.yaml").write_text("duration_s: 3.0\n")
    with pytest.raises(UsageError, match="run with --config"):
        OutputFolder.prepare(tmp_path, writes_settings=True)
    assert OutputFolder.prepare(tmp_path, writes_settings=False).path == tmp_path
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a folder"):
        OutputFolder.prepare(tmp_path / "file", writes_settings=False)


def test_paths_that_cannot_be_used_are_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match=r"--output: cannot create .*file/sub: Not a directory"):
        OutputFolder.prepare(tmp_path / "file" / "sub", writes_settings=True)
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(UsageError, match=r"--config: cannot read .*folder\.yaml: Is a directory"):
        load_settings(tmp_path / "folder.yaml")
    with pytest.raises(UsageError, match=r"--config: no settings file at .*absent\.yaml"):
        load_settings(tmp_path / "absent.yaml")
    with pytest.raises(UsageError, match=r"--duration: must be a positive, finite number of seconds, got 'abc'"):
        parse_arguments(["--duration", "abc"])


def test_a_run_that_logged_nothing_removes_only_what_it_created(tmp_path: Path) -> None:
    mine = tmp_path / "kept"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    for requested in (tmp_path / "new" / "deeper", mine):
        folder = OutputFolder.prepare(requested, writes_settings=True)
        folder.write_default_settings()
        folder.log_folder.mkdir()
        assert folder.discard_if_nothing_logged()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept"]
    assert [path.name for path in mine.iterdir()] == ["notes.txt"]

    folder = OutputFolder.prepare(tmp_path / "logged", writes_settings=True)
    folder.write_default_settings()
    folder.log_folder.mkdir()
    (folder.log_folder / "001_00000000000000000001.npy").write_bytes(b"entry")
    assert not folder.discard_if_nothing_logged()
    assert (folder.path / "demo_settings.yaml").is_file()


def test_output_to_a_closed_pipe_is_dropped_without_an_error() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream:
        safe = SafeStream(stream)
        assert not safe.isatty()
        safe.write("x" * 100_000)
        safe.flush()
        safe.write("more")
        safe.flush()
