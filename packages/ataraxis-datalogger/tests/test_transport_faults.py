"""The transport under attack: producers, the logger process and the owner killed at random points."""

import contextlib
import multiprocessing
import os
import random
import signal
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from ataraxis_datalogger import DataLogger, DataLoggerError, DataLoggerWarning, LogPackage
from ataraxis_datalogger._runtime import _posix
from ataraxis_datalogger._runtime.layout import ring_name

SHM = Path("/dev/shm")
SIZES = (0, 600)


def _writer_pid(logger: DataLogger) -> int:
    assert logger._run is not None and logger._run.process is not None
    pid = logger._run.process.pid
    assert pid is not None
    return pid


def _leftovers(run: str) -> list[str]:
    return [name for name in os.listdir(SHM) if name.startswith((run, f"sem.{run}"))]


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "backend"), [(1, _posix.FAST), (2, _posix.FAST), (3, _posix.PORTABLE)])
def test_producers_killed_at_random_points_lose_only_their_unfinished_entry_and_block_nobody(
    fast_directory: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch, seed: int, backend: int
) -> None:
    monkeypatch.setattr(_posix, "DEFAULT_BACKEND", backend)
    rng = random.Random(seed)
    context = multiprocessing.get_context("forkserver")
    logger = DataLogger(fast_directory, "victims", buffer_size=8192)
    logger.start()
    counters = {source: context.Value("q", 0, lock=False) for source in range(2 + 12)}
    survivors = [
        context.Process(
            target=helpers.put_counting,
            args=(logger.input_queue, source, 4000, SIZES, counters[source], None, source == 1),
        )
        for source in (0, 1)
    ]
    for survivor in survivors:
        survivor.start()
    for source in range(2, 14):
        victim = context.Process(
            target=helpers.put_counting,
            args=(logger.input_queue, source, 10**7, SIZES, counters[source], None, source % 2 == 0),
        )
        victim.start()
        time.sleep(rng.uniform(0.05, 0.5))
        victim.kill()
        victim.join(helpers.JOIN_SECONDS)
    for survivor in survivors:
        survivor.join(helpers.JOIN_SECONDS)
        assert survivor.exitcode == 0
    helpers.call_with_deadline(logger.stop)
    statistics = logger.statistics
    assert statistics.written == statistics.submitted and statistics.lost == statistics.failed == 0
    on_disk = sum(
        helpers.check_prefix(logger.output_directory, source, counters[source].value, SIZES, spare=source >= 2)
        for source in counters
    )
    assert on_disk == statistics.written


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "pause", "layout"), [(1, False, "npy"), (2, True, "npy"), (3, False, "stream"), (4, True, "stream")]
)
def test_a_killed_logger_process_loses_nothing_accepted_and_writes_nothing_twice(
    fast_directory: Path, helpers: ModuleType, seed: int, pause: bool, layout: str
) -> None:
    rng = random.Random(seed)
    context = multiprocessing.get_context("forkserver")
    failures: list[DataLoggerError] = []
    logger = DataLogger(
        fast_directory,
        "writer_killed",
        buffer_size=1 << 16,
        on_failure=failures.append,
        layout=layout,  # type: ignore[arg-type]
    )
    logger.start()
    counters = [context.Value("q", 0, lock=False) for _ in range(3)]
    go = context.Event()
    producers = [
        context.Process(
            target=helpers.put_counting,
            args=(logger.input_queue, source, 30_000, (0, 200), counters[source], go, source == 2),
        )
        for source in range(3)
    ]
    for producer in producers:
        producer.start()
    go.set()
    time.sleep(rng.uniform(0.05, 0.4))
    writer = _writer_pid(logger)
    if pause:
        # A backlog in shared memory when the logger process dies.
        os.kill(writer, signal.SIGSTOP)
        time.sleep(0.3)
    os.kill(writer, signal.SIGKILL)
    for producer in producers:
        producer.join(helpers.JOIN_SECONDS)
        assert producer.exitcode == 0
    with pytest.raises(DataLoggerError, match=r"killed by signal SIGKILL[\s\S]*stop\(\) wrote the \d+ it had left"):
        helpers.call_with_deadline(logger.stop)
    assert failures
    statistics = logger.statistics
    assert statistics.written == statistics.submitted == sum(counter.value for counter in counters)
    assert statistics.lost == statistics.failed == statistics.pending == 0
    for source in range(3):
        helpers.check_prefix(logger.output_directory, source, counters[source].value, (0, 200), spare=0)
    assert not [name for name in os.listdir(logger.output_directory) if name.count("_") > 1]


@pytest.mark.parametrize("die_after", ["create", "link", "commit"])
def test_a_logger_killed_at_each_step_of_an_entry_writes_it_exactly_once(
    tmp_path: Path, helpers: ModuleType, die_after: str
) -> None:
    logger = DataLogger(tmp_path, "exactly_once")
    for index in range(20):
        logger.input_queue.put(LogPackage(1, index, helpers.payload(1, index, 10)))
    run = logger._run
    assert run is not None
    drainer = multiprocessing.get_context("spawn").Process(
        target=helpers.drain_and_die_at,
        args=(run.name, run.control.backend, logger.output_directory, die_after, 5),
    )
    drainer.start()
    drainer.join(helpers.JOIN_SECONDS)
    assert drainer.exitcode == 9
    assert len(os.listdir(logger.output_directory)) == (4 if die_after == "create" else 5)
    logger.start()
    logger.stop()
    helpers.assert_all_entries(logger.output_directory, {1: 20}, 10)
    assert logger.statistics.written == 20


def test_a_writer_whose_owner_is_killed_drains_everything_refuses_puts_and_removes_the_run(
    fast_directory: Path, helpers: ModuleType
) -> None:
    context = multiprocessing.get_context("spawn")
    report_in, report_out = context.Pipe(duplex=False)
    owner = context.Process(target=helpers.own_a_logger_and_report, args=(fast_directory, 500, report_out))
    owner.start()
    progress, result = context.Value("q", 0, lock=False), context.Queue()
    producer = None
    try:
        assert report_in.poll(helpers.JOIN_SECONDS), "the owner never reported its writer"
        writer, name = report_in.recv()
        # Paused, the writer lets a backlog build up in the buffers before the owner dies.
        os.kill(writer, signal.SIGSTOP)
        producer = context.Process(target=helpers.attach_and_put_counting, args=(name, 2, progress, result))
        producer.start()
        helpers.wait_for(lambda: progress.value > 200)
    finally:
        owner.kill()
        owner.join(helpers.JOIN_SECONDS)
        os.kill(writer, signal.SIGCONT)
    assert producer is not None
    message = result.get(timeout=helpers.JOIN_SECONDS)
    producer.join(helpers.JOIN_SECONDS)
    assert message.startswith("DataLoggerError: the process that owns DataLogger 'owned' died"), message
    helpers.wait_for(lambda: not helpers.process_exists(writer))
    directory = fast_directory / "owned_data_log"
    helpers.check_prefix(directory, 1, 500, (16, 16), spare=0)
    helpers.check_prefix(directory, 2, progress.value, (16, 16), spare=0)
    assert _leftovers(name) == []


def _killed_private_run(tmp_path: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A run whose owner was SIGKILLed, in a private shared-memory folder that this process then uses too.

    The run lives in a private folder (portable backend), so no other test's sweep can remove it first.
    """
    folder = tmp_path / "shm"
    folder.mkdir()
    context = multiprocessing.get_context("spawn")
    report_in, report_out = context.Pipe(duplex=False)
    owner = context.Process(target=helpers.own_a_run_in_a_private_folder, args=(tmp_path, str(folder), report_out))
    owner.start()
    try:
        assert report_in.poll(helpers.JOIN_SECONDS), "the owner never reported its run"
        name: str = report_in.recv()
    finally:
        owner.kill()
        owner.join(helpers.JOIN_SECONDS)
    monkeypatch.setattr(_posix, "_SHM_FOLDER", folder)
    monkeypatch.setattr(_posix, "DEFAULT_BACKEND", _posix.PORTABLE)
    return folder, name


def test_a_run_whose_processes_were_all_killed_is_swept_at_the_next_start(
    tmp_path: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, name = _killed_private_run(tmp_path, helpers, monkeypatch)
    assert sorted(os.listdir(folder)) == [name, ring_name(name, 0, 1)]
    unrelated = DataLogger(tmp_path / "elsewhere", "private")
    unrelated.input_queue  # noqa: B018  (creates a run: the sweep removes the stale one, silently: another folder)
    assert sorted(os.listdir(folder)) == [unrelated._run.name]  # type: ignore[union-attr]
    unrelated.stop()
    assert os.listdir(folder) == []


def test_the_next_run_into_the_folder_of_a_run_whose_processes_were_all_killed_reports_its_lost_entries(
    tmp_path: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = _killed_private_run(tmp_path, helpers, monkeypatch)
    logger = DataLogger(tmp_path, "private")
    message = f"an earlier run into {logger.output_directory} .* 10 entries its producers had put were never written"
    with pytest.warns(DataLoggerWarning, match=message):
        # Creating the run sweeps (its logger process would not find a private folder: it is not started).
        logger.input_queue  # noqa: B018
    logger.stop()
    assert os.listdir(folder) == []


@pytest.mark.parametrize(
    ("named", "backend"),
    [(True, _posix.FAST), (False, _posix.FAST), (False, _posix.PORTABLE)],
    ids=["named holder", "unnamed holder", "portable"],
)
def test_a_buffer_lock_held_by_a_dead_logger_does_not_block_its_producer(
    tmp_path: Path, helpers: ModuleType, monkeypatch: pytest.MonkeyPatch, named: bool, backend: int
) -> None:
    monkeypatch.setattr(_posix, "DEFAULT_BACKEND", backend)
    logger = DataLogger(tmp_path, "held")
    logger.input_queue.put(LogPackage(1, 0, b"before"))
    run = logger._run
    assert run is not None
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    holder = context.Process(
        target=helpers.hold_a_buffer_lock_and_die, args=(run.control.backend, ring_name(run.name, 0, 1), named, held)
    )
    holder.start()
    holder.join(helpers.JOIN_SECONDS)
    assert held.is_set() and holder.exitcode == 0
    helpers.call_with_deadline(lambda: logger.input_queue.put(LogPackage(1, 1, b"after")))
    logger.start()
    logger.stop()
    assert sorted(entry[2] for entry in helpers.read_entries(logger.output_directory).values()) == [b"after", b"before"]


@pytest.mark.slow
def test_a_producer_paused_in_the_middle_of_puts_does_not_hang_stop(fast_directory: Path, helpers: ModuleType) -> None:
    context = multiprocessing.get_context("forkserver")
    logger = DataLogger(fast_directory, "paused", buffer_size=8 << 20, stop_timeout=1.0)
    logger.start()
    counter = context.Value("q", 0, lock=False)
    producer = context.Process(
        target=helpers.put_counting, args=(logger.input_queue, 1, 10**6, (1 << 20, 1 << 20), counter, None, False)
    )
    producer.start()
    try:
        helpers.wait_for(lambda: counter.value > 3)
        assert producer.pid is not None
        os.kill(producer.pid, signal.SIGSTOP)
        try:
            helpers.call_with_deadline(logger.stop)
        except DataLoggerError as error:
            assert "held its buffer's lock for 1 s" in str(error)
        helpers.check_prefix(logger.output_directory, 1, counter.value, (1 << 20, 1 << 20), spare=1)
    finally:
        assert producer.pid is not None
        os.kill(producer.pid, signal.SIGCONT)
        producer.join(helpers.JOIN_SECONDS)
    assert producer.exitcode == 0


@pytest.mark.parametrize(("die_after", "cut"), [("stage", None), ("write", None), ("write", 7), ("commit", None)])
def test_a_logger_killed_at_each_step_of_a_stream_write_writes_each_entry_exactly_once(
    tmp_path: Path, helpers: ModuleType, die_after: str, cut: int | None
) -> None:
    logger = DataLogger(tmp_path, "stream_once", layout="stream")
    for index in range(20):
        logger.input_queue.put(LogPackage(1, index, helpers.payload(1, index, 10)))
    logger.input_queue.put("rejected once")
    run = logger._run
    assert run is not None
    drainer = multiprocessing.get_context("spawn").Process(
        target=helpers.drain_and_die_at,
        args=(run.name, run.control.backend, logger.output_directory, die_after, 1, True),
    )
    drainer.start()
    drainer.join(helpers.JOIN_SECONDS)
    assert drainer.exitcode == 9
    (segment,) = logger.output_directory.iterdir()
    if cut is not None:
        # As if the write had been cut short by the kill: records 0..cut-1 whole, record `cut` torn.
        header = segment.stat().st_size - 20 * 32
        os.truncate(segment, header + cut * 32 + 20)
    logger.start()
    with pytest.warns(DataLoggerWarning, match="skipped 1 objects"):
        logger.stop()
    helpers.assert_all_entries(logger.output_directory, {1: 20}, 10)
    statistics = logger.statistics
    assert (statistics.written, statistics.rejected) == (20, 1)


def test_an_owner_killed_in_the_middle_of_stop_leaves_every_entry_written_and_nothing_behind(
    fast_directory: Path, helpers: ModuleType
) -> None:
    context = multiprocessing.get_context("spawn")
    report_in, report_out = context.Pipe(duplex=False)
    owner = context.Process(target=helpers.own_a_logger_and_die_while_stopping, args=(fast_directory, 3000, report_out))
    owner.start()
    try:
        assert report_in.poll(helpers.JOIN_SECONDS), "the owner never reached stop()"
        writer, name = report_in.recv()
    finally:
        owner.kill()
        owner.join(helpers.JOIN_SECONDS)
    os.kill(writer, signal.SIGCONT)
    helpers.wait_for(lambda: not helpers.process_exists(writer))
    helpers.check_prefix(fast_directory / "stopping_data_log", 1, 3000, (16, 16), spare=0)
    assert _leftovers(name) == []


@pytest.mark.parametrize("layout", ["npy", "stream"])
def test_a_logger_process_killed_in_the_middle_of_stop_leaves_stop_to_write_the_rest(
    fast_directory: Path, helpers: ModuleType, layout: str
) -> None:
    from ataraxis_datalogger._runtime.layout import C_TARGETS_SET

    logger = DataLogger(fast_directory, "killed_while_stopping", layout=layout)  # type: ignore[arg-type]
    logger.start()
    writer = _writer_pid(logger)
    assert logger._run is not None
    control = logger._run.control
    os.kill(writer, signal.SIGSTOP)
    for index in range(5000):
        logger.input_queue.put(LogPackage(1, index, helpers.payload(1, index, 16)))
    outcome: list[BaseException] = []

    def stop() -> None:
        try:
            logger.stop()
        except BaseException as error:
            outcome.append(error)

    stopping = threading.Thread(target=stop)
    stopping.start()
    helpers.wait_for(lambda: bool(control.words[C_TARGETS_SET]))
    os.kill(writer, signal.SIGCONT)
    time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):  # it may have drained everything and exited already
        os.kill(writer, signal.SIGKILL)
    stopping.join(helpers.JOIN_SECONDS)
    assert not stopping.is_alive()
    if outcome:
        # Unless the logger process had finished already, stop() wrote the rest and says so.
        assert isinstance(outcome[0], DataLoggerError), outcome
        assert "stop() wrote the" in str(outcome[0])
    helpers.check_prefix(logger.output_directory, 1, 5000, (16, 16), spare=0)
    statistics = logger.statistics
    assert statistics.written == statistics.submitted == 5000


def test_stop_after_a_killed_logger_process_reports_exact_counts(fast_directory: Path, helpers: ModuleType) -> None:
    logger = DataLogger(fast_directory, "counted")
    logger.start()
    for index in range(300):
        logger.input_queue.put(LogPackage(1, index, helpers.payload(1, index, 1)))
    helpers.wait_for(lambda: logger.statistics.written == 300)
    writer = _writer_pid(logger)
    os.kill(writer, signal.SIGSTOP)
    for index in range(300, 1000):
        logger.input_queue.put(LogPackage(1, index, helpers.payload(1, index, 1)))
    os.kill(writer, signal.SIGKILL)
    helpers.wait_for(lambda: logger.failure is not None)
    assert "300 entries are on disk; 700 accepted entries are still in shared memory, which stop() writes" in str(
        logger.failure
    )
    expected = (
        r"killed by signal SIGKILL\nOf the 1000 objects accepted, 300 entries were on disk when it stopped; "
        r"stop\(\) wrote the 700 it had left in shared memory; none was lost"
    )
    with pytest.raises(DataLoggerError, match=expected):
        logger.stop()
    assert logger.statistics == (1000, 1000, 0, 0, logger.statistics.bytes_written, 700, 0)
    helpers.check_prefix(logger.output_directory, 1, 1000, (1, 1), spare=0)


def test_a_producer_waiting_for_room_learns_of_a_dead_logger_even_when_the_owner_cannot_tell_it(
    fast_directory: Path, helpers: ModuleType
) -> None:
    context = multiprocessing.get_context("spawn")
    report_in, report_out = context.Pipe(duplex=False)
    owner = context.Process(target=helpers.own_a_logger_and_report, args=(fast_directory, 10, report_out))
    owner.start()
    progress, result = context.Value("q", 0, lock=False), context.Queue()
    try:
        assert report_in.poll(helpers.JOIN_SECONDS), "the owner never reported its writer"
        writer, name = report_in.recv()
        assert owner.pid is not None
        # Frozen, the owner's watchdog cannot mark the run dead or close the buffers.
        helpers.stop_process(owner.pid)
        os.kill(writer, signal.SIGKILL)
        producer = context.Process(target=helpers.attach_and_put_counting, args=(name, 2, progress, result))
        producer.start()
        message = result.get(timeout=helpers.JOIN_SECONDS)
        producer.join(helpers.JOIN_SECONDS)
    finally:
        owner.kill()
        owner.join(helpers.JOIN_SECONDS)
    assert message.startswith("DataLoggerError: the logger process of DataLogger 'owned' died"), message
    assert progress.value > 0
