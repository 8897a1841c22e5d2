"""Atomic read-modify-writes: `add` and `update` lose no update across processes and refuse results that do not fit."""

import multiprocessing as mp
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sharedarray_workers as workers

from ataraxis_sharedarray import (
    ArrayIndexError,
    DataFitError,
    DataKindError,
    DataRangeError,
    DataShapeError,
    LockReentryError,
    NotConnectedError,
    SharedMemoryArray,
)


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_add_and_update_lose_no_update_across_four_processes(
    array_name: str, start_method: str, join: Callable[..., list[int | None]]
) -> None:
    processes, repeats = 4, 2000
    sma = SharedMemoryArray.create_array(array_name, np.zeros(4, dtype=np.uint64))
    try:
        context = mp.get_context(start_method)
        children = [context.Process(target=workers.add_and_update, args=(sma, repeats)) for _ in range(processes)]
        for child in children:
            child.start()
        assert join(children) == [0] * processes
        total = processes * repeats
        assert sma.read_data((0,), convert_output=True) == [total, 2 * total, total, total]
    finally:
        sma.destroy()


def test_add_returns_the_new_value_and_counts_down_in_unsigned_arrays(
    new_array: Callable[[Any], SharedMemoryArray],
) -> None:
    sma = new_array(np.array([5, 0, 0], dtype=np.uint64))
    assert sma.add(0, 3) == 8
    assert isinstance(sma.add(0, -8), np.uint64)
    assert sma.add(-1, np.int8(2)) == 2
    assert sma.add(1, 2.0) == 2
    assert sma.add(1, 2**64 - 3) == 2**64 - 1
    assert sma.read_data((0,), convert_output=True) == [0, 2**64 - 1, 2]


def test_add_to_a_range_and_to_rows(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.arange(6, dtype=np.int16).reshape(3, 2))
    assert sma.add((0, 2), 10).tolist() == [[10, 11], [12, 13]]
    assert sma.add(2, [1, -1]).tolist() == [5, 4]
    assert sma.add((1,), [[0, 1], [2, 3]]).tolist() == [[12, 14], [7, 7]]


def test_add_to_floats_and_complex_numbers(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.array([0.5, 1.0], dtype=np.float32))
    assert sma.add(0, 0.25) == np.float32(0.75)
    assert sma.add(1, 2**70) == np.float32(2.0**70)
    assert sma.add((0, 2), np.array([1, 2], dtype=np.int8)).tolist() == [1.75, float(np.float32(2.0**70 + 2))]
    complex_array = SharedMemoryArray.create_array(sma.name + "c", np.zeros(1, dtype=np.complex64))
    try:
        assert complex_array.add(0, 1 + 2j) == np.complex64(1 + 2j)
    finally:
        complex_array.destroy()


@pytest.mark.parametrize(
    ("dtype", "start", "delta", "error", "pattern"),
    [
        (np.uint8, 255, 1, DataRangeError, "256 does not fit an array of uint8"),
        (np.uint64, 0, -1, DataRangeError, "-1 does not fit an array of uint64"),
        (np.int64, 2**63 - 1, 1, DataRangeError, "9223372036854775808 does not fit"),
        (np.int32, 0, 1.5, DataFitError, r"delta 1\.5 .*not an integer"),
        (np.int32, 0, float("inf"), DataFitError, "delta inf .*not an integer"),
        (np.int32, 0, "1", DataKindError, "delta '1'"),
        (np.int32, 0, None, DataKindError, "delta None"),
        (np.float32, 3e38, 1e38, DataRangeError, "outside its range"),
        (np.float64, 1.7e308, 1e308, DataRangeError, "outside its range"),
        (np.float64, 0.0, 1j, DataKindError, "delta 1j"),
        (np.bool_, False, 1, DataKindError, "add needs an array of numbers"),
        ("U3", "a", "b", DataKindError, "add needs an array of numbers"),
        ("datetime64[s]", np.datetime64(0, "s"), 1, DataKindError, "add needs an array of numbers"),
    ],
)
def test_add_refuses_what_does_not_fit_and_changes_nothing(
    new_array: Callable[[Any], SharedMemoryArray], dtype: Any, start: Any, delta: Any, error: type, pattern: str
) -> None:
    sma = new_array(np.array([start, start], dtype=dtype))
    for index in (0, (0, 2)):
        with pytest.raises(error, match=pattern) as caught:
            sma.add(index, delta)
        assert caught.type is error
    assert sma.read_data((0,)).tolist() == np.array([start, start], dtype=dtype).tolist()


def test_add_refuses_bad_indexes_and_deltas_of_the_wrong_shape(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.zeros(4, dtype=np.int64))
    with pytest.raises(ArrayIndexError, match="index 4 is out of range"):
        sma.add(4, 1)
    with pytest.raises(DataShapeError, match=r"shape \(3,\) does not fit index \(0, 2\)"):
        sma.add((0, 2), [1, 2, 3])
    sma.disconnect()
    with pytest.raises(NotConnectedError, match="add"):
        sma.add(0, 1)
    sma.connect()
    assert sma.read_data((0,), convert_output=True) == [0, 0, 0, 0]


def test_update_applies_a_function_to_a_copy_and_stores_its_checked_result(
    new_array: Callable[[Any], SharedMemoryArray],
) -> None:
    sma = new_array(np.array([3, 1, 2, 9], dtype=np.uint8))
    seen: list[Any] = []

    def double(value: Any) -> Any:
        seen.append(value)
        return value * 2

    assert sma.update(0, double) == 6
    assert isinstance(seen[0], np.uint8)
    assert sma.update((0, 3), np.sort).tolist() == [1, 2, 6]
    assert sma.update((1,), lambda rows: rows[::-1]).tolist() == [9, 6, 2]
    with pytest.raises(DataRangeError, match="300 does not fit an array of uint8"):
        sma.update(0, lambda value: int(value) + 299)
    with pytest.raises(DataRangeError, match="does not fit"):
        sma.update(0, lambda value: -1)
    with pytest.raises(DataShapeError, match=r"shape \(2,\)"):
        sma.update((0, 3), lambda rows: rows[:2])
    with pytest.raises(ZeroDivisionError):
        sma.update(0, lambda value: 1 // 0)
    assert sma.read_data((0,), convert_output=True) == [1, 9, 6, 2]


def test_update_holds_the_lock_so_a_locked_call_inside_it_raises(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.zeros(2, dtype=np.int32))
    with pytest.raises(LockReentryError, match="already holds the lock"):
        sma.update(0, lambda value: sma.read_data(1) + 1)
    assert sma.update(0, lambda value: sma.read_data(1, with_lock=False) + 5) == 5
    with sma.array() as view, pytest.raises(LockReentryError):
        view[1] = sma.add(1, 1)
    assert sma.add(1, 1) == 1
