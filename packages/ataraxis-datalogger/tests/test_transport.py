"""The shared-memory transport: bounded buffers, wrap-around, threads, the hot path, handing the queue around."""

import array
import concurrent.futures
import multiprocessing
import os
import pickle
import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from ataraxis_datalogger import (
    DataLogger,
    DataLoggerError,
    DataLoggerTypeError,
    DataLoggerValueError,
    EntryTooLargeError,
    LogPackage,
    LogQueue,
    LogSource,
)
from ataraxis_datalogger._runtime import _posix

SHM = Path("/dev/shm")


def _buffers_of(logger: DataLogger) -> list[str]:
    run = logger._run
    assert run is not None
    return [name for name in os.listdir(SHM) if name.startswith(f"{run.name}r")]


def test_records_that_straddle_the_end_of_a_small_buffer_arrive_whole(
    fast_directory: Path, helpers: ModuleType
) -> None:
    sizes = (0, 3000)
    with DataLogger(fast_directory, "wrap", buffer_size=4096) as logger:
        source = logger.source(2)
        for index in range(400):
            data = helpers.payload(1, index, helpers.entry_size(index, sizes))
            logger.input_queue.put(LogPackage(1, index, data))
            source.log(index, helpers.payload(2, index, helpers.entry_size(index, sizes)))
    helpers.check_prefix(logger.output_directory, 1, 400, sizes, spare=0)
    helpers.check_prefix(logger.output_directory, 2, 400, sizes, spare=0)
    assert logger.statistics.written == logger.statistics.submitted == 800


def test_a_full_buffer_makes_puts_wait_or_raise_queue_full_never_drop(
    fast_directory: Path, helpers: ModuleType
) -> None:
    logger = DataLogger(fast_directory, "full", buffer_size=4096)
    put = logger.input_queue.put
    accepted = 0
    with pytest.raises(queue.Full):
        # Not started: nothing drains the buffer, so it fills up.
        for index in range(1000):
            put(LogPackage(1, index, helpers.payload(1, index, 100)), block=False)
            accepted += 1
    assert 0 < accepted < 1000
    with pytest.raises(queue.Full):
        put(LogPackage(1, accepted, helpers.payload(1, accepted, 100)), timeout=0.05)
    with pytest.raises(queue.Full):
        logger.input_queue.put_nowait(LogPackage(1, accepted, helpers.payload(1, accepted, 100)))
    assert logger.statistics.submitted == accepted

    # A put that waits for room completes once the logger runs and frees it.
    waiting = threading.Thread(target=put, args=(LogPackage(1, accepted, helpers.payload(1, accepted, 100)),))
    waiting.start()
    logger.start()
    waiting.join(helpers.JOIN_SECONDS)
    assert not waiting.is_alive()
    for index in range(accepted + 1, 1000):
        put(LogPackage(1, index, helpers.payload(1, index, 100)))
    logger.stop()
    helpers.assert_all_entries(logger.output_directory, {1: 1000}, 100)


def test_an_entry_larger_than_the_buffer_is_refused_naming_its_size(tmp_path: Path) -> None:
    with DataLogger(tmp_path, "large", buffer_size=4096) as logger:
        message = r"an entry of 5000 bytes \(it takes 5024 bytes with its header\) does not fit the logger's buffer of "
        with pytest.raises(EntryTooLargeError, match=message + "4096 bytes .* buffer_size of at least 5024"):
            logger.input_queue.put(LogPackage(1, 1, bytes(5000)))
        with pytest.raises(EntryTooLargeError, match="an entry of 4077 bytes"):
            logger.source(1).log(1, bytes(4077))
        logger.source(1).log(2, bytes(4076))
    assert logger.statistics.written == 1


def test_each_producer_buffer_is_exactly_buffer_size_and_goes_away_at_stop(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "bounded", buffer_size=100_003)
    assert logger.buffer_size == 100_000
    logger.start()
    logger.input_queue.put(LogPackage(1, 1, b"x"))
    (name,) = [name for name in _buffers_of(logger) if not name.startswith("sem.")]
    assert (SHM / name).stat().st_size == 4096 + 100_000
    logger.stop()
    assert not (SHM / name).exists()


@pytest.mark.parametrize(
    ("size", "error", "message"),
    [
        (True, DataLoggerTypeError, "buffer_size must be an integer"),
        (4095, DataLoggerValueError, "at least 4096 bytes, got 4095"),
    ],
)
def test_bad_buffer_sizes_are_refused(tmp_path: Path, size: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        DataLogger(tmp_path, "bad", buffer_size=size)


def test_threads_of_one_process_share_its_buffer(fast_directory: Path, helpers: ModuleType) -> None:
    with DataLogger(fast_directory, "threads", buffer_size=16384) as logger:
        threads = [
            threading.Thread(
                target=helpers.put_counting,
                args=(logger.input_queue, source, 3000, (0, 200), multiprocessing.Value("q", 0), None, source % 2),
            )
            for source in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(helpers.JOIN_SECONDS)
        assert len([name for name in _buffers_of(logger) if not name.startswith("sem.")]) == 1
    for source in range(8):
        helpers.check_prefix(logger.output_directory, source, 3000, (0, 200), spare=0)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x01\x02\x03",
        bytearray(b"\x01\x02\x03"),
        memoryview(b"\x01\x02\x03"),
        np.array([1, 2, 3], dtype=np.uint8),
        np.array([1, 9, 2, 9, 3], dtype=np.uint8)[::2],
        memoryview(np.array([[1, 2, 3]], dtype=np.uint8)),
        array.array("B", [1, 2, 3]),
    ],
    ids=["bytes", "bytearray", "memoryview", "array", "strided", "2-D memoryview", "array.array"],
)
def test_the_hot_path_takes_what_log_package_takes(tmp_path: Path, helpers: ModuleType, payload: Any) -> None:
    with DataLogger(tmp_path, "hot") as logger:
        logger.source(np.uint8(4)).log(np.uint64(2**64 - 1), payload)
    assert list(helpers.read_entries(logger.output_directory).values()) == [(4, 2**64 - 1, b"\x01\x02\x03")]


@pytest.mark.parametrize(
    ("time_stamp", "payload", "error", "message"),
    [
        (1.5, b"", DataLoggerTypeError, r"time_stamp must be an integer .* got 1.5 \(float\)"),
        (True, b"", DataLoggerTypeError, "got the boolean True"),
        (-1, b"", DataLoggerValueError, "time_stamp must be from 0 to .*, got -1"),
        (2**64, b"", DataLoggerValueError, f"got {2**64}"),
        (1, "text", DataLoggerTypeError, "bytes-like .* got str"),
        (1, np.zeros(3, dtype=np.float64), DataLoggerTypeError, "must be a uint8 array, got dtype float64"),
        (1, np.zeros((2, 3), dtype=np.uint8), DataLoggerValueError, r"one-dimensional array, got shape \(2, 3\)"),
        (1, None, DataLoggerTypeError, "got NoneType"),
    ],
)
def test_the_hot_path_refuses_bad_values_and_logs_nothing(
    tmp_path: Path, time_stamp: Any, payload: Any, error: type, message: str
) -> None:
    with DataLogger(tmp_path, "hot_bad") as logger:
        source = logger.source(1)
        with pytest.raises(error, match=message):
            source.log(time_stamp, payload)
        source.log(5, b"after")
    assert logger.statistics.written == logger.statistics.submitted == 1


@pytest.mark.parametrize(
    ("source_id", "error"), [(256, DataLoggerValueError), (-1, DataLoggerValueError), (1.0, DataLoggerTypeError)]
)
def test_a_source_handle_checks_its_id(tmp_path: Path, source_id: Any, error: type) -> None:
    logger = DataLogger(tmp_path, "source_id")
    with pytest.raises(error, match="source_id"):
        logger.source(source_id)
    logger.stop()


def test_queues_and_sources_reach_spawned_children_and_pool_tasks(tmp_path: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("spawn")
    with DataLogger(tmp_path, "handed") as logger:
        source = logger.source(3)
        assert isinstance(pickle.loads(pickle.dumps(source)), LogSource)
        child = context.Process(target=helpers.put_entries, args=(logger.input_queue, 1, 50, 16))
        child.start()
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
            pids = set(pool.map(helpers.put_forever_in_a_pool_task, [logger.input_queue] * 4, [2] * 4, [25] * 4))
        child.join(helpers.JOIN_SECONDS)
        assert child.exitcode == 0
    entries = helpers.read_entries(logger.output_directory).values()
    assert sorted(stamp for source_id, stamp, _ in entries if source_id == 1) == list(range(50))
    # Each task logs timestamps 0..24 of source 2; every one of the 4 x 25 entries is kept (ties get _n names).
    assert len([stamp for source_id, stamp, _ in entries if source_id == 2]) == 100
    assert 1 <= len(pids) <= 2


def test_a_program_started_from_a_shell_attaches_by_name(tmp_path: Path, helpers: ModuleType) -> None:
    script = tmp_path / "attach.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from ataraxis_datalogger import LogPackage, LogQueue

            queue = LogQueue.attach(sys.argv[1])
            queue.put(LogPackage(9, 1, b"from a shell"))
            queue.source(9).log(2, b"hot path from a shell")
            """
        )
    )
    with DataLogger(tmp_path, "by_name") as logger:
        name = logger.input_queue.name
        completed = subprocess.run([sys.executable, str(script), name], capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stderr
    assert sorted(entry[2] for entry in helpers.read_entries(logger.output_directory).values()) == [
        b"from a shell",
        b"hot path from a shell",
    ]
    with pytest.raises(DataLoggerError, match="no running DataLogger has the queue"):
        LogQueue.attach(name)


def test_a_forked_child_makes_its_own_buffer(tmp_path: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("fork")
    logger = DataLogger(tmp_path, "forked")
    queue_ = logger.input_queue
    queue_.put(LogPackage(1, 0, b"parent, before the fork"))
    source = queue_.source(3)
    source.log(100, b"parent, hot path")
    # Forked before start(), while this process has no other thread (forking a threaded process is unsafe). The
    # children inherit the queue and the source with this process's buffer cached: each must make its own.
    children = [
        context.Process(target=helpers.put_entries, args=(queue_, 2, 20, 8)),
        context.Process(target=helpers.log_through, args=(source, 20)),
    ]
    for child in children:
        child.start()
        child.join(helpers.JOIN_SECONDS)
        assert child.exitcode == 0
    assert logger._run is not None and logger._run.control.slots_used == 3
    logger.start()
    queue_.put(LogPackage(1, 1, b"parent, after the fork"))
    logger.stop()
    entries = helpers.read_entries(logger.output_directory).values()
    assert len([entry for entry in entries if entry[0] == 2]) == 20
    assert len([entry for entry in entries if entry[0] == 3]) == 21
    assert sorted(entry[2] for entry in entries if entry[0] == 1) == [
        b"parent, after the fork",
        b"parent, before the fork",
    ]


def test_slots_of_ended_producers_are_reused_and_a_full_table_is_refused(
    tmp_path: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ataraxis_datalogger._runtime import logger_run

    monkeypatch.setattr(logger_run, "DEFAULT_SLOTS", 2)
    context = multiprocessing.get_context("spawn")
    with DataLogger(tmp_path, "slots") as logger:
        logger.input_queue.put(LogPackage(0, 0, b"owner"))  # the owner holds one slot for the whole run
        for source in range(1, 5):
            child = context.Process(target=helpers.put_entries, args=(logger.input_queue, source, 30, 8))
            child.start()
            child.join(helpers.JOIN_SECONDS)
            assert child.exitcode == 0
        result, release = context.Queue(), context.Event()
        lingering = context.Process(target=helpers.put_and_linger, args=(logger.input_queue, result, release))
        lingering.start()
        assert result.get(timeout=helpers.JOIN_SECONDS) == "ok"
        third = context.Process(target=helpers.put_and_linger, args=(logger.input_queue, result, release))
        third.start()
        message = result.get(timeout=helpers.JOIN_SECONDS)
        release.set()
        third.join(helpers.JOIN_SECONDS)
        lingering.join(helpers.JOIN_SECONDS)
        assert message.startswith("DataLoggerError: 2 producer processes already hold a buffer"), message
    assert logger.statistics.written == 1 + 4 * 30 + 1


def test_the_portable_backend_works_alike(
    fast_directory: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_posix, "DEFAULT_BACKEND", _posix.PORTABLE)
    context = multiprocessing.get_context("spawn")
    counters = [context.Value("q", 0) for _ in range(2)]
    with DataLogger(fast_directory, "portable", buffer_size=8192) as logger:
        assert logger._run is not None and logger._run.control.backend == _posix.PORTABLE
        children = [
            context.Process(
                target=helpers.put_counting,
                args=(logger.input_queue, source, 2000, (0, 300), counters[source], None, source == 1),
            )
            for source in (0, 1)
        ]
        for child in children:
            child.start()
        for child in children:
            child.join(helpers.JOIN_SECONDS)
        assert not [name for name in os.listdir(SHM) if name.startswith(f"sem.{logger._run.name}")]
    for source in (0, 1):
        helpers.check_prefix(logger.output_directory, source, 2000, (0, 300), spare=0)
