"""A slot's current buffer as a drainer (the logger process, or `stop()` after its death) follows it."""

import time
from typing import Final

from . import _posix
from .control import ControlSegment
from .progress import SlotProgress
from .ring import RingSegment

LIVENESS_CHECK_SECONDS: Final = 0.05
"""How often a drainer looks whether a quiet buffer's owner is still alive."""


class SlotBuffer:
    """One slot's buffer, opened in full by a drainer, with the slot's progress.

    Args:
        control: The run's control segment.
        slot: The slot.
        generation: The slot's generation, which names the buffer.
        owner_pid: The buffer's producer process.
        segment: The buffer, opened in full.
    """

    __slots__ = (
        "controls_published",
        "generation",
        "next_check",
        "owner_gone",
        "owner_pid",
        "progress",
        "published_bytes",
        "published_records",
        "segment",
        "slot",
    )

    def __init__(
        self, control: ControlSegment, slot: int, generation: int, owner_pid: int, segment: RingSegment
    ) -> None:
        self.slot = slot
        """The slot."""
        self.generation = generation
        """The slot's generation."""
        self.owner_pid = owner_pid
        """The producer process that owns the buffer."""
        self.segment = segment
        """The buffer."""
        self.progress = SlotProgress(control, slot)
        """The slot's committed progress."""
        self.owner_gone = False
        """True once the owner was seen dead: from then on, everything it published is visible without its lock."""
        self.next_check = 0.0
        """When to look at the owner's liveness next."""
        self.published_bytes = 0
        """The published position, as last read (the end of what the drainer may take now)."""
        self.published_records = 0
        """The records published up to `published_bytes`."""
        self.controls_published = 0
        """Control records published in the slot's buffers so far, as last read under the buffer's lock (compared
        with the progress's rejected count, it says whether the published range holds any)."""

    def owner_died(self, *, now: float | None = None, force: bool = False) -> bool:
        """Looks (at most every `LIVENESS_CHECK_SECONDS`, unless forced) whether the owner died; True once it has."""
        if self.owner_gone:
            return True
        moment = time.monotonic() if now is None else now
        if not force and moment < self.next_check:
            return False
        self.next_check = moment + LIVENESS_CHECK_SECONDS
        if not _posix.process_is_alive(self.owner_pid):
            self.owner_gone = True
        return self.owner_gone
