"""`LogPackage`: one timestamped message on its way from a producer process to the logger.

A package is validated and encoded where it is built, in the producer: it holds the finished record of its entry, in
the form the logger's shared-memory buffers and its stream segments hold (see `_format.stream`): a CRC-32, the
payload's length, the timestamp and the source id, then a copy of the payload. Putting it on the logger's queue
copies those bytes into the producer's buffer with one slice assignment. Copying the payload at construction also
means a producer may reuse or modify its buffer as soon as the package is built.
"""

import zlib
from typing import Any, SupportsIndex

import numpy as np
from numpy.typing import NDArray

from ._format.entry import MAX_SOURCE_ID, MAX_TIME_STAMP, encode_entry_prefix
from ._format.stream import MAX_PAYLOAD, RECORD_HEADER, RECORD_HEADER_SIZE, Kind, encode_record, padded_size
from ._format.values import checked_integer, payload_buffer
from .exceptions import DataLoggerValueError

SerializedData = NDArray[np.uint8] | bytes | bytearray | memoryview
"""What a package accepts as its payload."""

_PADDING = bytes(8)


class LogPackage:
    """One log entry: the id of its source, its timestamp and the serialized data to store.

    A package is immutable. It is validated and encoded where it is built, so a bad value raises in the producer,
    before anything reaches the queue.
    """

    __slots__ = ("_record", "_source_id", "_time_stamp")

    _source_id: int
    _time_stamp: int
    _record: bytes

    def __init__(self, source_id: SupportsIndex, time_stamp: SupportsIndex, serialized_data: SerializedData) -> None:
        """Builds and validates a package.

        Args:
            source_id: The id of the producer that logged the entry, an integer (Python or NumPy) from 0 to 255.
            time_stamp: The entry's timestamp, an integer (Python or NumPy) from 0 to 2**64 - 1, typically
                nanoseconds or microseconds from a monotonic clock. Entries of one source are ordered by it.
            serialized_data: The payload: a one-dimensional `numpy.uint8` array or a bytes-like object (`bytes`,
                `bytearray`, `memoryview`), at most 2**32 - 1 bytes. It is copied, so the caller may reuse its
                buffer right away.

        Raises:
            DataLoggerTypeError: If `source_id` or `time_stamp` is not an integer (booleans included), or
                `serialized_data` is neither a `uint8` array nor bytes-like. It is a `TypeError`.
            DataLoggerValueError: If `source_id` or `time_stamp` is out of range, or `serialized_data` is an array
                that is not one-dimensional or holds more than 2**32 - 1 bytes. It is a `ValueError`.
        """
        self._source_id = checked_integer("source_id", source_id, MAX_SOURCE_ID)
        self._time_stamp = checked_integer("time_stamp", time_stamp, MAX_TIME_STAMP)
        payload = payload_buffer(serialized_data)
        if len(payload) > MAX_PAYLOAD:
            raise DataLoggerValueError(
                f"LogPackage serialized_data holds {len(payload)} bytes; an entry holds at most {MAX_PAYLOAD}"
            )
        self._record = encode_record(self._source_id, self._time_stamp, payload)

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
        return np.frombuffer(self._record, dtype=np.uint8, count=self.payload_size, offset=RECORD_HEADER_SIZE)

    @property
    def payload_size(self) -> int:
        """The payload's length in bytes."""
        return int.from_bytes(self._record[4:8], "little")

    @property
    def entry_bytes(self) -> bytes:
        """The complete content of the entry's `.npy` file: the NumPy header, source id, timestamp and payload."""
        payload = memoryview(self._record)[RECORD_HEADER_SIZE : RECORD_HEADER_SIZE + self.payload_size]
        return encode_entry_prefix(self._source_id, self._time_stamp, len(payload)) + payload

    @property
    def record_bytes(self) -> bytes:
        """The entry's record, as the logger's buffers and stream segments hold it (padding included)."""
        return self._record

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        """Pickles the package as its record, which holds everything else."""
        return _restore_log_package, (self._record,)

    def __eq__(self, other: object) -> bool:
        """Packages are equal when their source id, timestamp and payload are equal."""
        if not isinstance(other, LogPackage):
            return NotImplemented
        return self._record == other._record

    def __hash__(self) -> int:
        """Hashes the package by its source id, timestamp and payload."""
        return hash(self._record)

    def __repr__(self) -> str:
        """Names the source, the timestamp and the payload size."""
        return (
            f"LogPackage(source_id={self._source_id}, time_stamp={self._time_stamp}, "
            f"serialized_data=<{self.payload_size} bytes>)"
        )


def _restore_log_package(record: bytes) -> LogPackage:
    """Rebuilds an unpickled package, refusing bytes that are not an entry's record (a forged or damaged pickle).

    Raises:
        DataLoggerValueError: If `record` is not the record of an entry.
    """
    fields = _record_fields(record) if type(record) is bytes else None
    if fields is None:
        raise DataLoggerValueError("not the pickled form of a LogPackage: its bytes are not an entry's record")
    package = LogPackage.__new__(LogPackage)
    package._source_id, package._time_stamp = fields
    package._record = record
    return package


def _record_fields(record: bytes) -> tuple[int, int] | None:
    """Returns the source id and timestamp of a well-formed entry record, else None."""
    if len(record) < RECORD_HEADER_SIZE:
        return None
    checksum, length, time_stamp, source_id, kind, reserved = RECORD_HEADER.unpack_from(record)
    if kind != Kind.ENTRY or reserved or len(record) != padded_size(RECORD_HEADER_SIZE + length):
        return None
    end = RECORD_HEADER_SIZE + length
    if record[end:] != _PADDING[: len(record) - end] or zlib.crc32(memoryview(record)[4:end]) != checksum:
        return None
    return source_id, time_stamp
