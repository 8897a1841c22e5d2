"""SharedMemoryArray: a named NumPy array in shared memory that many processes read and write under one lock."""

import contextlib
import os
import weakref
from collections.abc import Callable
from typing import Any, NoReturn, Self

import numpy as np
from numpy.typing import NDArray

from ._arithmetic import checked_sum
from ._connection import Connection
from ._header import HOLDER_WORD
from ._indexing import Index, resolve
from ._lifecycle import create, open_existing
from ._names import posix_names
from ._ownership import remove
from ._posix import NONBLOCKING, NamedSemaphore
from ._segment import Segment
from .exceptions import ArrayConstructorError, ArrayReplacedError, NotConnectedError

_ATTACH_WAIT = 1.0
"""Seconds `attach` waits for a creator that is still writing the header of the segment it just created."""

_connected: "weakref.WeakSet[SharedMemoryArray]" = weakref.WeakSet()
"""The connected arrays of this process, so that a forked child can mark its copies of them disconnected."""


class SharedMemoryArray:
    """A NumPy array in a named shared-memory segment, which any number of processes read and write under one lock.

    Create it once with `create_array()`, in the process that owns it; hand the object to child processes (as a
    `multiprocessing.Process` argument, under any start method), where each calls `connect()` before using it; or open
    it by name from any other program with `attach()`. Every `with_lock=True` operation, in any of these processes and
    their threads, excludes every other one.

    The creator owns the array: `destroy()` removes it from the system, and so does the creator's interpreter exit if
    `destroy()` was never called. Processes that only connect never remove it.

    The constructor is not public: `SharedMemoryArray(...)` raises ArrayConstructorError (a TypeError).
    """

    __slots__ = (
        "__weakref__",
        "_connection",
        "_dtype",
        "_name",
        "_segment_name",
        "_semaphore_name",
        "_shape",
        "_token",
    )

    _connection: Connection | None
    _dtype: np.dtype[Any]
    _name: str
    _segment_name: str
    _semaphore_name: str
    _shape: tuple[int, ...]
    _token: bytes

    def __init__(self) -> None:
        """Refuses direct construction.

        Raises:
            ArrayConstructorError: Always: use `create_array()` to make an array and `attach()` to open an existing one.
        """
        message = "use SharedMemoryArray.create_array() to make an array and SharedMemoryArray.attach() to open one"
        raise ArrayConstructorError(message)

    @classmethod
    def _describe(cls, name: str, shape: tuple[int, ...], dtype: np.dtype[Any], token: bytes) -> Self:
        # The one way in besides `__init__`, which refuses: a disconnected description (what unpickling rebuilds).
        array: Self = cls.__new__(cls)
        array._name = name
        array._segment_name, array._semaphore_name = posix_names(name)
        array._shape = shape
        array._dtype = dtype
        array._token = token
        array._connection = None
        return array

    @classmethod
    def create_array(cls, name: str, prototype: NDArray[Any], *, exist_ok: bool = False) -> Self:
        """Creates a shared array holding a copy of `prototype`, and returns it connected.

        The array keeps the prototype's shape and data type for its whole life. This process becomes its owner.

        Args:
            name: The name other processes use to find the array: only `A-Z a-z 0-9 . _ -`, not starting with `sem.`
                (the prefix of the semaphore files beside the segments on Linux), at most 246 characters on Linux
                and 25 on macOS (keep to 25 for names that work everywhere).
            prototype: The initial content; any non-empty array of at least one dimension whose data type NumPy can
                place in raw memory (numbers, bool, fixed-width strings, datetimes, structured types; not `object`).
            exist_ok: What to do when an array or segment with this name exists: False raises ArrayExistsError, True
                replaces it (processes still connected to the old one keep using the old memory).

        Returns:
            The new array, connected in this process.

        Raises:
            ArrayNameError: `name` is not a str, or not a valid array name (see `name` above).
            PrototypeError: `prototype` is not a NumPy array, has an object data type, holds no data or has no
                dimensions.
            ArrayExistsError: `exist_ok` is False and the name is taken.
        """
        return cls._connected(name, *create(name, prototype, exist_ok=exist_ok))

    @classmethod
    def attach(cls, name: str) -> Self:
        """Opens the existing array `name`, knowing only its name, and returns it connected.

        Shape and data type are read from the array's header, so this works from any program (for example one started
        from a shell), not only from processes that received the object. Its locked operations exclude those of the
        creator and of every other connected process. Attaching never makes this process an owner.

        Args:
            name: The name the array was created with.

        Returns:
            The array, connected in this process.

        Raises:
            ArrayNameError: `name` is not a str, or not a valid array name.
            ArrayNotFoundError: No array with this name exists.
            ArrayHeaderError: The segment of that name is not a SharedMemoryArray this version can open (made by
                something else, overwritten, or of another header layout version).
        """
        return cls._connected(name, *open_existing(name, _ATTACH_WAIT))

    @classmethod
    def _connected(cls, name: str, segment: Segment, semaphore: NamedSemaphore) -> Self:
        layout = segment.layout
        array: Self = cls._describe(name, layout.shape, layout.dtype, layout.token)
        array._connect_to(segment, semaphore)
        return array

    @property
    def name(self) -> str:
        """The name that identifies the array across processes."""
        return self._name

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape, fixed at creation."""
        return self._shape

    @property
    def datatype(self) -> np.dtype[Any]:
        """The array's NumPy data type, fixed at creation."""
        return self._dtype

    @property
    def is_connected(self) -> bool:
        """Whether this process can use the array through this object now."""
        return self._connection is not None

    def connect(self) -> None:
        """Connects this object to the shared array; does nothing if it is already connected.

        A process that received the object from its creator (as a `Process` argument) calls this before anything else.
        A copy inherited through `fork` starts disconnected as well.

        Raises:
            ArrayNotFoundError: The array no longer exists (it was destroyed, or its creator exited).
            ArrayReplacedError: The array was destroyed and re-created under the same name since this object was
                made.
            ArrayHeaderError: The segment of that name no longer holds a readable header.
        """
        if self._connection is not None:
            return
        segment, semaphore = open_existing(self._name, 0.0)
        if segment.layout.token != self._token:
            segment.close()
            message = (
                f"the shared memory array {self._name!r} was destroyed and re-created since this object was made; "
                f"open the new one with SharedMemoryArray.attach({self._name!r})"
            )
            raise ArrayReplacedError(message)
        self._connect_to(segment, semaphore)

    def disconnect(self) -> None:
        """Disconnects this object from the shared array; does nothing if it is not connected.

        The array itself stays in place for the other processes. NumPy views obtained from `array()` stay valid until
        they are garbage-collected.
        """
        connection = self._connection
        if connection is None:
            return
        _connected.discard(self)
        self._connection = None
        connection.close()

    def destroy(self) -> None:
        """Removes the array from the system; harmless if it is already gone, and when called again.

        Disconnects this object first. Processes still connected keep their memory until they disconnect, but no
        process can connect to the array afterwards. Call it once, from the process that manages the array's life,
        normally its creator, after the other processes are done. An array of the same name created later by someone
        else is never removed.
        """
        self.disconnect()
        remove(self._segment_name, self._semaphore_name, self._token)

    def read_data(self, index: Index, *, convert_output: bool = False, with_lock: bool = True) -> Any:
        """Reads one element (row) or a range of rows.

        Args:
            index: An int (negative counts from the end) selects one element of a 1-D array or one row of an N-D
                array; `(start, stop)` selects rows `start:stop` and `(start,)` rows `start:` (negative bounds count
                from the end; an empty range is allowed, a reversed one is not).
            convert_output: False returns NumPy values (a NumPy scalar for one element, an array otherwise); True
                returns Python values (a scalar, a tuple for a structured element, nested lists for ranges and rows).
            with_lock: Whether to hold the array's lock while reading, which guarantees a value no other locked
                operation is halfway through writing.

        Returns:
            A copy of the selected data: later writes to the array never change it.

        Raises:
            NotConnectedError: This object is not connected.
            IndexKindError: `index` is not one of the forms above.
            ArrayIndexError: `index` lies outside the array.
            ReversedRangeError: `index` is a reversed range (a subclass of ArrayIndexError).
            LockReentryError: `with_lock` is True inside this thread's own `with array()` block.
        """
        connection = self._connection
        if connection is None:
            self._refuse("read_data")
        view = connection.view
        # The scalar fast path, for 1-D arrays with plain elements; NumPy itself refuses an index out of range (with
        # its own message, replaced by resolve's below).
        if type(index) is int and connection.scalar:
            try:
                if not with_lock:
                    return view.item(index) if convert_output else view[index]
                if not connection.acquire(NONBLOCKING):
                    connection.lock.wait()
                words = connection.words
                words[HOLDER_WORD] = connection.pid
                try:
                    return view.item(index) if convert_output else view[index]
                finally:
                    words[HOLDER_WORD] = 0
                    connection.release()
            except (IndexError, OverflowError):  # OverflowError: an index beyond 64 bits
                resolve(index, connection.rows)
                raise
            except BaseException:
                connection.lock.abandon()  # an exception right after the acquisition must not leave the lock taken
                raise
        selection = resolve(index, connection.rows)
        value = connection.read_rows(selection) if with_lock else view[selection].copy()
        return value.tolist() if convert_output else value

    def write_data(self, index: Index, data: Any, *, with_lock: bool = True) -> None:
        """Writes one element (row) or a range of rows.

        Args:
            index: As for `read_data`.
            data: A value for one element; for a row or a range, an array-like of exactly the selected shape, or a
                single value to store in every selected element. A value the data type cannot hold unchanged is
                refused: no wrap-around (300 into uint8), no truncation (1.5 into an int array), no overflow to
                infinity, no clipped strings. Floats may round to the precision of a narrower float type.
            with_lock: Whether to hold the array's lock while writing, so that no other locked operation sees the
                write half done.

        Raises:
            NotConnectedError: This object is not connected.
            IndexKindError: `index` is not one of the forms `read_data` accepts.
            ArrayIndexError: `index` lies outside the array, or is a reversed range (ReversedRangeError).
            DataKindError: `data` is of a kind the array cannot hold (text into numbers, an arbitrary object, ...).
            DataShapeError: `data` does not have the selected shape.
            DataFitError: A value does not fit the data type; DataRangeError (a subclass) when it lies outside the
                type's range.
            LockReentryError: `with_lock` is True inside this thread's own `with array()` block.
        """
        connection = self._connection
        if connection is None:
            self._refuse("write_data")
        view = connection.view
        # The scalar fast path: fast_type is None unless the array is 1-D with plain elements, and NumPy itself
        # refuses an index out of range (with its own message, replaced by resolve's below).
        if type(data) is connection.fast_type and type(index) is int and connection.low <= data <= connection.high:
            try:
                if not with_lock:
                    view[index] = data
                    return
                if not connection.acquire(NONBLOCKING):
                    connection.lock.wait()
                words = connection.words
                words[HOLDER_WORD] = connection.pid
                try:
                    view[index] = data
                finally:
                    words[HOLDER_WORD] = 0
                    connection.release()
                return
            except (IndexError, OverflowError):  # OverflowError: an index beyond 64 bits
                resolve(index, connection.rows)
                raise
            except BaseException:
                connection.lock.abandon()  # see read_data
                raise
        selection = resolve(index, connection.rows)
        source = connection.fitted(data, index, selection)
        if with_lock:
            connection.write_rows(selection, source)
        else:
            view[selection] = source

    def add(self, index: Index, delta: Any) -> Any:
        """Adds `delta` to one element (row) or a range of rows as one atomic operation, and returns the result.

        The read, the addition and the write all happen under the array's lock, so no other locked operation of any
        process comes between them: four processes that each call `sma.add(0, 1)` 1,000 times leave exactly 4,000.
        The sum is exact and checked like a written value: an integer array adds any integer (negative ones too,
        so an unsigned counter counts down) and refuses a result outside its range instead of wrapping around; a
        float array refuses a result that would overflow to infinity. A refused addition changes nothing.

        Args:
            index: As for `read_data`.
            delta: The number to add to every selected element, or an array-like of exactly the selected shape.

        Returns:
            The new value, as `read_data(index)` would return it right after the addition.

        Raises:
            NotConnectedError: This object is not connected.
            IndexKindError: `index` is not one of the forms `read_data` accepts.
            ArrayIndexError: `index` lies outside the array, or is a reversed range (ReversedRangeError).
            DataKindError: The array does not hold numbers, or `delta` is not a number it can add.
            DataFitError: `delta` is not an integer, for an integer array.
            DataRangeError: The sum lies outside the range of the data type.
            DataShapeError: `delta` is neither one number nor of the selected shape.
            LockReentryError: Called inside this thread's own `with array()` block.
        """
        connection = self._connection
        if connection is None:
            self._refuse("add")
        # The fast path, for an int index into a 1-D int or float array and a delta of the same Python type: the
        # sum of Python numbers is exact, and a sum outside the precomputed bounds takes the checked path below.
        if type(delta) is connection.add_type and type(index) is int:
            view = connection.view
            try:
                if not connection.acquire(NONBLOCKING):
                    connection.lock.wait()
                words = connection.words
                words[HOLDER_WORD] = connection.pid
                try:
                    total = view.item(index) + delta
                    if connection.low <= total <= connection.high:
                        view[index] = total
                        return view[index]
                finally:
                    words[HOLDER_WORD] = 0
                    connection.release()
            except (IndexError, OverflowError):  # OverflowError: an index beyond 64 bits
                resolve(index, connection.rows)
                raise
            except BaseException:
                connection.lock.abandon()  # see read_data
                raise
        dtype = self._dtype
        return self.update(index, lambda current: checked_sum(current, delta, dtype, index))

    def update(self, index: Index, function: Callable[[Any], Any]) -> Any:
        """Replaces one element (row) or a range of rows by `function` of their value, as one atomic operation.

        Under the array's lock, `function` receives a copy of the selection (as `read_data(index)` returns it) and
        returns the new value, which is checked and written like `write_data`'s `data`, before the lock is released.
        No other locked operation of any process comes between the read and the write. If `function` raises, or its
        result does not fit, nothing is written and the error propagates. The lock is held while `function` runs:
        keep it short, and call no locked method of this array inside it.

        Example:
            ```python
            sma.update(0, lambda value: max(value, reading))  # keep the largest reading seen by any process
            sma.update((0,), numpy.sort)  # sort the whole array in place, atomically
            ```

        Args:
            index: As for `read_data`.
            function: Computes the new value of the selection from its current value.

        Returns:
            The new value, as `read_data(index)` would return it right after the update.

        Raises:
            NotConnectedError: This object is not connected.
            IndexKindError: `index` is not one of the forms `read_data` accepts.
            ArrayIndexError: `index` lies outside the array, or is a reversed range (ReversedRangeError).
            DataKindError: The result is of a kind the array cannot hold.
            DataFitError: A value of the result does not fit the data type (DataRangeError: outside its range).
            DataShapeError: The result is neither one value nor of the selected shape.
            LockReentryError: Called inside this thread's own `with array()` block, or `function` calls a locked
                method of this array.
        """
        connection = self._connection
        if connection is None:
            self._refuse("update")
        return connection.update(resolve(index, connection.rows), function, index)

    def array(self, *, with_lock: bool = True) -> contextlib.AbstractContextManager[NDArray[Any]]:
        """Returns a context manager that yields the live NumPy view of the shared array, for any NumPy work on it.

        Writes through the view go straight to shared memory and are seen by every process. With `with_lock=True` the
        whole `with` block holds the array's lock (keep it short): inside it, use the view itself, or pass
        `with_lock=False` to this object's methods, since the lock is not re-entrant. Values written through the
        view are not checked against the data type.

        Example:
            ```python
            with sma.array() as view:  # an atomic read-modify-write across processes
                view[0] += 1
            ```

        Args:
            with_lock: Whether to hold the array's lock for the duration of the `with` block.

        Returns:
            The context manager; its `with` block receives the live view, which must not be used after the block.

        Raises:
            NotConnectedError: This object is not connected.
        """
        connection = self._connection
        if connection is None:
            self._refuse("array")
        return connection.locked_view if with_lock else contextlib.nullcontext(connection.view)

    def __getitem__(self, key: Any) -> Any:
        """Returns a copy of `view[key]` for any NumPy index, read under the lock.

        Raises:
            NotConnectedError: This object is not connected.
            ArrayIndexError: `key` does not select from the array (out of bounds, not an index, an unknown field).
            LockReentryError: Called inside this thread's own `with array()` block.
        """
        connection = self._connection
        if connection is None:
            self._refuse("[...]")
        return connection.get_item(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        """Performs `view[key] = value` for any NumPy index, under the lock, refusing values that do not fit.

        Note that `sma[key] += 1` is two locked operations, a read and then a write, and is not atomic: use `add`,
        `update` or `with array()` for an atomic read-modify-write.

        Raises:
            NotConnectedError: This object is not connected.
            ArrayIndexError: `key` does not select from the array (out of bounds, not an index, an unknown field).
            DataKindError: `value` is of a kind the array cannot hold.
            DataFitError: A value does not fit the data type (DataRangeError: it lies outside the type's range).
            DataShapeError: `value` does not broadcast to the selection.
            LockReentryError: Called inside this thread's own `with array()` block.
        """
        connection = self._connection
        if connection is None:
            self._refuse("[...] =")
        connection.set_item(key, value)

    def __repr__(self) -> str:
        """Returns the array's name, shape, data type and connection state."""
        state = "connected" if self._connection is not None else "disconnected"
        return f"SharedMemoryArray(name={self._name!r}, shape={self._shape}, datatype={self._dtype}, {state})"

    def __reduce__(self) -> tuple[Callable[..., Self], tuple[Any, ...]]:
        """Pickles the array's description only: the copy a child process receives starts disconnected."""
        return self._describe, (self._name, self._shape, self._dtype, self._token)

    def _connect_to(self, segment: Segment, semaphore: NamedSemaphore) -> None:
        self._connection = Connection(segment, semaphore, self._semaphore_name, self._name)
        _connected.add(self)

    def _refuse(self, operation: str) -> NoReturn:
        message = (
            f"cannot use {operation} on the shared memory array {self._name!r}: this object is not connected in "
            f"this process (call connect() first)"
        )
        raise NotConnectedError(message)


def _disconnect_inherited_copies() -> None:
    # A forked child shares the parent's mapping but not its ownership or its pid (recorded as the lock holder): its
    # copies start disconnected, and the child connects them itself. The hook belongs to this module, whose class it
    # serves, hence the private access.
    for array in list(_connected):
        if array._connection is not None:  # noqa: SLF001
            array._connection.detach_after_fork()  # noqa: SLF001
        array.disconnect()


if hasattr(os, "register_at_fork"):  # POSIX only; elsewhere creating an array raises a clear OSError
    os.register_at_fork(after_in_child=_disconnect_inherited_copies)
