"""What one process holds while it is connected to an array, laid out for the fast paths of SharedMemoryArray."""

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._header import WORDS
from ._lock import ArrayLock
from ._posix import NamedSemaphore
from ._segment import Segment
from ._values import fast_bounds


class Connection:
    """The mapping, the NumPy view, the lock and the precomputed fast-path facts of one connected array."""

    __slots__ = (
        "acquire",
        "fast_type",
        "high",
        "lock",
        "low",
        "pid",
        "release",
        "rows",
        "scalar_rows",
        "segment",
        "view",
        "words",
    )

    def __init__(self, segment: Segment, semaphore: NamedSemaphore, semaphore_name: str, name: str) -> None:
        layout = segment.layout
        self.segment = segment
        """The mapped segment."""
        # frombuffer, unlike np.ndarray(buffer=...), holds a buffer export on the mapping for as long as the array or
        # any view of it lives, so the mapping cannot be closed under a view a user kept (no dangling pointer).
        count = int(np.prod(layout.shape))
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
        self.rows = layout.shape[0]
        """Length of the first axis."""
        # A structured or void element read by an int is a view into the buffer, not a copy: keep it off the fast path.
        self.scalar_rows = len(layout.shape) == 1 and layout.dtype.kind != "V"
        """Whether an int index selects one scalar element that NumPy returns as a copy."""
        bounds = fast_bounds(layout.dtype)
        self.fast_type: type | None = bounds[0] if bounds else None
        """The Python type that `write_data` stores without further checks when within `low` and `high`."""
        self.low: Any = bounds[1] if bounds else None
        """Smallest value of `fast_type` the data type holds."""
        self.high: Any = bounds[2] if bounds else None
        """Largest value of `fast_type` the data type holds."""

    def close(self) -> None:
        """Releases the header and data views and unmaps the segment (see `Segment.close`)."""
        self.words.release()
        del self.view
        self.segment.close()
