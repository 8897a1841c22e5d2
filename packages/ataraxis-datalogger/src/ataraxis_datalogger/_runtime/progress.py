"""The logger's progress through one producer buffer, committed so that a killed logger never writes an entry twice.

The progress of a slot (see `layout`) lives in two copies; the selector names the committed one. An operation on
disk goes through three steps:

1. `stage`: the uncommitted copy gets the progress as it will be once the operation is done, plus what identifies
   the operation on disk (its `Operation` and up to three words), and the `pending` word names that copy;
2. the operation itself (an entry file is named; records are appended to a stream segment);
3. `commit`: the selector flips to the staged copy, then `pending` is cleared.

A process killed before step 3 leaves `pending` naming a copy the selector does not name. Whoever drains the buffer
next calls `recover` first: it asks the sink whether the staged operation reached the disk (a file with the staged
inode exists under the entry's name; the stream segments hold the staged bytes) and commits the staged copy (or the
part of it the disk holds) or discards it, so the operation's records are written again exactly when they are not on
disk. Operations that leave nothing on disk to check (a failed write, a rejected object) are committed in one step:
a process killed before the flip just processes that record again.
"""

import struct
from enum import IntEnum
from typing import Final

from .control import ControlSegment
from .layout import P_AUX, PROGRESS_WORDS, S_COPIES, S_PENDING, S_SELECTOR, WORD, slot_word

_COPY: Final = struct.Struct(f"<{PROGRESS_WORDS}Q")


class Operation(IntEnum):
    """What a staged progress copy waits for (its first auxiliary word)."""

    NONE = 0
    """Nothing to check: the copy can be committed as it is."""
    ENTRY_FILE = 1
    """An entry file was created; the staged copy holds its inode and device. Done once it has the entry's name."""
    STREAM_WRITE = 2
    """Records were appended to stream segments; the staged copy holds the stream writer's byte count before the
    write and its id. Done for the records the segments hold."""


class SlotProgress:
    """The committed progress of one slot, and its staged copy while an operation is under way.

    Args:
        control: The run's control segment.
        slot: The slot.
    """

    __slots__ = ("_buffer", "_copy_offsets", "_pending_word", "_selector_word", "_staged", "_words", "values")

    def __init__(self, control: ControlSegment, slot: int) -> None:
        self._words = control.words
        self._buffer = control.buffer
        self._selector_word = slot_word(slot, S_SELECTOR)
        self._pending_word = slot_word(slot, S_PENDING)
        self._copy_offsets = tuple(slot_word(slot, copy) * WORD for copy in S_COPIES)
        self._staged: list[int] | None = None
        self.values: list[int] = control.progress(slot)
        """The committed progress (a copy: change a copy of it and `stage` or `store` that)."""

    def stage(self, values: list[int]) -> None:
        """Writes `values` into the uncommitted copy and marks it pending."""
        target = 1 - (self._words[self._selector_word] & 1)
        _COPY.pack_into(self._buffer, self._copy_offsets[target], *values)
        self._words[self._pending_word] = 1 + target
        self._staged = values

    def commit(self) -> None:
        """Commits the staged copy."""
        staged = self._staged
        if staged is None:
            return
        self._words[self._selector_word] = 1 - (self._words[self._selector_word] & 1)
        self._words[self._pending_word] = 0
        self.values = staged
        self._staged = None

    def discard(self) -> None:
        """Forgets the staged copy: the operation did not happen."""
        self._words[self._pending_word] = 0
        self._staged = None

    def store(self, values: list[int]) -> None:
        """Stages and commits `values` at once (for operations with nothing on disk to check)."""
        values[P_AUX] = Operation.NONE
        self.stage(values)
        self.commit()

    def staged_by_a_dead_process(self) -> list[int] | None:
        """Returns the copy a killed drainer staged and never committed or discarded, if there is one."""
        pending = self._words[self._pending_word]
        if pending == 0 or (pending - 1) == (self._words[self._selector_word] & 1):
            return None
        offset = self._copy_offsets[(pending - 1) & 1]
        values = list(_COPY.unpack_from(self._buffer, offset))
        self._staged = values
        return values
