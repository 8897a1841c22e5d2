"""ataraxis-datalogger: a multi-process logger that writes every timestamped message to disk without losing one.

Main objects:

- `DataLogger`: runs the logger process. Producers in any process put `LogPackage` objects on its `input_queue`;
  `stop()` returns once every entry put before it is on disk, one `.npy` file per entry.
- `LogPackage`: one entry (source id, timestamp, serialized payload), validated where it is built.
- `LogStatistics`: how many entries a run received, wrote, skipped or failed to write.
- `DataLoggerError` and `DataLoggerWarning`: what the logger raises when entries are at risk, and warns about
  objects that were not log packages.
"""

from importlib.metadata import version

from ._counters import LogStatistics
from .data_logger import DataLogger
from .exceptions import DataLoggerError, DataLoggerWarning
from .log_package import LogPackage

__version__: str = version("ataraxis-datalogger")

__all__ = [
    "DataLogger",
    "DataLoggerError",
    "DataLoggerWarning",
    "LogPackage",
    "LogStatistics",
    "__version__",
]
