"""Checking the values of an entry as a producer passes them: its source id and timestamp, and its payload.

`LogPackage` and the hot path (`LogSource.log`) accept the same values and refuse the same ones with the same errors,
so both use these checks.
"""

import operator
from typing import SupportsIndex

import numpy as np

from ..exceptions import DataLoggerTypeError, DataLoggerValueError


def checked_integer(name: str, value: SupportsIndex, maximum: int) -> int:
    """Returns `value` as a Python int after checking that it is an integer (not a boolean) from 0 to `maximum`."""
    if value.__class__ is int and 0 <= value <= maximum:
        # The common case first: a package is built per entry, so its checks are part of the hot path.
        return value
    if isinstance(value, bool | np.bool_):
        raise DataLoggerTypeError(
            f"LogPackage {name} must be an integer from 0 to {maximum}, got the boolean {value!r}"
        )
    try:
        number = operator.index(value)
    except TypeError:
        raise DataLoggerTypeError(
            f"LogPackage {name} must be an integer from 0 to {maximum}, got {value!r} ({type(value).__name__})"
        ) from None
    if not 0 <= number <= maximum:
        raise DataLoggerValueError(f"LogPackage {name} must be from 0 to {maximum}, got {number}")
    return number


def payload_buffer(data: object) -> bytes | memoryview:
    """Returns the payload as bytes or a flat byte view, after checking it is a 1-D uint8 array or bytes-like."""
    if data.__class__ is bytes:
        return data
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise DataLoggerTypeError(
                f"LogPackage serialized_data must be a uint8 array, got dtype {data.dtype} "
                "(reinterpret its bytes with array.view(numpy.uint8).ravel() if that is what you mean)"
            )
        if data.ndim != 1:
            raise DataLoggerValueError(
                f"LogPackage serialized_data must be a one-dimensional array, got shape {data.shape}"
            )
        if type(data) is not np.ndarray:
            # A subclass may redefine `.data` (a masked array's is an array, not a buffer).
            data = data.view(np.ndarray)
        return data.data if data.flags.c_contiguous else data.tobytes()
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        view = memoryview(data)
        return view.cast("B") if view.c_contiguous else view.tobytes()
    raise DataLoggerTypeError(
        "LogPackage serialized_data must be a one-dimensional uint8 numpy array or bytes-like "
        f"(bytes, bytearray, memoryview), got {type(data).__name__}"
    )
