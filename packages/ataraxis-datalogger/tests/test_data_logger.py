"""DataLogger with real processes and real files: the life cycle, and stop() losing nothing put before it."""

import multiprocessing
import os
import pickle
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ataraxis_datalogger import (
    DataLogger,
    DataLoggerError,
    DataLoggerTypeError,
    DataLoggerValueError,
    DataLoggerWarning,
    LogPackage,
    LogQueue,
    LogStatistics,
    read_logs,
)


def test_the_seed_example_up_to_stop(tmp_path: Path) -> None:
    logger = DataLogger(output_directory=tmp_path, instance_name="my_name")
    assert logger.output_directory == tmp_path / "my_name_data_log"
    assert logger.output_directory.is_dir()
    logger.start()
    logger_queue = logger.input_queue
    source_id = np.uint8(1)
    first = np.array([1, 2, 3, 4, 5], dtype=np.uint8)
    logger_queue.put(LogPackage(source_id, np.uint64(1000), first))
    second = np.array([6, 7, 8, 9, 10], dtype=np.uint8)
    logger_queue.put(LogPackage(source_id, np.uint64(1001), second))
    logger.stop()
    files = sorted(logger.output_directory.glob("**/*.npy"))
    assert [path.name for path in files] == ["001_00000000000000001000.npy", "001_00000000000000001001.npy"]
    assert np.load(files[0]).tobytes() == b"\x01" + (1000).to_bytes(8, "little") + first.tobytes()
    assert np.load(files[1]).tobytes() == b"\x01" + (1001).to_bytes(8, "little") + second.tobytes()
    assert logger.statistics == LogStatistics(
        submitted=2, written=2, rejected=0, failed=0, bytes_written=sum(path.stat().st_size for path in files)
    )


def test_compress_logs_archives_the_logger_folder_with_ties_in_arrival_order(tmp_path: Path) -> None:
    with DataLogger(tmp_path, "archived") as logger:
        for index in range(4):
            logger.input_queue.put(LogPackage(3, 50 - index // 2, bytes([index])))
    report = logger.compress_logs(remove_sources=True, verify_integrity=True)
    assert report.sources[3].entries_archived == 4
    assert sorted(path.name for path in logger.output_directory.iterdir()) == ["3_log.npz"]
    with read_logs(logger.output_directory)[3] as reader:
        assert [(int(stamp), payload.tobytes()) for stamp, payload in reader] == [
            (49, b"\x02"),
            (49, b"\x03"),
            (50, b"\x00"),
            (50, b"\x01"),
        ]


def test_life_cycle_properties_repr_and_idempotence(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "cycle")
    assert not logger.started
    assert (
        repr(logger)
        == f"DataLogger(instance_name='cycle', output_directory='{tmp_path}/cycle_data_log', started=False)"
    )
    logger.stop()
    logger.start()
    logger.start()
    assert logger.started
    assert "started=True" in repr(logger)
    assert isinstance(logger.input_queue, LogQueue)
    assert logger.input_queue is logger.input_queue
    logger.stop()
    logger.stop()
    assert not logger.started
    assert logger.failure is None


def test_a_logger_restarts_and_each_run_has_its_own_queue(tmp_path: Path, helpers: ModuleType) -> None:
    logger = DataLogger(tmp_path, "restart")
    with logger:
        first_queue = logger.input_queue
        first_queue.put(LogPackage(1, 1, b"first run"))
    assert logger.statistics.written == 1
    with pytest.raises(DataLoggerError, match="was stopped: this queue belongs to a finished run"):
        first_queue.put(LogPackage(1, 2, b"too late"))
    with logger:
        assert logger.input_queue is not first_queue
        logger.input_queue.put(LogPackage(1, 2, b"second run"))
    assert logger.statistics == LogStatistics(1, 1, 0, 0, logger.statistics.bytes_written)
    assert {entry[2] for entry in helpers.read_entries(logger.output_directory).values()} == {
        b"first run",
        b"second run",
    }


def test_entries_put_before_start_wait_for_it(tmp_path: Path, helpers: ModuleType) -> None:
    logger = DataLogger(tmp_path, "early")
    queue = logger.input_queue
    for index in range(50):
        queue.put(LogPackage(4, index, helpers.payload(4, index, 16)))
    logger.start()
    logger.stop()
    helpers.assert_all_entries(logger.output_directory, {4: 50}, 16)


def test_entries_put_on_a_logger_that_is_never_started_are_reported(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "never")
    logger.input_queue.put(LogPackage(1, 1, b"lost"))
    with pytest.warns(DataLoggerWarning, match="never started: 1 objects put on its queue were discarded"):
        logger.stop()
    assert list(logger.output_directory.iterdir()) == []


def test_several_loggers_run_at_once(tmp_path: Path, helpers: ModuleType) -> None:
    loggers = [DataLogger(tmp_path, f"logger_{index}") for index in range(3)]
    for logger in loggers:
        logger.start()
    for index, logger in enumerate(loggers):
        for entry in range(20):
            logger.input_queue.put(LogPackage(index, entry, helpers.payload(index, entry, 10)))
    for logger in loggers:
        logger.stop()
    for index, logger in enumerate(loggers):
        helpers.assert_all_entries(logger.output_directory, {index: 20}, 10)


def test_a_later_run_with_restarted_timestamps_overwrites_nothing(tmp_path: Path, helpers: ModuleType) -> None:
    for run in range(2):
        with DataLogger(tmp_path, "counter") as logger:
            for index in range(5):
                logger.input_queue.put(LogPackage(1, index, f"run {run}".encode()))
    entries = helpers.read_entries(tmp_path / "counter_data_log")
    assert len(entries) == 10
    for index in range(5):
        assert entries[f"001_{index:020d}.npy"][2] == b"run 0"
        assert entries[f"001_{index:020d}_1.npy"][2] == b"run 1"


def test_duplicates_within_a_run_are_numbered_in_arrival_order(tmp_path: Path, helpers: ModuleType) -> None:
    with DataLogger(tmp_path, "ties") as logger:
        for index in range(5):
            logger.input_queue.put(LogPackage(2, 99, bytes([index])))
    entries = helpers.read_entries(logger.output_directory)
    assert entries["002_00000000000000000099.npy"][2] == b"\x00"
    assert [entries[f"002_00000000000000000099_{n}.npy"][2] for n in range(1, 5)] == [bytes([n]) for n in range(1, 5)]


def test_spawned_producers_that_put_and_exit_at_once_lose_nothing(tmp_path: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("spawn")
    logger = DataLogger(tmp_path, "spawned")
    logger.start()
    done = [context.Event() for _ in range(3)]
    producers = [
        context.Process(target=helpers.put_entries, args=(logger.input_queue, source, 300, 16, None, done[source]))
        for source in range(3)
    ]
    for producer in producers:
        producer.start()
    helpers.stop_when_producers_are_done(logger, producers, done, {0: 300, 1: 300, 2: 300}, 16)


def test_eight_forked_producers_at_once(fast_directory: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("fork")
    logger = DataLogger(fast_directory, "eight")
    queue = logger.input_queue
    go = context.Event()
    done = [context.Event() for _ in range(8)]
    # Forked before start(), while this process has no other thread (forking a threaded process is unsafe).
    producers = [
        context.Process(target=helpers.put_entries, args=(queue, source, 1000, 32, go, done[source]))
        for source in range(8)
    ]
    for producer in producers:
        producer.start()
    logger.start()
    go.set()
    helpers.stop_when_producers_are_done(logger, producers, done, dict.fromkeys(range(8), 1000), 32)


def test_a_forked_child_may_use_the_inherited_logger_queue_only(tmp_path: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("fork")
    logger = DataLogger(tmp_path, "inherited")
    logger.input_queue  # noqa: B018  (creates the run, so the child inherits its queue)
    go, result = context.Event(), context.SimpleQueue()
    child = context.Process(target=helpers.use_inherited_logger, args=(logger, go, result))
    child.start()
    logger.start()
    go.set()
    message = result.get()
    child.join(helpers.JOIN_SECONDS)
    assert message.startswith("DataLoggerError: DataLogger 'inherited' belongs to process"), message
    logger.stop()
    assert [entry[2] for entry in helpers.read_entries(logger.output_directory).values()] == [b"from a forked child"]


def test_stop_with_a_hundred_thousand_entries_queued(fast_directory: Path, helpers: ModuleType) -> None:
    logger = DataLogger(fast_directory, "backlog")
    queue = logger.input_queue
    for index in range(100_000):
        queue.put(LogPackage(index % 4, index, index.to_bytes(8, "little")))
    logger.start()
    logger.stop()
    assert logger.statistics.written == 100_000
    names = os.listdir(logger.output_directory)
    assert len(names) == 100_000
    assert sorted(names) == sorted(f"{index % 4:03d}_{index:020d}.npy" for index in range(100_000))
    for name in names[::997]:
        index = int(name[4:24])
        content = (logger.output_directory / name).read_bytes()
        assert content[-8:] == index.to_bytes(8, "little")


def test_a_put_from_another_process_after_stop_raises_there(tmp_path: Path, helpers: ModuleType) -> None:
    logger = DataLogger(tmp_path, "late")
    logger.start()
    producer = helpers.LateProducer(logger.input_queue)
    logger.stop()
    message = producer.put()
    assert message.startswith("DataLoggerError: DataLogger 'late' was stopped"), message
    assert list(logger.output_directory.iterdir()) == []


def test_fsync_on_stop(tmp_path: Path, helpers: ModuleType) -> None:
    with DataLogger(tmp_path, "durable", fsync_on_stop=True) as logger:
        logger.input_queue.put(LogPackage(1, 1, b"on disk"))
    assert [entry[2] for entry in helpers.read_entries(logger.output_directory).values()] == [b"on disk"]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"instance_name": ""}, DataLoggerValueError, "non-empty name without path separators, got ''"),
        ({"instance_name": "a/b"}, DataLoggerValueError, "got 'a/b'"),
        ({"instance_name": ".."}, DataLoggerValueError, "got '..'"),
        ({"instance_name": 5}, DataLoggerTypeError, r"instance_name must be a string, got 5 \(int\)"),
        ({"stop_timeout": 0}, DataLoggerValueError, "stop_timeout must be a positive number of seconds, got 0"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, arguments: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        DataLogger(tmp_path, **arguments)  # type: ignore[arg-type]


def test_a_logger_cannot_be_pickled(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="pass its input_queue instead"):
        pickle.dumps(DataLogger(tmp_path, "pickled"))


def test_the_log_folder_is_created_with_its_parents(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path / "a" / "b", "nested")
    assert logger.output_directory == tmp_path / "a" / "b" / "nested_data_log"
    assert logger.output_directory.is_dir()
