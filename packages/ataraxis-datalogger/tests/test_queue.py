"""The logger's queue: counted puts, refusals by state, and the writer's batched reads of the pipe's frames."""

import pickle
import struct
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler

import pytest

from ataraxis_datalogger import DataLoggerError, LogPackage
from ataraxis_datalogger._runtime.log_queue import _split_frames
from ataraxis_datalogger._runtime.logger_run import LoggerRun
from ataraxis_datalogger._runtime.run_state import RunState


@pytest.fixture
def run() -> Iterator[LoggerRun]:
    """A run that is never launched: its queue is read by the test itself."""
    logger_run = LoggerRun("queue_test")
    yield logger_run
    logger_run.shared_state.transition(RunState.STOPPED)
    logger_run.queue.cancel_join_thread()
    logger_run.queue.close()
    logger_run.shared_state.destroy()


def _receive(run: LoggerRun, count: int) -> list[object]:
    received: list[object] = []
    while len(received) < count:
        received.extend(ForkingPickler.loads(message) for message in run.queue.receive_batch(5.0))
    return received


def test_batched_reads_return_every_message_whatever_its_size(run: LoggerRun) -> None:
    sizes = [0, 1, 16, 16_380, 16_385, 65_536, 300_000, 1_048_560, 1_048_576, 3_000_000, 5, 0, 999_999, 7]
    payloads = [bytes([index]) * size for index, size in enumerate(sizes)]
    for payload in payloads:
        run.queue.put(payload)
    assert _receive(run, len(payloads)) == payloads
    assert run.shared_state.statistics().submitted == len(payloads)
    assert run.queue.qsize() == 0


def test_packages_travel_as_their_entry_bytes_in_order(run: LoggerRun) -> None:
    packages = [LogPackage(1, index, index.to_bytes(4, "little")) for index in range(5_000)]
    for package in packages:
        run.queue.put(package)
    assert _receive(run, len(packages)) == [package.entry_bytes for package in packages]


def _split(data: bytes) -> tuple[list[bytes], int]:
    buffer = bytearray(data)
    messages, offset = _split_frames(buffer, memoryview(buffer), 0, len(buffer))
    return [bytes(message) for message in messages], offset


def test_frames_of_messages_over_2_gib_are_parsed() -> None:
    small = pickle.dumps("small")
    data = struct.pack("!i", -1) + struct.pack("!Q", 5) + b"hello" + struct.pack("!i", len(small)) + small
    assert _split(data + b"\x00\x00") == ([b"hello", small], len(data))


def test_incomplete_frames_wait_for_the_next_read() -> None:
    frame = struct.pack("!i", 10) + b"0123456789"
    for cut in range(len(frame)):
        assert _split(frame[:cut]) == ([], 0)
    assert _split(struct.pack("!i", -1) + b"\x00" * 7) == ([], 0)


def test_puts_are_refused_once_the_run_stops_and_uncounted_when_they_fail(run: LoggerRun) -> None:
    run.queue.put(LogPackage(1, 1, b"counted"))
    run.shared_state.transition(RunState.STOPPING)
    with pytest.raises(DataLoggerError, match="DataLogger 'queue_test' was stopped"):
        run.queue.put(LogPackage(1, 2, b"refused"))
    run.shared_state.transition(RunState.DEAD)
    with pytest.raises(DataLoggerError, match="the logger process of DataLogger 'queue_test' died"):
        run.queue.put(LogPackage(1, 3, b"refused"))
    run.shared_state.transition(RunState.RUNNING)
    with pytest.raises(ValueError, match="is closed"):
        run.queue._closed = True  # type: ignore[attr-defined]
        run.queue.put(LogPackage(1, 4, b"fails in multiprocessing"))
    run.queue._closed = False  # type: ignore[attr-defined]
    assert run.shared_state.statistics().submitted == 1
