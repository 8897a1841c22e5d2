"""A process's handle of a run's control segment: the run's state, settings and slot table (see `layout`).

The owner creates it; producers, the logger process and `stop()` attach to it by name. Its lock is an `flock` on the
process's own descriptor of the segment plus a thread lock (so a holder killed mid-section blocks nobody: the kernel
drops its `flock`), taken for the rare operations that must not interleave: a producer registering a buffer, a state
change, a slot retiring. Everything else reads or writes single words: each word has one writer at a time.
"""

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from . import _posix
from .layout import (
    C_BACKEND,
    C_CAPACITY,
    C_CREATED,
    C_DIRECTORY,
    C_DIRECTORY_LENGTH,
    C_HEADER_WORDS,
    C_LAYOUT,
    C_MAGIC,
    C_NAME,
    C_NAME_LENGTH,
    C_OWNER_PID,
    C_REGISTRATIONS,
    C_SLOTS,
    C_SLOTS_USED,
    C_STATE,
    C_TARGETS_SET,
    CONTROL_MAGIC,
    P_CURSOR_RECORDS,
    PROGRESS_WORDS,
    S_COPIES,
    S_GENERATION,
    S_PID,
    S_SELECTOR,
    S_STATE,
    S_TARGET,
    S_TARGET_BYTES,
    S_TARGET_RECORDS,
    WORD,
    SlotState,
    Target,
    control_size,
    slot_word,
)
from .run_state import ACCEPTING_STATES, RunState

_NAME_OFFSET = C_NAME * WORD
_NAME_BYTES = (C_DIRECTORY - C_NAME) * WORD
_DIRECTORY_OFFSET = C_DIRECTORY * WORD
_DIRECTORY_BYTES = (C_HEADER_WORDS - C_DIRECTORY) * WORD


class ControlSegment:
    """One process's mapping of a run's control segment.

    Args:
        name: The run's name, which is the segment's name.
        backend: The `_posix` backend of the run.
        descriptor: The open segment.
    """

    def __init__(self, name: str, backend: int, descriptor: int) -> None:
        self.name = name
        """The run's name."""
        self.backend = backend
        """The `_posix` backend of every segment and lock of the run."""
        self.pid = os.getpid()
        """The process this handle belongs to (a forked child must attach again)."""
        self._descriptor = descriptor
        size = os.fstat(descriptor).st_size
        self._mapping = _posix.map_segment(descriptor, size)
        self.buffer = memoryview(self._mapping)
        """The segment's bytes."""
        self.words = self.buffer.cast("Q")
        """The segment as 64-bit words."""
        self._lock = _posix.FileLock(descriptor)

    @classmethod
    def create(
        cls, name: str, backend: int, capacity: int, layout: int, slots: int, logger_name: str
    ) -> "ControlSegment":
        """Creates the control segment of a new run (state `IDLE`), owned by this process.

        Args:
            name: The run's name.
            backend: The `_posix` backend of the run.
            capacity: The byte size of each producer buffer's ring.
            layout: 0 for `.npy` files, 1 for stream segments.
            slots: The most producer processes holding a buffer at once.
            logger_name: The logger's instance name (for messages in processes that attach by name).
        """
        descriptor = _posix.create_segment(backend, name, control_size(slots))
        try:
            control = cls(name, backend, descriptor)
        except BaseException:
            os.close(descriptor)
            _posix.unlink_segment(backend, name)
            raise
        words = control.words
        words[C_OWNER_PID] = os.getpid()
        words[C_CAPACITY] = capacity
        words[C_SLOTS] = slots
        words[C_BACKEND] = backend
        words[C_LAYOUT] = layout
        words[C_CREATED] = time.time_ns()
        encoded = logger_name.encode("utf-8")[:_NAME_BYTES]
        control.buffer[_NAME_OFFSET : _NAME_OFFSET + len(encoded)] = encoded
        words[C_NAME_LENGTH] = len(encoded)
        words[C_STATE] = RunState.IDLE
        words[C_MAGIC] = CONTROL_MAGIC
        return control

    @classmethod
    def attach(cls, name: str, backend: int) -> "ControlSegment":
        """Attaches this process to an existing run's control segment.

        Raises:
            FileNotFoundError: The run's segment no longer exists (its logger was stopped).
            ValueError: The segment is not a run's control segment.
        """
        descriptor = _posix.open_segment(backend, name)
        try:
            control = cls(name, backend, descriptor)
        except BaseException:
            os.close(descriptor)
            raise
        if len(control.words) <= C_MAGIC or control.words[C_MAGIC] != CONTROL_MAGIC:
            control.close()
            raise ValueError(f"the shared memory segment {name!r} is not the control segment of a DataLogger run")
        return control

    @property
    def state(self) -> RunState:
        """The run's state."""
        return RunState(self.words[C_STATE])

    @property
    def logger_name(self) -> str:
        """The logger's instance name."""
        length = int(self.words[C_NAME_LENGTH])
        return bytes(self.buffer[_NAME_OFFSET : _NAME_OFFSET + length]).decode("utf-8", "replace")

    @property
    def directory(self) -> str:
        """The log folder the run writes to, as recorded at its creation ("" if its path was too long to record)."""
        length = int(self.words[C_DIRECTORY_LENGTH])
        return bytes(self.buffer[_DIRECTORY_OFFSET : _DIRECTORY_OFFSET + length]).decode("utf-8", "replace")

    def record_directory(self, directory: str) -> None:
        """Records the run's log folder (for the report of whoever sweeps the run if all its processes die)."""
        encoded = directory.encode("utf-8", "replace")
        if len(encoded) <= _DIRECTORY_BYTES:
            self.buffer[_DIRECTORY_OFFSET : _DIRECTORY_OFFSET + len(encoded)] = encoded
            self.words[C_DIRECTORY_LENGTH] = len(encoded)

    @property
    def capacity(self) -> int:
        """The byte size of each producer buffer's ring."""
        return int(self.words[C_CAPACITY])

    @property
    def slots(self) -> int:
        """The number of slots in the table."""
        return int(self.words[C_SLOTS])

    @property
    def slots_used(self) -> int:
        """How many slots were ever used."""
        return int(self.words[C_SLOTS_USED])

    @contextlib.contextmanager
    def locked(self) -> Iterator[Any]:
        """Holds the control lock (an `flock` the kernel drops if this process dies) and yields the words."""
        self._lock.acquire()
        try:
            yield self.words
        finally:
            self._lock.release()

    def transition(self, new_state: RunState, *, only_from: frozenset[RunState] | None = None) -> RunState:
        """Moves the run to `new_state` under the lock if its state is in `only_from` (any state if None).

        Returns:
            The state before the call.
        """
        with self.locked() as words:
            old_state = RunState(words[C_STATE])
            if only_from is None or old_state in only_from:
                words[C_STATE] = new_state
            return old_state

    def register(self, pid: int) -> tuple[int, int, list[int]] | RunState:
        """Gives process `pid` a slot for a new buffer, if the run accepts entries.

        Returns:
            `(slot, generation, progress)`: the slot, the generation that names its new buffer, and the slot's
            committed progress, where the new buffer starts (positions and counts run on across the buffers a slot
            has had); or the state that refused the registration.

        Raises:
            OverflowError: Every slot holds the buffer of a live process, or of a dead one not yet drained.
        """
        with self.locked() as words:
            state = RunState(words[C_STATE])
            if state not in ACCEPTING_STATES:
                return state
            used = int(words[C_SLOTS_USED])
            slot = next((index for index in range(used) if words[slot_word(index, S_STATE)] == SlotState.RETIRED), None)
            if slot is None:
                if used >= words[C_SLOTS]:
                    raise OverflowError(used)
                slot = used
                words[C_SLOTS_USED] = used + 1
            generation = int(words[slot_word(slot, S_GENERATION)]) + 1
            progress = self.progress(slot)
            words[slot_word(slot, S_PID)] = pid
            words[slot_word(slot, S_GENERATION)] = generation
            words[slot_word(slot, S_STATE)] = SlotState.CREATING
            words[C_REGISTRATIONS] += 1
            return slot, generation, progress

    def activate(self, slot: int) -> RunState | None:
        """Marks a registered slot's buffer as taking puts, if the run still accepts entries.

        Returns:
            None if it was activated, else the state that refused it (the slot is then retired: its buffer, which
            never took a put, must be removed by its creator).
        """
        with self.locked() as words:
            state = RunState(words[C_STATE])
            words[C_REGISTRATIONS] += 1
            if state not in ACCEPTING_STATES:
                words[slot_word(slot, S_STATE)] = SlotState.RETIRED
                return state
            words[slot_word(slot, S_STATE)] = SlotState.ACTIVE
            return None

    def retire(self, slot: int, generation: int) -> bool:
        """Marks the slot retired if it still holds generation `generation`; returns whether it did."""
        with self.locked() as words:
            if words[slot_word(slot, S_GENERATION)] != generation:
                return False
            words[slot_word(slot, S_STATE)] = SlotState.RETIRED
            words[C_REGISTRATIONS] += 1
            return True

    def slot_table(self) -> list[tuple[SlotState, int, int]]:
        """Returns every used slot's state, owner pid and generation, read under the lock (so they agree)."""
        with self.locked() as words:
            return [
                (
                    SlotState(words[slot_word(slot, S_STATE)]),
                    int(words[slot_word(slot, S_PID)]),
                    int(words[slot_word(slot, S_GENERATION)]),
                )
                for slot in range(int(words[C_SLOTS_USED]))
            ]

    def set_targets(self, targets: dict[int, tuple[Target, int, int]]) -> None:
        """Records each slot's stop target, then (under the lock, which orders the stores) that they are set.

        Args:
            targets: Per slot: the target's kind, bytes and records.
        """
        words = self.words
        for slot, (kind, target_bytes, target_records) in targets.items():
            words[slot_word(slot, S_TARGET_BYTES)] = target_bytes
            words[slot_word(slot, S_TARGET_RECORDS)] = target_records
            words[slot_word(slot, S_TARGET)] = kind
        with self.locked():
            words[C_TARGETS_SET] = 1

    def targets(self) -> dict[int, tuple[Target, int, int]] | None:
        """Returns each slot's stop target once they are set (read under the lock, after the flag), else None."""
        if not self.words[C_TARGETS_SET]:
            return None
        with self.locked() as words:
            return {
                slot: (
                    Target(words[slot_word(slot, S_TARGET)]),
                    int(words[slot_word(slot, S_TARGET_BYTES)]),
                    int(words[slot_word(slot, S_TARGET_RECORDS)]),
                )
                for slot in range(int(words[C_SLOTS_USED]))
            }

    def progress(self, slot: int) -> list[int]:
        """Returns the committed progress copy of a slot (see `layout`), consistent even while the writer commits."""
        words = self.words
        selector_word = slot_word(slot, S_SELECTOR)
        while True:
            selector = words[selector_word]
            start = slot_word(slot, S_COPIES[selector & 1])
            values = words[start : start + PROGRESS_WORDS].tolist()
            if words[selector_word] == selector:
                return values

    def consumed(self) -> int:
        """Returns the records drained so far, over every slot (a progress marker for `stop()`)."""
        return sum(self.progress(slot)[P_CURSOR_RECORDS] for slot in range(self.slots_used))

    def close(self) -> None:
        """Unmaps the segment and closes this process's descriptor; the segment stays for the others."""
        if self._descriptor < 0:
            return
        self.words.release()
        self.buffer.release()
        with contextlib.suppress(BufferError):
            self._mapping.close()
        os.close(self._descriptor)
        self._descriptor = -1

    def destroy(self) -> None:
        """Closes this handle and removes the segment."""
        self.close()
        _posix.unlink_segment(self.backend, self.name)
