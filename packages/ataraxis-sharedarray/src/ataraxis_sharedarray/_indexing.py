"""Turning the `read_data` / `write_data` index into a NumPy index, with errors that name what was wrong."""

from typing import Any, TypeGuard

import numpy as np

Index = int | np.integer[Any] | tuple[int | np.integer[Any]] | tuple[int | np.integer[Any], int | np.integer[Any]]
"""What `read_data` and `write_data` accept: an int, a `(start, stop)` range or an open `(start,)` range."""

_EXPECTED = "an int, a (start, stop) tuple or a (start,) tuple of ints"


def _is_integer(value: object) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def resolve(index: object, length: int) -> int | slice:
    """Returns the NumPy index that selects `index` along the first axis of an array of `length` rows.

    Raises:
        TypeError: The index is neither an integer nor a 1- or 2-tuple of integers.
        IndexError: The index or a range bound lies outside the array, or the range is reversed.
    """
    if _is_integer(index):
        position = int(index)
        if not -length <= position < length:
            valid = f"valid: {-length} to {length - 1}"
            message = f"index {index!r} is out of range for an array of {length} rows ({valid})"
            raise IndexError(message)
        return position
    if not isinstance(index, tuple) or len(index) not in (1, 2):
        raise TypeError(f"index must be {_EXPECTED}, not {index!r}")
    if not all(_is_integer(bound) for bound in index):
        raise TypeError(f"index must be {_EXPECTED}, not {index!r}")
    start = _bound(int(index[0]), length, index)
    stop = _bound(int(index[1]), length, index) if len(index) == 2 else length
    if start > stop:
        message = f"range {index!r} is reversed: it starts at row {start} but stops at row {stop}"
        raise IndexError(message)
    return slice(start, stop)


def _bound(bound: int, length: int, index: tuple[object, ...]) -> int:
    if not -length <= bound <= length:
        message = f"range {index!r} is out of range for an array of {length} rows (bounds: {-length} to {length})"
        raise IndexError(message)
    return bound + length if bound < 0 else bound
