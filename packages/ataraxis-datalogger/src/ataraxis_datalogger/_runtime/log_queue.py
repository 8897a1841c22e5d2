"""`LogQueue`, the logger's input queue, and `LogSource`, its hot path for one source.

A queue is a name: the run's control segment. It pickles as that name (and the logger's, for messages), so it
reaches any process: a `multiprocessing.Process` argument under any start method, a `ProcessPoolExecutor` task, or
`LogQueue.attach(name)` in a program started from a shell. A process's first put registers it in the run's slot table
and creates its own buffer; every later put of the process, from any thread, goes into that buffer (see `producer`).
"""

import os
import threading
from typing import Any, SupportsIndex

from .._format.entry import MAX_SOURCE_ID
from .._format.stream import encode_record
from .._format.values import checked_integer
from ..exceptions import DataLoggerError, DataLoggerTypeError, DataLoggerValueError
from ..log_package import LogPackage
from . import _posix
from .control import ControlSegment
from .layout import RUN_NAME
from .producer import ProducerRing, create_producer_ring
from .records import TransportKind, describe_rejected
from .run_state import RunState

_registry_lock = threading.Lock()
_process_rings: dict[str, ProducerRing] = {}
"""This process's buffer in each run it has put entries in, by run name."""
_fork_generation = 0
"""Incremented in a forked child: a cached buffer made before the fork belongs to the parent."""


def _forget_after_fork() -> None:
    # A forked child owns none of its parent's buffers (and a thread of the parent may have held the lock).
    global _registry_lock, _fork_generation
    _registry_lock = threading.Lock()
    _process_rings.clear()
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


class LogQueue:
    """The queue producers put `LogPackage` objects on: `DataLogger.input_queue`.

    `put` copies the entry into the calling process's own shared-memory buffer (made on the process's first put) and
    returns; the logger process writes it from there. Buffers are bounded (`DataLogger(buffer_size=...)`): a put
    waits while its process's buffer is full, or raises `queue.Full` if it cannot wait. Objects that are not log
    packages are skipped and reported by `stop()`.

    Give the queue to other processes as you would a `multiprocessing.Queue` (a `Process` argument, under any start
    method, or by inheritance through `fork`), or in any other way objects are pickled (a `ProcessPoolExecutor`
    task, for example); a process can also open it by name with `LogQueue.attach(queue.name)`. Every process that puts
    must be on this machine and in the logger's pid namespace.

    It is not created directly: `DataLogger.input_queue` returns it.
    """

    __slots__ = ("_backend", "_logger_name", "_name", "_retired", "_ring")

    def __init__(self, name: str, backend: int, logger_name: str) -> None:
        self._name = check_queue_name(name)
        self._backend = backend
        self._logger_name = logger_name
        self._retired = False
        self._ring: ProducerRing | None = None

    @classmethod
    def attach(cls, name: str) -> "LogQueue":
        """Opens the queue of a running logger by its name (`LogQueue.name`), from any process of the machine.

        Args:
            name: The queue's name.

        Raises:
            DataLoggerTypeError: If `name` is not a string.
            DataLoggerValueError: If `name` is not the name of a queue (`adl<digits>_<8 hex digits>`).
            DataLoggerError: If no logger run of that name exists (it was stopped, or never was).
        """
        check_queue_name(name)
        for backend in (_posix.FAST, _posix.PORTABLE):
            try:
                control = ControlSegment.attach(name, backend)
            except (FileNotFoundError, ValueError, OSError):
                continue
            logger_name = control.logger_name
            control.close()
            return cls(name, backend, logger_name)
        raise DataLoggerError(f"no running DataLogger has the queue {name!r} (it was stopped, or never started)")

    @property
    def name(self) -> str:
        """The queue's name, which `LogQueue.attach` opens from any process of the machine."""
        return self._name

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Puts an entry in this process's buffer; the logger process writes it from there.

        Args:
            obj: The entry, a `LogPackage`. Anything else is skipped and reported by `stop()` (a description of it
                goes through the buffer in its place).
            block: Wait for room when this process's buffer is full (the logger process frees it as it writes).
            timeout: The longest wait for room, in seconds (None: as long as it takes).

        Raises:
            queue.Full: If the buffer stayed full for `timeout` seconds, or is full and `block` is False.
            DataLoggerTypeError, DataLoggerValueError: If the put must wait and `timeout` is not a non-negative
                number of seconds (or None).
            EntryTooLargeError: If the entry is larger than a whole buffer.
            DataLoggerError: If the logger was stopped, its logger process died, or its owner died.
        """
        ring = self._ring
        if ring is None or ring.fork_generation != _fork_generation:
            ring = self._connect()
        if obj.__class__ is LogPackage or isinstance(obj, LogPackage):
            ring.put(obj._record, block, timeout)  # noqa: SLF001  # the put path reads the record without a property call
        else:
            record = encode_record(0, 0, describe_rejected(obj), TransportKind.REJECTED)
            ring.put(record, block, timeout, control=True)

    def put_nowait(self, obj: Any) -> None:
        """`put(obj, block=False)`."""
        self.put(obj, block=False)

    def source(self, source_id: SupportsIndex) -> "LogSource":
        """Returns the hot path for entries of one source: `LogSource.log(time_stamp, payload)`.

        Args:
            source_id: The source's id, 0 to 255.

        Raises:
            DataLoggerTypeError, DataLoggerValueError: If `source_id` is not an integer from 0 to 255.
        """
        return LogSource(self, source_id)

    def close(self) -> None:
        """Releases this process's mapping of its buffer; later puts through this object raise.

        Entries already put are written all the same (the buffer stays in shared memory until the logger has written
        it). Optional: the mapping also goes when the process exits.
        """
        self._retired = True
        if self._ring is not None and self._ring.pid == os.getpid():
            _release(self._name)
        self._ring = None

    def join_thread(self) -> None:
        """Does nothing: a put has finished its work when it returns (kept for `multiprocessing.Queue` code)."""

    def cancel_join_thread(self) -> None:
        """Does nothing: no background thread holds entries (kept for `multiprocessing.Queue` code)."""

    def retire(self) -> None:
        """Marks this object as belonging to a finished run (its owner's `stop()` calls it)."""
        self._retired = True
        self._ring = None

    def __reduce__(self) -> tuple[Any, tuple[str, int, str]]:
        """Pickles the queue as its name: the receiving process connects on its first put."""
        return LogQueue, (self._name, self._backend, self._logger_name)

    def __repr__(self) -> str:
        """Names the queue and its logger."""
        return f"LogQueue(name={self._name!r}, logger={self._logger_name!r})"

    def _connect(self) -> ProducerRing:
        """Returns this process's buffer in the run, creating it on the process's first put."""
        if self._retired:
            raise DataLoggerError(self.refusal(RunState.STOPPED))
        with _registry_lock:
            ring = _process_rings.get(self._name)
            if ring is None or ring.pid != os.getpid():
                _release_finished_runs()
                try:
                    control = ControlSegment.attach(self._name, self._backend)
                except (FileNotFoundError, ValueError) as error:
                    raise DataLoggerError(f"{self.refusal(RunState.STOPPED)} ({error})") from error
                try:
                    ring = create_producer_ring(control, self.refusal)
                except BaseException:
                    control.close()
                    raise
                ring.fork_generation = _fork_generation
                _process_rings[self._name] = ring
        self._ring = ring
        return ring

    def refusal(self, state: RunState) -> str:
        """Explains why a put was refused, from the run's state."""
        name = self._logger_name
        if state == RunState.DEAD:
            return f"the logger process of DataLogger '{name}' died: the entry was not logged"
        if state == RunState.ORPHANED:
            return f"the process that owns DataLogger '{name}' died: the logger takes no more entries"
        return (
            f"DataLogger '{name}' was stopped: this queue belongs to a finished run and takes no more entries "
            "(after start(), put entries on the logger's current input_queue)"
        )


def check_queue_name(name: object) -> str:
    """Returns `name` after checking that it is a queue's name (never a path: it names a shared-memory segment).

    Raises:
        DataLoggerTypeError: If it is not a string.
        DataLoggerValueError: If it is not a queue's name.
    """
    if not isinstance(name, str):
        raise DataLoggerTypeError(f"a queue name must be a string, got {name!r} ({type(name).__name__})")
    if RUN_NAME.fullmatch(name) is None:
        raise DataLoggerValueError(
            f"not the name of a DataLogger queue: {name!r} (a queue's name is its LogQueue.name, "
            "'adl<hex digits>_<8 hex digits>')"
        )
    return name


class LogSource:
    """The hot path for the entries of one source: `log(time_stamp, payload)`.

    `log` writes the entry's record straight into this process's buffer, with no `LogPackage` to build. The handle is
    picklable like its queue (`DataLogger.source` and `LogQueue.source` return it).

    Args:
        queue: The logger's queue.
        source_id: The source's id, 0 to 255.

    Raises:
        DataLoggerTypeError, DataLoggerValueError: If `source_id` is not an integer from 0 to 255.
    """

    __slots__ = ("_queue", "_ring", "source_id")

    def __init__(self, queue: LogQueue, source_id: SupportsIndex) -> None:
        self._queue = queue
        self.source_id = checked_integer("source_id", source_id, MAX_SOURCE_ID)
        """The source's id."""
        self._ring: ProducerRing | None = None

    def log(self, time_stamp: SupportsIndex, payload: Any, block: bool = True, timeout: float | None = None) -> None:
        """Logs one entry of this source.

        Args:
            time_stamp: The entry's timestamp, an integer from 0 to 2**64 - 1.
            payload: The serialized data, as `LogPackage` takes it (a 1-D `uint8` array or bytes-like); it is
                copied before `log` returns.
            block: Wait for room when this process's buffer is full.
            timeout: The longest wait for room, in seconds (None: as long as it takes).

        Raises:
            DataLoggerTypeError, DataLoggerValueError: If the timestamp or payload is not one `LogPackage` accepts,
                or the entry must wait for room and `timeout` is not a non-negative number of seconds (or None).
            queue.Full, EntryTooLargeError, DataLoggerError: As `LogQueue.put` raises them.
        """
        ring = self._ring
        if ring is None or ring.fork_generation != _fork_generation:
            ring = self._ring = self._queue._connect()  # noqa: SLF001  # LogSource is LogQueue's own handle
        ring.log(self.source_id, time_stamp, payload, block, timeout)  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[Any, tuple[LogQueue, int]]:
        """Pickles the source as its queue and id."""
        return LogSource, (self._queue, self.source_id)

    def __repr__(self) -> str:
        """Names the source and its queue."""
        return f"LogSource(source_id={self.source_id}, queue={self._queue!r})"


def _release(name: str) -> None:
    """Releases this process's buffer in run `name` (the buffer itself stays until it is drained).

    If a put holds it (a put of this thread, interrupted by a signal handler that stops the logger), it stays
    registered, closed to puts by `stop()`, and is released by a later call of `_release_finished_runs`.
    """
    with _registry_lock:
        ring = _process_rings.get(name)
        if ring is not None and (ring.pid != os.getpid() or ring.close()):
            del _process_rings[name]


def _release_finished_runs() -> None:
    """Releases this process's buffers in runs that ended (the caller holds the registry lock)."""
    for name, ring in list(_process_rings.items()):
        if ring.finished() and ring.close():
            del _process_rings[name]


def release_process_ring(name: str) -> None:
    """Releases this process's buffer in run `name`, if it has one (its owner's `stop()` calls it)."""
    _release(name)
