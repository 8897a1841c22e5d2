"""A producer whose buffer does not fit in shared memory: a clear error, never a crash, nothing left behind.

`/dev/shm` is replaced by a small tmpfs in a mount namespace of the test's own (`unshare -rm`, an unprivileged user
namespace); where the system does not allow one, the test is skipped.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_PROGRAM = """
    import multiprocessing, os, sys
    from pathlib import Path

    from ataraxis_datalogger import DataLogger


    def log_from_a_child(queue, report):
        try:
            queue.source(2).log(1, b"child")
        except Exception as error:
            report.send(f"{type(error).__name__}: {error}")
        else:
            report.send("ok")


    if __name__ == "__main__":
        logger = DataLogger(Path(sys.argv[1]), "full", buffer_size=1 << 20)
        logger.start()
        logger.source(1).log(1, b"owner")
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        child = context.Process(target=log_from_a_child, args=(logger.input_queue, sending))
        child.start()
        child.join(100)
        print("child exit code", child.exitcode)
        print("child:", receiving.recv() if receiving.poll(1) else "nothing")
        logger.stop()
        print("written", logger.statistics.written)
        print("left", sorted(name for name in os.listdir("/dev/shm") if "adl" in name))
"""


def test_a_buffer_that_does_not_fit_in_shared_memory_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare(1)")
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True, check=False, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"no unprivileged mount namespace here: {probe.stderr.decode(errors='replace').strip()}")
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(_PROGRAM))
    # Room for the run's control segment and the owner's 1 MiB buffer, not for a second buffer.
    command = f'mount -t tmpfs -o size=1400k tmpfs /dev/shm && exec "{sys.executable}" -W error "{script}" "{tmp_path}"'
    completed = subprocess.run(
        [unshare, "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "child exit code 0", completed.stdout + completed.stderr
    assert lines[1].startswith("child: DataLoggerError: "), lines[1]
    assert "shared memory" in lines[1] and "buffer_size" in lines[1], lines[1]
    assert lines[2:] == ["written 1", "left []"]
