"""The errors and warnings the logger raises."""


class DataLoggerError(RuntimeError):
    """Raised when the logger cannot guarantee that the entries put on its queue reach the disk.

    Causes: the logger process died, entries could not be written (for example the log folder was removed), entries
    counted as put never arrived (a producer process died before its queue's feeder thread sent them), or the queue
    is used while the logger is stopped.
    """


class DataLoggerWarning(UserWarning):
    """Warns about objects put on the logger's queue that were not log packages and were skipped."""
