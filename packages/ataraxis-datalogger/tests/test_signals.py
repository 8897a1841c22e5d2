"""Signals a terminal or a service manager sends to a whole process group: Ctrl+C (SIGINT) and SIGTERM.

Each test runs a program in a fresh interpreter and a session of its own, so that a signal sent to "the whole
group" reaches that program's processes (its fork server, logger process and resource tracker) and nothing else.
"""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest


def _run_in_own_session(source: str, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Runs a Python program in a new session (its own process group), with a generous hang guard."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-W", "error", str(script), str(tmp_path), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,
        # The fork server imports its preloaded modules with the current folder first on its path.
        cwd=tmp_path,
    )


def test_a_ctrl_c_while_the_fork_server_imports_its_modules_does_not_break_start(
    tmp_path: Path, helpers: ModuleType
) -> None:
    # The fork server imports the program's modules before it serves; a slow module holds it there while the whole
    # group gets SIGINT, as from Ctrl+C. The program handles SIGINT itself, so it carries on with start().
    (tmp_path / "slow_to_import.py").write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from pathlib import Path

            if os.environ.get("SLOW_IMPORT_MARKER"):
                Path(os.environ["SLOW_IMPORT_MARKER"]).touch()
                time.sleep(3)
            """
        )
    )
    completed = _run_in_own_session(
        """
        import multiprocessing, os, signal, sys, threading, time
        from pathlib import Path

        sys.path.insert(0, sys.argv[1])
        from ataraxis_datalogger import DataLogger

        if __name__ == "__main__":
            folder = Path(sys.argv[1])
            marker = folder / "importing"
            os.environ["SLOW_IMPORT_MARKER"] = str(marker)
            interrupts = []
            signal.signal(signal.SIGINT, lambda *_: interrupts.append(1))
            multiprocessing.set_forkserver_preload(["slow_to_import"])

            def press_ctrl_c():
                while not marker.exists():
                    time.sleep(0.01)
                os.killpg(0, signal.SIGINT)

            threading.Thread(target=press_ctrl_c, daemon=True).start()
            logger = DataLogger(folder, "interrupted")
            logger.start()
            logger.source(1).log(7, b"after ctrl-c")
            logger.stop()
            print("stopped", len(interrupts), logger.statistics.written)
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["stopped", "1", "1"]
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "KeyboardInterrupt" not in completed.stderr, completed.stderr
    assert list(helpers.read_entries(tmp_path / "interrupted_data_log").values()) == [(1, 7, b"after ctrl-c")]


_OWNER_UNTIL_SIGTERM = """
    import multiprocessing, os, signal, sys, time
    from pathlib import Path

    from ataraxis_datalogger import DataLogger


    def produce(queue, count):
        source = queue.source(2)
        for index in range(count):
            source.log(index, index.to_bytes(8, "little") * 4)


    if __name__ == "__main__":
        folder, handling, layout = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
        logger = DataLogger(folder, "terminated", layout=layout)
        if handling == "stop":
            def stop_and_exit(*_):
                logger.stop()
                print("stopped", logger.statistics.written, flush=True)
                sys.exit(0)

            signal.signal(signal.SIGTERM, stop_and_exit)
        logger.start()
        producer = multiprocessing.get_context("spawn").Process(target=produce, args=(logger.input_queue, 500))
        producer.start()
        producer.join()
        source = logger.source(1)
        for index in range(500):
            source.log(index, index.to_bytes(8, "little") * 4)
        # Every entry above was acknowledged (its log returned); the producer process stays alive, as a service's
        # workers would, until the whole group is terminated.
        multiprocessing.get_context("spawn").Process(target=time.sleep, args=(120,)).start()
        print("logged", logger._run.process.pid, flush=True)
        time.sleep(120)
"""


@pytest.mark.parametrize("layout", ["npy", "stream"])
@pytest.mark.parametrize("handling", ["stop", "default"])
def test_sigterm_to_the_whole_group_loses_no_acknowledged_entry(
    tmp_path: Path, helpers: ModuleType, handling: str, layout: str
) -> None:
    # As systemd stops a service: SIGTERM to every process of the group. An owner that handles it by calling stop()
    # gets a clean stop; one that dies of it leaves the logger process to write everything and clean up.
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(_OWNER_UNTIL_SIGTERM))
    owner = subprocess.Popen(
        [sys.executable, "-W", "error", str(script), str(tmp_path), handling, layout],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline().split()
        assert line[:1] == ["logged"], owner.stderr.read() if owner.stderr else line
        writer = int(line[1])
        os.killpg(owner.pid, signal.SIGTERM)
        output, errors = owner.communicate(timeout=helpers.JOIN_SECONDS)
        helpers.wait_for(lambda: not helpers.process_exists(writer))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(owner.pid, signal.SIGKILL)
        owner.wait(helpers.JOIN_SECONDS)
    if handling == "stop":
        assert owner.returncode == 0, errors
        assert output.split() == ["stopped", "1000"], errors
    else:
        assert owner.returncode == -signal.SIGTERM
    # The logger process writes to the owner's stderr too: it finishes alone without a traceback.
    assert "Traceback" not in errors, errors
    entries = helpers.read_entries(tmp_path / "terminated_data_log").values()
    expected = {(source_id, index, index.to_bytes(8, "little") * 4) for source_id in (1, 2) for index in range(500)}
    assert len(entries) == 1000
    assert set(entries) == expected
    helpers.wait_for(lambda: not [name for name in os.listdir("/dev/shm") if f"adl{owner.pid:x}_" in name])


def test_a_killed_fork_server_is_not_taken_for_a_dead_logger_process(tmp_path: Path, helpers: ModuleType) -> None:
    # The logger process's sentinel is a pipe from the fork server that started it: it closes when that server dies.
    completed = _run_in_own_session(
        """
        import os, signal, sys, time
        from multiprocessing import forkserver
        from pathlib import Path

        from ataraxis_datalogger import DataLogger

        if __name__ == "__main__":
            logger = DataLogger(Path(sys.argv[1]), "orphan_of_its_fork_server")
            logger.start()
            logger.source(1).log(1, b"before")
            server = forkserver._forkserver._forkserver_pid
            os.kill(server, signal.SIGTERM)
            # Wait until it is a zombie (multiprocessing reaps it itself, at the next start()).
            while b") Z" not in Path(f"/proc/{server}/stat").read_bytes():
                time.sleep(0.01)
            time.sleep(0.5)
            logger.source(1).log(2, b"after")
            logger.stop()
            logger.start()
            logger.source(1).log(3, b"next run")
            logger.stop()
            print("stopped", logger.failure, logger.statistics.written)
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["stopped", "None", "1"]
    assert completed.stderr == ""
    payloads = sorted(
        entry[2] for entry in helpers.read_entries(tmp_path / "orphan_of_its_fork_server_data_log").values()
    )
    assert payloads == [b"after", b"before", b"next run"]


def test_a_temporary_folder_too_long_for_a_unix_socket_does_not_break_start(
    tmp_path: Path, helpers: ModuleType
) -> None:
    # The fork server's socket lives in TMPDIR, and a Unix socket's path holds at most about 107 bytes.
    long_temporary = tmp_path / ("t" * 60) / ("m" * 60)
    long_temporary.mkdir(parents=True)
    completed = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            textwrap.dedent(
                """
                import sys
                from pathlib import Path
                from ataraxis_datalogger import DataLogger

                if __name__ == "__main__":
                    logger = DataLogger(Path(sys.argv[1]), "long_tmpdir")
                    for run in range(2):
                        logger.start()
                        logger.source(1).log(run, b"entry")
                        logger.stop()
                    print("stopped", logger.statistics.written)
                """
            ),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(long_temporary)},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["stopped", "1"]
    assert len(helpers.read_entries(tmp_path / "long_tmpdir_data_log")) == 2


def test_a_later_process_with_the_logger_process_pid_does_not_pass_for_it() -> None:
    # Once the fork server is gone, the logger process is watched by its pid, which the system may give to another.
    from ataraxis_datalogger._runtime import _posix

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        identity = _posix.process_identity(sleeper.pid)
        assert identity is not None
        assert _posix.is_same_process(sleeper.pid, identity)
        assert not _posix.is_same_process(sleeper.pid, identity + 1)
    finally:
        sleeper.kill()
        sleeper.wait(60)
    assert not _posix.is_same_process(sleeper.pid, identity)


def test_stop_called_by_a_signal_handler_that_interrupted_a_put_neither_hangs_nor_fails(
    tmp_path: Path, helpers: ModuleType
) -> None:
    # The handler runs in the main thread between two bytecodes, here in the middle of a put: the put holds its
    # process's buffer lock, which stop() then cannot take, and will not get back until the handler returns.
    completed = _run_in_own_session(
        """
        import os, signal, sys
        from pathlib import Path

        from ataraxis_datalogger import DataLogger
        from ataraxis_datalogger._runtime import producer

        if __name__ == "__main__":
            logger = DataLogger(Path(sys.argv[1]), "interrupted_put", layout=sys.argv[2])

            def stop_and_exit(*_):
                logger.stop()
                print("stopped", logger.statistics.written, flush=True)
                sys.exit(0)

            signal.signal(signal.SIGTERM, stop_and_exit)
            logger.start()
            source = logger.source(1)
            for index in range(100):
                source.log(index, b"before")
            pack = producer._PACK_HEADER

            def pack_then_get_sigterm(*arguments):
                pack(*arguments)
                os.kill(os.getpid(), signal.SIGTERM)

            producer._PACK_HEADER = pack_then_get_sigterm
            source.log(100, b"interrupted")
            print("the put returned", flush=True)
        """,
        tmp_path,
        "stream",
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["stopped", "100"], completed.stdout + completed.stderr
    assert completed.stderr == ""
    assert len(helpers.read_entries(tmp_path / "interrupted_put_data_log")) == 100
