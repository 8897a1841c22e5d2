"""Values at the edges of what NumPy types hold are stored exactly or refused with the package's own errors."""

import datetime as dt
import os
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ataraxis_sharedarray import (
    ArrayIndexError,
    DataFitError,
    DataKindError,
    DataRangeError,
    DataShapeError,
    SharedArrayError,
    SharedMemoryArray,
)

HUGE_INDEXES = [2**63, 2**100, -(2**100), np.uint64(2**63)]


@pytest.mark.parametrize("index", HUGE_INDEXES, ids=str)
def test_an_index_beyond_64_bits_is_an_index_error(new_array: Callable[[Any], SharedMemoryArray], index: Any) -> None:
    sma = new_array(np.arange(4, dtype=np.int64))
    calls: dict[str, Callable[[], object]] = {
        "read_data": lambda: sma.read_data(index),
        "read_data, Python values": lambda: sma.read_data(index, convert_output=True),
        "write_data": lambda: sma.write_data(index, 1),
        "add": lambda: sma.add(index, 1),
        "update": lambda: sma.update(index, lambda value: value),
        "indexing": lambda: sma[index],
        "assignment by index": lambda: sma.__setitem__(index, 1),
        "range": lambda: sma.read_data((0, index)),
    }
    for call, make in calls.items():
        with pytest.raises(ArrayIndexError, match=r"out of range|does not select"):
            make()
        assert sma.read_data((0,), convert_output=True) == [0, 1, 2, 3], call


def test_masked_values_are_refused_not_stored_as_what_lies_under_the_mask(
    new_array: Callable[[Any], SharedMemoryArray],
) -> None:
    sma = new_array(np.arange(1, 4, dtype=np.float64))
    masked = np.ma.masked_array([5.0, 6.0, 7.0], mask=[False, True, False])
    for call in (
        lambda: sma.write_data((0, 3), masked),
        lambda: sma.write_data(0, np.ma.masked),
        lambda: sma.__setitem__(slice(None), masked),
        lambda: sma.add((0, 3), masked),
        lambda: sma.update((0,), lambda value: masked),
    ):
        with pytest.raises(DataKindError, match="masked"):
            call()
    assert sma.read_data((0,), convert_output=True) == [1.0, 2.0, 3.0]
    sma.write_data((0, 3), np.ma.masked_array([5.0, 6.0, 7.0], mask=False))
    assert sma.read_data((0,), convert_output=True) == [5.0, 6.0, 7.0]


def test_a_long_double_is_checked_like_any_float(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.zeros(2, dtype=np.int64))
    with pytest.raises(DataRangeError, match="outside its range"):
        sma.write_data(0, np.longdouble(2**70))
    with pytest.raises(DataFitError, match="not an integer"):
        sma.write_data((0, 2), [np.longdouble(1.5), 2])
    sma.write_data(1, np.longdouble(2**40))
    assert sma.read_data(1) == 2**40


def test_a_complex_with_one_part_nan_and_the_other_too_large_is_refused(
    new_array: Callable[[Any], SharedMemoryArray],
) -> None:
    sma = new_array(np.array([complex(np.nan, 3), 0], dtype=np.complex64))
    for call in (
        lambda: sma.write_data(1, complex(np.nan, 1e300)),
        lambda: sma.write_data(1, complex(1e300, np.nan)),
        lambda: sma.add(0, complex(0, 1e300)),
    ):
        with pytest.raises(DataRangeError, match="outside its range"):
            call()
    stored = sma.read_data((0,), convert_output=True)
    assert np.isnan(stored[0].real) and stored[0].imag == 3 and stored[1] == 0
    sma.write_data(1, complex(np.nan, 2))
    assert sma.read_data(1).imag == 2


_T, _D = np.datetime64(0, "ns"), np.timedelta64(0, "ms")
RECORD = np.dtype([("i", "i1"), ("c", "c8"), ("t", "M8[ns]"), ("d", "m8[ms]"), ("f", "f4"), ("nest", [("x", "u1")])])


def test_records_holding_nan_or_nat_are_stored(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.zeros(2, dtype=RECORD))
    record = (1, complex(np.nan, 2), np.datetime64("NaT", "ns"), np.timedelta64("NaT", "ms"), np.nan, (3,))
    sma.write_data(0, record)
    stored = sma.read_data(0)
    assert np.isnan(stored["c"].real) and stored["c"].imag == 2
    assert np.isnat(stored["t"]) and np.isnat(stored["d"]) and np.isnan(stored["f"])
    exact = (2, 1 + 2j, np.datetime64("2024-03-05T14:30:15.123456789", "ns"), dt.timedelta(milliseconds=5), 0.5, (4,))
    sma.write_data(1, exact)
    assert sma.read_data(1)["t"] == np.datetime64("2024-03-05T14:30:15.123456789", "ns")
    assert sma.read_data(1)["d"] == np.timedelta64(5, "ms")


def test_a_record_with_its_fields_in_another_order_is_stored_by_field_name(
    new_array: Callable[[Any], SharedMemoryArray],
) -> None:
    sma = new_array(np.zeros(2, dtype=[("a", "i2"), ("b", "f8")]))
    reordered = np.array([(2.5, 7)], dtype=[("b", "f8"), ("a", "i2")])
    sma.write_data(0, reordered[0])
    sma.write_data((1, 2), reordered)
    assert sma.read_data((0,), convert_output=True) == [(7, 2.5), (7, 2.5)]
    with pytest.raises(DataRangeError, match="field 'a'"):
        sma.write_data(0, np.array([(0.5, 70_000)], dtype=[("b", "f8"), ("a", "i4")])[0])


@pytest.mark.parametrize(
    ("value", "error", "pattern"),
    [
        ((300, 0j, _T, _D, 0.0, (0,)), DataRangeError, "field 'i'"),
        ((0, complex(1e39, 0), _T, _D, 0.0, (0,)), DataRangeError, "field 'c'"),
        ((0, 0j, _T, np.timedelta64(1, "us"), 0.0, (0,)), DataFitError, "field 'd'"),
        ((0, 0j, _T, _D, 0.0, (256,)), DataRangeError, "field 'x'"),
        ((0, 0j, _T, _D, "text", (0,)), DataKindError, "field 'f'"),
        ((0, 0j, 5, _D, 0.0, (0,)), DataKindError, "field 't'"),
        ((1, 2), DataKindError, "2 values for a record of 6 fields"),
        (5, DataKindError, "a record"),
    ],
)
def test_a_record_that_does_not_fit_names_the_field(
    new_array: Callable[[Any], SharedMemoryArray], value: object, error: type[Exception], pattern: str
) -> None:
    sma = new_array(np.zeros(2, dtype=RECORD))
    with pytest.raises(error, match=pattern):
        sma.write_data(0, value)
    assert sma.read_data(0).tobytes() == bytes(RECORD.itemsize)


@pytest.mark.parametrize("days", [-999_999_999, -106_751_992, 106_751_992, 999_999_999])
def test_a_python_timedelta_beyond_the_microsecond_range_is_stored_in_a_coarser_unit(
    new_array: Callable[[Any], SharedMemoryArray], derived_name: Callable[[str], str], days: int
) -> None:
    # 106,751,992 days is the first whole number of days that int64 microseconds cannot hold.
    sma = new_array(np.zeros(2, dtype="m8[D]"))
    sma.write_data(0, dt.timedelta(days=days))
    assert sma.read_data(0) == np.timedelta64(days, "D")
    sma.write_data((0, 2), [dt.timedelta(days=1), dt.timedelta(days=days)])
    assert sma.read_data((0,)).tolist() == [dt.timedelta(days=1), dt.timedelta(days=days)]
    with pytest.raises(DataFitError, match="lose precision"):
        sma.write_data((0, 2), [dt.timedelta(days=days), dt.timedelta(days=1, microseconds=1)])
    fine = SharedMemoryArray.create_array(derived_name("ns"), np.zeros(2, dtype="m8[ns]"))
    try:
        with pytest.raises(DataRangeError, match=rf"timedelta\(days={days}\) does not fit .*outside its range"):
            fine.write_data(0, dt.timedelta(days=days))
    finally:
        fine.destroy()


def test_years_and_months_are_no_fixed_number_of_seconds(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.zeros(2, dtype="m8[s]"))
    for value in (np.timedelta64(1, "Y"), np.timedelta64(1, "M"), np.array([1, 2], dtype="m8[M]")):
        with pytest.raises(DataFitError, match="no fixed length"):
            sma.write_data((0, 2), value)
    assert sma.read_data((0,)).tolist() == [dt.timedelta(0)] * 2


# Every scalar type NumPy can share, alone, in subarrays and nested in records; values drawn from the type itself.
_LEAVES = (
    hnp.scalar_dtypes()
    | hnp.datetime64_dtypes()
    | hnp.timedelta64_dtypes()
    | hnp.byte_string_dtypes(min_len=1)
    | hnp.unicode_string_dtypes(min_len=1)
)
_DTYPES = (
    _LEAVES | hnp.array_dtypes(_LEAVES, min_size=1, max_size=3) | hnp.nested_dtypes(_LEAVES, max_leaves=4)
).filter(lambda dtype: dtype.itemsize > 0 and dtype.subdtype is None)


@settings(max_examples=150)
@given(data=st.data())
def test_values_of_the_arrays_own_type_round_trip_exactly_and_python_forms_exactly_or_not_at_all(
    data: st.DataObject,
) -> None:
    dtype = data.draw(_DTYPES, label="dtype")
    values = data.draw(hnp.arrays(dtype, 3), label="values")
    name = f"atx_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"  # hypothesis runs many examples per test
    sma = SharedMemoryArray.create_array(name, np.zeros(3, dtype=dtype))
    try:
        sma.write_data((0, 3), values)
        assert sma.read_data((0,)).tobytes() == values.tobytes()
        for row in range(3):
            python_value = values[row].tolist() if dtype.names else values[row].item()
            try:
                sma.write_data(row, python_value)
            except SharedArrayError:
                continue
            stored = np.asarray(sma.read_data((row, row + 1)))
            expected = values[row : row + 1]
            assert stored.tobytes() == expected.tobytes() or _equal(stored, expected), (python_value, stored)
        if dtype.names:
            # A record written as a tuple of its own fields' values is never refused.
            for row in range(3):
                sma.write_data(row, tuple(values[row][name] for name in dtype.names))
            assert _equal(sma.read_data((0,)), values)
    finally:
        sma.destroy()


def _equal(left: np.ndarray, right: np.ndarray) -> bool:
    # Bytes differ where the values do not: -0.0 and 0.0, or NaNs with different payloads.
    if left.dtype.names:
        return all(_equal(left[name], right[name]) for name in left.dtype.names)
    if left.dtype.kind in "fc":
        return bool(np.array_equal(left, right, equal_nan=True))
    if left.dtype.kind in "mM":
        return bool(np.all((left == right) | (np.isnat(left) & np.isnat(right))))
    return bool(np.array_equal(left, right))


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (None, DataKindError),
        ({"a": 1}, DataKindError),
        (object(), DataKindError),
        ((value for value in [1, 2]), DataKindError),
        ("7", DataKindError),
        ([1, 2, 3], DataShapeError),
        (np.zeros((2, 2)), DataShapeError),
        (1.5, DataFitError),
        (2**64, DataRangeError),
    ],
    ids=["None", "dict", "object", "generator", "str", "list of 3", "2x2", "fraction", "2**64"],
)
def test_an_update_whose_function_returns_something_odd_changes_nothing(
    new_array: Callable[[Any], SharedMemoryArray], result: object, error: type[Exception]
) -> None:
    sma = new_array(np.array([5, 6], dtype=np.int64))
    with pytest.raises(error):
        sma.update((0, 2), lambda value: result)
    with pytest.raises(ZeroDivisionError):
        sma.update(0, lambda value: 1 // 0)
    assert sma.read_data((0,), convert_output=True) == [5, 6]
    assert sma.add(0, 1) == 6, "the lock was left taken"
