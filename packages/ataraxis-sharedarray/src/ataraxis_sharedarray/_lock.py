"""The cross-process lock of one array: a named semaphore plus the holder's pid in the segment header.

A POSIX named semaphore is fast (an uncontended acquire/release pair is a userspace atomic operation), can be opened
by name from any process and excludes threads as well as processes. The kernel does not release it when its holder
dies, so every holder writes its pid into the header right after acquiring and clears it right before releasing.
A waiter waits in slices of `POLL_INTERVAL` seconds; after each slice it looks at the recorded holder:

- a pid whose process is dead (or a zombie): the holder died holding the lock. The waiter releases the lock on its
  behalf and emits `LockRecoveredWarning`, then competes for the lock as usual.
- no pid for `UNKNOWN_HOLDER_TIMEOUT` seconds in a row while the lock stays taken: a holder died in the two tiny
  windows where its pid is not recorded (between acquiring and writing the pid, or between clearing it and
  releasing). Live holders leave these windows within nanoseconds, so the waiter recovers the same way.
- any other pid: a live holder; keep waiting, however long it holds the lock.

Recoveries are serialized by an `flock` on the segment's descriptor (released by the kernel if the recovering process
dies) and re-check, under it, that the state they observed is unchanged, so two waiters never both release the lock.
Pids identify processes only within one pid namespace: every process using an array must share it.
"""

import os
import threading
import time
import warnings
import weakref
from typing import Protocol

from ._header import EPOCH_WORD, HOLDER_WORD
from ._posix import (
    NONBLOCKING,
    NamedSemaphore,
    forget_acquisitions,
    held_here,
    lock_file,
    process_is_alive,
    release_for_dead_holder,
    semaphore_value,
    unlock_file,
)
from .exceptions import LockRecoveredWarning, LockReentryError

SPIN_ATTEMPTS = 100
"""Non-blocking attempts a waiter makes (a few microseconds) before it sleeps on the semaphore."""
POLL_INTERVAL = 0.1
"""Seconds a blocked acquire waits before it looks at the holder again."""
UNKNOWN_HOLDER_TIMEOUT = 2.0
"""Seconds the lock must stay taken with no recorded holder before a waiter treats its holder as dead."""


class ContextHolder(Protocol):
    """What `wait` needs to know of a `with array(with_lock=True)` context manager."""

    semaphore_name: str
    """The semaphore the context manager takes."""
    thread: int
    """Ident of the thread inside its `with` block, 0 when none is."""


context_holders: "weakref.WeakSet[ContextHolder]" = weakref.WeakSet()
"""The `array(with_lock=True)` context managers of this process, so `wait` can tell a nested call from a real wait."""


class ArrayLock:
    """The lock of one connected array in this process."""

    __slots__ = ("_fd", "_name", "_pid", "_semaphore_name", "_words", "semaphore")

    def __init__(self, semaphore: NamedSemaphore, semaphore_name: str, words: memoryview, fd: int, name: str) -> None:
        self.semaphore = semaphore
        """The named semaphore (value 1: free, 0: taken)."""
        self._semaphore_name = semaphore_name
        self._words = words
        self._fd = fd
        self._name = name
        self._pid = os.getpid()

    def detach_after_fork(self, words: memoryview) -> None:
        """Makes this lock, inherited by a forked child, inert (see `Connection.detach_after_fork`)."""
        self._words = words
        forget_acquisitions(self.semaphore)

    def abandon(self) -> None:
        """Releases the lock if this thread took it in an operation that an exception is now leaving.

        Every locked operation calls this from a handler that covers its acquisition: Python runs signal handlers
        between bytecodes, so an exception they raise (Ctrl-C's KeyboardInterrupt) can surface right after the
        semaphore was taken, before the operation recorded it or set up its release. The lock is left alone when
        this thread did not take it, or holds it on purpose in an enclosing `with array()` block.
        """
        if not held_here(self.semaphore) or self._held_by_this_thread():
            return
        words = self._words
        if words[HOLDER_WORD] == self._pid:
            words[HOLDER_WORD] = 0
        self.semaphore.release()

    def wait(self) -> None:
        """Blocks until the semaphore is acquired (the holder pid is not yet written); called after a failed try.

        Raises:
            LockReentryError: This very thread holds the lock through `SharedMemoryArray.array()`, so waiting would
                deadlock.
        """
        words = self._words
        if words[HOLDER_WORD] == self._pid and self._held_by_this_thread():
            message = (
                f"this thread already holds the lock of the SharedMemoryArray {self._name!r} inside "
                f"'with array(with_lock=True)'; pass with_lock=False to operations inside that block"
            )
            raise LockReentryError(message)
        # Locks here are held for well under a microsecond, so retrying briefly is far cheaper than sleeping in the
        # kernel and being woken by the holder's release (tens of microseconds on a busy machine).
        try_acquire = self.semaphore.acquire
        for _ in range(SPIN_ATTEMPTS):
            if try_acquire(NONBLOCKING):
                return
        unknown_since: float | None = None
        unknown_epoch = 0
        while not self.semaphore.acquire(block=True, timeout=POLL_INTERVAL):
            holder = words[HOLDER_WORD]
            if holder != 0:
                unknown_since = None
                if not process_is_alive(holder):
                    self._recover(holder, words[EPOCH_WORD])
                continue
            now = time.monotonic()
            if unknown_since is None or words[EPOCH_WORD] != unknown_epoch:
                unknown_since, unknown_epoch = now, words[EPOCH_WORD]
            elif now - unknown_since >= UNKNOWN_HOLDER_TIMEOUT:
                self._recover(0, unknown_epoch)
                unknown_since = None

    def _held_by_this_thread(self) -> bool:
        thread, name = threading.get_ident(), self._semaphore_name
        return any(holder.thread == thread and holder.semaphore_name == name for holder in list(context_holders))

    def _recover(self, holder: int, epoch: int) -> None:
        words = self._words
        lock_file(self._fd)
        try:
            unchanged = words[HOLDER_WORD] == holder and words[EPOCH_WORD] == epoch
            still_taken = semaphore_value(self.semaphore) == 0
            if not (unchanged and still_taken and (holder == 0 or not process_is_alive(holder))):
                return
            words[EPOCH_WORD] = epoch + 1
            words[HOLDER_WORD] = 0
            release_for_dead_holder(self.semaphore)
        finally:
            unlock_file(self._fd)
        if holder:
            what = f"was held by process {holder}, which died while holding it"
        else:
            what = (
                f"stayed taken for {UNKNOWN_HOLDER_TIMEOUT} s by a process that never recorded its pid (it died right "
                f"after acquiring or right before releasing it)"
            )
        message = (
            f"the lock of the SharedMemoryArray {self._name!r} {what}; it was released so that the other processes "
            f"can continue, but the cells that process was writing may be partially written"
        )
        warnings.warn(LockRecoveredWarning(message), stacklevel=4)
