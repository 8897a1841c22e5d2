"""The arithmetic of `SharedMemoryArray.add`: exact sums, refused when the result does not fit the data type.

NumPy's own `+` wraps integers around (`np.uint8(255) + 1` is 0) and overflows floats to infinity with only a
warning, so integer sums are computed on Python ints (exact at any size) and float sums are checked for overflow;
the result then passes the same checks as a written value.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._values import Checked, check_unmasked, checked_array
from .exceptions import DataFitError, DataKindError, DataRangeError, DataShapeError

_FLOAT_SUM_TYPES = {"f": np.dtype(np.float64), "c": np.dtype(np.complex128)}
"""The type each kind of float array sums in before the result is checked against the array's own type."""


def checked_sum(current: Any, delta: object, dtype: np.dtype[Any], index: object) -> Checked:
    """Returns `current + delta` as an array of `dtype`, or raises if the sum does not fit it.

    Args:
        current: The selected value (a NumPy scalar) or rows (an array) of an array of `dtype`.
        delta: What to add: one value for every selected element, or an array-like of exactly their shape.
        dtype: The array's data type.
        index: The index the caller selected with, for error messages.

    Raises:
        DataKindError: The array does not hold numbers, or `delta` is not a number this array can add.
        DataFitError: `delta` is a fraction, infinity or NaN, for an integer array.
        DataRangeError: The sum lies outside the range of `dtype`.
        DataShapeError: `delta` is neither one value nor of the selection's shape.
    """
    if dtype.kind not in "iufc":
        message = f"add needs an array of numbers; this one holds {dtype} (use update() to change it atomically)"
        raise DataKindError(message)
    current_array = np.asarray(current)
    increment = _increment(delta, dtype)
    if increment.ndim != 0 and increment.shape != current_array.shape:
        message = (
            f"delta of shape {increment.shape} does not fit index {index!r}, which selects shape "
            f"{current_array.shape} (give exactly that shape, or one value for every element)"
        )
        raise DataShapeError(message)
    if dtype.kind in "iu":
        # Object arrays of Python ints add exactly, whatever their size; the result's range is checked below.
        total: Any = current_array.astype(object) + increment.astype(object)
        return checked_array(total.tolist() if isinstance(total, np.ndarray) else total, dtype)
    wide = _FLOAT_SUM_TYPES[dtype.kind]
    with np.errstate(over="ignore", invalid="ignore"):
        sum_array = current_array.astype(wide) + increment.astype(wide)
    overflow = _overflowed(current_array, increment, sum_array)
    if overflow.any():
        raise DataRangeError(f"the sum does not fit an array of {dtype} (outside its range, at index {index!r})")
    return checked_array(sum_array, dtype)


def _overflowed(first: NDArray[Any], second: NDArray[Any], total: NDArray[Any]) -> NDArray[np.bool_]:
    # Where the sum of two finite terms is not finite; the parts of complex numbers count separately, so that a NaN
    # real part does not hide an imaginary part that overflowed.
    if total.dtype.kind == "c":
        return _overflowed(first.real, second.real, total.real) | _overflowed(first.imag, second.imag, total.imag)
    overflow: NDArray[np.bool_] = np.isfinite(first) & np.isfinite(second) & ~np.isfinite(total)
    return overflow


def _increment(delta: object, dtype: np.dtype[Any]) -> NDArray[Any]:
    # An integer array adds any integer, negative ones included (a uint64 counter counts down too), or a float with
    # an integral value; a float array adds any real number, a complex array any complex number.
    check_unmasked(delta, dtype)
    try:
        increment = np.asarray(delta)
    except (TypeError, ValueError) as error:
        raise DataKindError(f"delta {delta!r} is not a number an array of {dtype} can add: {error}") from None
    kind = increment.dtype.kind
    if kind == "O" and increment.size and all(type(value) is int for value in increment.ravel().tolist()):
        # NumPy holds Python ints beyond 64 bits as objects.
        if dtype.kind in "iu":
            return increment
        return np.asarray(checked_array(delta, np.dtype(np.float64)))
    if dtype.kind in "iu":
        if kind in "biu":
            return increment.astype(object)
        if kind == "f":
            with np.errstate(invalid="ignore"):
                integral = np.isfinite(increment) & (increment == np.trunc(increment))
            if not integral.all():
                bad = increment[~integral].flat[0].item()
                raise DataFitError(f"delta {bad!r} does not fit an array of {dtype} (not an integer)")
            return np.asarray(np.frompyfunc(int, 1, 1)(increment), dtype=object)
    elif kind in "biuf" or (kind == "c" and dtype.kind == "c"):
        return increment
    raise DataKindError(f"delta {delta!r} is not a number an array of {dtype} can add")
