"""Ending a run's intake: closing every buffer to puts, setting stop targets, counting, and removing the segments.

`stop()` (or the logger process, when the owner died) closes each buffer under its lock and reads, in the same
critical section, how far the producer had published: every put either finished before (and is inside the target)
or finds the buffer closed and raises. A producer that is dead needs no lock: its buffer is drained to whatever it
published. A producer that holds its lock through the whole timeout (paused in the middle of a put by a debugger or
`SIGSTOP`) is closed without the lock and drained likewise; the entry it was putting is logged only if the producer
resumes before the drainer's last look, and its put waits to learn which and raises if it was not (see `producer`).
"""

import os
from typing import Final

from . import _posix
from .control import ControlSegment
from .layout import (
    P_CURSOR_RECORDS,
    P_FAILED,
    P_LOST,
    P_RECOVERED,
    P_REJECTED,
    P_WRITTEN,
    P_WRITTEN_BYTES,
    SlotState,
    Target,
    ring_name,
)
from .ring import RingSegment, remove_ring
from .run_state import LogStatistics

OWN_PUT_SECONDS: Final = 0.5
"""How long `stop()` waits for a put of its own process: one in progress takes microseconds, unless this stop() runs
in a signal handler that interrupted it, which no wait ends."""


def close_buffers(control: ControlSegment, lock_timeout: float) -> list[str]:
    """Closes every buffer of the run to puts and records each slot's stop target.

    Args:
        control: The run's control segment.
        lock_timeout: How long to wait for a live producer that holds its buffer's lock.

    Returns:
        Descriptions of producers that held their lock through the timeout.
    """
    targets: dict[int, tuple[Target, int, int]] = {}
    problems = []
    this_process = os.getpid()
    for slot, (state, pid, generation) in enumerate(control.slot_table()):
        if state != SlotState.ACTIVE:
            continue
        segment = _open_header(control, slot, generation)
        if segment is None:
            continue
        own = pid == this_process
        try:
            if not _posix.process_is_alive(pid):
                segment.close_for_puts()
                targets[slot] = (Target.EVERYTHING, 0, 0)
            elif segment.lock_as_other(min(lock_timeout, OWN_PUT_SECONDS) if own else lock_timeout):
                try:
                    segment.close_for_puts()
                    head_bytes, head_records = segment.head
                finally:
                    segment.unlock_as_other()
                targets[slot] = (Target.HEAD, head_bytes, head_records)
            else:
                segment.close_for_puts()
                targets[slot] = (Target.EVERYTHING, 0, 0)
                # A put of this process that holds the lock this long was interrupted by the signal handler that is
                # running this stop(): it resumes only after it, finds its buffer closed and says whether its entry
                # was logged (see `producer`). Not a problem of the run.
                if not own and _posix.process_is_alive(pid):
                    problems.append(
                        f"producer process {pid} held its buffer's lock for {lock_timeout:g} s (paused in the "
                        "middle of a put?): what it had published was written; the entry it was putting is logged "
                        "only if it resumes before its buffer is drained, and its put raises otherwise"
                    )
        finally:
            segment.close()
    control.set_targets(targets)
    return problems


def close_buffers_now(control: ControlSegment) -> None:
    """Closes to puts every buffer whose lock is free within a moment (after a failure; puts also check the state)."""
    for slot, (state, pid, generation) in enumerate(control.slot_table()):
        if state != SlotState.ACTIVE or not _posix.process_is_alive(pid):
            continue
        segment = _open_header(control, slot, generation)
        if segment is None:
            continue
        try:
            if segment.lock_as_other(0.01):
                try:
                    segment.close_for_puts()
                finally:
                    segment.unlock_as_other()
        finally:
            segment.close()


def statistics(control: ControlSegment, *, final: bool) -> LogStatistics:
    """Returns the run's counts, summed over its slots.

    Args:
        control: The run's control segment.
        final: The buffers are closed and drained: an active slot's submitted entries are then those its progress
            consumed (exact), rather than what its producer published (live, read from the buffer).
    """
    totals = [0] * 8
    targets = control.targets() if final else None
    for slot, (state, _, generation) in enumerate(control.slot_table()):
        progress = control.progress(slot)
        submitted = progress[P_CURSOR_RECORDS]
        if state == SlotState.ACTIVE:
            if targets is not None and targets.get(slot, (Target.NONE,))[0] == Target.HEAD:
                submitted = targets[slot][2]
            elif not final:
                segment = _open_header(control, slot, generation)
                if segment is not None:
                    submitted = max(submitted, segment.head[1])
                    segment.close()
        for index, value in enumerate(
            (
                submitted,
                progress[P_WRITTEN],
                progress[P_REJECTED],
                progress[P_FAILED],
                progress[P_WRITTEN_BYTES],
                progress[P_RECOVERED],
                progress[P_LOST],
            )
        ):
            totals[index] += value
    return LogStatistics(*totals[:7])


def remove_buffers(control: ControlSegment) -> None:
    """Removes every buffer segment and lock of the run (processes that mapped them keep their mappings)."""
    for slot, (_, _, generation) in enumerate(control.slot_table()):
        remove_ring(control.backend, ring_name(control.name, slot, generation))


def _open_header(control: ControlSegment, slot: int, generation: int) -> RingSegment | None:
    try:
        return RingSegment.open(control.backend, ring_name(control.name, slot, generation), full=False)
    except (FileNotFoundError, ValueError):
        return None
