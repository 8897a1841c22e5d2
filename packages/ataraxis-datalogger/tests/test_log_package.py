import io
import pickle
import zlib
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ataraxis_datalogger import DataLoggerTypeError, DataLoggerValueError, LogPackage
from ataraxis_datalogger._format.entry import decode_entry
from ataraxis_datalogger._format.stream import RECORD_HEADER
from ataraxis_datalogger.log_package import _restore_log_package


@given(source_id=st.integers(0, 255), time_stamp=st.integers(0, 2**64 - 1), data=st.binary(max_size=200))
def test_packages_hold_the_entry_numpy_save_would_write(source_id: int, time_stamp: int, data: bytes) -> None:
    package = LogPackage(source_id, time_stamp, data)
    expected = np.frombuffer(bytes([source_id]) + time_stamp.to_bytes(8, "little") + data, dtype=np.uint8)
    saved = io.BytesIO()
    np.save(saved, expected)
    assert package.entry_bytes == saved.getvalue()
    assert (package.source_id, package.time_stamp, package.serialized_data.tobytes()) == (source_id, time_stamp, data)
    assert package.payload_size == len(data)
    restored = pickle.loads(ForkingPickler.dumps(package))
    assert restored == package
    assert restored.entry_bytes == package.entry_bytes


@given(source_id=st.integers(0, 255), time_stamp=st.integers(0, 2**64 - 1), data=st.binary(max_size=200))
def test_packages_hold_their_stream_record(source_id: int, time_stamp: int, data: bytes) -> None:
    record = LogPackage(source_id, time_stamp, data).record_bytes
    assert len(record) % 8 == 0 and len(record) - 20 - len(data) in range(8)
    crc, length, stamp, source, kind, reserved = RECORD_HEADER.unpack_from(record)
    assert (length, stamp, source, kind, reserved) == (len(data), time_stamp, source_id, 0, 0)
    assert record[20 : 20 + len(data)] == data and not any(record[20 + len(data) :])
    assert crc == zlib.crc32(record[4 : 20 + len(data)])


def test_the_seed_types_are_accepted() -> None:
    data = np.array([1, 2, 3, 4, 5], dtype=np.uint8)
    package = LogPackage(np.uint8(1), np.uint64(2**64 - 1), data)
    assert (package.source_id, package.time_stamp) == (1, 2**64 - 1)
    assert type(package.source_id) is int and type(package.time_stamp) is int
    assert np.array_equal(package.serialized_data, data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x01\x02\x03",
        bytearray(b"\x01\x02\x03"),
        memoryview(b"\x01\x02\x03"),
        np.array([1, 2, 3], dtype=np.uint8),
        np.array([1, 9, 2, 9, 3], dtype=np.uint8)[::2],
        memoryview(np.array([[1, 2, 3]], dtype=np.uint8)),
    ],
    ids=["bytes", "bytearray", "memoryview", "array", "strided array", "2-D memoryview"],
)
def test_every_bytes_like_payload_is_accepted(data: Any) -> None:
    assert LogPackage(1, 2, data).serialized_data.tobytes() == b"\x01\x02\x03"


def test_the_payload_is_copied_so_the_producer_may_reuse_its_buffer() -> None:
    buffer = np.array([1, 2, 3], dtype=np.uint8)
    package = LogPackage(1, 2, buffer)
    buffer[:] = 0
    assert package.serialized_data.tobytes() == b"\x01\x02\x03"
    assert not package.serialized_data.flags.writeable


def test_packages_pickle_small_and_without_numpy() -> None:
    package = LogPackage(7, 123, np.zeros(16, dtype=np.uint8))
    pickled = ForkingPickler.dumps(package)
    assert b"numpy" not in bytes(pickled)
    assert len(pickled) < len(package.record_bytes) + 100


def test_equality_hash_and_repr() -> None:
    first, second, third = LogPackage(1, 2, b"abc"), LogPackage(1, 2, b"abc"), LogPackage(1, 3, b"abc")
    assert first == second and hash(first) == hash(second)
    assert first != third
    assert first != "abc"
    assert repr(first) == "LogPackage(source_id=1, time_stamp=2, serialized_data=<3 bytes>)"


@pytest.mark.parametrize(
    ("source_id", "time_stamp", "error", "message"),
    [
        (256, 0, DataLoggerValueError, "source_id must be from 0 to 255, got 256"),
        (-1, 0, DataLoggerValueError, "source_id must be from 0 to 255, got -1"),
        (np.int64(300), 0, DataLoggerValueError, "got 300"),
        (1.0, 0, DataLoggerTypeError, r"source_id must be an integer from 0 to 255, got 1.0 \(float\)"),
        ("1", 0, DataLoggerTypeError, r"got '1' \(str\)"),
        (None, 0, DataLoggerTypeError, r"got None \(NoneType\)"),
        (True, 0, DataLoggerTypeError, "got the boolean True"),
        (np.bool_(True), 0, DataLoggerTypeError, "got the boolean"),
        (1, 2**64, DataLoggerValueError, f"time_stamp must be from 0 to {2**64 - 1}, got {2**64}"),
        (1, -5, DataLoggerValueError, "time_stamp must be from 0 to .*, got -5"),
        (1, 1.5, DataLoggerTypeError, r"time_stamp must be an integer .* got 1.5 \(float\)"),
        (1, np.float64(2), DataLoggerTypeError, r"\(float64\)"),
    ],
)
def test_bad_ids_and_timestamps_are_refused_naming_the_value(
    source_id: Any, time_stamp: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        LogPackage(source_id, time_stamp, b"")


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (np.zeros(3, dtype=np.float64), DataLoggerTypeError, "must be a uint8 array, got dtype float64"),
        (np.zeros(3, dtype=np.int8), DataLoggerTypeError, "got dtype int8"),
        (np.zeros((2, 3), dtype=np.uint8), DataLoggerValueError, r"one-dimensional array, got shape \(2, 3\)"),
        (np.uint8(3), DataLoggerTypeError, "got uint8"),
        ("text", DataLoggerTypeError, "bytes-like .* got str"),
        ([1, 2, 3], DataLoggerTypeError, "got list"),
        (None, DataLoggerTypeError, "got NoneType"),
    ],
)
def test_bad_payloads_are_refused_naming_the_value(data: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        LogPackage(1, 2, data)


def test_a_uint8_array_of_a_numpy_subclass_is_accepted_as_its_bytes() -> None:
    # A masked array's `.data` is its plain array, not a buffer: the payload is taken through the buffer protocol.
    masked = np.ma.array([1, 2, 3], mask=[False, True, False], dtype=np.uint8)
    assert bytes(LogPackage(1, 2, masked).serialized_data) == b"\x01\x02\x03"


def _with_byte(data: bytes, index: int, value: int) -> bytes:
    return data[:index] + bytes([value]) + data[index + 1 :]


_RECORD = LogPackage(1, 2, b"abc").record_bytes


@pytest.mark.parametrize(
    "record",
    [
        _RECORD[:-1],
        _RECORD + b"\x00" * 8,
        b"short",
        b"",
        _with_byte(_RECORD, 0, 0),
        _with_byte(_RECORD, 21, ord("X")),
        _with_byte(_RECORD, 17, 1),
        _with_byte(_RECORD, 23, 1),
        bytearray(_RECORD),
        "not bytes",
    ],
    ids=["truncated", "extended", "short", "empty", "bad crc", "bad payload", "kind", "padding", "bytearray", "str"],
)
def test_a_forged_or_damaged_pickle_does_not_unpickle(record: Any) -> None:
    with pytest.raises(DataLoggerValueError, match="not the pickled form of a LogPackage"):
        _restore_log_package(record)


def test_a_payload_too_large_for_a_record_is_refused() -> None:
    class Huge(bytes):
        def __len__(self) -> int:
            return 2**32

    with pytest.raises(DataLoggerValueError, match=f"holds {2**32} bytes; an entry holds at most {2**32 - 1}"):
        LogPackage(1, 2, Huge())


def test_the_entry_decodes_to_the_package_fields() -> None:
    package = LogPackage(200, 2**40, b"payload")
    decoded = decode_entry(package.entry_bytes)
    assert (decoded.source_id, decoded.time_stamp, bytes(decoded.payload)) == (200, 2**40, b"payload")
