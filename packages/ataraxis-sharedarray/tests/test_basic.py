"""Single-process behaviour of SharedMemoryArray: the seed API, data types, shapes, copies and lifecycle."""

import gc
import os
import pickle
import threading
from collections.abc import Callable

import numpy as np
import pytest

from ataraxis_sharedarray import (
    ArrayConstructorError,
    ArrayNotFoundError,
    ArrayReplacedError,
    NotConnectedError,
    SharedMemoryArray,
)


def test_create_exposes_name_shape_and_datatype(array_name: str, shm_entries: Callable[[str], list[str]]) -> None:
    prototype = np.array([1, 2, 3, 4, 5, 6], dtype=np.uint64)
    sma = SharedMemoryArray.create_array(name=array_name, prototype=prototype)
    try:
        assert sma.name == array_name
        assert sma.shape == prototype.shape
        assert sma.datatype == prototype.dtype
        assert sma.is_connected
        assert sorted(shm_entries(array_name)) == sorted([array_name, f"sem.{array_name}.lock"])
    finally:
        sma.destroy()
    assert shm_entries(array_name) == []


def test_constructor_is_not_public() -> None:
    with pytest.raises(ArrayConstructorError, match="create_array") as caught:
        SharedMemoryArray()
    assert isinstance(caught.value, TypeError)


def test_read_scalar_returns_numpy_value_and_python_value(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.array([1, 2, 3, 4, 5, 6], dtype=np.uint64))
    try:
        output = sma.read_data(index=2)
        assert output == np.uint64(3)
        assert isinstance(output, np.uint64)
        converted = sma.read_data(index=-1, convert_output=True)
        assert converted == 6
        assert type(converted) is int
        assert sma.read_data(np.int32(1), with_lock=False) == 2
    finally:
        sma.destroy()


def test_read_ranges(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.arange(1, 7, dtype=np.uint64))
    try:
        output = sma.read_data(index=(1, 4), convert_output=False, with_lock=False)
        assert isinstance(output, np.ndarray)
        assert np.array_equal(output, np.array([2, 3, 4], dtype=np.uint64))
        assert sma.read_data((0,), convert_output=True) == [1, 2, 3, 4, 5, 6]
        assert sma.read_data((-2,), convert_output=True) == [5, 6]
        assert sma.read_data((1, -1), convert_output=True) == [2, 3, 4, 5]
        assert sma.read_data((0, 0), convert_output=True) == []
        assert sma.read_data((6,), convert_output=True) == []
    finally:
        sma.destroy()


def test_reads_are_copies(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros((3, 2), dtype=np.int32))
    try:
        row = sma.read_data(0)
        block = sma.read_data((0, 2))
        sma.write_data(0, [7, 8])
        assert row.tolist() == [0, 0]
        assert block.tolist() == [[0, 0], [0, 0]]
        assert sma.read_data(0, convert_output=True) == [7, 8]
    finally:
        sma.destroy()


def test_write_scalars_and_ranges(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.array([1, 2, 3, 4, 5, 6], dtype=np.uint64))
    try:
        sma.write_data(index=1, data=7, with_lock=True)
        assert sma.read_data(index=1, convert_output=True) == 7
        sma.write_data(index=(1, 3), data=[10, 11], with_lock=False)
        assert sma.read_data(index=(0,), convert_output=True) == [1, 10, 11, 4, 5, 6]
        sma.write_data((4,), 0)
        assert sma.read_data((0,), convert_output=True) == [1, 10, 11, 4, 0, 0]
        sma.write_data(-1, np.uint8(9))
        assert sma.read_data(5) == 9
    finally:
        sma.destroy()


@pytest.mark.parametrize(
    ("prototype", "value"),
    [
        (np.zeros(4, dtype=np.int8), -128),
        (np.zeros(4, dtype=np.float32), 1.5),
        (np.zeros(4, dtype=np.float16), 0.25),
        (np.zeros(4, dtype=np.complex128), 1 + 2j),
        (np.zeros(4, dtype=bool), True),
        (np.array(["", "", ""], dtype="U5"), "hello"),
        (np.array([b"", b""], dtype="S3"), b"abc"),
        (np.zeros(3, dtype="datetime64[ms]"), np.datetime64("2024-01-02T03:04:05.006")),
        (np.zeros(3, dtype=">i4"), -5),
    ],
)
def test_each_dtype_round_trips(array_name: str, prototype: np.ndarray, value: object) -> None:
    sma = SharedMemoryArray.create_array(array_name, prototype)
    try:
        sma.write_data(1, value)
        assert sma.read_data(1) == value
        assert sma.read_data(0) == prototype[0]
        assert sma.datatype == prototype.dtype
    finally:
        sma.destroy()


def test_structured_dtype(array_name: str) -> None:
    dtype = np.dtype([("id", np.uint16), ("position", np.float64, (2,)), ("label", "U4")])
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=dtype))
    try:
        record = np.array((5, [1.5, -2.0], "ab"), dtype=dtype)
        sma.write_data(0, record)
        sma.write_data(1, (6, [0.5, 0.25], "cd"))
        first = sma.read_data(0)
        assert isinstance(first, np.void)
        sma.write_data(0, (9, [0.0, 0.0], "zz"))
        assert first["id"] == 5, "a structured element read must be a copy, not a view"
        identifier, position, label = sma.read_data(1, convert_output=True)
        assert (identifier, list(position), label) == (6, [0.5, 0.25], "cd")
        with pytest.raises(ValueError, match="70000"):
            sma.write_data(2, (70000, [0.0, 0.0], "x"))
        with pytest.raises(ValueError, match=r"1\.5"):
            sma.write_data(2, (1.5, [0.0, 0.0], "x"))
        assert sma.read_data(2)["id"] == 0
    finally:
        sma.destroy()


def test_structured_fields_are_set_by_name(array_name: str) -> None:
    dtype = np.dtype([("id", np.uint16), ("position", np.float64, (2,)), ("label", "U4")])
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=dtype))
    try:
        sma["id"] = [1, 2, 3]
        sma["position"] = 0.5
        sma[["id", "label"]] = (7, "ab")
        assert sma["id"].tolist() == [7, 7, 7]
        assert sma["position"].tolist() == [[0.5, 0.5]] * 3
        assert sma["label"].tolist() == ["ab"] * 3
        with pytest.raises(ValueError, match="70000 does not fit an array of uint16"):
            sma["id"] = 70000
        with pytest.raises(ValueError, match=r"1\.5 does not fit"):
            sma["id"] = [1, 2, 1.5]
        with pytest.raises(ValueError, match="'abcde' does not fit"):
            sma["label"] = "abcde"
        assert sma["id"].tolist() == [7, 7, 7]
    finally:
        sma.destroy()


def test_multidimensional_rows(array_name: str) -> None:
    prototype = np.arange(24, dtype=np.float64).reshape(4, 3, 2)
    sma = SharedMemoryArray.create_array(array_name, prototype)
    try:
        assert np.array_equal(sma.read_data(1), prototype[1])
        assert np.array_equal(sma.read_data((2,)), prototype[2:])
        sma.write_data(0, np.ones((3, 2)))
        sma.write_data((2, 4), 5.0)
        assert sma.read_data(0, convert_output=True) == [[1.0, 1.0]] * 3
        assert np.all(sma.read_data((2, 4)) == 5.0)
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            sma.write_data(0, [1.0, 2.0])
    finally:
        sma.destroy()


def test_array_context_and_numpy_indexing(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.arange(10, dtype=np.int64))
    try:
        with sma.array() as view:
            view[::2] *= 10
        with sma.array(with_lock=False) as view:
            assert int(view.sum()) == sum(range(1, 10, 2)) + 10 * sum(range(0, 10, 2))
        assert sma[2] == 20
        assert sma[[1, 3]].tolist() == [1, 3]
        sliced = sma[::3]
        sma[::3] = 0
        assert sliced.tolist() == [0, 3, 60, 9]
        assert sma[::3].tolist() == [0, 0, 0, 0]
        with pytest.raises(ValueError, match="9223372036854775808"):
            sma[np.array([True] + [False] * 9)] = 2**63
    finally:
        sma.destroy()


def test_repr_names_the_array(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(2, dtype=np.uint8))
    try:
        assert repr(sma) == f"SharedMemoryArray(name={array_name!r}, shape=(2,), datatype=uint8, connected)"
        sma.disconnect()
        assert repr(sma).endswith("disconnected)")
    finally:
        sma.destroy()


def test_connect_and_disconnect_are_idempotent(array_name: str, shm_entries: Callable[[str], list[str]]) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(6, dtype=np.uint64))
    try:
        sma.connect()
        assert sma.is_connected
        sma.disconnect()
        sma.disconnect()
        assert not sma.is_connected
        assert shm_entries(array_name), "disconnecting must not remove the array"
        sma.connect()
        assert sma.read_data(0) == 0
    finally:
        sma.destroy()


def test_dropping_a_connected_object_releases_its_file_descriptor(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(2, dtype=np.uint64))
    try:
        gc.collect()
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(200):
            SharedMemoryArray.attach(array_name).read_data(0)
        gc.collect()
        assert len(os.listdir("/proc/self/fd")) - before < 10
    finally:
        sma.destroy()


def test_disconnect_keeps_views_taken_from_array_valid(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.arange(4, dtype=np.int16))
    with sma.array() as view:
        kept = view
    sma.disconnect()
    assert kept.tolist() == [0, 1, 2, 3]
    sma.destroy()
    assert kept.tolist() == [0, 1, 2, 3]


def test_pickled_copy_starts_disconnected_and_connects(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.arange(3, dtype=np.uint32))
    try:
        copy = pickle.loads(pickle.dumps(sma))
        assert not copy.is_connected
        assert (copy.name, copy.shape, copy.datatype) == (sma.name, sma.shape, sma.datatype)
        copy.connect()
        copy.write_data(0, 42)
        assert sma.read_data(0) == 42
        copy.disconnect()
    finally:
        sma.destroy()


def test_attach_discovers_shape_and_dtype(array_name: str) -> None:
    dtype = np.dtype([("a", "<i2"), ("b", ">f4")])
    sma = SharedMemoryArray.create_array(array_name, np.zeros((2, 5), dtype=dtype))
    try:
        attached = SharedMemoryArray.attach(array_name)
        assert attached.shape == (2, 5)
        assert attached.datatype == dtype
        attached.write_data(1, np.ones(5, dtype=dtype))
        assert sma.read_data(1)["b"].tolist() == [1.0] * 5
        attached.disconnect()
    finally:
        sma.destroy()


def test_destroy_removes_and_is_harmless_twice(array_name: str, shm_entries: Callable[[str], list[str]]) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.float64))
    sma.destroy()
    assert not sma.is_connected
    assert shm_entries(array_name) == []
    sma.destroy()
    with pytest.raises(ArrayNotFoundError, match=array_name):
        sma.connect()


def test_destroy_works_while_connected_elsewhere(array_name: str, shm_entries: Callable[[str], list[str]]) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.float64))
    other = SharedMemoryArray.attach(array_name)
    sma.destroy()
    assert shm_entries(array_name) == []
    other.write_data(0, 1.0)
    assert other.read_data(0) == 1.0
    other.disconnect()


def test_exist_ok_replaces_and_stale_copies_refuse_to_connect(
    array_name: str, shm_entries: Callable[[str], list[str]]
) -> None:
    first = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.int64))
    stale = pickle.loads(pickle.dumps(first))
    with pytest.raises(FileExistsError, match=array_name):
        SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.int64))
    second = SharedMemoryArray.create_array(array_name, np.ones(5, dtype=np.int8), exist_ok=True)
    try:
        assert second.read_data((0,), convert_output=True) == [1] * 5
        with pytest.raises(ArrayReplacedError, match="re-created"):
            stale.connect()
        first.destroy()
        assert shm_entries(array_name), "destroying the replaced array must not remove its replacement"
    finally:
        second.destroy()


def test_operations_while_disconnected_raise_not_connected_error(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.int64))
    sma.disconnect()
    try:
        with pytest.raises(NotConnectedError, match=array_name):
            sma.read_data(0)
        with pytest.raises(NotConnectedError, match="connect"):
            sma.write_data(0, 1)
        with pytest.raises(NotConnectedError), sma.array():
            pass
        with pytest.raises(NotConnectedError):
            sma[0]
        with pytest.raises(NotConnectedError):
            sma[0] = 1
    finally:
        sma.destroy()


def test_lock_excludes_threads_of_one_process(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(1, dtype=np.int64))
    repeats, threads = 2000, 4

    def increment() -> None:
        for _ in range(repeats):
            with sma.array() as view:
                view[0] += 1

    try:
        workers = [threading.Thread(target=increment) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert not any(worker.is_alive() for worker in workers)
        assert sma.read_data(0) == repeats * threads
    finally:
        sma.destroy()
