"""Checking records (the elements of structured arrays) field by field, by the rules of each field's own type.

A record is given as a tuple or a NumPy record with one value per field, or as a structured array; lists add
dimensions, as NumPy reads them. Every field's values are checked together, like data written into an array of the
field's type, so a record holds exactly what a plain array of that type would: no wrap-around, no truncation, NaN
and NaT kept. Structured arrays and NumPy records are matched to the array's fields by name, not by position.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _values
from .exceptions import DataKindError, DataShapeError, SharedArrayError


def checked_records(data: object, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Returns `data` as an array of the structured `dtype`, every field checked like data of the field's type.

    Raises:
        DataKindError: `data` is not made of records of `dtype`'s fields, or a field's value is of a kind the field
            cannot hold.
        DataFitError: A field's value does not fit the field's type (DataRangeError: it lies outside its range).
        DataShapeError: Nested lists of records of different lengths.
    """
    names = dtype.names or ()
    if isinstance(data, np.ndarray | np.void):
        source = np.asarray(data)
        if source.dtype.names is None or set(source.dtype.names) != set(names):
            message = f"cannot store {_describe(data)} ({source.dtype}) in an array of {dtype}: the fields differ"
            raise DataKindError(message)
        shape = source.shape
        columns: list[Any] = [source[name] for name in names]
    else:
        records: list[Any] = []
        shape = _gather(data, data, len(names), dtype, records)
        columns = [[_field(record, name, position) for record in records] for position, name in enumerate(names)]
    result = np.zeros(shape, dtype)
    for name, column in zip(names, columns, strict=True):
        field = dtype.fields[name][0]  # type: ignore[index]
        try:
            checked = np.asarray(_values.checked_array(column, field.base))
        except SharedArrayError as error:
            raise type(error)(f"field {name!r}: {error}") from None
        try:
            result[name] = checked.reshape(shape + field.shape)
        except ValueError:
            message = (
                f"field {name!r}: values of shape {checked.shape[len(shape) :]} do not fit its shape {field.shape}"
            )
            raise DataShapeError(message) from None
    return result


def _gather(data: object, given: object, count: int, dtype: np.dtype[Any], records: list[Any]) -> tuple[int, ...]:
    # Appends the records of `data` to `records` in order and returns the shape they form.
    if isinstance(data, tuple | np.void):
        length = len(data) if isinstance(data, tuple) else len(data.dtype.names or ())
        if length != count:
            message = f"{data!r} has {length} values for a record of {count} fields ({dtype})"
            raise DataKindError(message)
        records.append(data)
        return ()
    if isinstance(data, np.ndarray):  # records of a nested structured type, in a subarray field
        return _gather(list(data) if data.ndim else data[()], given, count, dtype, records)
    if isinstance(data, list):
        shapes = {_gather(item, given, count, dtype, records) for item in data}
        if len(shapes) > 1:
            raise DataShapeError(f"{_describe(given)} nests lists of records of different lengths")
        return (len(data), *(shapes.pop() if shapes else ()))
    message = (
        f"cannot store {_describe(data)} in an array of {dtype}: a record is a tuple (or a NumPy record) with one "
        f"value per field"
    )
    raise DataKindError(message)


def _field(record: Any, name: str, position: int) -> Any:
    # A NumPy record is read by name (its fields may come in another order); a tuple by position.
    return record[name] if isinstance(record, np.void) else record[position]


def _describe(data: object) -> str:
    return f"{data!r:.200}"
