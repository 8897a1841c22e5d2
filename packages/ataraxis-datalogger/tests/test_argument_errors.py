"""Bad arguments of the logger's public calls raise the package's own errors, naming the value and what was expected.

`DataLoggerTypeError` and `DataLoggerValueError` subclass `AtaraxisDataLoggerError` and the built-in `TypeError` and
`ValueError`, so code written against either keeps catching them. A refused call writes nothing and changes nothing.
"""

import math
import pickle
import queue
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_datalogger import (
    DataLogger,
    DataLoggerTypeError,
    DataLoggerValueError,
    LogPackage,
    LogQueue,
    follow_logs,
)
from ataraxis_datalogger.log_package import _restore_log_package


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"output_directory": ""}, DataLoggerValueError, r"output_directory is an empty string"),
        ({"output_directory": 5}, DataLoggerTypeError, r"output_directory must be a str or os.PathLike path, got 5"),
        ({"output_directory": b"logs"}, DataLoggerTypeError, r"output_directory must be a str or os.PathLike"),
        ({"instance_name": ""}, DataLoggerValueError, "non-empty name without path separators, got ''"),
        ({"instance_name": "a/b"}, DataLoggerValueError, "got 'a/b'"),
        ({"instance_name": "a\0b"}, DataLoggerValueError, r"got 'a\\x00b'"),
        ({"instance_name": ".."}, DataLoggerValueError, "got '..'"),
        ({"instance_name": 5}, DataLoggerTypeError, r"instance_name must be a string, got 5 \(int\)"),
        ({"instance_name": "x" * 300}, DataLoggerValueError, r"instance_name must take at most 246 bytes .* got 300"),
        ({"instance_name": "\udc80"}, DataLoggerValueError, "UTF-8 can encode"),
        ({"stop_timeout": 0}, DataLoggerValueError, "stop_timeout must be a positive number of seconds, got 0"),
        ({"stop_timeout": -1.5}, DataLoggerValueError, "got -1.5"),
        ({"stop_timeout": math.nan}, DataLoggerValueError, "got nan"),
        ({"stop_timeout": math.inf}, DataLoggerValueError, r"finite .* got inf"),
        ({"stop_timeout": "10"}, DataLoggerTypeError, r"stop_timeout must be a number of seconds, got '10' \(str\)"),
        ({"stop_timeout": True}, DataLoggerTypeError, r"got True \(bool\)"),
        ({"fsync_on_stop": "yes"}, DataLoggerTypeError, r"fsync_on_stop must be True or False, got 'yes'"),
        ({"on_failure": 5}, DataLoggerTypeError, r"on_failure must be a callable or None, got 5 \(int\)"),
        ({"buffer_size": True}, DataLoggerTypeError, r"buffer_size must be an integer number of bytes, got True"),
        ({"buffer_size": 4096.0}, DataLoggerTypeError, "got 4096.0"),
        ({"buffer_size": 4095}, DataLoggerValueError, "buffer_size must be at least 4096 bytes, got 4095"),
        ({"layout": "npz"}, DataLoggerValueError, r"layout must be \"npy\" or \"stream\", got 'npz'"),
        ({"layout": None}, DataLoggerValueError, "got None"),
        ({"segment_bytes": 100}, DataLoggerValueError, "segment_bytes must be at least 4096 bytes, got 100"),
        ({"segment_bytes": "big"}, DataLoggerTypeError, "segment_bytes must be an integer number of bytes, got 'big'"),
        ({"sync": "always"}, DataLoggerValueError, r"sync must be \"none\", \"rotate\" or a positive .* got 'always'"),
        ({"sync": -1}, DataLoggerValueError, "got -1"),
        ({"sync": math.inf}, DataLoggerValueError, "got inf"),
        ({"sync": None}, DataLoggerTypeError, "got None"),
    ],
)
def test_bad_logger_arguments_raise_the_packages_errors(
    tmp_path: Path, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments = {"output_directory": tmp_path, **arguments}
    with pytest.raises(error, match=message):
        DataLogger(**arguments)
    # Nothing was created: not even the log folder.
    assert list(tmp_path.iterdir()) == []


def test_numpy_integers_are_accepted_where_integers_are(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, buffer_size=np.int64(8192), segment_bytes=np.uint32(8192), stop_timeout=np.float32(3))
    assert logger.buffer_size == 8192
    logger.stop()


@pytest.mark.parametrize(
    ("source_id", "time_stamp", "data", "error", "message"),
    [
        (256, 0, b"", DataLoggerValueError, "LogPackage source_id must be from 0 to 255, got 256"),
        ("1", 0, b"", DataLoggerTypeError, r"source_id must be an integer from 0 to 255, got '1' \(str\)"),
        (True, 0, b"", DataLoggerTypeError, "got the boolean True"),
        (1, -1, b"", DataLoggerValueError, "time_stamp must be from 0 to .*, got -1"),
        (1, 1.5, b"", DataLoggerTypeError, r"time_stamp must be an integer .* got 1.5 \(float\)"),
        (1, 0, "text", DataLoggerTypeError, "bytes-like .* got str"),
        (1, 0, np.zeros(2, np.float32), DataLoggerTypeError, "must be a uint8 array, got dtype float32"),
        (1, 0, np.zeros((2, 2), np.uint8), DataLoggerValueError, r"one-dimensional array, got shape \(2, 2\)"),
    ],
)
def test_bad_package_arguments_raise_the_packages_errors(
    source_id: Any, time_stamp: Any, data: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        LogPackage(source_id, time_stamp, data)


def test_a_forged_pickle_of_a_package_raises_the_packages_error() -> None:
    with pytest.raises(DataLoggerValueError, match="not the pickled form of a LogPackage"):
        _restore_log_package(b"forged")


def test_bad_source_ids_and_hot_path_values_raise_the_packages_errors(tmp_path: Path) -> None:
    with DataLogger(tmp_path, "hot") as logger:
        with pytest.raises(DataLoggerValueError, match="source_id must be from 0 to 255, got 300"):
            logger.source(300)
        with pytest.raises(DataLoggerTypeError, match=r"source_id must be an integer .* got 'a' \(str\)"):
            logger.input_queue.source("a")
        source = logger.source(1)
        with pytest.raises(DataLoggerTypeError, match=r"time_stamp must be an integer .* got None"):
            source.log(None, b"x")
        with pytest.raises(DataLoggerValueError, match=f"time_stamp must be from 0 to .*, got {2**64}"):
            source.log(2**64, b"x")
        with pytest.raises(DataLoggerTypeError, match=r"bytes-like .* got dict"):
            source.log(1, {})
        source.log(2, b"kept")
    assert logger.statistics.submitted == logger.statistics.written == 1


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        ("1", DataLoggerTypeError, r"timeout must be a number of seconds or None, got '1' \(str\)"),
        (math.nan, DataLoggerValueError, "timeout must not be negative or nan, got nan"),
        (-1, DataLoggerValueError, "got -1"),
    ],
)
def test_bad_put_timeouts_raise_the_packages_errors_when_the_put_must_wait(
    tmp_path: Path, timeout: Any, error: type[Exception], message: str
) -> None:
    logger = DataLogger(tmp_path, "timeouts", buffer_size=4096)
    queue_ = logger.input_queue
    source = logger.source(1)
    # The logger is not started: the buffer fills up, and the next put must wait.
    with pytest.raises(queue.Full):
        while True:
            source.log(0, bytes(1000), block=False)
    with pytest.raises(error, match=message):
        queue_.put(LogPackage(1, 1, bytes(1000)), timeout=timeout)
    with pytest.raises(error, match=message):
        source.log(1, bytes(1000), timeout=timeout)
    with pytest.warns(UserWarning, match="never started"):
        logger.stop()


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (5, DataLoggerTypeError, r"queue name must be a string, got 5 \(int\)"),
        ("a/b", DataLoggerValueError, r"not the name of a DataLogger queue: 'a/b'"),
        ("", DataLoggerValueError, "not the name of a DataLogger queue: ''"),
    ],
)
def test_attaching_by_a_bad_name_raises_the_packages_errors(name: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        LogQueue.attach(name)


def test_a_queue_pickled_with_a_bad_name_is_refused_when_unpickled() -> None:
    # A name of the same length keeps the pickle well-formed.
    forged = pickle.dumps(LogQueue("adl1234_0123abcd", 0, "x"))
    forged = forged.replace(b"adl1234_0123abcd", b"../../tmp/abcdef")
    with pytest.raises(DataLoggerValueError, match="not the name of a DataLogger queue"):
        pickle.loads(forged)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"poll_interval": 0}, DataLoggerValueError, "poll_interval must be a positive number of seconds, got 0"),
        ({"poll_interval": math.inf}, DataLoggerValueError, "got inf"),
        ({"poll_interval": math.nan}, DataLoggerValueError, "got nan"),
        ({"poll_interval": "1"}, DataLoggerTypeError, r"poll_interval must be a number of seconds, got '1' \(str\)"),
        ({"poll_interval": True}, DataLoggerTypeError, "got True"),
        ({"stop": 5}, DataLoggerTypeError, r"stop must be a threading.Event or None, got 5 \(int\)"),
        ({"from_start": "yes"}, DataLoggerTypeError, "from_start must be True or False, got 'yes'"),
        ({"stop_at_end": None}, DataLoggerTypeError, "stop_at_end must be True or False, got None"),
    ],
)
def test_bad_follow_arguments_raise_the_packages_errors(
    tmp_path: Path, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        next(follow_logs(tmp_path, **arguments))
