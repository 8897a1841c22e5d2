"""The checked arguments of a `DataLogger`: every value is refused here, before anything is created on disk.

Each refusal is a `DataLoggerTypeError` (a `TypeError`) or `DataLoggerValueError` (a `ValueError`) naming the
argument, the value received and what was expected. NumPy integers and floats are accepted wherever Python's are.
"""

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from .._files.listing import check_path_argument
from .._files.stream_writer import MIN_SEGMENT_BYTES, check_sync_policy
from .._format.arguments import check_integer
from ..exceptions import DataLoggerError, DataLoggerTypeError, DataLoggerValueError
from .layout import MIN_BUFFER_BYTES

FOLDER_SUFFIX: Final = "_data_log"
"""The log folder is `<instance_name>_data_log`."""
MAX_INSTANCE_NAME_BYTES: Final = 255 - len(FOLDER_SUFFIX)
"""The longest instance name, in UTF-8 bytes: the log folder's name must fit a file name (255 bytes)."""
LAYOUTS: Final = ("npy", "stream")


@dataclass(frozen=True)
class LoggerSettings:
    """A logger's checked arguments."""

    directory: Path
    """The log folder, `<output_directory>/<instance_name>_data_log`."""
    instance_name: str
    fsync_on_stop: bool
    stop_timeout: float
    on_failure: Callable[[DataLoggerError], object] | None
    buffer_size: int
    """Rounded down to a multiple of 8: records are 8-byte aligned, and so is every position in a buffer."""
    sink: dict[str, object]
    """What the logger process needs to open its sink (see `sinks.open_sink`)."""


def check_logger_arguments(
    output_directory: object,
    instance_name: object,
    fsync_on_stop: object,
    stop_timeout: object,
    on_failure: object,
    buffer_size: object,
    layout: object,
    segment_bytes: object,
    sync: object,
) -> LoggerSettings:
    """Checks the arguments of `DataLogger` (documented there) and returns them as settings.

    Raises:
        DataLoggerTypeError: If an argument has the wrong type.
        DataLoggerValueError: If an argument has an unusable value.
    """
    directory = check_path_argument(output_directory, "output_directory")
    name = check_instance_name(instance_name)
    if not isinstance(fsync_on_stop, bool | np.bool_):
        raise DataLoggerTypeError(f"fsync_on_stop must be True or False, got {fsync_on_stop!r}")
    timeout = check_seconds(stop_timeout, "stop_timeout")
    if on_failure is not None and not callable(on_failure):
        raise DataLoggerTypeError(
            f"on_failure must be a callable or None, got {on_failure!r} ({type(on_failure).__name__})"
        )
    size = check_integer(buffer_size, "buffer_size", MIN_BUFFER_BYTES, unit="bytes")
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise DataLoggerValueError(f'layout must be "npy" or "stream", got {layout!r}')
    segment = check_integer(segment_bytes, "segment_bytes", MIN_SEGMENT_BYTES, unit="bytes")
    interval = check_sync_policy(sync)
    return LoggerSettings(
        directory=directory / f"{name}{FOLDER_SUFFIX}",
        instance_name=name,
        fsync_on_stop=bool(fsync_on_stop),
        stop_timeout=timeout,
        on_failure=on_failure,
        buffer_size=size - size % 8,
        sink={
            "layout": layout,
            "segment_bytes": segment,
            "sync": sync if interval is None else interval,
            "instance_name": name,
        },
    )


def check_instance_name(name: object) -> str:
    """Returns an instance name after checking that it is usable as the start of a folder name."""
    if not isinstance(name, str):
        raise DataLoggerTypeError(f"instance_name must be a string, got {name!r} ({type(name).__name__})")
    forbidden = {"/", "\0", os.sep} | ({os.altsep} if os.altsep else set())
    if not name or name in {".", ".."} or any(character in name for character in forbidden):
        raise DataLoggerValueError(f"instance_name must be a non-empty name without path separators, got {name!r}")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise DataLoggerValueError(
            f"instance_name must be text that UTF-8 can encode (no lone surrogates), got {name!r}"
        ) from None
    if len(encoded) > MAX_INSTANCE_NAME_BYTES:
        raise DataLoggerValueError(
            f"instance_name must take at most {MAX_INSTANCE_NAME_BYTES} bytes in UTF-8 (the log folder's name, "
            f"'<instance_name>{FOLDER_SUFFIX}', must fit a file name), got {len(encoded)}"
        )
    return name


def check_seconds(value: object, name: str) -> float:
    """Returns a duration argument as a float after checking that it is a finite positive number (not a boolean)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise DataLoggerTypeError(f"{name} must be a number of seconds, got {value!r} ({type(value).__name__})")
    seconds = float(value)
    if math.isnan(seconds) or seconds <= 0:
        raise DataLoggerValueError(f"{name} must be a positive number of seconds, got {value!r}")
    if math.isinf(seconds):
        raise DataLoggerValueError(f"{name} must be a finite positive number of seconds, got {value!r}")
    return seconds
