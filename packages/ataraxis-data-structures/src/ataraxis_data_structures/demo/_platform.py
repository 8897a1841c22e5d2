"""The demo's operating-system-specific calls, in one place, each with a portable fallback.

- `arm_parent_death_signal`: Linux's `prctl(PR_SET_PDEATHSIG)` has the kernel signal a producer the moment its parent
  dies, however it died (SIGKILL included). Elsewhere it does nothing, and producers rely on the portable check they
  make every tick anyway: their parent id changes when the parent dies (they are re-parented). Setting the
  environment variable `ATARAXIS_DEMO_PORTABLE_PARENT_WATCH=1` skips the Linux call, so the Linux tests exercise
  the portable check alone.
- `signals_blocked`: `pthread_sigmask` blocks signals while child processes are created, so they are born with
  those signals blocked (a blocked signal mask is inherited through `fork` and `exec`). Elsewhere it does nothing.
  `start_resource_tracker` starts `multiprocessing`'s resource tracker ahead of time (POSIX), because CPython
  unblocks SIGINT and SIGTERM in the calling thread right after starting it, which would undo such a block.
- `shared_memory_names` and `process_exists`: what finding the control boards of killed demos needs, namely the
  names in `/dev/shm` (Linux) and whether a process id is in use (POSIX). Elsewhere no names are listed and every
  process is taken to exist, so nothing is ever removed there.
"""

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterable, Iterator

PORTABLE_PARENT_WATCH_VARIABLE = "ATARAXIS_DEMO_PORTABLE_PARENT_WATCH"
"""Set to 1 to keep producers from asking Linux for a parent-death signal (they then rely on the portable check)."""

_PR_SET_PDEATHSIG = 1
"""The `prctl` option (linux/prctl.h) that sets the signal a process receives when its parent dies."""
_SHARED_MEMORY_FOLDER = "/dev/shm"
"""Where Linux keeps POSIX shared-memory segments (and named semaphores, as `sem.<name>`)."""


def arm_parent_death_signal(signal_number: int) -> bool:
    """Asks the kernel to send `signal_number` to this process when its parent dies.

    Linux only: the signal is sent when the thread that created this process ends, so the parent must create its
    children from its main thread (the demo does). The setting survives `exec`, not `fork`.

    Args:
        signal_number: The signal to receive.

    Returns:
        True if the kernel will send it; False on other systems, if the call failed, or if
        `ATARAXIS_DEMO_PORTABLE_PARENT_WATCH` is set (then only the portable check watches the parent).
    """
    if sys.platform != "linux" or os.environ.get(PORTABLE_PARENT_WATCH_VARIABLE, "") not in ("", "0"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def signals_blocked(signals: Iterable[int]) -> Iterator[None]:
    """Blocks signals in the calling thread while the block runs; those that arrive meanwhile are delivered after.

    Processes created inside the block start with these signals blocked. Where the system has no `pthread_sigmask`,
    the block runs with nothing blocked.

    Args:
        signals: The signals to block.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_resource_tracker() -> None:
    """Starts `multiprocessing`'s resource tracker now, if it is not running (POSIX; elsewhere does nothing).

    Started inside `signals_blocked`, the tracker inherits the block. CPython then unblocks SIGINT and SIGTERM in the
    calling thread, so call this before blocking signals for anything else.
    """
    if os.name == "posix":
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()


def shared_memory_names() -> list[str]:
    """Returns the names of the shared-memory segments on this machine (Linux), or an empty list elsewhere."""
    if sys.platform != "linux":
        return []
    try:
        return os.listdir(_SHARED_MEMORY_FOLDER)
    except OSError:
        return []


def process_exists(pid: int) -> bool:
    """Returns whether a process with this id exists (POSIX); True elsewhere, where it cannot be told safely.

    On Windows `os.kill(pid, 0)` would end the process, so it is never called there.
    """
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
