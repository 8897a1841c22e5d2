"""Draining the run's producer buffers into a sink: the logger process's loop body, and `stop()`'s after its death.

A drainer never waits for a producer. For each buffer, in turn:

- If the owner is alive: *try* the buffer's lock; holding it, publish how far the buffer was consumed (the producer
  may overwrite that room) and read how far it is published; release; then hand the published records to the sink.
  If the lock is busy (a put in progress), move on and come back.
- If the owner is dead: its stores are all visible, so read how far it published without the lock (which it may
  have died holding), hand the records to the sink checking each one's checksum, and once it is drained remove the
  buffer and free its slot.

Once `stop()` (or the orphaned logger process itself) has closed every buffer and set each slot's stop target, the
drainer drains every buffer up to its target and reports that it reached them.
"""

import time
from typing import Final, Protocol

from . import _posix
from .control import ControlSegment
from .layout import (
    C_REGISTRATIONS,
    P_CURSOR_BYTES,
    P_CURSOR_RECORDS,
    P_LOST,
    R_CONTROL_RECORDS,
    SlotState,
    Target,
    ring_name,
)
from .records import Damage
from .reports import FAILED, Reporter
from .ring import RingSegment, remove_ring
from .slot_buffer import SlotBuffer

_RESCAN_SECONDS: Final = 0.1
"""How often the slot table is read again even if no registration changed it (to clean up after dead creators)."""


class Sink(Protocol):
    """Where a drainer puts the records (one `.npy` file per entry, or stream segments)."""

    def consume(self, buffer: SlotBuffer, start: int, end: int, *, verify: bool) -> Damage | None:
        """Writes records of `buffer` from position `start` towards `end`, committing progress as it goes."""

    def recover(self, buffer: SlotBuffer, staged: list[int]) -> None:
        """Commits or discards the progress a killed drainer staged (see `progress`)."""

    def idle(self) -> None:
        """Called when there was nothing to drain."""

    def sync(self) -> None:
        """Flushes what was written to the disk."""

    def close(self) -> None:
        """Releases the sink's files."""


class Drainer:
    """Drains every buffer of a run into a sink.

    Args:
        control: The run's control segment.
        sink: Where the records go.
        reporter: Receives descriptions of what went wrong with single entries.
    """

    def __init__(self, control: ControlSegment, sink: Sink, reporter: Reporter) -> None:
        self.control = control
        self.sink = sink
        self._reporter = reporter
        self.buffers: dict[int, SlotBuffer] = {}
        """The buffers being followed, by slot."""
        self._registrations = -1
        self._next_scan = 0.0

    def recover(self) -> None:
        """Settles what a killed drainer of this run left staged.

        Call it before the first cycle, and only once the previous drainer is known to be dead.
        """
        self._scan(force=True)
        for buffer in self.buffers.values():
            staged = buffer.progress.staged_by_a_dead_process()
            if staged is not None:
                self.sink.recover(buffer, staged)

    def cycle(self, targets: dict[int, tuple[Target, int, int]] | None = None) -> tuple[bool, bool]:
        """Serves every buffer once.

        Args:
            targets: The stop targets, once set.

        Returns:
            Whether any records were drained, and whether any buffer was busy (its lock held by a put).
        """
        self._scan()
        drained = busy = False
        for buffer in list(self.buffers.values()):
            outcome = self._serve(buffer, None if targets is None else targets.get(buffer.slot))
            drained |= outcome is True
            busy |= outcome is None
        return drained, busy

    def reached(self, targets: dict[int, tuple[Target, int, int]]) -> bool:
        """Returns whether every buffer is drained up to its stop target."""
        self._scan(force=True)
        for slot, buffer in self.buffers.items():
            kind, target_bytes, _ = targets.get(slot, (Target.NONE, 0, 0))
            cursor = buffer.progress.values[P_CURSOR_BYTES]
            if kind == Target.HEAD and cursor < target_bytes:
                return False
            if kind == Target.EVERYTHING and cursor < buffer.segment.head[0]:
                return False
        return True

    def _serve(self, buffer: SlotBuffer, target: tuple[Target, int, int] | None) -> bool | None:
        """Drains one batch of one buffer. Returns True if it drained records, None if its lock was busy."""
        segment = buffer.segment
        cursor = buffer.progress.values[P_CURSOR_BYTES]
        everything = buffer.owner_gone or (target is not None and target[0] == Target.EVERYTHING)
        if everything:
            head_bytes, head_records = segment.head
        elif segment.lock_as_other(0):
            try:
                segment.publish_consumed(cursor)
                head_bytes, head_records = segment.head
                buffer.controls_published = int(segment.words[R_CONTROL_RECORDS])
            finally:
                segment.unlock_as_other()
        else:
            # Busy: a put in progress, or a holder that died with it (a killed logger process before this drainer).
            if not buffer.owner_died():
                buffer.segment.recover_from_dead_holder()
            return None
        if target is not None and target[0] == Target.HEAD:
            head_bytes, head_records = min(head_bytes, target[1]), min(head_records, target[2])
        buffer.published_bytes, buffer.published_records = head_bytes, head_records
        if cursor >= head_bytes:
            if buffer.owner_gone:
                self._retire(buffer)
            elif buffer.owner_died():
                return True  # what it published before dying is read (without its lock) at the next call
            return False
        damage = self.sink.consume(buffer, cursor, head_bytes, verify=everything)
        if damage is not None:
            self._write_off(buffer, damage, head_bytes, head_records)
        return True

    def _write_off(self, buffer: SlotBuffer, damage: Damage, head_bytes: int, head_records: int) -> None:
        """Counts as lost what follows a damaged place of a dead producer's buffer (it cannot be parsed)."""
        values = buffer.progress.values.copy()
        lost = max(head_records - values[P_CURSOR_RECORDS], 1)
        values[P_LOST] += lost
        values[P_CURSOR_BYTES] = head_bytes
        values[P_CURSOR_RECORDS] = max(head_records, values[P_CURSOR_RECORDS] + 1)
        buffer.progress.store(values)
        self._reporter.report(
            FAILED,
            f"{head_bytes - damage.start} bytes (about {lost} entries) published by process {buffer.owner_pid} "
            f"could not be read back from its buffer ({damage.reason}) and are lost",
        )

    def _retire(self, buffer: SlotBuffer) -> None:
        """Removes a drained buffer whose owner is dead and frees its slot."""
        del self.buffers[buffer.slot]
        buffer.segment.close()
        name = ring_name(self.control.name, buffer.slot, buffer.generation)
        _posix.untrack(self.control.backend, name, lock=True)
        remove_ring(self.control.backend, name)
        self.control.retire(buffer.slot, buffer.generation)

    def _scan(self, *, force: bool = False) -> None:
        """Follows new buffers and cleans up after producers that died while creating theirs."""
        registrations = int(self.control.words[C_REGISTRATIONS])
        now = time.monotonic()
        if not force and registrations == self._registrations and now < self._next_scan:
            return
        self._registrations, self._next_scan = registrations, now + _RESCAN_SECONDS
        control, backend = self.control, self.control.backend
        for slot, (state, pid, generation) in enumerate(control.slot_table()):
            known = self.buffers.get(slot)
            if known is not None and known.generation == generation and state == SlotState.ACTIVE:
                continue
            if known is not None:
                del self.buffers[slot]
                known.segment.close()
                _posix.untrack(backend, ring_name(control.name, slot, known.generation), lock=True)
            name = ring_name(control.name, slot, generation)
            if state == SlotState.CREATING and not _posix.process_is_alive(pid):
                remove_ring(backend, name)
                control.retire(slot, generation)
            elif state == SlotState.ACTIVE:
                try:
                    segment = RingSegment.open(backend, name, full=True)
                except (FileNotFoundError, ValueError):
                    # Removed by a drainer killed before it freed the slot (only drained buffers are removed).
                    control.retire(slot, generation)
                    continue
                self.buffers[slot] = SlotBuffer(control, slot, generation, pid, segment)
                # Removed by the resource tracker if this process and the owner die before anyone drains it.
                _posix.track(backend, name, lock=True)

    def close(self) -> None:
        """Closes this process's handles of the buffers (they stay in place, for `stop()` to remove)."""
        for buffer in self.buffers.values():
            buffer.segment.close()
            name = ring_name(self.control.name, buffer.slot, buffer.generation)
            _posix.untrack(self.control.backend, name, lock=True)
        self.buffers.clear()
