"""Where everything lives in the run's shared memory: the control segment and each producer's buffer.

Both are arrays of little-endian 64-bit words (accessed through `memoryview.cast("Q")`), laid out so that the words
one process writes often never share a 64-byte cache line with the words another process writes often.

**The control segment** (one per run, created by the logger's owner) holds the run's state, its settings, and a
table of slots, one per producer process that has a buffer. A slot records the buffer's owner pid and generation
(both name the buffer's segment), the stop target `stop()` set, and the logger process's *progress* through the
buffer: how far it has consumed, with the counts of what it wrote, rejected, failed and lost. Progress is kept in
two copies and a selector: the writer fills the copy the selector does not point at, then flips the selector with
one store, so a process killed at any instant leaves one complete, consistent copy. A `pending` word marks a filled
copy whose effect on disk is not yet confirmed (an entry file created but maybe not yet linked, a segment write
maybe cut short); whoever drains the buffer next checks the disk and commits or discards it (see `progress`).

**A producer buffer** (one segment per producer process) is a header page and a byte ring of `capacity` bytes
holding records in their on-disk stream form. Positions are counted in bytes since the slot was first used, never
wrapped (a position's place in the ring is `position % capacity`); `head` (written by the producer) says how many
bytes and records are published, `limit` (written by the logger process, and by `stop()` to close the buffer) says
up to where the producer may write, or that the buffer is closed. Both are written only while holding the buffer's
lock, which makes each publication visible, in order, on every architecture.
"""

import re
from enum import IntEnum
from typing import Final

WORD: Final = 8
"""Bytes per word."""


def _magic(text: bytes) -> int:
    return int.from_bytes(text, "little")


CONTROL_MAGIC: Final = _magic(b"ADLCTRL1")
"""The first word of a control segment (its layout version is the final digit)."""
RING_MAGIC: Final = _magic(b"ADLRING1")
"""The first word of a producer buffer's segment."""

# --- The control segment: a header of 64 words, then the slots.
C_MAGIC: Final = 0
C_STATE: Final = 1
"""A `RunState`."""
C_OWNER_PID: Final = 2
C_WRITER_PID: Final = 3
C_CAPACITY: Final = 4
"""Bytes in each producer buffer's ring."""
C_SLOTS: Final = 5
"""The number of slots in the table."""
C_SLOTS_USED: Final = 6
"""Slots ever used (the writer scans only these)."""
C_BACKEND: Final = 7
"""The `_posix` backend of every segment and lock of the run."""
C_LAYOUT: Final = 8
"""0: one `.npy` file per entry; 1: stream segments."""
C_TARGETS_SET: Final = 9
"""1 once `stop()` (or the orphaned writer) has closed every buffer and set its slot's stop target."""
C_SYNC: Final = 10
"""1 if the writer must flush the file system to the disk before it exits."""
C_WRITER_READY: Final = 11
"""1 once the writer process runs its loop."""
C_WRITER_DONE: Final = 12
"""1 once the writer has drained every buffer to its stop target."""
C_HEARTBEAT: Final = 13
"""`time.monotonic_ns()` of the writer's latest loop."""
C_CREATED: Final = 14
"""`time.time_ns()` when the run was created."""
C_REGISTRATIONS: Final = 15
"""Incremented each time a slot's state changes, so the logger process rescans the table only then."""
C_NAME_LENGTH: Final = 18
"""The length of the logger's instance name, stored in UTF-8 from word `C_NAME` up to word `C_DIRECTORY`."""
C_DIRECTORY_LENGTH: Final = 19
"""The length of the log folder's path, stored in UTF-8 from word `C_DIRECTORY` to the end of the header (0 if it
does not fit)."""
C_NAME: Final = 20
C_DIRECTORY: Final = 64
C_HEADER_WORDS: Final = 128

# --- A slot: 32 words.
SLOT_WORDS: Final = 32
S_STATE: Final = 0
"""A `SlotState`."""
S_PID: Final = 1
"""The pid of the buffer's owner."""
S_GENERATION: Final = 2
"""Incremented each time the slot gets a new buffer; part of the buffer's name."""
S_TARGET_BYTES: Final = 3
"""The head position `stop()` closed the buffer at."""
S_TARGET_RECORDS: Final = 4
S_TARGET: Final = 5
"""A `Target`: how far the buffer must be drained before the run ends."""
S_SELECTOR: Final = 6
"""Which progress copy (0 or 1) is committed."""
S_PENDING: Final = 7
"""0, or 1 + the index of a filled progress copy whose effect on disk is not confirmed yet."""
S_COPIES: Final = (8, 20)
"""The word offsets of the two progress copies in the slot."""

# --- A progress copy: 12 words.
P_CURSOR_BYTES: Final = 0
"""Bytes consumed (written, rejected, failed or lost); the buffer's tail."""
P_CURSOR_RECORDS: Final = 1
"""Records consumed."""
P_WRITTEN: Final = 2
"""Entries on disk."""
P_WRITTEN_BYTES: Final = 3
"""Bytes of the files (or segment records) of those entries."""
P_REJECTED: Final = 4
"""Objects that were not log packages (each reached the buffer as a description of itself)."""
P_FAILED: Final = 5
"""Entries that could not be written (a disk or file-system error)."""
P_LOST: Final = 6
"""Entries published in the buffer that failed their checksum (never seen in practice: a safety net)."""
P_RECOVERED: Final = 7
"""Entries written by a drain that took over from a dead logger process."""
P_AUX: Final = 8
"""Four words describing a pending disk operation (see `progress`)."""
PROGRESS_WORDS: Final = 12


class SlotState(IntEnum):
    """The life cycle of a slot."""

    FREE = 0
    """Never used."""
    CREATING = 1
    """A producer registered and is creating its buffer."""
    ACTIVE = 2
    """The buffer exists and takes puts."""
    RETIRED = 3
    """The owner died, the buffer was drained and removed; a new producer may take the slot."""


class Target(IntEnum):
    """The stop target of a slot."""

    NONE = 0
    """No stop yet."""
    HEAD = 1
    """Drain up to the stop target's bytes and records, published while the buffer was locked."""
    EVERYTHING = 2
    """The owner is dead (or held its lock through `stop()`): drain whatever is published, checking every record."""


# --- A producer buffer's header page.
RING_HEADER_BYTES: Final = 4096
"""The ring's data starts here, page-aligned."""
R_MAGIC: Final = 0
R_CAPACITY: Final = 1
R_OWNER_PID: Final = 2
R_SLOT: Final = 3
R_GENERATION: Final = 4
R_HEAD_BYTES: Final = 8
"""Bytes published (the producer's cache line)."""
R_HEAD_RECORDS: Final = 9
"""Records published."""
R_CONTROL_RECORDS: Final = 10
"""Of those, transport control records rather than entries, counted over the slot's buffers like the progress's
rejected count: while the two are equal, the published range holds no control record and needs no walk."""
R_LIMIT: Final = 16
"""The position up to which the producer may write: the consumed position plus the capacity, or `CLOSED` (0) once
the buffer takes no more puts (the writer's cache line). One comparison, `head + size <= limit`, tells a producer
that its record fits and that the buffer is open."""
CLOSED: Final = 0
"""The limit of a closed buffer."""

MIN_BUFFER_BYTES: Final = 4096
"""The smallest producer buffer."""
DEFAULT_BUFFER_BYTES: Final = 8 << 20
"""The default producer buffer: 8 MiB."""
DEFAULT_SLOTS: Final = 512
"""Producer processes that may hold a buffer at once in one run."""


def control_size(slots: int) -> int:
    """Returns the byte size of a control segment with `slots` slots."""
    return (C_HEADER_WORDS + slots * SLOT_WORDS) * WORD


def slot_word(slot: int, word: int) -> int:
    """Returns the control-segment word index of `word` of slot `slot`."""
    return C_HEADER_WORDS + slot * SLOT_WORDS + word


RUN_NAME: Final = re.compile(r"adl([0-9a-f]+)_[0-9a-f]{8}")
"""A run's name (and its control segment's, and its queue's): `adl<owner pid in hex>_<8 random hex digits>`."""


def control_name(run: str) -> str:
    """The segment name of a run's control segment (the run's name itself)."""
    return run


def ring_name(run: str, slot: int, generation: int) -> str:
    """The segment name of the buffer of slot `slot`, generation `generation`, of run `run`."""
    return f"{run}r{slot:x}g{generation:x}"
