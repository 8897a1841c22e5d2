"""Checking the arguments of the public calls that read, compress, inspect and export logs.

Each check returns the value in its plain Python form, or raises `DataLoggerTypeError` (a `TypeError`) or
`DataLoggerValueError` (a `ValueError`) naming the argument, the value received and what was expected. NumPy
integers and booleans are accepted wherever Python's are.
"""

import operator

import numpy as np

from ..exceptions import DataLoggerTypeError, DataLoggerValueError


def check_flag(value: object, name: str) -> bool:
    """Returns a True-or-False argument as a `bool`.

    Anything else is refused rather than taken for its truth value: `remove_sources="False"` would otherwise remove
    files.

    Args:
        value: The argument.
        name: Its name, for the message.

    Raises:
        DataLoggerTypeError: If it is not a `bool` (or NumPy boolean).
    """
    if not isinstance(value, bool | np.bool_):
        raise DataLoggerTypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_integer(value: object, name: str, minimum: int, *, unit: str = "") -> int:
    """Returns an integer argument as an `int`, after checking that it is at least `minimum`.

    Args:
        value: The argument (an `int` or NumPy integer; not a `bool`).
        name: Its name, for the message.
        minimum: The smallest value accepted.
        unit: What the integer counts (`"bytes"`), named in the messages; nothing by default.

    Raises:
        DataLoggerTypeError: If it is not an integer.
        DataLoggerValueError: If it is below `minimum`.
    """
    kind = f"an integer number of {unit}" if unit else "an integer"
    if isinstance(value, bool | np.bool_):
        raise DataLoggerTypeError(f"{name} must be {kind}, got {value!r} of type {type(value).__name__}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise DataLoggerTypeError(f"{name} must be {kind}, got {value!r} of type {type(value).__name__}") from None
    if number < minimum:
        least = f"{minimum} {unit}" if unit else f"{minimum}"
        raise DataLoggerValueError(f"{name} must be at least {least}, got {number}")
    return number
