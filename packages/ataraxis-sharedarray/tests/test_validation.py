"""Bad input gets a specific exception that names the value, and never changes data already written."""

import math
import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ataraxis_sharedarray import (
    ArrayIndexError,
    ArrayNotFoundError,
    DataFitError,
    DataKindError,
    DataRangeError,
    DataShapeError,
    IndexKindError,
    PrototypeError,
    ReversedRangeError,
    SharedMemoryArray,
)
from ataraxis_sharedarray._indexing import resolve


@pytest.mark.parametrize(
    ("prototype", "error", "pattern"),
    [
        ([1, 2, 3], PrototypeError, "numpy.ndarray, not list"),
        (np.array([object(), 1], dtype=object), PrototypeError, "object"),
        (np.zeros(2, dtype=[("a", "i4"), ("b", "O")]), PrototypeError, "Python objects"),
        (np.zeros(0, dtype=np.int8), PrototypeError, r"shape \(0,\)"),
        (np.zeros((3, 0)), PrototypeError, "holds no data"),
        (np.array(5), PrototypeError, r"prototype array\(5\) has no dimensions"),
    ],
)
def test_bad_prototypes_are_refused(array_name: str, prototype: object, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        SharedMemoryArray.create_array(array_name, prototype)  # type: ignore[arg-type]


def test_an_array_cannot_take_the_file_of_another_arrays_lock(
    array_name: str, shm_entries: Callable[[str], list[str]]
) -> None:
    # On Linux the lock of `array_name` is /dev/shm/sem.<array_name>.lock: an array of that name would be the same
    # file, and exist_ok=True would remove the lock from under `array_name`.
    sma = SharedMemoryArray.create_array(array_name, np.zeros(2, dtype=np.int64))
    impostor = f"sem.{array_name}.lock"
    try:
        with pytest.raises(ValueError, match=re.escape(f"name {impostor!r} starts with 'sem.', which is reserved")):
            SharedMemoryArray.create_array(impostor, np.zeros(2), exist_ok=True)
        with pytest.raises(ValueError, match="reserved"):
            SharedMemoryArray.attach(impostor)
        assert sorted(shm_entries(array_name)) == sorted([array_name, impostor])
        sma.write_data(0, 5)
        assert SharedMemoryArray.attach(array_name).read_data(0) == 5
    finally:
        sma.destroy()


def test_attach_to_a_missing_array_names_it(array_name: str) -> None:
    with pytest.raises(ArrayNotFoundError, match=array_name):
        SharedMemoryArray.attach(array_name)


@pytest.mark.parametrize(
    ("index", "error", "pattern"),
    [
        (6, ArrayIndexError, "index 6 is out of range for an array of 6 rows"),
        (-7, ArrayIndexError, "index -7"),
        (1.0, IndexKindError, "not 1.0"),
        (True, IndexKindError, "not True"),
        ("1", IndexKindError, "not '1'"),
        ((1, 2, 3), IndexKindError, r"not \(1, 2, 3\)"),
        ((), IndexKindError, r"not \(\)"),
        ((1.0, 2), IndexKindError, r"not \(1.0, 2\)"),
        ([1, 2], IndexKindError, r"not \[1, 2\]"),
        ((4, 2), ReversedRangeError, r"range \(4, 2\) is reversed"),
        ((0, 7), ArrayIndexError, r"range \(0, 7\) is out of range"),
        ((-8,), ArrayIndexError, r"range \(-8,\)"),
        (slice(0, 2), IndexKindError, "slice"),
    ],
)
def test_bad_indexes_are_refused(
    filled: SharedMemoryArray, index: object, error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern) as caught:
        filled.read_data(index)  # type: ignore[arg-type]
    assert caught.type is error
    with pytest.raises(error, match=pattern) as caught:
        filled.write_data(index, 1)  # type: ignore[arg-type]
    assert caught.type is error
    assert filled.read_data((0,), convert_output=True) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("index", "data", "error", "pattern"),
    [
        (0, -1, DataRangeError, "-1 does not fit an array of uint64"),
        (0, np.int64(-1), DataRangeError, "-1 does not fit"),
        (0, 2**64, DataRangeError, "18446744073709551616 does not fit"),
        (0, 1.5, DataFitError, r"1\.5 does not fit an array of uint64 \(not an integer\)"),
        (0, float("nan"), DataFitError, "nan does not fit"),
        (0, 1e30, DataRangeError, "outside its range"),
        (0, "7", DataKindError, "cannot store '7'"),
        (0, None, DataKindError, "cannot store None"),
        (0, 1 + 0j, DataKindError, "complex"),
        (0, [1], DataShapeError, r"shape \(1,\) does not fit index 0"),
        ((0, 2), [1, 2, 3], DataShapeError, r"shape \(3,\) does not fit index \(0, 2\), which selects shape \(2,\)"),
        ((0, 2), [1, -2], DataRangeError, "-2 does not fit"),
        ((0, 2), np.array([1.0, 2.5]), DataFitError, r"2\.5 does not fit"),
        ((0, 2), [[1, 2]], DataShapeError, r"shape \(1, 2\)"),
        ((0, 2), [1, [2, 3]], DataKindError, "cannot store"),
        ((0, 2), np.array(["a", "b"]), DataKindError, "cannot store"),
    ],
)
def test_bad_data_is_refused(
    filled: SharedMemoryArray,
    index: object,
    data: object,
    error: type[Exception],
    pattern: str,
) -> None:
    with pytest.raises(error, match=pattern) as caught:
        filled.write_data(index, data)  # type: ignore[arg-type]
    assert caught.type is error
    assert filled.read_data((0,), convert_output=True) == [1, 2, 3, 4, 5, 6], "a refused write changed the data"


@pytest.mark.parametrize(
    ("dtype", "value", "pattern"),
    [
        (np.uint8, 300, "300 does not fit an array of uint8"),
        (np.uint8, np.int16(300), "300 does not fit"),
        (np.int8, -129, "-129 does not fit"),
        (np.int32, 2.5, "not an integer"),
        (np.int64, np.float32("inf"), "inf does not fit"),
        (np.float32, 1e39, "outside its range"),
        (np.float16, 70000, r"70000(\.0)? does not fit"),
        (np.bool_, 2, "2 does not fit an array of bool"),
        (np.bool_, 0.5, "not an integer"),
        ("U3", "abcd", "'abcd' does not fit an array of <U3"),
        ("S2", b"abc", "does not fit an array of |S2"),
        ("datetime64[s]", np.datetime64("2024-01-01T00:00:00.5"), "lose precision"),
    ],
)
def test_values_that_do_not_fit_the_dtype_are_refused(
    array_name: str, dtype: object, value: object, pattern: str
) -> None:
    prototype = np.zeros(3, dtype=dtype)
    sma = SharedMemoryArray.create_array(array_name, prototype)
    try:
        with pytest.raises(ValueError, match=pattern):
            sma.write_data(0, value)
        with pytest.raises(ValueError, match=pattern):
            sma.write_data((0, 2), [prototype[0], value])
        with pytest.raises(ValueError, match=pattern):
            sma[1] = value
        assert np.array_equal(sma.read_data((0,)), prototype)
    finally:
        sma.destroy()


@pytest.mark.parametrize(
    ("dtype", "data", "pattern"),
    [
        (np.uint8, [1, 2, 2**70], "^1180591620717411303424 does not fit an array of uint8"),
        (np.int64, [[5], [-(2**70)]], "^-1180591620717411303424 does not fit an array of int64"),
        (np.bool_, [True, 2**64], "^18446744073709551616 does not fit an array of bool"),
        (np.float32, [2**200, 1], "outside its range"),
        (np.float64, [1, 2**1100], "outside its range"),
    ],
)
def test_the_python_integer_beyond_64_bits_that_does_not_fit_is_named(
    array_name: str, dtype: object, data: list[object], pattern: str
) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(np.asarray(data, dtype=object).shape, dtype=dtype))
    try:
        with pytest.raises(ValueError, match=pattern):
            sma.write_data((0,), data)
        assert not sma.read_data((0,)).any()
    finally:
        sma.destroy()


def test_python_integers_beyond_64_bits_are_stored_in_float_arrays(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.float64))
    try:
        sma.write_data(0, 10**20)
        sma.write_data((1, 3), [2**70, -(2**80)])
        sma[0:1] = [3 * 10**30]
        assert sma.read_data((0,), convert_output=True) == [3e30, float(2**70), -float(2**80)]
    finally:
        sma.destroy()


@pytest.mark.parametrize(
    ("dtype", "data"),
    [
        (np.int64, [2**53 + 1, 1.0]),
        (np.int64, (-(2**63), 3.0)),
        (np.uint64, [2**63 + 1, 7]),
        (np.uint64, [2**64 - 1, np.float32(2.0)]),
        (np.int64, [np.int64(2**62 + 1), 0.5 + 0.5]),
        (np.bool_, [1.0, False]),
    ],
)
def test_a_sequence_mixing_ints_and_floats_is_stored_exactly(array_name: str, dtype: object, data: list[Any]) -> None:
    # NumPy alone turns these lists into float64 arrays, which round every int beyond 2**53.
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=dtype))
    try:
        expected = [bool(value) if dtype is np.bool_ else int(value) for value in data]
        sma.write_data((0, 2), data)
        assert sma.read_data((0, 2), convert_output=True) == expected
        sma[1:3] = data
        assert sma.read_data((1, 3), convert_output=True) == expected
    finally:
        sma.destroy()


@pytest.mark.parametrize(
    ("dtype", "data", "pattern"),
    [
        (
            np.uint64,
            [2**64 - 1, -1],
            r"^-1 does not fit an array of uint64 \(expected 0 to 18446744073709551615; item 1 ",
        ),
        (np.int64, [2**53 + 1, 1.5], r"^1\.5 does not fit an array of int64 \(not an integer; item 1 "),
        (np.int64, [1.5, 2**70], r"^1\.5 does not fit an array of int64"),
        (np.int64, [1.0, 2.0**63], r"^9\.223372036854776e\+18 does not fit an array of int64 \(outside its range"),
        (
            np.int64,
            [[1, 2**60 + 1], [3.5, 4]],
            r"^3\.5 does not fit an array of int64 \(not an integer; item \(1, 0\) ",
        ),
        (np.bool_, [1.0, 2], r"^2 does not fit an array of bool \(expected 0 or 1; item 1 "),
        (np.uint8, [300, -5], r"^300 does not fit an array of uint8"),
        (np.uint8, [2.0, np.int16(-5)], r"^-5 does not fit an array of uint8"),
    ],
)
def test_the_first_item_of_a_sequence_that_does_not_fit_is_named(
    array_name: str, dtype: object, data: list[Any], pattern: str
) -> None:
    shape = np.asarray(data, dtype=object).shape
    sma = SharedMemoryArray.create_array(array_name, np.zeros(shape, dtype=dtype))
    try:
        with pytest.raises(ValueError, match=pattern):
            sma.write_data((0,), data)
        with pytest.raises(ValueError, match=pattern):
            sma[:] = data
        assert not sma.read_data((0,)).any()
    finally:
        sma.destroy()


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        (np.uint64, 2**64 - 1),
        (np.int64, -(2**63)),
        (np.uint8, np.uint64(255)),
        (np.int16, 3.0),
        (np.float32, 0.1),
        (np.float32, float("nan")),
        (np.float16, float("-inf")),
        (np.float64, 7),
        (np.bool_, 1),
        (np.bool_, 1.0),
        (np.int8, True),
        (np.complex64, 2.5),
        ("U3", "ab"),
        ("datetime64[ms]", np.datetime64("2024-01-01T00:00:01")),
    ],
)
def test_values_that_fit_are_stored(array_name: str, dtype: object, value: object) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(2, dtype=dtype))
    try:
        sma.write_data(0, value)
        stored = sma.read_data(0)
        assert stored == np.asarray(value).astype(dtype) or (stored != stored and value != value)
    finally:
        sma.destroy()


@given(
    length=st.integers(1, 20),
    start=st.integers(-25, 25),
    stop=st.one_of(st.none(), st.integers(-25, 25)),
)
def test_ranges_select_python_slices_or_refuse(length: int, start: int, stop: int | None) -> None:
    rows = list(range(length))
    index = (start,) if stop is None else (start, stop)
    expected_stop = length if stop is None else stop
    in_bounds = -length <= start <= length and -length <= expected_stop <= length
    normalized = [bound + length if bound < 0 else bound for bound in (start, expected_stop)]
    if not in_bounds:
        with pytest.raises(IndexError, match="out of range"):
            resolve(index, length)
    elif normalized[0] > normalized[1]:
        with pytest.raises(IndexError, match="reversed"):
            resolve(index, length)
    else:
        selection = resolve(index, length)
        assert isinstance(selection, slice)
        assert rows[selection] == rows[start : (None if stop is None else stop)]


@given(length=st.integers(1, 20), position=st.integers(-25, 25))
def test_int_indexes_select_python_items_or_refuse(length: int, position: int) -> None:
    rows = list(range(length))
    if -length <= position < length:
        assert rows[resolve(position, length)] == rows[position]  # type: ignore[index]
        assert resolve(np.int16(position), length) == resolve(position, length)
    else:
        with pytest.raises(IndexError, match=f"index {position} is out of range"):
            resolve(position, length)


INTEGER_TYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
FLOAT_TYPES = [np.float16, np.float32]


@pytest.fixture(scope="module")
def typed_arrays() -> Iterator[dict[type, SharedMemoryArray]]:
    """One two-element array per numeric type, shared by the property tests of this module."""
    arrays = {
        dtype: SharedMemoryArray.create_array(f"atx_prop_{os.getpid()}_{uuid.uuid4().hex[:8]}", np.zeros(2, dtype))
        for dtype in INTEGER_TYPES + FLOAT_TYPES
    }
    yield arrays
    for sma in arrays.values():
        sma.destroy()


@given(dtype=st.sampled_from(INTEGER_TYPES), value=st.integers(-(2**65), 2**65), as_numpy=st.booleans())
def test_an_integer_is_stored_exactly_or_refused(
    typed_arrays: dict[type, SharedMemoryArray], dtype: type, value: int, *, as_numpy: bool
) -> None:
    sma = typed_arrays[dtype]
    info = np.iinfo(dtype)
    data: object = value
    if as_numpy:
        data = np.int64(value) if -(2**63) <= value < 2**63 else np.uint64(value) if 0 <= value < 2**64 else value
    before = sma.read_data(0, convert_output=True)
    if info.min <= value <= info.max:
        sma.write_data(0, data)
        assert sma.read_data(0, convert_output=True) == value
    else:
        with pytest.raises(ValueError, match=f"{value} does not fit"):
            sma.write_data(0, data)
        assert sma.read_data(0, convert_output=True) == before


def _fits(value: int | float, dtype: type) -> bool:
    info = np.iinfo(dtype)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return bool(info.min <= value <= info.max)  # exact: Python compares ints and floats without rounding


@given(
    dtype=st.sampled_from(INTEGER_TYPES),
    data=st.lists(st.one_of(st.integers(-(2**65), 2**65), st.floats()), min_size=2, max_size=2),
)
def test_a_sequence_of_ints_and_floats_is_stored_exactly_or_its_first_misfit_named(
    typed_arrays: dict[type, SharedMemoryArray], dtype: type, data: list[int | float]
) -> None:
    sma = typed_arrays[dtype]
    before = sma.read_data((0,), convert_output=True)
    misfits = [value for value in data if not _fits(value, dtype)]
    if misfits:
        with pytest.raises(ValueError, match=f"^{re.escape(repr(misfits[0]))} does not fit an array of"):
            sma.write_data((0,), data)
        assert sma.read_data((0,), convert_output=True) == before
    else:
        sma.write_data((0,), data)
        assert sma.read_data((0,), convert_output=True) == [int(value) for value in data]


@given(dtype=st.sampled_from(FLOAT_TYPES), value=st.floats(allow_nan=False))
def test_a_float_is_stored_rounded_or_refused_if_it_would_overflow(
    typed_arrays: dict[type, SharedMemoryArray], dtype: type, value: float
) -> None:
    sma = typed_arrays[dtype]
    with np.errstate(over="ignore"):
        rounded = np.asarray(value).astype(dtype)
    if np.isinf(rounded) and not np.isinf(value):
        with pytest.raises(ValueError, match="outside its range"):
            sma.write_data(0, value)
    else:
        sma.write_data(0, value)
        assert sma.read_data(0) == rounded
