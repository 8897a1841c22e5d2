"""The logger's input queue: a `multiprocessing.Queue` that counts every put in shared memory.

`multiprocessing.Queue.put()` returns before the object is in the pipe (a feeder thread pickles and sends it
later) and `empty()` cannot see what other processes' feeder threads still hold, so the queue alone cannot tell
the logger when everything put before `stop()` has arrived. This subclass counts each put in the run's shared
cells before enqueuing it, refusing puts once the run stops or dies; the writer counts what it processes; `stop()`
waits until both totals meet.
"""

import multiprocessing.queues
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from ._counters import RunCounters, RunState
from .exceptions import DataLoggerError

if TYPE_CHECKING:
    _QueueBase = multiprocessing.queues.Queue[Any]
else:
    _QueueBase = multiprocessing.queues.Queue


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


class StopWriting:
    """The message that ends the writer's loop. It carries the run's secret token, so no producer can forge it.

    Args:
        token: The token the writer of this run was started with.
        sync: Whether the writer flushes the file system to the disk before it exits.
    """

    __slots__ = ("sync", "token")

    def __init__(self, token: str, sync: bool) -> None:
        self.token = token
        """The token the writer of this run was started with."""
        self.sync = sync
        """Whether the writer flushes the file system to the disk before it exits."""

    def __reduce__(self) -> tuple[type["StopWriting"], tuple[str, bool]]:
        """Pickles the token and the flag."""
        return StopWriting, (self.token, self.sync)


class LogQueue(_QueueBase):
    """A `multiprocessing.Queue` whose `put()` counts the object in the run's shared cells before enqueuing it.

    Args:
        counters: The shared cells of the run this queue feeds.
        logger_name: The logger's instance name, for error messages.
        ctx: The multiprocessing context that creates the queue's pipe, locks and semaphore.
    """

    def __init__(self, counters: RunCounters, logger_name: str, *, ctx: BaseContext) -> None:
        super().__init__(0, ctx=ctx)
        self._counters = counters
        self._logger_name = logger_name
        self._retired = False

    def __getstate__(self) -> tuple[Any, RunCounters, str]:  # type: ignore[override]
        """Adds the shared cells and the logger's name to the queue's own state."""
        return super().__getstate__(), self._counters, self._logger_name

    def __setstate__(self, state: tuple[Any, RunCounters, str]) -> None:  # type: ignore[override]
        """Restores a queue copy in another process."""
        base_state, self._counters, self._logger_name = state
        super().__setstate__(base_state)
        self._retired = False

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Counts `obj` as submitted to the logger and enqueues it.

        Args:
            obj: The object to log, normally a `LogPackage`; anything else is skipped and reported by the logger.
            block: As for `multiprocessing.Queue.put` (the queue is unbounded, so a put never waits for space).
            timeout: As for `multiprocessing.Queue.put`.

        Raises:
            DataLoggerError: If the run this queue belongs to was stopped or its logger process died.
        """
        if self._retired:
            raise DataLoggerError(self._refusal(RunState.STOPPED))
        try:
            refused = self._counters.admit()
        except (OSError, ValueError) as error:
            # The run's shared cells are gone: its logger was stopped (and the cells destroyed) before this
            # process attached to them.
            raise DataLoggerError(f"{self._refusal(RunState.STOPPED)} ({error})") from error
        if refused is not None:
            raise DataLoggerError(self._refusal(refused))
        try:
            super().put(obj, block, timeout)
        except BaseException:
            self._counters.withdraw()
            raise

    def put_uncounted(self, obj: Any) -> None:
        """Enqueues a control message of the logger itself, bypassing the count and the state check."""
        super().put(obj)

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
