"""Every error of the datalogger has one root and keeps the built-in base that callers already catch."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import ataraxis_datalogger
from ataraxis_datalogger import (
    ArchiveFormatError,
    ArchiveVerificationError,
    AtaraxisDataLoggerError,
    AtaraxisDataLoggerWarning,
    DamagedLogFilesWarning,
    DataLogger,
    DataLoggerError,
    DataLoggerTypeError,
    DataLoggerValueError,
    DataLoggerWarning,
    EntryFormatError,
    EntryTooLargeError,
    ExportError,
    LogCompressionError,
    LogFilesChangedError,
    LogPackage,
    NestedLogDirectoriesWarning,
    OptionalDependencyError,
    StreamFormatError,
    read_logs,
)
from ataraxis_datalogger._format.entry import entry_file_name

ERRORS_AND_THEIR_FORMER_BASES = {
    # Raised by stop(), start(), input_queue and put; user code catches it by this name and as a RuntimeError.
    DataLoggerError: RuntimeError,
    LogCompressionError: RuntimeError,
    ArchiveVerificationError: RuntimeError,
    EntryFormatError: ValueError,
    ArchiveFormatError: ValueError,
    # Raised by a put whose entry is larger than a producer's whole buffer: a bad argument, like a bad payload.
    EntryTooLargeError: ValueError,
    StreamFormatError: ValueError,
    LogFilesChangedError: RuntimeError,
    # Newer errors keep the built-in base of their kind from the start.
    ExportError: ValueError,
    OptionalDependencyError: ImportError,
    # Argument errors: code written against the built-in TypeError and ValueError keeps catching them.
    DataLoggerTypeError: TypeError,
    DataLoggerValueError: ValueError,
}
WARNINGS = (DataLoggerWarning, DamagedLogFilesWarning, NestedLogDirectoriesWarning)


@pytest.mark.parametrize("error", ERRORS_AND_THEIR_FORMER_BASES, ids=lambda error: error.__name__)
def test_every_error_subclasses_the_root_and_its_former_builtin_base(error: type[Exception]) -> None:
    assert issubclass(error, AtaraxisDataLoggerError)
    assert issubclass(error, ERRORS_AND_THEIR_FORMER_BASES[error])


@pytest.mark.parametrize("warning", WARNINGS, ids=lambda warning: warning.__name__)
def test_every_warning_subclasses_the_warning_root_and_user_warning(warning: type[Warning]) -> None:
    assert issubclass(warning, AtaraxisDataLoggerWarning)
    assert issubclass(warning, UserWarning)


def test_the_roots_are_plain() -> None:
    assert AtaraxisDataLoggerError.__bases__ == (Exception,)
    assert AtaraxisDataLoggerWarning.__bases__ == (UserWarning,)


def _package_classes() -> list[type]:
    """Every exception class defined anywhere in the package."""
    found = []
    modules = [ataraxis_datalogger.__name__] + [
        info.name
        for info in pkgutil.walk_packages(ataraxis_datalogger.__path__, prefix=f"{ataraxis_datalogger.__name__}.")
        if not info.name.endswith(".__main__")
    ]
    for name in modules:
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found.append(value)
    return found


def test_every_error_and_warning_lives_in_exceptions_and_is_exported() -> None:
    classes = _package_classes()
    assert {cls.__module__ for cls in classes} == {"ataraxis_datalogger.exceptions"}
    assert set(classes) == {
        AtaraxisDataLoggerError,
        AtaraxisDataLoggerWarning,
        *ERRORS_AND_THEIR_FORMER_BASES,
        *WARNINGS,
    }
    for cls in classes:
        assert cls.__name__ in ataraxis_datalogger.__all__
        assert getattr(ataraxis_datalogger, cls.__name__) is cls


def test_a_put_after_stop_is_caught_as_the_root_and_as_runtime_error(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path)
    queue = logger.input_queue
    logger.stop()
    for catch in (AtaraxisDataLoggerError, DataLoggerError, RuntimeError):
        with pytest.raises(catch, match="was stopped"):
            queue.put(LogPackage(1, 1, b"late"))


def test_a_damaged_entry_file_is_caught_as_the_root_and_as_value_error(tmp_path: Path) -> None:
    (tmp_path / entry_file_name(1, 5)).write_bytes(b"not an entry")
    for catch in (AtaraxisDataLoggerError, EntryFormatError, ValueError):
        reader = read_logs(tmp_path, on_damage="raise")[1]
        with reader, pytest.raises(catch, match="is damaged"):
            list(reader)
