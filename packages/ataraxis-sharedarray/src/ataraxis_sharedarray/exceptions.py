"""Warnings SharedMemoryArray emits."""


class LockRecoveredWarning(RuntimeWarning):
    """A process took over an array's lock because its holder died while holding it.

    The work continues, but the cells the dead process was writing when it died may be partially written. Turn the
    warning into an error with `warnings.simplefilter("error", LockRecoveredWarning)` to stop instead.
    """
