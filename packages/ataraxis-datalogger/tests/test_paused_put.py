"""A producer frozen (SIGSTOP) in the middle of a put while `stop()` runs: its put never reports a lost entry as put.

`stop()` waits `stop_timeout` for the frozen producer's buffer lock, then closes the buffer without it. Whether the
entry in flight is logged then depends on when the producer resumes: before the logger drained its buffer (logged,
the put returns) or after (not logged, the put raises).
"""

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ataraxis_datalogger import DataLogger, DataLoggerError
from ataraxis_datalogger._runtime.layout import CLOSED, R_LIMIT, SlotState, ring_name
from ataraxis_datalogger._runtime.ring import RingSegment


def _start_paused_producer(logger: DataLogger, helpers: ModuleType, hot: bool) -> tuple[BaseProcess, Any]:
    context = multiprocessing.get_context("forkserver")
    result = context.Queue()
    producer = context.Process(target=helpers.put_paused_in_the_middle, args=(logger.input_queue, hot, result))
    producer.start()
    assert producer.pid is not None
    pid = producer.pid
    helpers.wait_for(lambda: helpers.is_stopped(pid))
    return producer, result


def _stream_payloads(helpers: ModuleType, logger: DataLogger) -> list[bytes]:
    return sorted(entry[2] for entry in helpers.read_entries(logger.output_directory).values())


@pytest.mark.parametrize("layout", ["npy", "stream"])
@pytest.mark.parametrize("hot", [False, True])
def test_a_put_resumed_after_stop_raises_instead_of_returning(
    tmp_path: Path, helpers: ModuleType, hot: bool, layout: str
) -> None:
    logger = DataLogger(tmp_path, "paused", stop_timeout=0.5, layout=layout)  # type: ignore[arg-type]
    logger.start()
    producer, result = _start_paused_producer(logger, helpers, hot)
    try:
        with pytest.raises(DataLoggerError, match="held its buffer's lock"):
            helpers.call_with_deadline(logger.stop)
    finally:
        assert producer.pid is not None
        os.kill(producer.pid, signal.SIGCONT)
    outcome = result.get(timeout=helpers.JOIN_SECONDS)
    producer.join(helpers.JOIN_SECONDS)
    assert producer.exitcode == 0
    assert _stream_payloads(helpers, logger) == [b"before the pause"]
    assert outcome.startswith("DataLoggerError: "), outcome
    assert "was not logged" in outcome, outcome


def test_a_put_resumed_while_stop_still_drains_returns_and_is_logged(tmp_path: Path, helpers: ModuleType) -> None:
    # stop() closes the frozen producer's buffer after 1 s; the logger process is resumed long before it would
    # count as making no progress (if it did, stop() would drain the buffer itself, with the same outcome).
    logger = DataLogger(tmp_path, "paused", stop_timeout=1.0)
    logger.start()
    producer, result = _start_paused_producer(logger, helpers, hot=False)
    run = logger._run
    assert run is not None and run.process is not None and run.process.pid is not None
    writer = run.process.pid
    slot, (_, _, generation) = next(
        (slot, row) for slot, row in enumerate(run.control.slot_table()) if row[0] == SlotState.ACTIVE
    )
    ring = RingSegment.open(run.control.backend, ring_name(run.name, slot, generation), full=False)
    # The logger process is frozen too, so the buffer cannot be drained before the producer resumes.
    os.kill(writer, signal.SIGSTOP)
    stopping: list[BaseException | None] = []
    try:

        def stop() -> None:
            try:
                logger.stop()
            except BaseException as error:
                stopping.append(error)
            else:
                stopping.append(None)

        thread = threading.Thread(target=stop, daemon=True)
        thread.start()
        helpers.wait_for(lambda: ring.words[R_LIMIT] == CLOSED)
        published = ring.head
        assert producer.pid is not None
        os.kill(producer.pid, signal.SIGCONT)
        # The producer publishes its entry before the logger process looks at the buffer again.
        helpers.wait_for(lambda: ring.head != published)
        os.kill(writer, signal.SIGCONT)
        outcome = result.get(timeout=helpers.JOIN_SECONDS)
        thread.join(helpers.JOIN_SECONDS)
        assert not thread.is_alive()
    finally:
        ring.close()
        for pid in (writer, producer.pid):
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(pid, signal.SIGCONT)  # type: ignore[arg-type]
        producer.join(helpers.JOIN_SECONDS)
    assert stopping == [None] or "held its buffer's lock" in str(stopping[0]), stopping
    assert outcome == "ok"
    assert _stream_payloads(helpers, logger) == [b"before the pause", b"paused in the middle"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "layout", "hot", "resume"),
    [
        (1, "npy", False, "after"),
        (2, "stream", True, "after"),
        (3, "stream", False, "during"),
        (4, "npy", True, "before"),
    ],
)
def test_what_is_on_disk_is_exactly_what_puts_returned_when_a_producer_is_frozen_at_a_random_instant(
    fast_directory: Path, helpers: ModuleType, seed: int, layout: str, hot: bool, resume: str
) -> None:
    # Frozen anywhere (in a put or between two), resumed before, during or after stop(): each entry is on disk if
    # and only if its put returned.
    random = __import__("random").Random(seed)
    logger = DataLogger(fast_directory, "frozen", layout=layout, stop_timeout=0.3)  # type: ignore[arg-type]
    logger.start()
    context = multiprocessing.get_context("forkserver")
    returned = context.Value("q", 0, lock=False)
    producer = context.Process(target=helpers.put_until_refused, args=(logger.input_queue, returned, hot))
    producer.start()
    assert producer.pid is not None
    pid = producer.pid
    helpers.wait_for(lambda: returned.value >= 100)
    time.sleep(random.random() * 0.2)
    os.kill(pid, signal.SIGSTOP)
    resumer = threading.Timer(
        random.random() * 0.6, lambda: helpers.process_exists(pid) and os.kill(pid, signal.SIGCONT)
    )
    try:
        if resume == "before":
            os.kill(pid, signal.SIGCONT)
        elif resume == "during":
            resumer.start()
        with contextlib.suppress(DataLoggerError):
            helpers.call_with_deadline(logger.stop)
    finally:
        if resumer.is_alive():
            resumer.join(helpers.JOIN_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        producer.join(helpers.JOIN_SECONDS)
    assert producer.exitcode == 0
    count = returned.value
    stamps = sorted(entry[1] for entry in helpers.read_entries(logger.output_directory).values())
    assert stamps == list(range(count))
    assert logger.statistics.written == count
