"""follow_logs: entries of a stream log as they land, across rotations, until the log is closed or on request."""

import inspect
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ataraxis_datalogger import (
    DamagedLogFilesWarning,
    DataLogger,
    FollowedEntry,
    LogPackage,
    StreamFormatError,
    follow_logs,
)
from ataraxis_datalogger._files.stream_writer import MIN_SEGMENT_BYTES, StreamSegmentWriter
from ataraxis_datalogger._format.stream import encode_record

SAFETY_SECONDS = 120.0
"""A follower in these tests is stopped after this long whatever happens, so a failure never hangs the suite."""

WRITER = """
import sys, time
from pathlib import Path
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.stream import encode_record
directory, batches, close = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "close"
writer = StreamSegmentWriter(directory, segment_bytes=4096, sync="none", instance_name="followed")
print("started", flush=True)
for batch in range(batches):
    records = [encode_record(batch % 3, batch * 10 + index, b"entry %d" % (batch * 10 + index)) for index in range(10)]
    writer.write(records, len(records))
    time.sleep(0.005)
if close:
    writer.close()
    print("closed", flush=True)
else:
    print("waiting", flush=True)
    time.sleep(120)
"""


def expected(batches: int) -> list[tuple[int, int, bytes]]:
    return [
        (batch % 3, batch * 10 + index, b"entry %d" % (batch * 10 + index))
        for batch in range(batches)
        for index in range(10)
    ]


def as_tuples(entries: Iterator[FollowedEntry] | list[FollowedEntry]) -> list[tuple[int, int, bytes]]:
    return [(entry.source_id, entry.time_stamp, entry.payload.tobytes()) for entry in entries]


@contextmanager
def writer_process(directory: Path, batches: int, close: bool = True) -> Iterator[subprocess.Popen[bytes]]:
    arguments = [sys.executable, "-c", WRITER, str(directory), str(batches), "close" if close else "wait"]
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"started\n"
        yield process
    finally:
        process.kill()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def safety_stop() -> Iterator[threading.Event]:
    event = threading.Event()
    timer = threading.Timer(SAFETY_SECONDS, event.set)
    timer.start()
    try:
        yield event
    finally:
        timer.cancel()
    assert not event.is_set(), "the follower was stopped by the safety timer"


def test_a_follower_gets_every_entry_of_a_writer_across_rotations_and_stops_at_its_close(tmp_path: Path) -> None:
    with safety_stop() as stop, writer_process(tmp_path, 200):
        followed = as_tuples(follow_logs(tmp_path, poll_interval=0.01, stop=stop))
    assert followed == expected(200)
    assert len(list(tmp_path.glob("*.adlog"))) > 10


def test_a_follower_started_before_the_logger_waits_for_it(tmp_path: Path) -> None:
    received: list[FollowedEntry] = []
    with safety_stop() as stop:
        follower = threading.Thread(
            target=lambda: received.extend(follow_logs(tmp_path, poll_interval=0.01, stop=stop))
        )
        follower.start()
        try:
            stop.wait(0.2)  # lets the follower poll the empty folder (the test holds either way)
            with writer_process(tmp_path, 20):
                follower.join(SAFETY_SECONDS)
        finally:
            if follower.is_alive():
                stop.set()
            follower.join(SAFETY_SECONDS)
    assert as_tuples(received) == expected(20)


def test_a_follower_from_now_skips_what_was_written_before(tmp_path: Path) -> None:
    new = [(2, 1_000 + stamp, b"new") for stamp in range(100)]
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") as writer:
        writer.write([encode_record(1, stamp, b"old") for stamp in range(300)], 300)

        def write_new() -> None:
            # Spread over about two seconds, so that the follower's first poll (which starts at once) comes first
            # for most of them; whatever it finds already written counts as old.
            for entry in new:
                stop.wait(0.02)
                writer.write([encode_record(*entry)], 1)
            writer.close()

        with safety_stop() as stop:
            thread = threading.Thread(target=write_new)
            thread.start()
            try:
                received = as_tuples(follow_logs(tmp_path, poll_interval=0.01, stop=stop, from_start=False))
            finally:
                thread.join(SAFETY_SECONDS)
    assert received and received == new[len(new) - len(received) :]


def test_a_follower_of_a_log_that_stays_open_ends_on_request(tmp_path: Path) -> None:
    received: list[FollowedEntry] = []
    with writer_process(tmp_path, 30, close=False) as process:
        assert process.stdout is not None and process.stdout.readline() == b"waiting\n"
        stop = threading.Event()
        safety = threading.Timer(SAFETY_SECONDS, stop.set)
        safety.start()
        try:
            for entry in follow_logs(tmp_path, poll_interval=0.01, stop=stop):
                received.append(entry)
                if len(received) == len(expected(30)):
                    stop.set()  # the writer is alive and its segment open: only the request ends the iteration
        finally:
            safety.cancel()
    assert as_tuples(received) == expected(30)


def test_a_follower_ends_when_the_writer_dies(tmp_path: Path) -> None:
    with writer_process(tmp_path, 30, close=False) as process:
        assert process.stdout is not None and process.stdout.readline() == b"waiting\n"
        process.kill()
        process.wait(30)
    with safety_stop() as stop:
        followed = as_tuples(follow_logs(tmp_path, poll_interval=0.01, stop=stop))
    assert followed == expected(30)


def test_a_follower_stopped_by_break_releases_its_segments(tmp_path: Path) -> None:
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") as writer:
        writer.write([encode_record(1, stamp, b"x") for stamp in range(500)], 500)
    entries = follow_logs(tmp_path, poll_interval=0.01)
    for entry in entries:
        if entry.time_stamp == 10:
            break
    entries.close()
    assert [entry.time_stamp for entry in follow_logs(tmp_path)] == list(range(500))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"poll_interval": 0}, "poll_interval must be a positive number of seconds, got 0"),
        ({"on_damage": "ignore"}, "on_damage must be"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next(follow_logs(tmp_path, **arguments))  # type: ignore[arg-type]


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        next(follow_logs(tmp_path / "missing"))


def test_a_segment_with_a_damaged_header_is_skipped_with_a_warning_or_raises(tmp_path: Path) -> None:
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") as writer:
        writer.write([encode_record(1, stamp, b"kept") for stamp in range(3)], 3)
    damaged = tmp_path / "stream_000005.adlog"
    damaged.write_bytes(b"\x00" * 100)
    with pytest.warns(DamagedLogFilesWarning, match=f"{damaged}.*skipped that segment"):
        assert [entry.time_stamp for entry in follow_logs(tmp_path, poll_interval=0.01)] == [0, 1, 2]
    with pytest.raises(StreamFormatError, match=str(damaged)):
        list(follow_logs(tmp_path, poll_interval=0.01, on_damage="raise"))


@pytest.mark.skipif(
    "layout" not in inspect.signature(DataLogger).parameters,
    reason="DataLogger(layout='stream') comes with the transport branch; this test runs once both are merged",
)
def test_a_follower_gets_every_entry_of_a_running_stream_logger_until_it_stops(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "followed", layout="stream", segment_bytes=1 << 16, sync="none")
    put = [(index % 3, 1_000 + index, b"entry %05d" % index) for index in range(10_000)]
    received: list[FollowedEntry] = []
    with safety_stop() as stop:
        follower = threading.Thread(
            target=lambda: received.extend(follow_logs(logger.output_directory, poll_interval=0.01, stop=stop))
        )
        logger.start()
        try:
            follower.start()
            for source_id, time_stamp, payload in put:
                logger.input_queue.put(LogPackage(source_id, time_stamp, payload))
        finally:
            logger.stop()
        # The logger closed its last segment: the follower ends by itself.
        follower.join(SAFETY_SECONDS)
    assert as_tuples(received) == put


def test_a_folder_removed_while_followed_ends_the_iteration_with_a_clear_error(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "removed_while_followed", layout="stream")
    with logger:
        logger.source(1).log(1, b"seen")
        followed = follow_logs(logger.output_directory, poll_interval=0.01, stop_at_end=False)
        assert next(followed).time_stamp == 1
        shutil.rmtree(logger.output_directory)
        with pytest.raises(FileNotFoundError, match="removed while it was followed") as raised:
            next(followed)
        assert raised.value.filename == str(logger.output_directory)
