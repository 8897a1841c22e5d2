"""Every OS-specific call of the logger's shared-memory transport, with a portable fallback for each.

The transport keeps its buffers in shared-memory segments that it creates and removes itself: the standard resource
tracker would remove a producer's buffer when that producer exits, before the logger process has written what it
holds (and before Python 3.13 it also registers segments that a process merely opens, CPython gh-82300). Two
backends provide the same operations; a run records which one it uses, and every process of the run follows it:

- `FAST` (Linux, macOS): segments through `_posixshmem.shm_open` (the C module behind
  `multiprocessing.shared_memory`) and each buffer's lock as a POSIX named semaphore through
  `_multiprocessing.SemLock` (the C object behind `multiprocessing.Lock`): an uncontended acquire and release cost
  about 100 ns together, exclude threads as well as processes, and are memory barriers on every architecture.
- `PORTABLE` (any POSIX system, and exercised by the Linux tests): segments are plain files in a folder of shared
  memory (`/dev/shm` where it exists, else the temporary folder) mapped with `mmap`, and a buffer's lock is an
  `fcntl.flock` on its segment (plus a thread lock, since `flock` does not exclude the threads of one process). It
  costs a few system calls per put.

Both CPython modules have been stable since Python 3.8; `ataraxis-sharedarray` relies on them the same way. If a
future CPython changes them, this file is the only one to follow, and `PORTABLE` keeps working meanwhile.

The control segment's lock is an `flock` under both backends: it is taken rarely (a producer registering, a state
change), and the kernel releases it when its holder dies, so a process killed while holding it blocks nobody.
"""

import contextlib
import errno
import mmap
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Final, Protocol

FAST: Final = 0
"""Backend: POSIX shared memory and named semaphores through CPython's C modules."""
PORTABLE: Final = 1
"""Backend: files in a shared-memory folder, mapped, locked with `flock`."""

_SHM_FOLDER: Final = Path("/dev/shm")
_SEMAPHORE_KIND: Final = 1
"""`_multiprocessing.SemLock` kind of a counting semaphore (0 is a recursive mutex)."""
_MADV_POPULATE_WRITE: Final = 23
"""Linux 5.14+: fault in every page of a mapping, writable, in one call (not yet named by the `mmap` module)."""
_PREFAULT_CHUNK: Final = bytes(1 << 20)


def _c_modules() -> tuple[Any, Any] | None:
    try:
        import _multiprocessing  # type: ignore[import-not-found,unused-ignore]
        import _posixshmem  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    if not hasattr(_multiprocessing, "SemLock") or not hasattr(_multiprocessing, "sem_unlink"):
        return None
    return _multiprocessing, _posixshmem


_C_MODULES = _c_modules()

DEFAULT_BACKEND: int = FAST if _C_MODULES is not None else PORTABLE
"""The backend a new run uses (tests switch it to exercise `PORTABLE`)."""


def portable_folder() -> Path:
    """Returns the folder that holds the segments of the `PORTABLE` backend."""
    return _SHM_FOLDER if _SHM_FOLDER.is_dir() else Path(tempfile.gettempdir())


def create_segment(backend: int, name: str, size: int) -> int:
    """Creates the segment `name` of `size` zero bytes and returns its open descriptor.

    Raises:
        FileExistsError: A segment of this name exists.
        OSError: The system refused (for example, no room left in shared memory).
    """
    flags = os.O_CREAT | os.O_EXCL | os.O_RDWR
    if backend == FAST and _C_MODULES is not None:
        descriptor: int = _C_MODULES[1].shm_open("/" + name, flags, 0o600)
    else:
        descriptor = os.open(portable_folder() / name, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.ftruncate(descriptor, size)
        _reserve(descriptor, size)
    except BaseException:
        os.close(descriptor)
        unlink_segment(backend, name)
        raise
    return descriptor


def _reserve(descriptor: int, size: int) -> None:
    """Allocates a new segment's memory now, so that a full shared-memory folder is an error here.

    Without it, the segment is sparse: the first write to a page that the system has no room for kills the
    process with SIGBUS, in the middle of a put. Where `posix_fallocate` is missing (macOS) or the file system does
    not support it, the segment stays sparse.
    """
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is None:
        return
    try:
        allocate(descriptor, 0, size)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise


def open_segment(backend: int, name: str) -> int:
    """Opens the existing segment `name` for reading and writing and returns its descriptor.

    Raises:
        FileNotFoundError: No segment of this name exists.
    """
    if backend == FAST and _C_MODULES is not None:
        return int(_C_MODULES[1].shm_open("/" + name, os.O_RDWR, 0o600))
    return os.open(portable_folder() / name, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))


def unlink_segment(backend: int, name: str) -> bool:
    """Removes the segment `name` (mappings stay valid); returns False if it did not exist."""
    try:
        if backend == FAST and _C_MODULES is not None:
            _C_MODULES[1].shm_unlink("/" + name)
        else:
            os.unlink(portable_folder() / name)
    except FileNotFoundError:
        return False
    return True


def segment_names(backend: int, prefix: str) -> list[str]:
    """Returns the names of the segments starting with `prefix`, where the system lets them be listed.

    Linux shows POSIX shared memory as the files of `/dev/shm`; elsewhere the `FAST` backend's segments cannot be
    listed and this returns an empty list.
    """
    folder = portable_folder() if backend == PORTABLE else _SHM_FOLDER
    if backend == FAST and not sys.platform.startswith("linux"):
        return []
    try:
        return [name for name in os.listdir(folder) if name.startswith(prefix)]
    except OSError:
        return []


def map_segment(descriptor: int, size: int) -> mmap.mmap:
    """Maps `size` bytes of an open segment, shared and writable."""
    return mmap.mmap(descriptor, size)


def prefault(mapping: mmap.mmap, start: int, end: int) -> None:
    """Touches every page of `mapping[start:end]` (zeroed) so that no put pays a first-touch page fault (~5 us)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        # One system call where the kernel supports it (Linux 5.14+).
        page = mmap.PAGESIZE
        aligned = start - start % page
        mapping.madvise(_MADV_POPULATE_WRITE, aligned, end - aligned)
        return
    view = memoryview(mapping)
    try:
        for offset in range(start, end, len(_PREFAULT_CHUNK)):
            stop = min(end, offset + len(_PREFAULT_CHUNK))
            view[offset:stop] = _PREFAULT_CHUNK[: stop - offset]
    finally:
        view.release()


class BufferLock(Protocol):
    """The lock of one producer buffer, shared by its producer process's threads and the logger process."""

    def acquire(self, timeout: float | None = None) -> bool:
        """Takes the lock, waiting up to `timeout` seconds (forever if None); returns whether it was taken."""

    def try_acquire(self) -> bool:
        """Takes the lock if it is free, without waiting; returns whether it was taken."""

    def acquire_now(self, block: bool = True, /) -> bool:
        """`try_acquire()` when `block` is False (the put path calls it so, as fast as the lock allows)."""

    def release(self) -> None:
        """Releases the lock."""

    def close(self) -> None:
        """Releases this process's handle of the lock (the lock itself stays for the other processes)."""


class _SemaphoreLock:
    """A POSIX named semaphore used as a lock (value 1: free)."""

    __slots__ = ("_semaphore", "acquire_now", "release")

    def __init__(self, semaphore: Any) -> None:
        self._semaphore = semaphore
        self.acquire_now = semaphore.acquire
        """`acquire(block: bool = True, timeout: float | None = None)` of the semaphore itself (the put path)."""
        self.release = semaphore.release

    def acquire(self, timeout: float | None = None) -> bool:
        return bool(self._semaphore.acquire(True, timeout))

    def try_acquire(self) -> bool:
        return bool(self._semaphore.acquire(False))

    def close(self) -> None:
        self._semaphore = None


class FileLock:
    """An `flock` on a descriptor, plus a thread lock: `flock` excludes open files, not the threads sharing one."""

    __slots__ = ("_descriptor", "_threads")

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._threads = threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        import fcntl

        if not self._threads.acquire(True, -1 if timeout is None else max(timeout, 0.0)):
            return False
        if timeout is None:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
            return True
        # flock has no timeout: poll, which only the rare contended case pays.
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    return False
                time.sleep(0.0002)

    def acquire_now(self, block: bool = True, /) -> bool:
        return self.try_acquire() if not block else self.acquire()

    def try_acquire(self) -> bool:
        import fcntl

        if not self._threads.acquire(False):
            return False
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self._threads.release()
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def release(self) -> None:
        import fcntl

        fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        self._descriptor = -1


def _semaphore_name(segment: str) -> str:
    return f"/{segment}.lock"


def create_buffer_lock(backend: int, segment: str, descriptor: int) -> BufferLock:
    """Creates the lock of the buffer in segment `segment` (open as `descriptor`), free.

    A semaphore left by a killed creator under the same name guards nothing (the segment name was free): it is
    replaced.
    """
    if backend == FAST and _C_MODULES is not None:
        name = _semaphore_name(segment)
        try:
            semaphore = _C_MODULES[0].SemLock(_SEMAPHORE_KIND, 1, 1, name, False)
        except FileExistsError:
            _C_MODULES[0].sem_unlink(name)
            semaphore = _C_MODULES[0].SemLock(_SEMAPHORE_KIND, 1, 1, name, False)
        return _SemaphoreLock(semaphore)
    return FileLock(descriptor)


def open_buffer_lock(backend: int, segment: str, descriptor: int) -> BufferLock:
    """Opens the lock of the buffer in segment `segment` (open as `descriptor`).

    Raises:
        FileNotFoundError: The lock no longer exists (the buffer was removed).
    """
    if backend == FAST and _C_MODULES is not None:
        return _SemaphoreLock(_C_MODULES[0].SemLock._rebuild(0, _SEMAPHORE_KIND, 1, _semaphore_name(segment)))
    return FileLock(descriptor)


def unlink_buffer_lock(backend: int, segment: str) -> None:
    """Removes the lock of the buffer in segment `segment`, if it exists (handles stay valid)."""
    if backend == FAST and _C_MODULES is not None:
        with contextlib.suppress(FileNotFoundError):
            _C_MODULES[0].sem_unlink(_semaphore_name(segment))


def lock_file_names(prefix: str) -> list[str]:
    """Returns the segment names whose named-semaphore locks start with `prefix` (Linux lists them in /dev/shm)."""
    if not sys.platform.startswith("linux"):
        return []
    marker, suffix = "sem." + prefix, ".lock"
    try:
        names = os.listdir(_SHM_FOLDER)
    except OSError:
        return []
    return [name[4 : -len(suffix)] for name in names if name.startswith(marker) and name.endswith(suffix)]


def process_is_alive(pid: int) -> bool:
    """Returns whether process `pid` exists and is not a zombie (killed, but not yet reaped by its parent).

    Pids identify processes within one pid namespace: every process of a run must share it.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            content = stat.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")
    except OSError:
        return True
    # The state letter follows the parenthesized command name, which may itself contain parentheses.
    closing = content.rfind(b")")
    return content[closing + 2 : closing + 3] not in (b"Z", b"X", b"x")


def process_identity(pid: int) -> int | None:
    """Returns what tells process `pid` apart from a later process given the same pid: its start time.

    Returns:
        The start time in clock ticks since boot (`/proc/<pid>/stat`), or None where there is no `/proc` or the
        process is gone: then only the pid is known.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            content = stat.read()
        # Fields after the parenthesized command name: state is the 3rd field of the line, start time the 22nd.
        return int(content[content.rfind(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def is_same_process(pid: int, identity: int | None) -> bool:
    """Returns whether `pid` is alive and still the process whose `process_identity` was `identity`."""
    return process_is_alive(pid) and (identity is None or process_identity(pid) in (identity, None))


def track(backend: int, segment: str, *, lock: bool) -> None:
    """Registers a segment (and its named-semaphore lock) with this process's `multiprocessing` resource tracker.

    The tracker is shared by the logger's owner and the logger process (the fork server hands it down), and removes
    what is registered once every process sharing it is gone without unregistering it: the run's segments do not
    outlive the owner and the logger process killed together. Producers never register (the tracker would remove
    their buffer at their exit, before the logger drained it). Only the `FAST` backend's POSIX names are tracked.
    """
    if backend == FAST and _C_MODULES is not None:
        from multiprocessing import resource_tracker

        resource_tracker.register("/" + segment, "shared_memory")
        if lock:
            resource_tracker.register(_semaphore_name(segment), "semaphore")


def untrack(backend: int, segment: str, *, lock: bool) -> None:
    """Unregisters what `track` registered (call it exactly once per `track`, from a process sharing the tracker)."""
    if backend == FAST and _C_MODULES is not None:
        from multiprocessing import resource_tracker

        resource_tracker.unregister("/" + segment, "shared_memory")
        if lock:
            resource_tracker.unregister(_semaphore_name(segment), "semaphore")
