"""The two private CPython modules this package relies on, confined to this one file.

Why they are used at all:

- `_multiprocessing.SemLock` is the C object behind `multiprocessing.Lock`. Used directly it gives a POSIX *named*
  semaphore: any process, including one started from a shell, can open it knowing only its name, it works the same
  under the `spawn`, `forkserver` and `fork` start methods, and an uncontended acquire/release pair costs under
  100 ns. The public `multiprocessing.Lock` can only be inherited, never opened by name.
- `_posixshmem` is the C module behind `multiprocessing.shared_memory.SharedMemory`. Opening segments through it
  directly keeps the resource tracker out of every process that merely attaches (CPython gh-82300, fixed by
  `track=False` only from Python 3.13), so this package decides itself who removes a segment and when.

Both modules have been stable since Python 3.8; the package's tests exercise this file on Python 3.11 and 3.13. If a
future CPython changes them, this file is the only one that needs to follow.
"""

import errno
import importlib
import os
from pathlib import Path
from typing import Any, Protocol, cast

from .exceptions import UnsupportedPlatformError

_SEMAPHORE_KIND = 1
"""`_multiprocessing.SemLock` kind for a plain counting semaphore (0 is a recursive mutex)."""
NONBLOCKING = False
"""The `block` argument of `NamedSemaphore.acquire` that only tries. Passed positionally on the fast paths: the C
method parses a keyword argument about 30 ns slower on Python 3.13, a fifth of a locked read."""


class NamedSemaphore(Protocol):
    """The subset of `_multiprocessing.SemLock` this package uses."""

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Decrements the semaphore, waiting at most `timeout` seconds when `block` is true."""

    def release(self) -> None:
        """Increments the semaphore (raises ValueError if it is already at its maximum)."""

    def _get_value(self) -> int:
        """Returns the semaphore's current value (1: free, 0: held); see `semaphore_value`."""

    def _is_mine(self) -> bool:
        """Returns whether the calling thread holds the semaphore through this handle; see `held_here`."""

    def _after_fork(self) -> None:
        """Sets this handle's count of its own acquisitions to 0; see `release_for_dead_holder`."""


def native_module(name: str) -> Any:
    """Imports the CPython module `name`, or raises UnsupportedPlatformError if this platform lacks it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        message = (
            f"ataraxis-sharedarray needs POSIX shared memory and named semaphores (CPython's {name} module), "
            f"which this platform ({os.name}) does not provide"
        )
        raise UnsupportedPlatformError(message) from error


def create_semaphore(name: str) -> NamedSemaphore:
    """Creates the named semaphore `name` (a leading-slash POSIX name) with value 1.

    Raises:
        FileExistsError: A semaphore with this name already exists.
    """
    semaphore = native_module("_multiprocessing").SemLock(_SEMAPHORE_KIND, 1, 1, name, unlink=False)
    return cast(NamedSemaphore, semaphore)


def open_semaphore(name: str) -> NamedSemaphore:
    """Opens the existing named semaphore `name` (`_rebuild` calls `sem_open(name, 0)` when given a name).

    Raises:
        FileNotFoundError: No semaphore with this name exists.
    """
    semaphore = native_module("_multiprocessing").SemLock._rebuild(0, _SEMAPHORE_KIND, 1, name)
    return cast(NamedSemaphore, semaphore)


def semaphore_value(semaphore: NamedSemaphore) -> int:
    """Returns the current value of `semaphore` (1: free, 0: held)."""
    return semaphore._get_value()


def held_here(semaphore: NamedSemaphore) -> bool:
    """Returns whether the calling thread holds `semaphore` through this handle.

    `SemLock` counts the acquisitions made through each handle and remembers the thread that made the last one, in C,
    as part of the acquisition itself. So this answer is right even when an exception raised by a signal handler
    interrupted the caller between a successful acquire and the next line of Python, where the caller's own record
    of the acquisition was lost.
    """
    return semaphore._is_mine()


def forget_acquisitions(semaphore: NamedSemaphore) -> None:
    """Makes `held_here` False for every thread: this handle, inherited by a forked child, holds nothing there."""
    semaphore._after_fork()  # the C method multiprocessing calls on its own semaphores in a forked child


def release_for_dead_holder(semaphore: NamedSemaphore) -> None:
    """Releases `semaphore`, which another (dead) process holds, through this process's handle of it.

    The release is not one of this handle's own acquisitions, so the handle's count (see `held_here`) is set back
    to 0 rather than left at -1: nothing holds the lock through this handle while its thread waits for it.
    """
    try:
        semaphore.release()
    finally:
        forget_acquisitions(semaphore)


def unlink_semaphore(name: str) -> None:
    """Removes the named semaphore `name`; processes that opened it keep their handles.

    Raises:
        FileNotFoundError: No semaphore with this name exists.
    """
    native_module("_multiprocessing").sem_unlink(name)


def open_segment(name: str, flags: int, mode: int = 0o600) -> int:
    """Opens (or, with `os.O_CREAT`, creates) the shared-memory segment `name` and returns its file descriptor.

    Raises:
        FileExistsError: `os.O_CREAT | os.O_EXCL` was given and the segment exists.
        FileNotFoundError: The segment does not exist and `os.O_CREAT` was not given.
    """
    return cast(int, native_module("_posixshmem").shm_open(name, flags, mode))


def unlink_segment(name: str) -> None:
    """Removes the shared-memory segment `name`; processes that mapped it keep their mappings.

    Raises:
        FileNotFoundError: No segment with this name exists.
    """
    native_module("_posixshmem").shm_unlink(name)


NO_ROOM = frozenset({errno.ENOSPC, errno.ENOMEM, errno.EFBIG, errno.EDQUOT})
"""The errors with which a file system says it has no room for what was asked."""
_ZEROS = bytes(1 << 20)
"""What the portable reservation writes, a MiB at a time."""


def reserve_space(fd: int, size: int, *, native: bool = True) -> None:
    """Allocates the first `size` bytes of the segment `fd` now, so that no later write to its mapping can fault.

    A segment's pages are allocated when first touched: where the file system (Linux's `/dev/shm`) runs out, a write
    to the mapping kills the process with SIGBUS, while a reservation fails with an error. `posix_fallocate`
    reserves without writing; where it is missing (macOS) or the file system refuses it, zeros are written through
    the descriptor (a new segment holds zeros already). Where the descriptor takes no writes either (macOS, whose
    segments are anonymous memory that cannot run out this way), nothing is reserved.

    Args:
        fd: The descriptor of a segment at least `size` bytes long, opened for writing.
        size: How many bytes to reserve from its start.
        native: False skips `posix_fallocate` (the tests exercise the fallback on Linux this way).

    Raises:
        OSError: With an errno of `NO_ROOM`, when the file system has no room for `size` bytes.
    """
    if native and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as error:
            if error.errno in NO_ROOM:
                raise
        else:
            return
    written = 0
    while written < size:
        try:
            count = os.pwrite(fd, memoryview(_ZEROS)[: size - written], written)
        except OSError as error:
            if error.errno in NO_ROOM:
                raise
            return
        if count == 0:
            return
        written += count


def free_space(fd: int) -> int | None:
    """Returns the bytes left for unprivileged use on the file system of `fd`, or None where it cannot tell."""
    try:
        status = os.fstatvfs(fd)
    except (OSError, AttributeError):
        return None
    return status.f_bavail * status.f_frsize


PROCFS = Path("/proc")
"""Where Linux describes every process; other systems lack it (see `process_is_alive`)."""


def process_is_alive(pid: int, procfs: Path = PROCFS) -> bool:
    """Returns whether the process `pid` exists and is not a zombie (a killed child its parent has not reaped).

    Signal 0 tells whether the process exists on every POSIX system. Zombies are told apart through `procfs`
    (Linux); where there is none, a zombie counts as alive until its parent reaps it.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not (procfs / "self").is_dir():
        return True
    try:
        content = (procfs / str(pid) / "stat").read_bytes()
    except FileNotFoundError:
        return False  # reaped between the signal and the read
    except OSError:
        return True
    # The state letter follows the parenthesized command name, which may itself contain parentheses.
    state = content[content.rfind(b")") + 2 : content.rfind(b")") + 3]
    return state not in (b"Z", b"X", b"x")


def lock_file(fd: int) -> None:
    """Takes an exclusive `flock` on `fd`, waiting for it; the kernel releases it if this process dies."""
    import fcntl  # POSIX-only and needed on a rare path: imported here so that the package imports anywhere

    fcntl.flock(fd, fcntl.LOCK_EX)


def unlock_file(fd: int) -> None:
    """Releases the `flock` taken by `lock_file`."""
    import fcntl  # see lock_file

    fcntl.flock(fd, fcntl.LOCK_UN)
