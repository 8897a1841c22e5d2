"""What one process holds while it is connected to an array, laid out for the fast paths of SharedMemoryArray."""

import math
import os
from collections.abc import Callable
from threading import get_ident
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._header import HOLDER_WORD, WORDS
from ._lock import ArrayLock, context_holders
from ._posix import NONBLOCKING, NamedSemaphore
from ._segment import Segment
from ._values import Checked, checked_array, fast_bounds
from .exceptions import ArrayIndexError, DataShapeError, NotConnectedError

_VIEW_TYPES = (np.ndarray, np.void)
"""What NumPy indexing returns as a view into shared memory (a row, a structured element), as opposed to a copy."""


def copy(value: Any) -> Any:
    """Returns `value`, read from the shared view, as a copy (NumPy returns plain elements as copies already)."""
    return value.copy() if isinstance(value, _VIEW_TYPES) else value


def _release_nothing() -> None:
    # What a forked child's inherited connection calls instead of releasing its parent's semaphore.
    return


def _copy_item(view: NDArray[Any], key: Any) -> Any:
    # The copy is made under the lock too: `view[key]` of a row or a slice is a view of the shared memory.
    return copy(view[key])


class Connection:
    """The mapping, the NumPy view, the lock and the precomputed fast-path facts of one connected array."""

    __slots__ = (
        "acquire",
        "add_type",
        "fast_type",
        "forked",
        "high",
        "lock",
        "locked_view",
        "low",
        "name",
        "pid",
        "release",
        "rows",
        "scalar",
        "segment",
        "view",
        "words",
    )

    def __init__(self, segment: Segment, semaphore: NamedSemaphore, semaphore_name: str, name: str) -> None:
        layout = segment.layout
        self.segment = segment
        """The mapped segment."""
        self.name = name
        """The array's name, for error messages."""
        # frombuffer, unlike np.ndarray(buffer=...), holds a buffer export on the mapping for as long as the array or
        # any view of it lives, so the mapping cannot be closed under a view a user kept (no dangling pointer).
        count = math.prod(layout.shape)
        self.view: NDArray[Any] = np.frombuffer(segment.buffer, layout.dtype, count, layout.data_offset).reshape(
            layout.shape
        )
        """The live NumPy view of the shared data."""
        self.words = memoryview(segment.buffer)[: 8 * WORDS].cast("q")
        """The header's lock fields as 8-byte integers (the fastest way to store the holder pid)."""
        self.lock = ArrayLock(semaphore, semaphore_name, self.words, segment.fd, name)
        """The array's cross-process lock."""
        self.acquire = semaphore.acquire
        """The semaphore's acquire, bound once for the fast paths."""
        self.release = semaphore.release
        """The semaphore's release, bound once for the fast paths."""
        self.pid = os.getpid()
        """This process's pid, recorded as the lock holder."""
        self.forked = False
        """Whether this process is a forked child that inherited the connection (see `detach_after_fork`)."""
        self.rows = layout.shape[0]
        """Length of the first axis."""
        # A structured or void element read by an int is a view into the buffer, not a copy: keep it off the fast path.
        self.scalar = len(layout.shape) == 1 and layout.dtype.kind != "V"
        """Whether an int index selects one element that NumPy returns as a copy (the fast paths' condition)."""
        bounds = fast_bounds(layout.dtype) if self.scalar else None
        self.fast_type: type | None = bounds[0] if bounds else None
        """The Python type that `write_data` stores without further checks when within `low` and `high`."""
        self.low: Any = bounds[1] if bounds else None
        """Smallest value of `fast_type` the data type holds."""
        self.high: Any = bounds[2] if bounds else None
        """Largest value of `fast_type` the data type holds."""
        self.add_type = self.fast_type if self.fast_type in (int, float) else None
        """The Python type of the delta that `add` sums without further checks (for int and float arrays)."""

        self.locked_view = LockedView(self, semaphore_name)
        """The (stateless, reusable) context manager that `array(with_lock=True)` returns."""

    def get_item(self, key: Any) -> Any:
        """Returns a copy of `view[key]`, read under the lock (see `SharedMemoryArray.__getitem__`)."""
        try:
            return self.locked(_copy_item, self.view, key)
        except (IndexError, KeyError, ValueError, OverflowError) as error:
            raise self._index_error(key, error) from None

    def set_item(self, key: Any, value: Any) -> None:
        """Performs `view[key] = value` under the lock, for a value that fits (see `SharedMemoryArray.__setitem__`)."""
        dtype = self.view.dtype
        if dtype.names is not None and (
            isinstance(key, str) or (type(key) is list and all(type(k) is str for k in key))
        ):
            # A field-name key selects fields, whose data types are the ones the value must fit (a view: no copy).
            try:
                dtype = self.view[key].dtype
            except (KeyError, ValueError) as error:
                raise self._index_error(key, error) from None
        source = checked_array(value, dtype)
        try:
            self.locked(self.view.__setitem__, key, source)
        except (IndexError, KeyError, OverflowError) as error:
            raise self._index_error(key, error) from None
        except ValueError as error:
            message = f"cannot write data of shape {source.shape} to [{key!r}] of {self.name!r}: {error}"
            raise DataShapeError(message) from None

    def read_rows(self, selection: int | slice) -> NDArray[Any]:
        """Returns a copy of `view[selection]`, read under the lock (`locked`, written out: ranges are read often)."""
        try:
            if not self.acquire(NONBLOCKING):
                self.lock.wait()
            words = self.words
            words[HOLDER_WORD] = self.pid
            try:
                return self.view[selection].copy()
            finally:
                words[HOLDER_WORD] = 0
                self.release()
        except BaseException:
            self.lock.abandon()
            raise

    def write_rows(self, selection: int | slice, source: Checked) -> None:
        """Performs `view[selection] = source` under the lock (`locked`, written out as in `read_rows`)."""
        try:
            if not self.acquire(NONBLOCKING):
                self.lock.wait()
            words = self.words
            words[HOLDER_WORD] = self.pid
            try:
                self.view[selection] = source
            finally:
                words[HOLDER_WORD] = 0
                self.release()
        except BaseException:
            self.lock.abandon()
            raise

    def locked(self, function: Callable[..., Any], *arguments: Any) -> Any:
        """Returns `function(*arguments)`, called under the lock."""
        try:
            if not self.acquire(NONBLOCKING):
                self.lock.wait()
            words = self.words
            words[HOLDER_WORD] = self.pid
            try:
                return function(*arguments)
            finally:
                words[HOLDER_WORD] = 0
                self.release()
        except BaseException:
            self.lock.abandon()  # an exception right after the acquisition must not leave the lock taken
            raise

    def fitted(self, data: Any, index: object, selection: int | slice) -> Checked:
        """Returns `data` checked against the data type and the shape `index` (resolved to `selection`) selects.

        Raises:
            DataKindError: As for `checked_array`.
            DataFitError: As for `checked_array`.
            DataShapeError: `data` is neither one value nor of the selected shape.
        """
        shape = self.view.shape
        target = shape[1:] if isinstance(selection, int) else (selection.stop - selection.start, *shape[1:])
        source = checked_array(data, self.view.dtype)
        if source.ndim != 0 and source.shape != target:
            message = (
                f"data of shape {source.shape} does not fit index {index!r}, which selects shape {target} "
                f"(give exactly that shape, or one value for every element)"
            )
            raise DataShapeError(message)
        return source

    def update(self, selection: int | slice, function: Callable[[Any], Any], index: object) -> Any:
        """Stores `function` of the selection's value under the lock; returns the new value (see `update`).

        The steps of `LockedView` written out rather than a `with` block: the release then runs in this frame,
        where no exception raised by a signal handler can come between the end of the work and the release (one
        can at the entry of a Python `__exit__`).
        """
        view = self.view
        holder = self.locked_view  # records this thread, so that `function` calling a locked method raises
        try:
            if not self.acquire(NONBLOCKING):
                self.lock.wait()
            words = self.words
            words[HOLDER_WORD] = self.pid
            holder.thread = get_ident()
            try:
                result = function(copy(view[selection]))
                if self.forked:
                    raise NotConnectedError(
                        f"this process was forked by the function given to update() of the shared memory array "
                        f"{self.name!r}: the update and its lock belong to the parent, and the array is not "
                        f"connected in this process"
                    )
                source = self.fitted(result, index, selection)
                view[selection] = source
                return copy(view[selection])
            finally:
                holder.thread = 0
                words[HOLDER_WORD] = 0
                self.release()
        except BaseException:
            self.lock.abandon()  # see ArrayLock.abandon
            raise

    def _index_error(self, key: object, error: Exception) -> ArrayIndexError:
        shape = self.view.shape
        return ArrayIndexError(f"[{key!r}] does not select from the array {self.name!r} of shape {shape}: {error}")

    def close(self) -> None:
        """Closes the segment's descriptor; the mapping goes once nothing uses it (see `Segment.close`).

        The views of the mapping stay: a `with array()` block or an `update` that disconnected its own array (or
        destroyed it) still runs, and releases the lock when it ends.
        """
        self.segment.close()

    def detach_after_fork(self) -> None:
        """Makes this connection, inherited by a forked child, inert: whatever it holds, the parent holds.

        A child forked inside a `with array()` block or an `update` leaves that block in its own copy of the code;
        clearing the holder and releasing the semaphore there would take the lock from under the parent.
        """
        self.forked = True
        self.words = memoryview(bytearray(8 * WORDS)).cast("q")
        self.release = _release_nothing
        self.lock.detach_after_fork(self.words)
        # The block the parent's thread was in is no block of the child's: a child that never leaves its copy (a
        # multiprocessing child) would otherwise be taken, by every connection of its own, for holding the lock.
        self.locked_view.thread = 0
        context_holders.discard(self.locked_view)


class LockedView:
    """The context manager `array(with_lock=True)` returns: holds the lock for the `with` block, yields the view.

    A class with the lock steps inlined, rather than a generator: the `with` block is the package's atomic
    read-modify-write, and this keeps its cost close to that of `with multiprocessing.Lock():`. One instance per
    connection serves every `with` block (the lock itself keeps two threads from being inside at once).
    """

    __slots__ = ("__weakref__", "_connection", "semaphore_name", "thread")

    def __init__(self, connection: Connection, semaphore_name: str) -> None:
        self._connection = connection
        self.semaphore_name = semaphore_name
        """The semaphore this context manager takes."""
        self.thread = 0
        """Ident of the thread inside the `with` block (0: none), so a nested locked call raises, not deadlocks."""
        context_holders.add(self)

    def __enter__(self) -> NDArray[Any]:
        connection = self._connection
        try:
            if not connection.acquire(NONBLOCKING):
                connection.lock.wait()
            connection.words[HOLDER_WORD] = connection.pid
            self.thread = get_ident()
        except BaseException:
            connection.lock.abandon()  # see ArrayLock.abandon
            raise
        return connection.view

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        # Python checks for pending signals on entering this function, before its first line: an exception raised
        # there by a signal handler leaves the lock taken (see the guide's known limits). Nothing can run earlier.
        self.thread = 0
        connection = self._connection
        connection.words[HOLDER_WORD] = 0
        connection.release()
