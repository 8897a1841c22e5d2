"""The exclusive lock of a log directory during a compression, held by the caller and by every worker it starts.

The lock is an `flock` on an open descriptor of the directory. An `flock` belongs to the open file description, not
to a process: it is released only when every descriptor sharing that description is closed. The caller's workers
receive a duplicate of the caller's descriptor (passed to the spawned process), so the lock stays held for as long
as any of them lives, including a worker that outlives a caller killed with SIGKILL. A second compression of the
directory therefore waits until the first one's last process is gone; no process ever writes, renames or removes a
file of the directory without holding the lock. (Workers also exit as soon as their caller dies: see
`worker_processes`.)

The lock is never released explicitly (`LOCK_UN` would release it for the workers too): closing the caller's
descriptor releases it once the workers are gone.
"""

import fcntl
import os
from multiprocessing import reduction
from pathlib import Path
from typing import Any

from .._files.closeable import Closeable


class DirectoryLock(Closeable):
    """Holds the exclusive lock of a log directory, waiting for it if another compression holds it.

    Args:
        directory: The log directory.

    Raises:
        OSError: If the directory cannot be opened or locked.
    """

    def __init__(self, directory: Path) -> None:
        self._descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        except BaseException:
            os.close(self._descriptor)
            raise

    @classmethod
    def _shared(cls, descriptor: int) -> "DirectoryLock":
        """Wraps a descriptor received from the lock's holder: the lock is already held through it."""
        lock = cls.__new__(cls)
        lock._descriptor = descriptor  # noqa: SLF001  # the class builds its own instance
        return lock

    def __reduce__(self) -> tuple[Any, ...]:
        """Passes a duplicate of the locked descriptor to a process being spawned (so it shares the lock)."""
        return (_rebuild, (reduction.DupFd(self._descriptor),))

    def close(self) -> None:
        """Closes this process's descriptor; the lock is released once no process holds one."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1


def _rebuild(duplicate: Any) -> DirectoryLock:
    """Runs in the spawned process: takes the passed descriptor."""
    return DirectoryLock._shared(duplicate.detach())  # noqa: SLF001  # the class's own unpickling hook
