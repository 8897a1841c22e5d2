"""The logger's input queue: a `multiprocessing.Queue` that counts every put in shared memory.

`multiprocessing.Queue.put()` returns before the object is in the pipe (a feeder thread pickles and sends it
later) and `empty()` cannot see what other processes' feeder threads still hold, so the queue alone cannot tell
the logger when everything put before `stop()` has arrived. This subclass counts each put in the run's shared
cells before enqueuing it, refusing puts once the run stops or dies; the writer counts what it processes; `stop()`
waits until both totals meet.
"""

import multiprocessing.queues
import os
import sys
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from ..exceptions import DataLoggerError
from ..log_package import LogPackage
from .run_state import RunState, SharedRunState

if TYPE_CHECKING:
    _QueueBase = multiprocessing.queues.Queue[Any]
else:
    _QueueBase = multiprocessing.queues.Queue

_PIPE_SIZE = 1 << 20
"""The capacity asked for the queue's pipe (Linux allows unprivileged processes up to 1 MiB by default): producers
can hand a burst to the kernel and the writer takes it in a few reads."""
_READ_SIZE = 1 << 20
"""The most bytes the writer reads from the pipe at once."""


class Unsendable:
    """Stands in for an object that a producer's feeder thread could not pickle, so the writer can report it.

    Args:
        description: What the object was and why it could not be sent.
    """

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description
        """What the object was and why it could not be sent."""

    def __reduce__(self) -> tuple[type["Unsendable"], tuple[str]]:
        """Pickles the description only."""
        return Unsendable, (self.description,)


@dataclass(frozen=True, slots=True)
class StopWriting:
    """The message that ends the writer's loop. It carries the run's secret token, so no producer can forge it."""

    token: str
    """The token the writer of this run was started with."""
    sync: bool
    """Whether the writer flushes the file system to the disk before it exits."""


class LogQueue(_QueueBase):
    """A `multiprocessing.Queue` whose `put()` counts the object in the run's shared cells before enqueuing it.

    Args:
        shared_state: The shared cells of the run this queue feeds.
        logger_name: The logger's instance name, for error messages.
        ctx: The multiprocessing context that creates the queue's pipe, locks and semaphore.
    """

    def __init__(self, shared_state: SharedRunState, logger_name: str, *, ctx: BaseContext) -> None:
        super().__init__(0, ctx=ctx)
        self._shared_state = shared_state
        self._logger_name = logger_name
        self._retired = False
        self._frames: FrameReader | None = None
        if sys.platform == "linux":
            try:
                import fcntl

                fcntl.fcntl(self.pipe_descriptor(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            except OSError:
                # A lower system limit: the default capacity only means more, smaller reads.
                pass

    def __getstate__(self) -> tuple[Any, SharedRunState, str]:  # type: ignore[override]
        """Adds the shared cells and the logger's name to the queue's own state."""
        return super().__getstate__(), self._shared_state, self._logger_name

    def __setstate__(self, state: tuple[Any, SharedRunState, str]) -> None:  # type: ignore[override]
        """Restores a queue copy in another process."""
        base_state, self._shared_state, self._logger_name = state
        super().__setstate__(base_state)
        self._retired = False
        self._frames = None

    # Positional `block` as in `multiprocessing.Queue.put`, whose signature this override keeps.
    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Counts `obj` as submitted to the logger and enqueues it.

        Args:
            obj: The object to log, normally a `LogPackage` (sent as its entry bytes); anything else is skipped and
                reported by the logger.
            block: As for `multiprocessing.Queue.put` (the queue is unbounded, so a put never waits for space).
            timeout: As for `multiprocessing.Queue.put`.

        Raises:
            DataLoggerError: If the run this queue belongs to was stopped or its logger process died.
        """
        if self._retired:
            raise DataLoggerError(self._refusal(RunState.STOPPED))
        try:
            refused = self._shared_state.admit()
        except (OSError, ValueError) as error:
            # The run's shared cells are gone: its logger was stopped (and the cells destroyed) before this
            # process attached to them.
            raise DataLoggerError(f"{self._refusal(RunState.STOPPED)} ({error})") from error
        if refused is not None:
            raise DataLoggerError(self._refusal(refused))
        if type(obj) is LogPackage:
            # The entry's file bytes say everything about it, and pickle and unpickle faster than the package.
            obj = obj.entry_bytes
        try:
            super().put(obj, block, timeout)
        except BaseException:
            self._shared_state.withdraw()
            raise

    def pipe_descriptor(self) -> int:
        """Returns the descriptor of the reading end of the queue's pipe (of the standard queue's private state)."""
        descriptor: int = self._reader.fileno()  # type: ignore[attr-defined]
        return descriptor

    def put_uncounted(self, obj: Any) -> None:
        """Enqueues a control message of the logger itself, bypassing the count and the state check."""
        super().put(obj)

    def receive_batch(self, timeout: float) -> list[memoryview]:
        """Returns the pickled messages now in the pipe, waiting up to `timeout` for the first (writer only).

        One `read` takes every message the pipe holds (up to 1 MiB), where `get()` costs a poll and two reads per
        message: the writer is the logger's bottleneck, and this is most of its overhead besides the files.

        Returns:
            Views of the messages, valid until the next call.

        Raises:
            EOFError: If every sending end of the pipe is closed.
        """
        if self._frames is None:
            self._frames = FrameReader(self.pipe_descriptor())
        messages = self._frames.read(timeout)
        release = self._sem.release  # type: ignore[attr-defined]
        for _ in messages:
            # Each put acquired the queue's semaphore (its size counter); a get releases it.
            release()
        return messages

    def retire(self) -> None:
        """Marks this process's copy as belonging to a finished run: later puts through it raise."""
        self._retired = True

    def _on_queue_feeder_error(self, error: Exception, obj: object) -> None:
        """Replaces an object the feeder thread could not pickle with a report, so the put is still accounted for.

        `multiprocessing.Queue` calls this hook in the producer's feeder thread; its default only prints a
        traceback and drops the object, which would leave the put counted but never processed.
        """
        description = f"a {type(obj).__name__} object that could not be pickled ({error!r})"
        try:
            super().put(Unsendable(description))
        except ValueError:
            # The producer closed the queue meanwhile: the put stays unaccounted and stop() reports it as lost.
            pass

    def _refusal(self, state: RunState) -> str:
        """Explains why a put was refused."""
        if state == RunState.DEAD:
            return f"the logger process of DataLogger '{self._logger_name}' died: the entry was not logged"
        return (
            f"DataLogger '{self._logger_name}' was stopped: this queue belongs to a finished run and takes no "
            "more entries (after start(), put entries on the logger's current input_queue)"
        )


class FrameReader:
    """Reads the messages of a pipe into one reusable buffer, as many as each `read` brings.

    Messages are framed as `multiprocessing.connection.Connection.send_bytes` frames them on POSIX: a 4-byte
    big-endian signed length (or -1 and an 8-byte length, for messages over 2 GiB), then the bytes. Reading into a
    buffer allocated once, rather than into a new object per read, spares the kernel the page faults of fresh memory
    (most of the cost of large entries).

    Args:
        descriptor: The reading end of the pipe.
    """

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._buffer = bytearray(2 * _READ_SIZE)
        self._view = memoryview(self._buffer)
        self._start = 0
        self._end = 0

    def read(self, timeout: float) -> list[memoryview]:
        """Waits up to `timeout` for data, reads what the pipe holds and returns the complete messages.

        Returns:
            Views of the messages (in the reader's buffer, or in a buffer of their own for messages larger than
            it), valid until the next call.

        Raises:
            EOFError: If every sending end of the pipe is closed.
        """
        if self._start:
            # Move the incomplete frame left by the last read to the front (no resize: views may still exist).
            remaining = self._end - self._start
            self._buffer[:remaining] = bytes(self._view[self._start : self._end])
            self._start, self._end = 0, remaining
        if not wait([self._descriptor], timeout):
            return []
        count = os.readv(self._descriptor, [self._view[self._end : self._end + _READ_SIZE]])
        if count == 0:
            raise EOFError("the queue's pipe was closed")
        self._end += count
        messages, self._start = _split_frames(self._buffer, self._view, self._start, self._end)
        frame = _frame_size(self._buffer, self._start, self._end)
        if frame is not None and frame[0] - self._start + frame[1] > _READ_SIZE:
            # A message larger than a read: read the rest of it straight into a buffer of its own. (So what stays
            # in the buffer between reads is always less than a read, and the next read always has room.)
            header_length = frame[0] - self._start
            messages.append(
                _complete_frame(self._descriptor, self._view[self._start : self._end], header_length, frame[1])
            )
            self._start = self._end = 0
        return messages


def _frame_size(data: bytearray, offset: int, end: int) -> tuple[int, int] | None:
    """Returns where the message of the frame at `offset` starts and its size, or None if the header is incomplete."""
    if end - offset < 4:
        return None
    size = int.from_bytes(data[offset : offset + 4], "big", signed=True)
    if size != -1:
        return offset + 4, size
    if end - offset < 12:
        return None
    return offset + 12, int.from_bytes(data[offset + 4 : offset + 12], "big")


def _split_frames(data: bytearray, view: memoryview, offset: int, end: int) -> tuple[list[memoryview], int]:
    """Returns views of the complete messages in `data[offset:end]` and the offset of the first incomplete frame."""
    messages = []
    while (frame := _frame_size(data, offset, end)) is not None:
        start, size = frame
        if end - start < size:
            break
        messages.append(view[start : start + size])
        offset = start + size
    return messages, offset


def _complete_frame(descriptor: int, head: memoryview, header_length: int, size: int) -> memoryview:
    """Reads the rest of a frame into a buffer of its own and returns a view of its message.

    Args:
        descriptor: The reading end of the pipe.
        head: The bytes of the frame read so far, its header included.
        header_length: The size of the frame's header.
        size: The size of the frame's message.

    Raises:
        EOFError: If the pipe closes before the message is complete.
    """
    message = memoryview(bytearray(size))
    received = len(head) - header_length
    message[:received] = head[header_length:]
    while received < size:
        count = os.readv(descriptor, [message[received:]])
        if count == 0:
            raise EOFError("the queue's pipe was closed in the middle of a message")
        received += count
    return message
