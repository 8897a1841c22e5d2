"""The errors and the warning of ataraxis-sharedarray.

Every error a public call raises derives from `SharedArrayError`, so `except SharedArrayError:` handles any misuse
of an array. Each class also derives from the built-in class a caller would naturally catch for that misuse, and
from the one `ataraxis-data-structures` 3.x raised for it where that differs: a reversed range is an `IndexError`
and a `ValueError` (3.x raised `ValueError`), an index or a value of the wrong kind a `TypeError` and a
`ValueError`, use while disconnected a `ConnectionError` and a `RuntimeError`.

Shared memory without room for a new array raises `SharedMemoryFullError`, an `OSError`. Other failures the
operating system reports (no permission to open a segment, too many open files) are not misuses of an array and
reach the caller as the usual `OSError` subclasses.
"""


class SharedArrayError(Exception):
    """The root of every error ataraxis-sharedarray raises."""


class ArrayConstructorError(SharedArrayError, TypeError):
    """`SharedMemoryArray(...)` was called directly: use `create_array()` or `attach()`."""


class ArrayNameError(SharedArrayError, TypeError, ValueError):
    """An array name is not a str, or not a name every supported system accepts for shared memory.

    A `TypeError` for a name of another type, a `ValueError` for a str that is empty, too long, or holds a character
    outside `A-Z a-z 0-9 . _ -`.
    """


class PrototypeError(SharedArrayError, TypeError, ValueError):
    """The prototype given to `create_array` cannot be shared.

    It is not a NumPy array, holds Python objects, has no dimensions, or holds no data.
    """


class ArrayExistsError(SharedArrayError, FileExistsError):
    """`create_array` was asked for a name that is taken, without `exist_ok=True`."""


class SharedMemoryFullError(SharedArrayError, OSError):
    """Shared memory has no room for the array `create_array` was asked for (errno `ENOSPC`).

    The message names the size the array needs and the space left. Nothing is created.
    """


class ArrayNotFoundError(SharedArrayError, FileNotFoundError):
    """No array of that name exists: it was never created, was destroyed, or its owner exited."""


class ArrayReplacedError(SharedArrayError, ConnectionError):
    """`connect()` found that the array was destroyed and re-created under the same name since the object was made."""


class ArrayHeaderError(SharedArrayError, ValueError):
    """A segment of that name exists, but its header does not describe a SharedMemoryArray this version can open.

    The segment was made by something else, its header was overwritten, or it uses another header layout version.
    """


class NotConnectedError(SharedArrayError, ConnectionError, RuntimeError):
    """The object is not connected in this process: call `connect()` first."""


class ArrayIndexError(SharedArrayError, IndexError):
    """An index or a range bound lies outside the array, or a NumPy index does not select from it."""


class ReversedRangeError(ArrayIndexError, ValueError):
    """A `(start, stop)` range stops before it starts."""


class IndexKindError(SharedArrayError, TypeError, ValueError):
    """An index is not an int, a `(start, stop)` tuple or a `(start,)` tuple of ints."""


class DataKindError(SharedArrayError, TypeError, ValueError):
    """Data is of a kind the array's data type cannot hold at all (text into numbers, an arbitrary object, ...)."""


class DataFitError(SharedArrayError, ValueError):
    """A value is of a suitable kind but the data type cannot hold it unchanged.

    A fraction into an integer type, a string longer than the type, a time with more precision than the type's
    unit, a timezone-aware datetime. `DataRangeError`, a subclass, covers values outside the type's range.
    """


class DataRangeError(DataFitError, OverflowError):
    """A value lies outside the range of the array's data type (300 into uint8, -1 into uint64, 1e39 into float32)."""


class DataShapeError(SharedArrayError, ValueError):
    """Data does not have the shape of the selection it is written to (and is not a single value)."""


class LockReentryError(SharedArrayError, RuntimeError):
    """A locked operation was called by the thread that already holds the array's lock, where it would deadlock."""


class UnsupportedPlatformError(SharedArrayError, OSError):
    """This platform lacks POSIX shared memory or named semaphores (Windows)."""


class LockRecoveredWarning(RuntimeWarning):
    """A process took over an array's lock because its holder died while holding it.

    The work continues, but the cells the dead process was writing when it died may be partially written. Turn the
    warning into an error with `warnings.simplefilter("error", LockRecoveredWarning)` to stop instead.
    """
