"""DataLogger when things go wrong: a killed logger process, bad objects, disk errors, lost puts, forgotten stops."""

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import ModuleType

import pytest

from ataraxis_datalogger import DataLogger, DataLoggerError, DataLoggerWarning, LogPackage

SHM = Path("/dev/shm")


def _writer_process(logger: DataLogger) -> multiprocessing.process.BaseProcess:
    (process,) = [
        child for child in multiprocessing.active_children() if child.name == f"DataLogger[{logger.instance_name}]"
    ]
    return process


class _BadRepr:
    """An object whose repr raises: its rejection must still be reported."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_a_writer_whose_owner_is_killed_writes_what_it_received_and_exits(tmp_path: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("spawn")
    report_in, report_out = context.Pipe(duplex=False)
    owner = context.Process(target=helpers.own_a_logger_until_killed, args=(tmp_path, 500, 16, report_out))
    owner.start()
    try:
        assert report_in.poll(helpers.JOIN_SECONDS), "the owner never reported its writer"
        writer_pid = report_in.recv()
    finally:
        owner.kill()
        owner.join(helpers.JOIN_SECONDS)

    helpers.wait_for(lambda: not helpers.process_exists(writer_pid))
    helpers.assert_all_entries(tmp_path / "orphaned_writer_data_log", {1: 500}, 16)


def test_a_killed_logger_process_is_reported_and_stop_does_not_hang(tmp_path: Path, helpers: ModuleType) -> None:
    failures: list[DataLoggerError] = []
    notified = threading.Event()

    def on_failure(error: DataLoggerError) -> None:
        failures.append(error)
        notified.set()

    logger = DataLogger(tmp_path, "killed", on_failure=on_failure)
    logger.start()
    queue = logger.input_queue
    queue.put(LogPackage(1, 1, b"written before the kill"))
    helpers.wait_for(lambda: logger.statistics.written == 1)
    os.kill(_writer_process(logger).pid, signal.SIGKILL)

    assert notified.wait(helpers.JOIN_SECONDS)
    (failure,) = failures
    assert "the logger process of DataLogger 'killed'" in str(failure)
    assert "was killed by signal SIGKILL" in str(failure)
    assert logger.failure is failure
    with pytest.raises(DataLoggerError, match="the logger process of DataLogger 'killed' died"):
        queue.put(LogPackage(1, 2, b"refused"))
    with pytest.raises(DataLoggerError, match="call stop"):
        logger.input_queue  # noqa: B018
    with pytest.raises(DataLoggerError, match="call stop"):
        logger.start()
    with pytest.raises(DataLoggerError, match="killed by signal SIGKILL"):
        helpers.call_with_deadline(logger.stop)
    assert not logger.started
    logger.stop()

    with logger:
        logger.input_queue.put(LogPackage(1, 3, b"after the restart"))
    payloads = sorted(entry[2] for entry in helpers.read_entries(logger.output_directory).values())
    assert payloads == [b"after the restart", b"written before the kill"]


def test_a_producer_learns_of_the_death_on_its_next_put(tmp_path: Path, helpers: ModuleType) -> None:
    logger = DataLogger(tmp_path, "orphaned_producer")
    logger.start()
    producer = helpers.LateProducer(logger.input_queue)
    os.kill(_writer_process(logger).pid, signal.SIGKILL)
    helpers.wait_for(lambda: logger.failure is not None)
    message = producer.put()
    assert message.startswith("DataLoggerError: the logger process of DataLogger 'orphaned_producer' died"), message
    with pytest.raises(DataLoggerError):
        helpers.call_with_deadline(logger.stop)


def test_objects_that_are_not_packages_are_skipped_and_reported(tmp_path: Path, helpers: ModuleType) -> None:
    logger = DataLogger(tmp_path, "malformed")
    logger.start()
    queue = logger.input_queue
    bad_objects = ["a string", {"a": "dict"}, None, lambda: None, _BadRepr(), b"bytes that are not an entry"]
    for index, bad in enumerate(bad_objects):
        queue.put(LogPackage(1, index, helpers.payload(1, index, 8)))
        queue.put(bad)
    queue.put(LogPackage(1, len(bad_objects), helpers.payload(1, len(bad_objects), 8)))
    with pytest.warns(DataLoggerWarning) as caught:
        logger.stop()
    (warning,) = caught
    message = str(warning.message)
    assert "skipped 6 objects that were not log packages" in message
    assert "'a string' (str, not a LogPackage)" in message
    assert "(dict, not a LogPackage)" in message
    assert "None (NoneType, not a LogPackage)" in message
    assert "(function, not a LogPackage)" in message
    assert "(_BadRepr, not a LogPackage)" in message
    assert "b'bytes that are not an entry' (bytes, not a LogPackage)" in message
    helpers.assert_all_entries(logger.output_directory, {1: len(bad_objects) + 1}, 8)
    statistics = logger.statistics
    assert (statistics.submitted, statistics.written, statistics.rejected, statistics.failed) == (13, 7, 6, 0)


def test_a_removed_log_folder_is_reported_not_swallowed(tmp_path: Path, helpers: ModuleType) -> None:
    failures: list[DataLoggerError] = []
    logger = DataLogger(tmp_path, "removed", on_failure=failures.append)
    logger.start()
    logger.input_queue.put(LogPackage(1, 1, b"kept"))
    helpers.wait_for(lambda: logger.statistics.written == 1)
    shutil.rmtree(logger.output_directory)
    logger.output_directory.write_bytes(b"a file where the log folder was")
    for index in range(2, 5):
        logger.input_queue.put(LogPackage(1, index, b"cannot be written"))
    helpers.wait_for(lambda: bool(failures))
    assert "could not write entry of source 1 at 2" in str(failures[0])
    with pytest.raises(
        DataLoggerError, match=r"3 of 4 entries could not be written to .*removed_data_log: .*log folder was removed"
    ):
        logger.stop()
    assert logger.statistics.failed == 3
    assert logger.output_directory.read_bytes() == b"a file where the log folder was"


def _run_program(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Runs a Python program (in a fresh interpreter) that uses the logger, with a generous hang guard."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-W", "error", str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_logger_left_running_is_stopped_at_exit_with_every_entry(tmp_path: Path, helpers: ModuleType) -> None:
    completed = _run_program(
        """
        import sys
        from pathlib import Path
        from ataraxis_datalogger import DataLogger, LogPackage

        if __name__ == "__main__":
            logger = DataLogger(Path(sys.argv[1]), "forgotten")
            logger.start()
            for index in range(500):
                logger.input_queue.put(LogPackage(3, index, index.to_bytes(4, "little")))
            forgotten_but_collected = DataLogger(Path(sys.argv[1]), "collected")
            forgotten_but_collected.start()
            forgotten_but_collected.input_queue.put(LogPackage(4, 0, b"collected"))
            del forgotten_but_collected
            print("exiting without stop()")
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert len(helpers.read_entries(tmp_path / "forgotten_data_log")) == 500
    assert len(helpers.read_entries(tmp_path / "collected_data_log")) == 1


def test_a_logger_left_running_in_a_child_process_is_stopped_when_the_child_ends(
    tmp_path: Path, helpers: ModuleType
) -> None:
    # 200 entries of 64 KiB: far more than the pipe holds, so most are still in the child's queue when it returns.
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=helpers.own_a_logger_in_a_global_and_return, args=(tmp_path, 200, 64 * 1024))
    child.start()
    child.join(helpers.JOIN_SECONDS)
    if child.is_alive():
        child.kill()
        child.join(helpers.JOIN_SECONDS)
        pytest.fail("a child that left its logger running did not exit")
    assert child.exitcode == 0
    helpers.assert_all_entries(tmp_path / "global_in_child_data_log", {1: 200}, 64 * 1024)
    prefix = f"adl{child.pid:x}_"
    assert not [name for name in os.listdir(SHM) if name.startswith((prefix, f"sem.{prefix}"))]


def test_exit_after_the_logger_process_died_does_not_hang(tmp_path: Path) -> None:
    completed = _run_program(
        """
        import multiprocessing, os, signal, sys, time
        from pathlib import Path
        from ataraxis_datalogger import DataLogger, LogPackage

        if __name__ == "__main__":
            logger = DataLogger(Path(sys.argv[1]), "dead_at_exit")
            logger.start()
            for index in range(20_000):
                logger.input_queue.put(LogPackage(1, index, b"x" * 64))
            (writer,) = multiprocessing.active_children()
            os.kill(writer.pid, signal.SIGKILL)
            while logger.failure is None:
                time.sleep(0.01)
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "stopped at exit" in completed.stderr
    assert "killed by signal SIGKILL" in completed.stderr


def test_a_removed_stream_log_folder_is_reported_not_swallowed(tmp_path: Path, helpers: ModuleType) -> None:
    # The logger appends to a segment it holds open: removing the folder leaves it writing into a deleted file.
    failures: list[DataLoggerError] = []
    logger = DataLogger(tmp_path, "removed", layout="stream", on_failure=failures.append)
    logger.start()
    logger.source(1).log(1, b"kept")
    helpers.wait_for(lambda: logger.statistics.written == 1)
    shutil.rmtree(logger.output_directory)
    for index in range(2, 5):
        logger.source(1).log(index, b"cannot be written")
        # One batch per entry, so that each is refused on its own.
        helpers.wait_for(lambda index=index: logger.statistics.written + logger.statistics.failed == index)
    helpers.wait_for(lambda: bool(failures))
    assert "was removed" in str(failures[0])
    with pytest.raises(DataLoggerError, match=r"3 of 4 entries could not be written to .*removed_data_log: .*removed"):
        logger.stop()
    assert (logger.statistics.written, logger.statistics.failed) == (1, 3)


def test_a_removed_stream_segment_is_reported_and_the_next_entries_go_to_a_new_one(
    tmp_path: Path, helpers: ModuleType
) -> None:
    logger = DataLogger(tmp_path, "segment_removed", layout="stream")
    logger.start()
    logger.source(1).log(1, b"in the removed segment")
    helpers.wait_for(lambda: logger.statistics.written == 1)
    (segment,) = logger.output_directory.glob("*.adlog")
    segment.unlink()
    logger.source(1).log(2, b"refused")
    helpers.wait_for(lambda: logger.statistics.failed == 1)
    logger.source(1).log(3, b"in a new segment")
    with pytest.raises(DataLoggerError, match=rf"1 of 3 entries could not be written .*{segment.name} was removed"):
        logger.stop()
    assert [entry[2] for entry in helpers.read_entries(logger.output_directory).values()] == [b"in a new segment"]
