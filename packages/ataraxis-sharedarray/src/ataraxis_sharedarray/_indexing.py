"""Turning the `read_data` / `write_data` index into a NumPy index, with errors that name what was wrong."""

from typing import Any

import numpy as np

from .exceptions import ArrayIndexError, IndexKindError, ReversedRangeError

Index = int | np.integer[Any] | tuple[int | np.integer[Any]] | tuple[int | np.integer[Any], int | np.integer[Any]]
"""What `read_data` and `write_data` accept: an int, a `(start, stop)` range or an open `(start,)` range."""

_EXPECTED = "an int, a (start, stop) tuple or a (start,) tuple of ints"


def resolve(index: object, length: int) -> int | slice:
    """Returns the NumPy index that selects `index` along the first axis of an array of `length` rows.

    Raises:
        IndexKindError: The index is neither an integer nor a 1- or 2-tuple of integers.
        ArrayIndexError: The index or a range bound lies outside the array.
        ReversedRangeError: The range stops before it starts.
    """
    if type(index) is int and -length <= index < length:
        return index
    if type(index) is tuple:
        if len(index) == 2:
            start, stop = index
            if type(start) is int and type(stop) is int and 0 <= start <= stop <= length:
                return slice(start, stop)
        given = [_as_int(bound) for bound in index] if 1 <= len(index) <= 2 else []
        bounds = [bound for bound in given if bound is not None]
        if not bounds or len(bounds) != len(index):
            raise IndexKindError(f"index must be {_EXPECTED}, not {index!r}")
        start = _bound(bounds[0], length, index)
        stop = _bound(bounds[1], length, index) if len(bounds) == 2 else length
        if start > stop:
            message = f"range {index!r} is reversed: it starts at row {start} but stops at row {stop}"
            raise ReversedRangeError(message)
        return slice(start, stop)
    position = _as_int(index)
    if position is None:
        raise IndexKindError(f"index must be {_EXPECTED}, not {index!r}")
    if not -length <= position < length:
        valid = f"valid: {-length} to {length - 1}"
        message = f"index {index!r} is out of range for an array of {length} rows ({valid})"
        raise ArrayIndexError(message)
    return position


def _as_int(value: object) -> int | None:
    # bool is an int subclass, but True as a row number is a bug, not an index.
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return int(value)
    return None


def _bound(bound: int, length: int, index: tuple[object, ...]) -> int:
    if not -length <= bound <= length:
        message = f"range {index!r} is out of range for an array of {length} rows (bounds: {-length} to {length})"
        raise ArrayIndexError(message)
    return bound + length if bound < 0 else bound
