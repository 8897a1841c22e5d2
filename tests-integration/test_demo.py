"""The demo runs end to end, reruns from an edited config, stops cleanly on Ctrl-C, and leaves nothing behind.

Each test runs `python -m ataraxis_data_structures.demo` as a user would, in its own process group.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("shared_memory_in_use")]

DEMO = [sys.executable, "-m", "ataraxis_data_structures.demo"]
TIMEOUT_S = 240


def _leftovers(pid: int) -> list[str]:
    """The demo's shared-memory segment and semaphore, named after its process id, if they are still there."""
    return [
        name for name in (f"ataraxis_demo_{pid}", f"sem.ataraxis_demo_{pid}.lock") if (Path("/dev/shm") / name).exists()
    ]


def _run_demo(*arguments: str) -> tuple[subprocess.CompletedProcess[str], int]:
    process = subprocess.Popen(
        [*DEMO, *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), process.pid


def test_a_short_run_logs_every_message_and_cleans_up(tmp_path: Path) -> None:
    output = tmp_path / "run"
    result, pid = _run_demo("--duration", "2", "--output", str(output))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "every one logged intact and in order" in result.stdout
    for source in ("camera", "sensor", "events"):
        row = next(line for line in result.stdout.splitlines() if line.startswith(source))
        sent, logged, lost, damaged = (row.split()[index] for index in (2, 3, -2, -1))
        assert sent == logged and lost == "0" and damaged == "0", row
    assert (output / "demo_settings.yaml").is_file()
    assert sorted(path.name for path in (output / "demo_data_log").iterdir()) == [
        "1_log.npz",
        "2_log.npz",
        "3_log.npz",
    ]
    assert _leftovers(pid) == []


def test_a_run_uses_the_settings_file_it_is_given(tmp_path: Path) -> None:
    first, _ = _run_demo("--duration", "0.5", "--output", str(tmp_path / "first"))
    assert first.returncode == 0, first.stdout + first.stderr
    settings = tmp_path / "edited.yaml"
    text = (tmp_path / "first" / "demo_settings.yaml").read_text()
    assert "name: events" in text
    settings.write_text(text.replace("name: events", "name: licks"))

    second, _ = _run_demo("--duration", "0.5", "--output", str(tmp_path / "second"), "--config", str(settings))

    assert second.returncode == 0, second.stdout + second.stderr
    assert f"settings: {settings}" in second.stdout
    assert any(line.startswith("licks") for line in second.stdout.splitlines())


def test_an_invalid_settings_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    first, _ = _run_demo("--duration", "0.5", "--output", str(tmp_path / "first"))
    assert first.returncode == 0, first.stdout + first.stderr
    settings = tmp_path / "invalid.yaml"
    settings.write_text((tmp_path / "first" / "demo_settings.yaml").read_text().replace("source_id: 3", "source_id: 2"))

    result, pid = _run_demo("--output", str(tmp_path / "second"), "--config", str(settings))

    assert result.returncode != 0
    assert "share source_id 2" in result.stderr
    assert _leftovers(pid) == []


def test_ctrl_c_stops_the_run_cleanly_and_keeps_every_message(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*DEMO, "--duration", "120", "--output", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A process started in the background may inherit an ignored SIGINT; a terminal's Ctrl-C finds it default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while "sent," not in process.stdout.readline():  # the first progress line: producers are running
            assert time.monotonic() < deadline and process.poll() is None, "the demo never showed progress"
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert process.returncode == 0, stdout + stderr
    assert "interrupted" in stdout
    assert "every one logged intact and in order" in stdout
    assert _leftovers(process.pid) == []
