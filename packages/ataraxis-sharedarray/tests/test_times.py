"""Python datetimes, dates and timedeltas go into datetime64 and timedelta64 arrays where NumPy holds them exactly."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ataraxis_sharedarray import DataFitError, DataKindError, DataRangeError, SharedMemoryArray

MOMENT = dt.datetime(2024, 3, 5, 14, 30, 15, 250_000)
"""A naive datetime whose fraction of a second is exact in milliseconds."""


@pytest.mark.parametrize(
    ("dtype", "value", "stored"),
    [
        ("datetime64[us]", MOMENT, np.datetime64("2024-03-05T14:30:15.250000")),
        ("datetime64[ms]", MOMENT, np.datetime64("2024-03-05T14:30:15.250")),
        ("datetime64[ns]", MOMENT, np.datetime64("2024-03-05T14:30:15.250000000")),
        ("datetime64[s]", MOMENT.replace(microsecond=0), np.datetime64("2024-03-05T14:30:15")),
        ("datetime64[D]", dt.date(2024, 3, 5), np.datetime64("2024-03-05")),
        ("datetime64[s]", dt.date(2024, 3, 5), np.datetime64("2024-03-05T00:00:00")),
        ("datetime64[D]", dt.datetime(2024, 3, 5), np.datetime64("2024-03-05")),
        ("timedelta64[us]", dt.timedelta(days=1, microseconds=3), np.timedelta64(86_400_000_003, "us")),
        ("timedelta64[ns]", dt.timedelta(seconds=-2), np.timedelta64(-2_000_000_000, "ns")),
        ("timedelta64[s]", dt.timedelta(minutes=5), np.timedelta64(300, "s")),
    ],
)
def test_python_times_that_fit_are_stored_exactly(
    new_array: Callable[[Any], SharedMemoryArray], dtype: str, value: object, stored: Any
) -> None:
    sma = new_array(np.zeros(3, dtype=dtype))
    sma.write_data(0, value)
    sma.write_data((1, 3), [value, stored])
    sma[2] = value
    assert list(sma.read_data((0,))) == [stored] * 3
    assert sma.read_data(0) == stored


def test_a_list_may_mix_python_and_numpy_times(new_array: Callable[[Any], SharedMemoryArray]) -> None:
    sma = new_array(np.zeros(3, dtype="datetime64[ns]"))
    precise = np.datetime64("2024-01-01T00:00:00.123456789", "ns")
    sma.write_data((0,), [MOMENT, precise, np.datetime64("NaT", "ns")])
    first, second, third = sma.read_data((0,))
    assert (first, second) == (np.datetime64(MOMENT, "ns"), precise)
    assert np.isnat(third)
    assert sma.read_data(0, convert_output=True) == int(np.datetime64(MOMENT, "ns").astype(np.int64))


@pytest.mark.parametrize(
    ("dtype", "value", "error", "pattern"),
    [
        ("datetime64[ms]", MOMENT.replace(microsecond=1), DataFitError, "would lose precision"),
        ("datetime64[s]", MOMENT, DataFitError, "would lose precision"),
        ("datetime64[D]", MOMENT, DataFitError, "would lose precision"),
        ("datetime64[M]", dt.date(2024, 3, 5), DataFitError, "would lose precision"),
        ("timedelta64[ms]", dt.timedelta(microseconds=3), DataFitError, "would lose precision"),
        ("timedelta64[M]", dt.timedelta(days=1), DataFitError, "would lose precision"),
        ("datetime64[ns]", dt.datetime(2300, 1, 1), DataRangeError, "outside its range"),
        ("datetime64[ns]", np.datetime64("2300-01-01T00:00:00", "us"), DataRangeError, "outside its range"),
        ("timedelta64[ns]", dt.timedelta(days=110_000), DataRangeError, "outside its range"),
        ("datetime64[us]", dt.timedelta(days=1), DataKindError, "cannot store"),
        ("timedelta64[us]", MOMENT, DataKindError, "cannot store"),
        ("timedelta64[us]", dt.date(2024, 3, 5), DataKindError, "cannot store"),
        ("datetime64[us]", None, DataKindError, "cannot store None"),
        ("datetime64[us]", [MOMENT, 5], DataKindError, "cannot store 5"),
    ],
)
def test_python_times_that_do_not_fit_are_refused(
    new_array: Callable[[Any], SharedMemoryArray], dtype: str, value: object, error: type, pattern: str
) -> None:
    sma = new_array(np.zeros(2, dtype=dtype))
    index = (0, 2) if isinstance(value, list) else 0
    with pytest.raises(error, match=pattern) as caught:
        sma.write_data(index, value)
    assert caught.type is error
    with pytest.raises(error, match=pattern):
        sma[index if isinstance(index, int) else slice(*index)] = value
    assert not sma.read_data((0,)).astype(np.int64).any()


@pytest.mark.parametrize(
    "moment",
    [
        MOMENT.replace(tzinfo=dt.UTC),
        MOMENT.replace(tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_a_timezone_aware_datetime_is_refused_with_the_conversion_to_use(
    new_array: Callable[[Any], SharedMemoryArray], moment: dt.datetime
) -> None:
    # datetime64 holds no timezone: storing the instant in UTC would hand readers a naive value whose zone they must
    # guess, so the caller converts explicitly (the message says how).
    sma = new_array(np.zeros(2, dtype="datetime64[us]"))
    with pytest.raises(DataFitError, match=r"timezone.*astimezone\(datetime\.timezone\.utc\)\.replace\(tzinfo=None\)"):
        sma.write_data(0, moment)
    with pytest.raises(DataFitError, match="timezone"):
        sma.write_data((0, 2), [MOMENT, moment])
    sma.write_data(0, moment.astimezone(dt.UTC).replace(tzinfo=None))
    assert sma.read_data(0) == np.datetime64(moment.astimezone(dt.UTC).replace(tzinfo=None))
