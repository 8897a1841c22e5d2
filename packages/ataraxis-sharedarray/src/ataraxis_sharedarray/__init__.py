"""ataraxis-sharedarray: a named NumPy array in shared memory that many processes read and write safely.

Main objects:

- `SharedMemoryArray`: create an array once (`create_array`), hand it to child processes (`connect` there) or open it
  by name from any program (`attach`), and read and write it under one cross-process lock (`read_data`,
  `write_data`, `array`, indexing).
- `SharedArrayError`: the root of every error the package raises (see `exceptions` for each class).
- `LockRecoveredWarning`: emitted when a process takes over the lock of a holder that died while holding it.
"""

from importlib.metadata import version

from .exceptions import (
    ArrayConstructorError,
    ArrayExistsError,
    ArrayHeaderError,
    ArrayIndexError,
    ArrayNameError,
    ArrayNotFoundError,
    ArrayReplacedError,
    DataFitError,
    DataKindError,
    DataRangeError,
    DataShapeError,
    IndexKindError,
    LockRecoveredWarning,
    LockReentryError,
    NotConnectedError,
    PrototypeError,
    ReversedRangeError,
    SharedArrayError,
    SharedMemoryFullError,
    UnsupportedPlatformError,
)
from .shared_memory_array import SharedMemoryArray

__version__: str = version("ataraxis-sharedarray")

__all__ = [
    "ArrayConstructorError",
    "ArrayExistsError",
    "ArrayHeaderError",
    "ArrayIndexError",
    "ArrayNameError",
    "ArrayNotFoundError",
    "ArrayReplacedError",
    "DataFitError",
    "DataKindError",
    "DataRangeError",
    "DataShapeError",
    "IndexKindError",
    "LockRecoveredWarning",
    "LockReentryError",
    "NotConnectedError",
    "PrototypeError",
    "ReversedRangeError",
    "SharedArrayError",
    "SharedMemoryArray",
    "SharedMemoryFullError",
    "UnsupportedPlatformError",
    "__version__",
]
