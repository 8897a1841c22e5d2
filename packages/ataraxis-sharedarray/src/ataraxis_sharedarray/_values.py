"""Checking that data fits the array's data type before it is written: never wrap-around, truncation or overflow.

NumPy's own assignment casts unsafely (it stores `np.int64(-1)` into a uint64 array as 18446744073709551615 and
`1.5` into an int array as 1), so every write goes through `checked_array` unless it takes the scalar fast path in
`SharedMemoryArray.write_data`, whose bounds `fast_bounds` computes from the same rules.

The rule for integer (and bool) arrays is the same for a scalar and for each item of a sequence: an int or bool
within the range, or a float with an integral value within the range (3.0 is stored as 3).
"""

import datetime as dt
import math
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._records import checked_records
from .exceptions import DataFitError, DataKindError, DataRangeError

_NUMERIC_SOURCES = "biuf"

_ARRAYS_AND_SCALARS = (np.ndarray, np.generic)
"""Types that carry a NumPy data type (a tuple: building `X | Y` on every call would cost ~100 ns)."""

Checked = NDArray[Any] | np.generic
"""What `checked_array` returns: an array, or a NumPy scalar given already of the target type."""


def fast_bounds(dtype: np.dtype[Any]) -> tuple[type, Any, Any] | None:
    """Returns (Python type, lowest, highest) such that a value of exactly that type within the bounds fits `dtype`.

    Used by the scalar fast path; None when `dtype` has no such fast path.
    """
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int, int(info.min), int(info.max)
    if dtype.kind == "f":
        largest = float(np.finfo(dtype).max)
        return float, -largest, largest
    if dtype.kind == "b":
        return bool, False, True
    return None


def checked_array(data: object, dtype: np.dtype[Any]) -> Checked:
    """Returns `data` as an array (or a NumPy scalar) whose every value `dtype` stores unchanged (up to float rounding).

    Raises:
        DataKindError: `data` is not made of values of a kind `dtype` can hold (text into numbers, a float into a
            datetime, an arbitrary object, ...).
        DataRangeError: A value lies outside `dtype`'s range (for a boolean type: is not 0 or 1).
        DataFitError: A value is not integral for an integer type, is longer than a string type, or loses
            precision in a datetime type.
    """
    if isinstance(data, _ARRAYS_AND_SCALARS):
        if type(data) is not np.ndarray:
            check_unmasked(data, dtype)
        if data.dtype == dtype:
            return data
    if dtype.fields is not None:
        return checked_records(data, dtype)
    try:
        source = np.asarray(data)
    except (TypeError, ValueError) as error:
        raise DataKindError(f"cannot store {data!r} in an array of {dtype}: {error}") from None
    if source.dtype.kind in "fO" and dtype.base.kind in "iub" and isinstance(data, list | tuple):
        # NumPy turned a list mixing ints with floats (or with ints beyond int64) into floats, rounding every int
        # beyond 2**53, or into Python objects: only the given values themselves tell whether they fit.
        return _checked_integer_items(data, dtype.base)
    if source.dtype.kind == "O" and dtype.base.kind in "mM":
        return _checked_python_times(source, dtype)
    if source.dtype.hasobject:
        return _checked_big_integers(data, source, dtype)
    check_fits(source, dtype)
    return source


def check_unmasked(data: object, dtype: np.dtype[Any]) -> None:
    """Raises DataKindError if `data` is a NumPy masked array with a masked element, which has no value to store."""
    masked = sys.modules.get("numpy.ma")  # no masked array can exist before numpy.ma is imported
    if masked is not None and isinstance(data, masked.MaskedArray) and masked.getmaskarray(data).any():
        message = (
            f"cannot store masked values in an array of {dtype}: a masked element has no value; fill them first "
            f"(data.filled(value))"
        )
        raise DataKindError(message)


def _checked_integer_items(data: list[Any] | tuple[Any, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
    low, high = _integer_bounds(dtype)
    _check_integer_items(data, dtype, low, high, ())
    # With the target type given, NumPy converts each Python value by itself, so ints beyond 2**53 stay exact.
    return np.array(data, dtype=dtype)


def _check_integer_items(
    items: list[Any] | tuple[Any, ...], dtype: np.dtype[Any], low: int, high: int, position: tuple[int, ...]
) -> None:
    for index, item in enumerate(items):
        where = (*position, index)
        if isinstance(item, list | tuple):
            _check_integer_items(item, dtype, low, high, where)
            continue
        if isinstance(item, np.ndarray):
            check_fits(item, dtype)
            continue
        value = item.item() if isinstance(item, np.number | np.bool_) else item
        if isinstance(value, bool):
            continue
        error: type[DataFitError] = DataRangeError
        if isinstance(value, int):
            if low <= value <= high:
                continue
            reason = f"expected {_expected_integers(dtype, low, high)}"
        elif isinstance(value, float | np.floating):  # a long double stays a NumPy float through .item()
            if _is_integral(value) and low <= value <= high:
                continue
            if _is_integral(value) or np.isinf(value):
                reason = "outside its range"
            else:
                error, reason = DataFitError, "not an integer"
        else:
            message = f"cannot store {item!r} (item {_position(where)} of the data) in an array of {dtype}"
            raise DataKindError(message)
        raise error(f"{value!r} does not fit an array of {dtype} ({reason}; item {_position(where)} of the data)")


def _is_integral(value: float | np.floating[Any]) -> bool:
    if type(value) is float:
        return math.isfinite(value) and value == math.trunc(value)
    return bool(np.isfinite(value) and value == np.trunc(value))  # a long double has no exact Python float


def _position(where: tuple[int, ...]) -> str:
    return str(where[0]) if len(where) == 1 else str(where)


def _expected_integers(dtype: np.dtype[Any], low: int, high: int) -> str:
    return "0 or 1" if dtype.kind == "b" else f"{low} to {high}"


def _checked_big_integers(data: object, source: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    # NumPy falls back to an object array for Python ints beyond 64 bits (and for anything it cannot type): no
    # integer type holds them, and a float type holds them as floats unless they overflow it.
    values = source.ravel().tolist()
    integers = [value for value in values if type(value) is int]
    if integers and dtype.kind in "iub":
        low, high = _integer_bounds(dtype)
        outside = next((value for value in integers if not low <= value <= high), integers[0])
        raise DataRangeError(f"{outside} does not fit an array of {dtype} (outside its range)")
    if integers and len(integers) == len(values) and dtype.kind in "fc":
        try:
            converted = np.array([float(value) for value in values]).reshape(source.shape)
        except OverflowError:
            message = f"{max(integers, key=abs)} does not fit an array of {dtype} (outside its range)"
            raise DataRangeError(message) from None
        check_fits(converted, dtype)
        return converted
    raise DataKindError(f"cannot store {data!r} in an array of {dtype}: it is not made of {dtype} values")


_TIME_TYPES = {"M": (dt.date, np.datetime64), "m": (dt.timedelta, np.timedelta64)}
"""What a datetime64 (M) or a timedelta64 (m) array holds: `datetime.datetime` is a subclass of `datetime.date`."""


def _checked_python_times(source: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    # NumPy keeps Python datetimes, dates and timedeltas as objects. Each is converted on its own into the coarsest
    # NumPy unit that holds it exactly (a timedelta of whole days into days: in microseconds, the default, one of
    # more than 292,000 years would wrap around), and each conversion into the array's unit is checked by itself.
    kind = dtype.base.kind
    values = source.ravel().tolist()
    converted = np.empty(len(values), dtype=dtype.base)
    for position, value in enumerate(values):
        if not isinstance(value, _TIME_TYPES[kind]):
            raise DataKindError(f"cannot store {value!r} in an array of {dtype}")
        if isinstance(value, dt.datetime) and value.utcoffset() is not None:
            message = (
                f"{value!r} does not fit an array of {dtype}: datetime64 holds no timezone; convert the datetime "
                f"first, for example value.astimezone(datetime.timezone.utc).replace(tzinfo=None) for UTC"
            )
            raise DataFitError(message)
        item = np.asarray(value if isinstance(value, np.generic) else _numpy_time(value, dtype))  # type: ignore[arg-type]
        try:
            check_fits(item, dtype.base)
        except DataFitError as error:
            reason = "outside its range" if isinstance(error, DataRangeError) else "it would lose precision"
            raise type(error)(f"{value!r} does not fit an array of {dtype} ({reason})") from None
        converted[position] = item
    return converted.reshape(source.shape)


def _numpy_time(value: dt.date | dt.timedelta, dtype: np.dtype[Any]) -> np.generic:
    if not isinstance(value, dt.timedelta):
        return np.datetime64(value)  # days for a date; microseconds, always in range, for a datetime
    if value.seconds == value.microseconds == 0:
        return np.timedelta64(value.days, "D")
    if value.microseconds == 0:
        return np.timedelta64(value.days * 86_400 + value.seconds, "s")
    microseconds = value // dt.timedelta(microseconds=1)
    if not -(2**63) < microseconds < 2**63:
        raise DataRangeError(f"{value!r} does not fit an array of {dtype} (outside its range)")
    return np.timedelta64(microseconds, "us")


def check_fits(source: NDArray[Any], dtype: np.dtype[Any]) -> None:
    """Raises DataKindError, DataRangeError or DataFitError (see `checked_array`) unless `source` fits `dtype`."""
    if dtype.subdtype is not None:
        dtype = dtype.subdtype[0]
    kind, source_kind = dtype.kind, source.dtype.kind
    if source_kind == "b" and kind in "biufc":
        return
    if kind in "iub" and source_kind in "iu":
        _check_integer_range(source, dtype)
    elif kind in "iub" and source_kind == "f":
        _check_integral_floats(source, dtype)
    elif kind in "fc" and (source_kind in _NUMERIC_SOURCES or source_kind == kind == "c"):
        _check_no_overflow(source, dtype)
    elif kind in "SU" and source_kind == kind:
        _check_length(source, dtype)
    elif kind in "mM" and source_kind == kind:
        _check_time_precision(source, dtype)
    elif kind == "V" and source.dtype == dtype:
        return
    else:
        raise DataKindError(f"cannot store {_describe(source)} ({source.dtype}) in an array of {dtype}")


def _describe(source: NDArray[Any]) -> str:
    return repr(source.item()) if source.ndim == 0 else f"array {source.tolist()!r}"[:200]


def _first(source: NDArray[Any], mask: NDArray[np.bool_]) -> Any:
    return source[mask].flat[0].item()


def _integer_bounds(dtype: np.dtype[Any]) -> tuple[int, int]:
    if dtype.kind == "b":
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _check_integer_range(source: NDArray[Any], dtype: np.dtype[Any]) -> None:
    if np.can_cast(source.dtype, dtype) or source.size == 0:
        return
    low, high = _integer_bounds(dtype)
    if int(source.min()) < low or int(source.max()) > high:
        # Bounds clipped to the source's own range compare exactly under every NumPy version's casting rules.
        info = np.iinfo(source.dtype)
        outside = (source < max(low, int(info.min))) | (source > min(high, int(info.max)))
        value = _first(source, outside)
        expected = _expected_integers(dtype, low, high)
        raise DataRangeError(f"{value} does not fit an array of {dtype} (expected {expected})")


def _check_integral_floats(source: NDArray[Any], dtype: np.dtype[Any]) -> None:
    # `high` is exclusive: for int64 the float next to its maximum is 2**63, which does not fit.
    if dtype.kind == "b":
        low, high = 0.0, 2.0
    else:
        info = np.iinfo(dtype)
        low, high = float(info.min), float(int(info.max) + 1)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(source) | (source != np.trunc(source)) | (source < low) | (source >= high)
    if bad.any():
        value = _first(source, bad)
        if _is_integral(value) or np.isinf(value):
            raise DataRangeError(f"{value!r} does not fit an array of {dtype} (outside its range)")
        raise DataFitError(f"{value!r} does not fit an array of {dtype} (not an integer)")


def _check_no_overflow(source: NDArray[Any], dtype: np.dtype[Any]) -> None:
    if np.can_cast(source.dtype, dtype):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = overflowed(source, source.astype(dtype))
    if overflow.any():
        raise DataRangeError(f"{_first(source, overflow)!r} does not fit an array of {dtype} (outside its range)")


def overflowed(exact: NDArray[Any], converted: NDArray[Any]) -> NDArray[np.bool_]:
    """Returns where a finite value of `exact` became infinite in `converted`.

    The parts of complex numbers count separately: a NaN real part does not hide an imaginary part that overflowed.
    """
    if exact.dtype.kind == "c" or converted.dtype.kind == "c":
        return overflowed(exact.real, converted.real) | overflowed(exact.imag, converted.imag)
    overflow: NDArray[np.bool_] = np.isfinite(exact) & ~np.isfinite(converted)
    return overflow


def _check_length(source: NDArray[Any], dtype: np.dtype[Any]) -> None:
    if source.dtype.itemsize <= dtype.itemsize or source.size == 0:
        return
    lengths = np.char.str_len(source)
    limit = dtype.itemsize // (4 if dtype.kind == "U" else 1)
    too_long = lengths > limit
    if too_long.any():
        raise DataFitError(f"{_first(source, too_long)!r} does not fit an array of {dtype} (longer than {limit})")


def _check_time_precision(source: NDArray[Any], dtype: np.dtype[Any]) -> None:
    # NumPy converts between time units without a word when a value overflows the finer unit (a datetime in the year
    # 2300 into datetime64[ns] comes out in 1715) or when the coarser unit truncates it: a round trip reveals both.
    if source.dtype == dtype:
        return
    fixed = (_fixed_length(source.dtype), _fixed_length(dtype))
    if dtype.kind == "m" and None not in fixed and fixed[0] != fixed[1] and not np.isnat(source).all():
        message = (
            f"{_describe(source)} ({source.dtype}) does not fit an array of {dtype}: years and months have no fixed "
            f"length in days, so durations in them cannot be converted to the array's unit exactly"
        )
        raise DataFitError(message)
    try:
        back = source.astype(dtype).astype(source.dtype)
    except OverflowError:  # NumPy 2.5 and later detect the overflow themselves
        raise DataRangeError(f"{_describe(source)} does not fit an array of {dtype} (outside its range)") from None
    lost = (back != source) & ~np.isnat(source)
    if not lost.any():
        return
    if np.can_cast(source.dtype, dtype, "safe"):
        raise DataRangeError(f"{_first(source, lost)!r} does not fit an array of {dtype} (outside its range)")
    raise DataFitError(f"{_first(source, lost)!r} does not fit an array of {dtype} (it would lose precision)")


def _fixed_length(dtype: np.dtype[Any]) -> bool | None:
    # Whether a duration in this unit has a fixed length in seconds; None for the generic unit of a bare NaT or count.
    unit = np.datetime_data(dtype)[0]
    return None if unit == "generic" else unit not in ("Y", "M")
