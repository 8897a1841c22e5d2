"""A producer buffer's segment as any process of the run opens it: its words, its ring of bytes and its lock.

Who takes a buffer's lock: the threads of its producer process (one at a time: they first take a thread lock of
their process), the logger process (to publish how far it consumed and read how far the producer published) and the
owner's `stop()` (to close the buffer). The logger process and the owner write their pid into the header while they
hold the lock; the producer does not, as it is the only other party. So a producer thread that finds the lock taken
for long knows the holder is one of the two others, and can tell a dead holder from a live one:

- the holder word names a dead process: it died holding the lock;
- the holder word is 0 while the lock stays taken for `UNKNOWN_HOLDER_SECONDS`: a holder died in the instant
  between taking the lock and writing its pid (or clearing it and releasing).

It then releases the lock on the dead holder's behalf. The logger process and the owner recover only from a holder
that names itself: for them, an unnamed holder may be the producer, alive but paused in the middle of a put
(stopped by a debugger or `SIGSTOP`), whose lock must not be taken from it; they give up waiting instead (and a
dead producer's buffer needs no lock: see `drain`). Recoveries are serialized by an `flock` on the segment and
re-check what they observed under it, so two waiters never both release the lock. The `PORTABLE` backend's lock is
an `flock` itself, which the kernel releases when its holder dies, so none of this is needed there.
"""

import contextlib
import os
import time
from typing import Final

from . import _posix
from .layout import (
    CLOSED,
    R_CAPACITY,
    R_CONTROL_RECORDS,
    R_GENERATION,
    R_HEAD_BYTES,
    R_HEAD_RECORDS,
    R_LIMIT,
    R_MAGIC,
    R_OWNER_PID,
    R_SLOT,
    RING_HEADER_BYTES,
    RING_MAGIC,
)

R_HOLDER: Final = 17
"""The pid of the logger process or owner holding the lock, 0 otherwise (the writer's cache line)."""
R_EPOCH: Final = 18
"""Incremented by each recovery of the lock from a dead holder."""

UNKNOWN_HOLDER_SECONDS: Final = 2.0
"""How long the lock must stay taken with no recorded holder before a waiter treats its holder as dead."""
WAIT_SLICE_SECONDS: Final = 0.05
"""How long a blocked acquire waits before it looks at the holder again."""


class RingSegment:
    """One process's handle of a producer buffer.

    Args:
        backend: The run's `_posix` backend.
        name: The segment's name.
        descriptor: The open segment.
        lock: The buffer's lock.
        full: Map the ring too, not only the header page.
    """

    def __init__(self, backend: int, name: str, descriptor: int, lock: _posix.BufferLock, *, full: bool) -> None:
        self.backend = backend
        """The run's `_posix` backend."""
        self.name = name
        """The segment's name."""
        self.lock = lock
        """The buffer's lock."""
        self._descriptor = descriptor
        size = os.fstat(descriptor).st_size if full else RING_HEADER_BYTES
        self._mapping = _posix.map_segment(descriptor, size)
        view = memoryview(self._mapping)
        self.words = view[:RING_HEADER_BYTES].cast("Q")
        """The header page as 64-bit words."""
        self.data = view[RING_HEADER_BYTES:]
        """The ring (empty when only the header is mapped)."""
        view.release()
        self.capacity = int(self.words[R_CAPACITY])
        """The ring's size in bytes."""

    @classmethod
    def create(
        cls,
        backend: int,
        name: str,
        capacity: int,
        slot: int,
        generation: int,
        base_bytes: int,
        base_records: int,
        base_controls: int,
    ) -> "RingSegment":
        """Creates a buffer owned by this process, its ring prefaulted, its head and tail at the slot's position.

        Raises:
            OSError: The system refused the segment (for example, shared memory is full).
        """
        descriptor = _posix.create_segment(backend, name, RING_HEADER_BYTES + capacity)
        try:
            lock = _posix.create_buffer_lock(backend, name, descriptor)
        except BaseException:
            os.close(descriptor)
            _posix.unlink_segment(backend, name)
            raise
        try:
            os.pwrite(descriptor, capacity.to_bytes(8, "little"), R_CAPACITY * 8)
            ring = cls(backend, name, descriptor, lock, full=True)
            _posix.prefault(ring._mapping, RING_HEADER_BYTES, RING_HEADER_BYTES + capacity)
            words = ring.words
            words[R_OWNER_PID] = os.getpid()
            words[R_SLOT] = slot
            words[R_GENERATION] = generation
            words[R_HEAD_RECORDS] = base_records
            words[R_CONTROL_RECORDS] = base_controls
            words[R_HEAD_BYTES] = base_bytes
            words[R_LIMIT] = base_bytes + capacity
            words[R_MAGIC] = RING_MAGIC
        except BaseException:
            lock.close()
            os.close(descriptor)
            remove_ring(backend, name)
            raise
        return ring

    @classmethod
    def open(cls, backend: int, name: str, *, full: bool) -> "RingSegment":
        """Opens an existing buffer (its whole ring if `full`, else only its header page).

        Raises:
            FileNotFoundError: The buffer or its lock no longer exists.
            ValueError: The segment is not a complete producer buffer.
        """
        descriptor = _posix.open_segment(backend, name)
        try:
            if os.fstat(descriptor).st_size < RING_HEADER_BYTES:
                raise ValueError(f"the shared memory segment {name!r} is not a DataLogger buffer")
            lock = _posix.open_buffer_lock(backend, name, descriptor)
        except BaseException:
            os.close(descriptor)
            raise
        ring = cls(backend, name, descriptor, lock, full=full)
        if ring.words[R_MAGIC] != RING_MAGIC:
            ring.close()
            raise ValueError(f"the shared memory segment {name!r} is not a complete DataLogger buffer")
        return ring

    def lock_as_other(self, timeout: float) -> bool:
        """Takes the lock as the logger process or the owner, recovering it from a dead holder; False on timeout.

        Args:
            timeout: How long to wait for a live holder (0: only try).
        """
        lock = self.lock
        if not lock.try_acquire():
            if timeout <= 0 or not self._wait(timeout, recover_unknown=False):
                return False
        self.words[R_HOLDER] = os.getpid()
        return True

    def recover_from_dead_holder(self) -> bool:
        """Releases the lock if the holder it names is dead (a logger process or owner killed holding it).

        Returns:
            Whether a dead holder was found (the lock may then be taken).
        """
        if self.backend == _posix.PORTABLE:
            return False
        holder = int(self.words[R_HOLDER])
        if holder == 0 or _posix.process_is_alive(holder):
            return False
        self._recover(holder, int(self.words[R_EPOCH]))
        return True

    def unlock_as_other(self) -> None:
        """Releases the lock taken by `lock_as_other`."""
        self.words[R_HOLDER] = 0
        self.lock.release()

    def wait_for_lock(self, timeout: float) -> bool:
        """Waits up to `timeout` s for the lock (as a producer thread), recovering it from a dead holder."""
        return self._wait(timeout, recover_unknown=True)

    def _wait(self, timeout: float, *, recover_unknown: bool) -> bool:
        if self.backend == _posix.PORTABLE:
            return self.lock.acquire(timeout)
        deadline = time.monotonic() + timeout
        unknown_since: float | None = None
        unknown_epoch = -1
        words = self.words
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.lock.acquire(min(WAIT_SLICE_SECONDS, remaining)):
                return True
            holder = int(words[R_HOLDER])
            if holder:
                unknown_since = None
                if not _posix.process_is_alive(holder):
                    self._recover(holder, int(words[R_EPOCH]))
                continue
            if not recover_unknown:
                continue
            now = time.monotonic()
            if unknown_since is None or words[R_EPOCH] != unknown_epoch:
                unknown_since, unknown_epoch = now, int(words[R_EPOCH])
            elif now - unknown_since >= UNKNOWN_HOLDER_SECONDS:
                self._recover(0, unknown_epoch)
                unknown_since = None

    def _recover(self, holder: int, epoch: int) -> None:
        """Releases the lock on behalf of a dead holder, if what was observed still holds under the recovery flock."""
        import fcntl

        words = self.words
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            semaphore = getattr(self.lock, "_semaphore", None)
            taken = semaphore is None or not hasattr(semaphore, "_get_value") or semaphore._get_value() == 0  # noqa: SLF001  # CPython's SemLock has no public value query
            if words[R_HOLDER] != holder or words[R_EPOCH] != epoch or not taken:
                return
            if holder and _posix.process_is_alive(holder):
                return
            words[R_EPOCH] = epoch + 1
            words[R_HOLDER] = 0
            with contextlib.suppress(ValueError):
                # Released meanwhile after all: the semaphore refuses to go above 1.
                self.lock.release()
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def close_for_puts(self) -> None:
        """Closes the buffer to puts (call it holding the lock, or once its owner is gone)."""
        self.words[R_LIMIT] = CLOSED

    def publish_consumed(self, position: int) -> None:
        """Lets the producer overwrite everything before `position`, unless the buffer is closed (hold the lock)."""
        words = self.words
        if words[R_LIMIT] != CLOSED:
            words[R_LIMIT] = position + self.capacity

    @property
    def owner_pid(self) -> int:
        """The pid of the producer process that created the buffer."""
        return int(self.words[R_OWNER_PID])

    @property
    def head(self) -> tuple[int, int]:
        """The published bytes and records (read under the lock, or once the owner is gone)."""
        words = self.words
        return int(words[R_HEAD_BYTES]), int(words[R_HEAD_RECORDS])

    def close(self) -> None:
        """Unmaps the buffer and closes this process's handles; the buffer stays for the others."""
        if self._descriptor < 0:
            return
        self.words.release()
        self.data.release()
        with contextlib.suppress(BufferError):
            self._mapping.close()
        self.lock.close()
        os.close(self._descriptor)
        self._descriptor = -1


def remove_ring(backend: int, name: str) -> None:
    """Removes a buffer's segment and lock from the system (processes that opened them keep their handles)."""
    _posix.unlink_buffer_lock(backend, name)
    _posix.unlink_segment(backend, name)
