"""A producer process's own buffer in a run: created on its first put, shared by its threads.

A put, under the thread lock of the process and the buffer's lock: read the limit word (how far the producer may
write, or 0 once the buffer is closed), copy the record into the ring (in two pieces when it straddles the ring's
end), store the new head, release. The logger process reads the head only under the same lock, so the record is
visible to it before the head that publishes it, on every architecture. A process killed anywhere in a put has not
stored the new head, so the logger never sees its unfinished record; it loses that one entry and blocks nobody (see
`drain`).
"""

import os
import queue
import struct
import threading
import time
import zlib
from collections.abc import Callable
from typing import Final

import numpy as np

from .._format.stream import RECORD_HEADER, RECORD_HEADER_SIZE, encode_record
from .._format.values import checked_integer, payload_buffer
from ..exceptions import DataLoggerError, DataLoggerTypeError, DataLoggerValueError, EntryTooLargeError
from . import _posix
from .control import ControlSegment
from .layout import (
    C_OWNER_PID,
    C_WRITER_PID,
    CLOSED,
    P_CURSOR_BYTES,
    P_CURSOR_RECORDS,
    P_REJECTED,
    R_CONTROL_RECORDS,
    R_HEAD_BYTES,
    R_HEAD_RECORDS,
    R_LIMIT,
    R_SLOT,
    ring_name,
)
from .ring import RingSegment, remove_ring
from .run_state import RunState

_SLEEP_SECONDS: Final = (0.00005, 0.002)
"""The shortest and longest sleep of a put waiting for room in its buffer."""
_CONFIRM_SLEEP_SECONDS: Final = 0.02
"""The longest sleep of a put waiting to learn whether a buffer closed during it was drained (see `_confirm`)."""
_LIVENESS_CHECK_SECONDS: Final = 0.2
"""How often a put waiting for room looks whether the logger process (or, before it starts, the owner) is alive."""
_PACK_HEADER = RECORD_HEADER.pack_into
_PACK_FIELDS = struct.Struct("<IQBBH").pack
"""The header's fields after the checksum, which the checksum covers with the payload."""
_PACK_ZERO = struct.Struct("<Q").pack_into
_CLOSED_WORDS = memoryview(bytearray(8 * (R_LIMIT + 1))).cast("Q")
"""Stands in for the header of a released buffer: its limit reads `CLOSED`, so puts take the path that refuses."""
_NO_DATA = memoryview(b"")
_crc32 = zlib.crc32

Refusal = Callable[[RunState], str]
"""Explains why a put was refused, from the run's state."""


class ProducerRing:
    """This process's buffer in one run.

    Args:
        control: This process's handle of the run's control segment.
        segment: The buffer, created by this process.
        base_bytes: The position the buffer starts at.
        base_records: The records published before it, in earlier buffers of the slot.
        base_controls: The control records published before it, in earlier buffers of the slot.
        refusal: Explains why a put was refused.
    """

    def __init__(
        self,
        control: ControlSegment,
        segment: RingSegment,
        base_bytes: int,
        base_records: int,
        base_controls: int,
        refusal: Refusal,
    ) -> None:
        self.control = control
        """This process's handle of the run's control segment."""
        self.segment = segment
        """The buffer."""
        self.pid = os.getpid()
        """The process that created the buffer: a forked child must make its own."""
        self.fork_generation = -1
        """Set by whoever caches the buffer: the number of forks that led to this process when it was made, which
        tells a forked child's copy apart without a `getpid()` system call per put."""
        self.capacity = segment.capacity
        """The ring's size in bytes."""
        self._slot = int(segment.words[R_SLOT])
        self._refusal = refusal
        self._words = segment.words
        self._data = segment.data
        self._head = base_bytes
        self._records = base_records
        self._control_records = base_controls
        self._threads = threading.Lock()
        self._enter, self._leave = self._threads.acquire, self._threads.release
        self._try_lock: Callable[[bool], bool] = segment.lock.acquire_now
        self._unlock = segment.lock.release

    def put(self, record: bytes, block: bool, timeout: float | None, control: bool = False) -> None:
        """Publishes a finished record (padding included).

        Args:
            record: The record.
            block: Wait for room if the buffer is full.
            timeout: The longest wait, in seconds (None: no limit).
            control: True for a transport control record (never written to disk).

        Raises:
            queue.Full: No room appeared in time (or at once, with `block=False`).
            EntryTooLargeError: The record is larger than the whole buffer.
            DataLoggerError: The run takes no more entries.
        """
        size = len(record)
        unconfirmed = 0
        self._enter()
        try:
            if not self._try_lock(False):
                self._lock_slowly()
            try:
                head = self._head
                words = self._words
                if head + size <= words[R_LIMIT]:
                    self._copy(record, head, size)
                    if control:
                        self._control_records += 1
                        words[R_CONTROL_RECORDS] = self._control_records
                    self._head = head = head + size
                    self._records = records = self._records + 1
                    words[R_HEAD_RECORDS] = records
                    words[R_HEAD_BYTES] = head
                    if words[R_LIMIT] != CLOSED:
                        return
                    unconfirmed = head
            finally:
                self._unlock()
        finally:
            self._leave()
        if unconfirmed:
            self._confirm(unconfirmed)
            return
        self._wait_and_put(record, size, block, timeout, control)

    def log(self, source_id: int, time_stamp: int, payload: object, block: bool, timeout: float | None) -> None:
        """Builds an entry's record straight in the buffer (the hot path: no package, one copy of the payload).

        Raises:
            DataLoggerTypeError, DataLoggerValueError: A bad timestamp or payload (named).
            queue.Full, EntryTooLargeError, DataLoggerError: As for `put`.
        """
        try:
            length = len(payload)  # type: ignore[arg-type]
        except TypeError:
            length = 1 << 40
        size = (RECORD_HEADER_SIZE + 7 + length) & ~7
        capacity = self.capacity
        unconfirmed = 0
        self._enter()
        try:
            if not self._try_lock(False):
                self._lock_slowly()
            try:
                head = self._head
                offset = head % capacity
                end = offset + size
                if head + size <= self._words[R_LIMIT] and end <= capacity and time_stamp.__class__ is not bool:
                    data = self._data
                    try:
                        # The checksum runs over the fields and the payload where they are; the header is packed
                        # once, with it, and the payload copied once.
                        checksum = _crc32(payload, _crc32(_PACK_FIELDS(length, time_stamp, source_id, 0, 0)))  # type: ignore[arg-type]
                        _PACK_ZERO(data, end - 8, 0)
                        _PACK_HEADER(data, offset, checksum, length, time_stamp, source_id, 0, 0)
                        data[offset + RECORD_HEADER_SIZE : offset + RECORD_HEADER_SIZE + length] = payload  # type: ignore[call-overload]
                    except Exception:
                        # A payload or timestamp the fast path cannot take: nothing was published; the general path
                        # below accepts what LogPackage accepts and names what it refuses.
                        pass
                    else:
                        words = self._words
                        self._head = head = head + size
                        self._records = records = self._records + 1
                        words[R_HEAD_RECORDS] = records
                        words[R_HEAD_BYTES] = head
                        if words[R_LIMIT] != CLOSED:
                            return
                        unconfirmed = head
            finally:
                self._unlock()
        finally:
            self._leave()
        if unconfirmed:
            self._confirm(unconfirmed)
            return
        self.put(_entry_record(source_id, time_stamp, payload), block, timeout)

    def _copy(self, record: bytes, head: int, size: int) -> None:
        """Copies a record to position `head` (the caller holds the locks and made room)."""
        data, capacity = self._data, self.capacity
        offset = head % capacity
        first = capacity - offset
        if size <= first:
            data[offset : offset + size] = record
        else:
            view = memoryview(record)
            data[offset:] = view[:first]
            data[: size - first] = view[first:]

    def _publish(self, head: int, control: bool) -> None:
        """Stores the new head (the caller holds the locks): the record becomes visible to the logger process."""
        words = self._words
        self._head = head
        self._records += 1
        words[R_HEAD_RECORDS] = self._records
        if control:
            self._control_records += 1
            words[R_CONTROL_RECORDS] = self._control_records
        words[R_HEAD_BYTES] = head

    def _lock_slowly(self) -> None:
        """Waits for the buffer's lock, held by the logger process or the owner (never by a thread of this process).

        They hold it for microseconds; a dead holder's lock is recovered (see `ring`), so this wait always ends.
        """
        while not self.segment.wait_for_lock(3600.0):
            pass

    def _wait_and_put(self, record: bytes, size: int, block: bool, timeout: float | None, control: bool) -> None:
        """The slow path: the buffer is closed, full or too small."""
        if size > self.capacity:
            raise EntryTooLargeError(int.from_bytes(record[4:8], "little"), size, self.capacity)
        deadline = None if timeout is None or not block else time.monotonic() + _checked_timeout(timeout)
        sleep = _SLEEP_SECONDS[0]
        next_check = time.monotonic() + _LIVENESS_CHECK_SECONDS
        unconfirmed = 0
        while True:
            self._enter()
            try:
                if not self._try_lock(False):
                    self._lock_slowly()
                try:
                    limit = self._words[R_LIMIT]
                    if limit == CLOSED:
                        raise DataLoggerError(self._refusal(self._state()))
                    head = self._head
                    if head + size <= limit:
                        self._copy(record, head, size)
                        self._publish(head + size, control)
                        if self._words[R_LIMIT] != CLOSED:
                            return
                        unconfirmed = head + size
                finally:
                    self._unlock()
            finally:
                self._leave()
            if unconfirmed:
                self._confirm(unconfirmed)
                return
            state = self._state()
            if state not in (RunState.IDLE, RunState.RUNNING):
                raise DataLoggerError(self._refusal(state))
            if not block:
                raise queue.Full
            now = time.monotonic()
            if now >= next_check:
                # Nobody may be left to free room: the logger process dead before its owner could say so (the
                # owner frozen or dead too), or the owner dead before it started one.
                next_check = now + _LIVENESS_CHECK_SECONDS
                orphaned = self._abandoned()
                if orphaned is not None:
                    raise DataLoggerError(self._refusal(orphaned))
            remaining = None if deadline is None else deadline - now
            if remaining is not None and remaining <= 0:
                raise queue.Full
            time.sleep(sleep if remaining is None else min(sleep, remaining))
            sleep = min(sleep * 2, _SLEEP_SECONDS[1])

    def _confirm(self, head: int) -> None:
        """Returns once the entry published up to `head` is logged; raises if it never will be.

        Only a put that found its buffer closed right after publishing comes here: while it holds the buffer's lock,
        the buffer is closed only by `stop()` (or an orphaned logger process) giving up on a lock held for the
        whole `stop_timeout`, by a put paused in the middle (a debugger, SIGSTOP). Such a buffer is drained to
        whatever it published when the drainer last looks, so the entry is logged if its drainer consumed it, and
        lost if the run ended first. The stores of the head came before the put looked at the limit, and the
        drainer's last look comes after `stop()` has closed every buffer, well after; the lock's release orders
        them on every architecture.

        Raises:
            DataLoggerError: The run ended without logging the entry.
        """
        control, slot = self.control, self._slot
        sleep = _SLEEP_SECONDS[0]
        while True:
            if control.progress(slot)[P_CURSOR_BYTES] >= head:
                return
            state = control.state
            words = control.words
            drainers = (int(words[C_WRITER_PID]), int(words[C_OWNER_PID]))
            if state == RunState.STOPPED or not any(pid and _posix.process_is_alive(pid) for pid in drainers):
                # Final: nobody drains this buffer any more (read the progress once more, in case it ended just now).
                if control.progress(slot)[P_CURSOR_BYTES] >= head:
                    return
                raise DataLoggerError(
                    f"DataLogger '{control.logger_name}': the entry was not logged: this put was paused in the middle "
                    "(by a debugger, SIGSTOP, or a signal handler that stopped the logger) while the run was "
                    "stopped, and its buffer was closed and drained before it resumed"
                )
            time.sleep(sleep)
            sleep = min(sleep * 2, _CONFIRM_SLEEP_SECONDS)

    def _abandoned(self) -> RunState | None:
        """Says whether the run can no longer drain this buffer: `DEAD` or `ORPHANED`, else None."""
        if self._data is _NO_DATA:
            return RunState.STOPPED
        words = self.control.words
        writer, owner = int(words[C_WRITER_PID]), int(words[C_OWNER_PID])
        if writer and not _posix.process_is_alive(writer):
            return RunState.DEAD
        if not writer and not _posix.process_is_alive(owner):
            return RunState.ORPHANED
        return None

    def finished(self) -> bool:
        """Whether the buffer is closed to puts (its run stopped or failed): this process may release it."""
        return self._words[R_LIMIT] == CLOSED

    def close(self) -> bool:
        """Releases this process's handles of the buffer and the run; later puts through this object raise.

        The buffer itself stays until the logger process (or `stop()`) has drained and removed it. It does not wait
        for a put in progress: that may be a put of this very thread, interrupted by a signal handler that called
        `stop()`, which would never resume.

        Returns:
            False if a put was in progress: nothing was released (the caller tries again later).
        """
        if not self._threads.acquire(False):
            return False
        try:
            if self._data is _NO_DATA:
                return True
            self._words = _CLOSED_WORDS
            self._data = _NO_DATA
            self.segment.close()
            self.control.close()
            return True
        finally:
            self._leave()

    def _state(self) -> RunState:
        """The run's state, or `STOPPED` once this process released the run."""
        return RunState.STOPPED if self._data is _NO_DATA else self.control.state


def _checked_timeout(timeout: object) -> float:
    """Returns a put's timeout in seconds after checking it (only a put that must wait looks at it)."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | np.integer | np.floating):
        raise DataLoggerTypeError(
            f"timeout must be a number of seconds or None, got {timeout!r} ({type(timeout).__name__})"
        )
    if not timeout >= 0:
        raise DataLoggerValueError(f"timeout must not be negative or nan, got {timeout!r}")
    return float(timeout)


def _entry_record(source_id: int, time_stamp: int, payload: object) -> bytes:
    """Encodes an entry the hot path could not build in place, checking the timestamp and payload."""
    stamp = checked_integer("time_stamp", time_stamp, 2**64 - 1)
    return encode_record(source_id, stamp, payload_buffer(payload))


def create_producer_ring(control: ControlSegment, refusal: Refusal) -> ProducerRing:
    """Registers this process in the run's slot table and creates its buffer.

    Raises:
        DataLoggerError: The run takes no entries, every slot is taken, or the system refused the buffer's shared
            memory (for example, it is full).
    """
    pid = os.getpid()
    try:
        registration = control.register(pid)
    except OverflowError:
        raise DataLoggerError(
            f"{control.slots} producer processes already hold a buffer of this DataLogger run (live, or dead and not "
            "yet drained): no more can log until one of them ends"
        ) from None
    if isinstance(registration, RunState):
        raise DataLoggerError(refusal(registration))
    slot, generation, progress = registration
    base_bytes, base_records = progress[P_CURSOR_BYTES], progress[P_CURSOR_RECORDS]
    name = ring_name(control.name, slot, generation)
    try:
        segment = RingSegment.create(
            control.backend, name, control.capacity, slot, generation, base_bytes, base_records, progress[P_REJECTED]
        )
    except OSError as error:
        control.retire(slot, generation)
        raise DataLoggerError(
            f"process {pid} could not create its {control.capacity}-byte buffer of DataLogger "
            f"'{control.logger_name}' in shared memory ({error}): free shared memory (/dev/shm on Linux) or give "
            "the logger a smaller buffer_size"
        ) from error
    except BaseException:
        control.retire(slot, generation)
        raise
    refused = control.activate(slot)
    if refused is not None:
        segment.close()
        remove_ring(control.backend, name)
        raise DataLoggerError(refusal(refused))
    return ProducerRing(control, segment, base_bytes, base_records, progress[P_REJECTED], refusal)
