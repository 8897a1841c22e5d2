"""`LogPackage`: one timestamped message on its way from a producer process to the logger.

A package is validated and encoded where it is built, in the producer: it holds the finished bytes of its entry file
(the NumPy header, the source id, the timestamp and a copy of the payload). The logger's queue sends those bytes alone
(a `bytes` object pickles and unpickles in well under a microsecond, with no class to look up), the logger checks them
with a few byte comparisons and writes them with a single system call; a package pickled any other way also travels
as its entry bytes. Copying the payload at construction also means a producer may reuse or modify its buffer as soon
as the package is built, even though `multiprocessing.Queue` pickles it later, in a background thread.
"""

import operator
from typing import Any, SupportsIndex

import numpy as np
from numpy.typing import NDArray

from ._format.entry import (
    MAX_SOURCE_ID,
    MAX_TIME_STAMP,
    PREFIX_SIZE,
    encode_entry_prefix,
    entry_fields,
    npy_header_length,
)

SerializedData = NDArray[np.uint8] | bytes | bytearray | memoryview
"""What a package accepts as its payload."""


class LogPackage:
    """One log entry: the id of its source, its timestamp and the serialized data to store.

    A package is immutable. It is validated and encoded where it is built, so a bad value raises in the producer,
    before anything reaches the queue.
    """

    __slots__ = ("_entry", "_source_id", "_time_stamp")

    _source_id: int
    _time_stamp: int
    _entry: bytes

    def __init__(self, source_id: SupportsIndex, time_stamp: SupportsIndex, serialized_data: SerializedData) -> None:
        """Builds and validates a package.

        Args:
            source_id: The id of the producer that logged the entry, an integer (Python or NumPy) from 0 to 255.
            time_stamp: The entry's timestamp, an integer (Python or NumPy) from 0 to 2**64 - 1, typically
                nanoseconds or microseconds from a monotonic clock. Entries of one source are ordered by it.
            serialized_data: The payload: a one-dimensional `numpy.uint8` array or a bytes-like object (`bytes`,
                `bytearray`, `memoryview`). It is copied, so the caller may reuse its buffer right away.

        Raises:
            TypeError: If `source_id` or `time_stamp` is not an integer (booleans included), or `serialized_data`
                is neither a `uint8` array nor bytes-like.
            ValueError: If `source_id` or `time_stamp` is out of range, or `serialized_data` is an array that is not
                one-dimensional.
        """
        self._source_id = _checked_integer("source_id", source_id, MAX_SOURCE_ID)
        self._time_stamp = _checked_integer("time_stamp", time_stamp, MAX_TIME_STAMP)
        payload = _payload_buffer(serialized_data)
        # One copy: bytes concatenation reads the payload straight from the caller's buffer.
        self._entry = encode_entry_prefix(self._source_id, self._time_stamp, len(payload)) + payload

    @property
    def source_id(self) -> int:
        """The id of the source that logged the entry, 0 to 255."""
        return self._source_id

    @property
    def time_stamp(self) -> int:
        """The entry's timestamp, 0 to 2**64 - 1."""
        return self._time_stamp

    @property
    def serialized_data(self) -> NDArray[np.uint8]:
        """The payload, as a read-only one-dimensional `uint8` array (a view of the package's own copy)."""
        return np.frombuffer(self._entry, dtype=np.uint8, offset=len(self._entry) - self.payload_size)

    @property
    def payload_size(self) -> int:
        """The payload's length in bytes."""
        return len(self._entry) - npy_header_length(self._entry) - PREFIX_SIZE

    @property
    def entry_bytes(self) -> bytes:
        """The complete content of the entry's `.npy` file: the NumPy header, source id, timestamp and payload."""
        return self._entry

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        """Pickles the package as its entry bytes, which hold everything else."""
        return _restore_log_package, (self._entry,)

    def __eq__(self, other: object) -> bool:
        """Packages are equal when their source id, timestamp and payload are equal."""
        if not isinstance(other, LogPackage):
            return NotImplemented
        return self._entry == other._entry

    def __hash__(self) -> int:
        """Hashes the package by its source id, timestamp and payload."""
        return hash(self._entry)

    def __repr__(self) -> str:
        """Names the source, the timestamp and the payload size."""
        return (
            f"LogPackage(source_id={self._source_id}, time_stamp={self._time_stamp}, "
            f"serialized_data=<{self.payload_size} bytes>)"
        )


def _restore_log_package(entry: bytes) -> LogPackage:
    """Rebuilds an unpickled package, refusing bytes that are not an entry (a forged or damaged pickle).

    Raises:
        ValueError: If `entry` is not the bytes of an entry file.
    """
    fields = entry_fields(entry) if type(entry) is bytes else None
    if fields is None:
        raise ValueError("not the pickled form of a LogPackage: its bytes are not a log entry")
    package = LogPackage.__new__(LogPackage)
    package._source_id, package._time_stamp = fields
    package._entry = entry
    return package


def _checked_integer(name: str, value: SupportsIndex, maximum: int) -> int:
    """Returns `value` as a Python int after checking that it is an integer (not a boolean) from 0 to `maximum`."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"LogPackage {name} must be an integer from 0 to {maximum}, got the boolean {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(
            f"LogPackage {name} must be an integer from 0 to {maximum}, got {value!r} ({type(value).__name__})"
        ) from None
    if not 0 <= number <= maximum:
        raise ValueError(f"LogPackage {name} must be from 0 to {maximum}, got {number}")
    return number


def _payload_buffer(data: object) -> bytes | memoryview:
    """Returns the payload as bytes or a flat byte view, after checking it is a 1-D uint8 array or bytes-like."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise TypeError(
                f"LogPackage serialized_data must be a uint8 array, got dtype {data.dtype} "
                "(reinterpret its bytes with array.view(numpy.uint8).ravel() if that is what you mean)"
            )
        if data.ndim != 1:
            raise ValueError(f"LogPackage serialized_data must be a one-dimensional array, got shape {data.shape}")
        if type(data) is not np.ndarray:
            # A subclass may redefine `.data` (a masked array's is an array, not a buffer).
            data = data.view(np.ndarray)
        return data.data if data.flags.c_contiguous else data.tobytes()
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        view = memoryview(data)
        return view.cast("B") if view.c_contiguous else view.tobytes()
    raise TypeError(
        "LogPackage serialized_data must be a one-dimensional uint8 numpy array or bytes-like "
        f"(bytes, bytearray, memoryview), got {type(data).__name__}"
    )
