"""Helpers of the DataLogger runtime tests: producer process targets and an entry checker.

Producer targets must be importable by name in spawned children, so the tests put this folder on `sys.path`
(spawned children inherit the parent's `sys.path`) and import this module by its (unique) name.
"""

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from ataraxis_datalogger import LogPackage
from ataraxis_datalogger._format.entry import decode_entry, parse_entry_file_name

JOIN_SECONDS = 120.0
"""How long a test waits for a process or call before it declares a hang (generous: the machine is shared)."""


def payload(source_id: int, index: int, size: int) -> bytes:
    """The deterministic payload of entry `index` of `source_id`, so every byte can be checked afterwards."""
    seed = (source_id.to_bytes(1, "little") + index.to_bytes(8, "little")) * (size // 9 + 1)
    return seed[:size]


def put_entries(
    queue: Any, source_id: int, count: int, size: int, go: Event | None = None, done: Event | None = None
) -> None:
    """Puts `count` entries of `source_id` (timestamps 0..count-1), then signals `done` and returns at once."""
    if go is not None:
        go.wait(JOIN_SECONDS)
    for index in range(count):
        queue.put(LogPackage(source_id, index, payload(source_id, index, size)))
    if done is not None:
        done.set()


def stop_when_producers_are_done(
    logger: Any, producers: list[BaseProcess], done: list[Event], expected: dict[int, int], size: int
) -> None:
    """Waits until every producer has put its entries, stops the logger, checks every entry, joins the producers.

    Args:
        logger: The running logger.
        producers: The started producer processes (targets of `put_entries`).
        done: The events the producers set once their last put returned.
        expected: How many entries each source put (timestamps 0..n-1).
        size: The payload size of every entry.
    """
    for event in done:
        assert event.wait(JOIN_SECONDS)
    logger.stop()
    assert_all_entries(logger.output_directory, expected, size)
    for producer in producers:
        producer.join(JOIN_SECONDS)
        assert producer.exitcode == 0


class LateProducer:
    """A spawned producer, started now, that puts one entry when told to and reports what its put raised.

    Args:
        queue: The logger's queue it puts on.
    """

    def __init__(self, queue: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._go, self._result = context.Event(), context.Queue()
        self._process = context.Process(target=put_after_stop, args=(queue, self._go, self._result))
        self._process.start()

    def put(self) -> str:
        """Lets the producer put its entry; returns what it reported ('ok' or the error's type and message)."""
        self._go.set()
        message: str = self._result.get(timeout=JOIN_SECONDS)
        self._process.join(JOIN_SECONDS)
        return message


def put_after_stop(queue: Any, go: Event, result: Any) -> None:
    """Waits for `go`, tries to put an entry and reports the exception's type and message (or 'ok') to `result`."""
    go.wait(JOIN_SECONDS)
    try:
        queue.put(LogPackage(1, 1, b"late"))
    except Exception as error:
        result.put(f"{type(error).__name__}: {error}")
    else:
        result.put("ok")


def read_entries(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    """Decodes every entry of a log folder: name -> (source id, timestamp, payload).

    Entry files are named by their file names; the records of stream segments by `{segment}@{offset}`. Fails if any
    file in the folder is not an entry whose name matches its content, or a stream segment with damage.
    """
    if any(path.suffix == ".adlog" for path in directory.iterdir()):
        return _stream_entries(directory)
    entries = {}
    for path in sorted(directory.iterdir()):
        name = parse_entry_file_name(path.name)
        assert name is not None, f"unexpected file in the log folder: {path.name}"
        decoded = decode_entry(path.read_bytes())
        assert (decoded.source_id, decoded.time_stamp) == (name.source_id, name.time_stamp), path.name
        entries[path.name] = (decoded.source_id, decoded.time_stamp, bytes(decoded.payload))
    return entries


def _stream_entries(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    """Reads every record of the stream segments of a folder, checking that nothing is damaged."""
    from ataraxis_datalogger._files.stream_reader import SegmentReader

    entries = {}
    for path in sorted(directory.iterdir()):
        assert path.suffix == ".adlog", f"unexpected file in a stream log folder: {path.name}"
        with SegmentReader(path, on_damage="raise") as reader:
            for offset, source_id, time_stamp, data in reader.records():
                entries[f"{path.name}@{offset}"] = (source_id, time_stamp, bytes(data))
    return entries


def assert_all_entries(directory: Path, sources: dict[int, int], size: int) -> None:
    """Checks that the folder holds exactly entries 0..count-1 of each source, every byte as produced."""
    entries = read_entries(directory)
    expected = {
        (source_id, index, payload(source_id, index, size))
        for source_id, count in sources.items()
        for index in range(count)
    }
    found = set(entries.values())
    assert len(entries) == len(expected), f"{len(entries)} files for {len(expected)} entries"
    assert found == expected, f"missing {len(expected - found)}, unexpected {len(found - expected)}"


def call_with_deadline(function: Callable[[], Any], seconds: float = JOIN_SECONDS) -> Any:
    """Calls `function` in a thread and fails if it does not return within `seconds` (a hang, not a timing check)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function} did not return within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def wait_for(condition: Callable[[], bool], seconds: float = JOIN_SECONDS) -> None:
    """Polls `condition` until it holds; fails if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {seconds} s"
        time.sleep(0.02)


def use_inherited_logger(logger: Any, go: Event, result: Any) -> None:
    """In a forked child: puts through the inherited logger's queue, then tries to stop the logger."""
    go.wait(JOIN_SECONDS)
    logger.input_queue.put(LogPackage(9, 1, b"from a forked child"))
    try:
        logger.stop()
    except Exception as error:
        result.put(f"{type(error).__name__}: {error}")
    else:
        result.put("stopped")


def own_a_logger_until_killed(directory: Path, count: int, size: int, report: Any) -> None:
    """Starts a logger, puts `count` entries of source 1, reports the writer's pid, then waits to be killed.

    The entries are all in the queue's pipe when the pid is reported (the queue's feeder thread has flushed them),
    so none is lost with this process: whatever the writer has not written yet, it must still write.
    """
    from ataraxis_datalogger import DataLogger

    logger = DataLogger(directory, "orphaned_writer")
    logger.start()
    queue = logger.input_queue
    put_entries(queue, 1, count, size)
    queue.close()
    queue.join_thread()
    report.send(logger._run.process.pid)  # type: ignore[union-attr]  # test-only look at the private run
    time.sleep(JOIN_SECONDS)


_GLOBAL_LOGGER: Any = None


def own_a_logger_in_a_global_and_return(directory: Path, count: int, size: int) -> None:
    """In a `multiprocessing` child: starts a logger kept in a module global, puts entries and returns without stop().

    `multiprocessing` ends its children with `os._exit`, so `atexit` handlers do not run there, and the logger is not
    garbage-collected before the child's exit sequence terminates its daemonic processes.
    """
    from ataraxis_datalogger import DataLogger

    global _GLOBAL_LOGGER
    _GLOBAL_LOGGER = DataLogger(directory, "global_in_child")
    _GLOBAL_LOGGER.start()
    put_entries(_GLOBAL_LOGGER.input_queue, 1, count, size)


def process_exists(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            content = stat.read()
    except FileNotFoundError:
        return False
    return content[content.rfind(b")") + 2 : content.rfind(b")") + 3] not in (b"Z", b"X")


def stop_process(pid: int) -> None:
    """Sends SIGSTOP and returns once every thread of the process is stopped.

    The signal stops the threads as each is next interrupted, so a thread running on another core goes on for a
    moment: long enough, now and then, for a watchdog thread to see what the caller does next.
    """
    import signal

    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + JOIN_SECONDS
    while time.monotonic() < deadline:
        states = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                content = (task / "stat").read_bytes()
                states.append(content[content.rfind(b")") + 2 : content.rfind(b")") + 3])
        if states and all(state in (b"T", b"t") for state in states):
            return
        time.sleep(0.001)
    raise AssertionError(f"process {pid} did not stop")


def put_counting(
    queue: Any, source_id: int, count: int, sizes: tuple[int, int], progress: Any, go: Event | None, hot: bool
) -> None:
    """Puts entries 0..count-1 of `source_id`, recording in `progress.value` how many puts have returned.

    Payload sizes vary over `sizes`; it returns quietly when a put raises `DataLoggerError`. `hot` logs through
    `queue.source(source_id).log` instead of `LogPackage` + `put`.
    """
    from ataraxis_datalogger import DataLoggerError

    if go is not None:
        go.wait(JOIN_SECONDS)
    source = queue.source(source_id)
    for index in range(count):
        data = payload(source_id, index, entry_size(index, sizes))
        try:
            if hot:
                source.log(index, data)
            else:
                queue.put(LogPackage(source_id, index, data))
        except DataLoggerError:
            return
        progress.value = index + 1


def entry_size(index: int, sizes: tuple[int, int]) -> int:
    """The payload size of entry `index` when sizes vary from `sizes[0]` to `sizes[1]` (deterministic)."""
    low, high = sizes
    return low + (index * 7919) % (high - low + 1)


def check_prefix(directory: Path, source_id: int, returned: int, sizes: tuple[int, int], spare: int = 1) -> int:
    """Checks that the folder holds entries 0..returned-1 of `source_id`, byte for byte, and at most `spare` more.

    (A put may complete after the last one recorded.) Each entry must be there once; returns how many there are.
    """
    found = sorted((stamp, data) for source, stamp, data in read_entries(directory).values() if source == source_id)
    stamps = [stamp for stamp, _ in found]
    assert stamps == list(range(len(stamps))), f"source {source_id}: not a prefix: {stamps[:5]}...{stamps[-5:]}"
    assert returned <= len(stamps) <= returned + spare, f"source {source_id}: {len(stamps)} on disk, {returned} put"
    for stamp, data in found:
        assert data == payload(source_id, stamp, entry_size(stamp, sizes)), f"source {source_id} entry {stamp}"
    return len(stamps)


def put_forever_in_a_pool_task(queue: Any, source_id: int, count: int) -> int:
    """A `ProcessPoolExecutor` task: puts `count` entries of `source_id` through a queue it received pickled."""
    source = queue.source(source_id)
    for index in range(count):
        source.log(index, payload(source_id, index, 24))
    return os.getpid()


def hold_a_buffer_lock_and_die(backend: int, name: str, named: bool, held: Event) -> None:
    """Takes a producer buffer's lock as the logger process would (`named`: recording its pid) and dies holding it."""
    from ataraxis_datalogger._runtime.ring import RingSegment

    segment = RingSegment.open(backend, name, full=False)
    if named:
        assert segment.lock_as_other(5.0)
    else:
        assert segment.lock.try_acquire()
    held.set()
    os._exit(0)


def drain_and_die_at(
    name: str, backend: int, directory: Path, die_after: str, entries: int, stream: bool = False
) -> None:
    """Drains a run's buffers into `.npy` files in this process and dies (`os._exit`) at a chosen point.

    The point is in the `entries`-th entry: after "create" (file written, not yet staged), after "link" (named, its
    progress not committed) or after "commit". With `stream`, the records go to stream segments and the point is in
    the `entries`-th write: after "stage" (staged, not written), "write" (written, not committed) or "commit".
    """
    from ataraxis_datalogger._files.entry_creator import EntryCreator
    from ataraxis_datalogger._runtime.control import ControlSegment
    from ataraxis_datalogger._runtime.drain import Drainer
    from ataraxis_datalogger._runtime.entry_sink import EntryFileSink
    from ataraxis_datalogger._runtime.progress import SlotProgress
    from ataraxis_datalogger._runtime.reports import ListReporter
    from ataraxis_datalogger._runtime.sinks import open_sink

    done = {"create": 0, "link": 0, "commit": 0, "stage": 0, "write": 0}

    def counting(step: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            done[step] += 1
            if step == die_after and done[step] == entries:
                os._exit(9)
            return result

        return wrapper

    SlotProgress.commit = counting("commit", SlotProgress.commit)  # type: ignore[method-assign]
    SlotProgress.stage = counting("stage", SlotProgress.stage)  # type: ignore[method-assign]
    sink: Any
    if stream:
        settings = {"layout": "stream", "segment_bytes": 1 << 20, "sync": "none", "instance_name": "drained"}
        sink = open_sink(directory, settings, ListReporter(), recovering=False)
        sink._writer.write = counting("write", sink._writer.write)
    else:
        creator = EntryCreator(directory)
        creator.create = counting("create", creator.create)  # type: ignore[method-assign]
        creator.link = counting("link", creator.link)  # type: ignore[method-assign]
        sink = EntryFileSink(creator, ListReporter(), recovering=False)
    control = ControlSegment.attach(name, backend)
    drainer = Drainer(control, sink, ListReporter())
    drainer.recover()
    deadline = time.monotonic() + JOIN_SECONDS
    while time.monotonic() < deadline:
        drainer.cycle()
    os._exit(3)


def put_and_linger(queue: Any, result: Any, release: Event) -> None:
    """Puts one entry, reports "ok" (or the error) to `result`, then stays alive until `release` is set."""
    try:
        queue.put(LogPackage(200, os.getpid(), b"lingering"))
    except Exception as error:
        result.put(f"{type(error).__name__}: {error}")
    else:
        result.put("ok")
    release.wait(JOIN_SECONDS)


def own_a_logger_and_report(directory: Path, count: int, report: Any) -> None:
    """Starts a logger, puts `count` entries of source 1, reports (writer pid, queue name), then waits to be killed."""
    from ataraxis_datalogger import DataLogger

    logger = DataLogger(directory, "owned")
    logger.start()
    for index in range(count):
        logger.input_queue.put(LogPackage(1, index, payload(1, index, 16)))
    report.send((logger._run.process.pid, logger.input_queue.name))  # type: ignore[union-attr]
    time.sleep(JOIN_SECONDS)


def own_a_run_in_a_private_folder(directory: Path, folder: str, report: Any) -> None:
    """Creates a run (portable backend, segments in `folder`), puts entries, reports its name, waits to be killed.

    The run is not started: its logger process would look for the segments in the default folder.
    """
    from ataraxis_datalogger import DataLogger
    from ataraxis_datalogger._runtime import _posix

    _posix.DEFAULT_BACKEND = _posix.PORTABLE
    _posix._SHM_FOLDER = Path(folder)
    logger = DataLogger(directory, "private")
    for index in range(10):
        logger.input_queue.put(LogPackage(1, index, payload(1, index, 16)))
    report.send(logger.input_queue.name)
    time.sleep(JOIN_SECONDS)


def attach_and_put_counting(name: str, source_id: int, progress: Any, result: Any) -> None:
    """Attaches to a queue by name and puts entries until a put raises; reports the error to `result`."""
    from ataraxis_datalogger import LogQueue

    queue = LogQueue.attach(name)
    index = 0
    while True:
        try:
            queue.put(LogPackage(source_id, index, payload(source_id, index, 16)))
        except Exception as error:
            result.put(f"{type(error).__name__}: {error}")
            return
        index += 1
        progress.value = index


def own_a_logger_and_die_while_stopping(directory: Path, count: int, report: Any) -> None:
    """Starts a logger, pauses its process, puts `count` entries and begins `stop()`.

    Once the buffers are closed it reports (writer pid, queue name), then waits to be killed in the middle of
    that `stop()`.
    """
    import signal
    import threading

    from ataraxis_datalogger import DataLogger
    from ataraxis_datalogger._runtime.layout import C_TARGETS_SET

    logger = DataLogger(directory, "stopping")
    logger.start()
    writer = logger._run.process.pid  # type: ignore[union-attr]
    control = logger._run.control  # type: ignore[union-attr]
    name = logger.input_queue.name
    os.kill(writer, signal.SIGSTOP)
    for index in range(count):
        logger.input_queue.put(LogPackage(1, index, payload(1, index, 16)))
    threading.Thread(target=logger.stop, daemon=True).start()
    while not control.words[C_TARGETS_SET]:
        time.sleep(0.001)
    report.send((writer, name))
    time.sleep(JOIN_SECONDS)


def log_through(source: Any, count: int) -> None:
    """Logs entries 0..count-1 through a `LogSource` (inherited by a forked child, already used by its parent)."""
    for index in range(count):
        source.log(index, payload(source.source_id, index, 8))


def put_paused_in_the_middle(queue: Any, hot: bool, result: Any) -> None:
    """Puts one entry, then a second one during which the process stops itself (SIGSTOP) before publishing it.

    The pause comes after the record was copied into the buffer and before the head that publishes it is stored:
    the instant a debugger or a job-control stop can freeze a put. `result` receives "ok" or the put's error.
    """
    import signal

    from ataraxis_datalogger._runtime import producer

    source = queue.source(1)
    source.log(1, b"before the pause")

    def pause_once(original: Callable[..., Any]) -> Callable[..., Any]:
        def paused(*args: Any) -> Any:
            value = original(*args)
            restore()
            os.kill(os.getpid(), signal.SIGSTOP)
            return value

        return paused

    if hot:
        original_pack = producer._PACK_HEADER

        def restore() -> None:
            producer._PACK_HEADER = original_pack

        producer._PACK_HEADER = pause_once(original_pack)
    else:
        original_copy = producer.ProducerRing._copy

        def restore() -> None:
            producer.ProducerRing._copy = original_copy  # type: ignore[method-assign]

        producer.ProducerRing._copy = pause_once(original_copy)  # type: ignore[method-assign]
    try:
        if hot:
            source.log(2, b"paused in the middle")
        else:
            queue.put(LogPackage(1, 2, b"paused in the middle"))
    except Exception as error:
        result.put(f"{type(error).__name__}: {error}")
    else:
        result.put("ok")


def is_stopped(pid: int) -> bool:
    """Whether `pid` is stopped by a signal (state T in /proc)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        content = stat.read()
    return content[content.rfind(b")") + 2 : content.rfind(b")") + 3] == b"T"


def put_until_refused(queue: Any, returned: Any, hot: bool) -> None:
    """Puts entries 0, 1, ... of source 1 until a put raises; `returned.value` is how many puts returned."""
    from ataraxis_datalogger import DataLoggerError

    source = queue.source(1)
    index = 0
    while True:
        data = index.to_bytes(8, "little") * (1 + index % 7)
        try:
            if hot:
                source.log(index, data)
            else:
                queue.put(LogPackage(1, index, data))
        except DataLoggerError:
            return
        index += 1
        returned.value = index
