"""Every error a public call raises is one of the package's exported classes, all under `SharedArrayError`.

The classes also derive from the built-in classes that the original `ataraxis-data-structures` 3.1.1 raised for the
same misuse, so that code written against it (`except ValueError:` around a reversed range, say) keeps working.
"""

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ataraxis_sharedarray
from ataraxis_sharedarray import (
    ArrayExistsError,
    ArrayIndexError,
    ArrayNotFoundError,
    DataFitError,
    DataKindError,
    DataRangeError,
    DataShapeError,
    IndexKindError,
    NotConnectedError,
    PrototypeError,
    ReversedRangeError,
    SharedArrayError,
    SharedMemoryArray,
    UnsupportedPlatformError,
    _posix,
)


def _disconnected(call: Callable[[SharedMemoryArray], object]) -> Callable[[SharedMemoryArray], object]:
    def run(sma: SharedMemoryArray) -> object:
        sma.disconnect()
        return call(sma)

    return run


def _destroyed_then_connected(sma: SharedMemoryArray) -> None:
    sma.destroy()
    sma.connect()


# Each kind of misuse: what it was called, how to commit it on the `filled` array, the classes a caller of 3.1.1 could
# catch for it (measured against its code with NumPy 2: `console.error` raises the class it is given, and NumPy's own
# errors escaped where 3.1.1 did not catch them), and the class raised now. An empty tuple: 3.1.1 raised nothing.
MISUSES: list[tuple[str, Callable[[SharedMemoryArray], object], tuple[type[BaseException], ...], type[Exception]]] = [
    ("index outside the array", lambda sma: sma.read_data(6), (IndexError,), ArrayIndexError),
    ("range bound outside the array", lambda sma: sma.write_data((0, 7), 1), (IndexError,), ArrayIndexError),
    ("reversed range", lambda sma: sma.read_data((4, 2)), (ValueError,), ReversedRangeError),
    ("reversed range, written", lambda sma: sma.write_data((4, 2), 1), (ValueError,), ReversedRangeError),
    ("index that is not an int", lambda sma: sma.read_data(1.0), (ValueError,), IndexKindError),
    ("index that is a str", lambda sma: sma.write_data("1", 1), (ValueError,), IndexKindError),
    ("tuple of three", lambda sma: sma.read_data((1, 2, 3)), (ValueError,), IndexKindError),
    ("bool index (3.1.1 read row 1)", lambda sma: sma.read_data(index=True), (), IndexKindError),
    ("text into numbers", lambda sma: sma.write_data(0, "text"), (ValueError,), DataKindError),
    ("None into numbers", lambda sma: sma.write_data(0, None), (TypeError,), DataKindError),
    ("integer below the range", lambda sma: sma.write_data(0, -1), (OverflowError,), DataRangeError),
    ("integer above the range", lambda sma: sma.write_data((0, 2), [1, 2**64]), (OverflowError,), DataRangeError),
    ("fraction into integers (3.1.1 truncated it)", lambda sma: sma.write_data(0, 1.5), (), DataFitError),
    ("data of the wrong shape", lambda sma: sma.write_data((0, 2), [1, 2, 3]), (ValueError,), DataShapeError),
    ("read while disconnected", _disconnected(lambda sma: sma.read_data(0)), (RuntimeError,), NotConnectedError),
    ("write while disconnected", _disconnected(lambda sma: sma.write_data(0, 1)), (RuntimeError,), NotConnectedError),
    ("name already taken", lambda sma: SharedMemoryArray.create_array(sma.name, np.zeros(2)), (FileExistsError,),
     ArrayExistsError),
    ("prototype that is not an array", lambda sma: SharedMemoryArray.create_array(sma.name + "x", [1, 2]),
     (TypeError,), PrototypeError),
    ("empty prototype", lambda sma: SharedMemoryArray.create_array(sma.name + "x", np.zeros(0)), (ValueError,),
     PrototypeError),
    ("connect to a destroyed array", _destroyed_then_connected, (FileNotFoundError,), ArrayNotFoundError),
]  # fmt: skip


@pytest.mark.parametrize(("misuse", "commit", "original_classes", "raised"), MISUSES, ids=[m[0] for m in MISUSES])
def test_each_misuse_raises_a_class_that_callers_of_the_original_still_catch(
    filled: SharedMemoryArray,
    misuse: str,
    commit: Callable[[SharedMemoryArray], object],
    original_classes: tuple[type[BaseException], ...],
    raised: type[Exception],
) -> None:
    with pytest.raises(SharedArrayError) as caught:
        commit(filled)
    assert type(caught.value) is raised, misuse
    for original in original_classes:
        assert isinstance(caught.value, original), f"{misuse}: `except {original.__name__}` no longer catches it"


def _exported_classes() -> list[type[BaseException]]:
    return [
        value
        for name in ataraxis_sharedarray.__all__
        if inspect.isclass(value := getattr(ataraxis_sharedarray, name)) and issubclass(value, BaseException)
    ]


def test_every_exported_error_is_under_the_root_and_documented() -> None:
    errors = [value for value in _exported_classes() if not issubclass(value, Warning)]
    assert SharedArrayError in errors
    assert len(errors) > 10
    for error in errors:
        assert issubclass(error, SharedArrayError), error
        assert error.__module__ == "ataraxis_sharedarray.exceptions", error
        assert error.__doc__, error


def test_every_error_class_of_the_package_is_exported() -> None:
    module = ataraxis_sharedarray.exceptions
    defined = {
        value for value in vars(module).values() if inspect.isclass(value) and value.__module__ == module.__name__
    }
    assert defined == set(_exported_classes())


def _raised_classes(call: Callable[[], Any]) -> type[BaseException]:
    try:
        call()
    except BaseException as error:
        return type(error)
    raise AssertionError("no error was raised")


def test_numpy_indexing_errors_come_out_as_the_packages_own(filled: SharedMemoryArray) -> None:
    for key in (10, 1.5, (0, 0), "field"):
        assert issubclass(_raised_classes(lambda key=key: filled[key]), ArrayIndexError), key
    assert issubclass(_raised_classes(lambda: filled.__setitem__(10, 1)), ArrayIndexError)
    assert issubclass(_raised_classes(lambda: filled.__setitem__(slice(0, 2), [1, 2, 3])), DataShapeError)
    assert issubclass(_raised_classes(lambda: filled.__setitem__(0, "text")), DataKindError)
    assert filled.read_data((0,), convert_output=True) == [1, 2, 3, 4, 5, 6]


def test_a_platform_without_the_posix_modules_gets_the_packages_own_error() -> None:
    # The same call that loads `_posixshmem` and `_multiprocessing`, given a module this platform does not have.
    with pytest.raises(UnsupportedPlatformError, match="_atx_missing_module") as caught:
        _posix.native_module("_atx_missing_module")
    assert isinstance(caught.value, OSError)
