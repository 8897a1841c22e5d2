"""The state and counters of one logger run, shared by the parent, the producers and the writer process.

They live in a small `SharedMemoryArray` of uint64 cells. Producers increment `SUBMITTED` under the array's lock
when they put an entry, after checking that the run accepts entries; the parent moves the run to `STOPPING` under
the same lock and reads `SUBMITTED` in the same critical section, so every put either happened before the stop
(and is counted in the total the parent waits for) or fails. The writer is the only process that updates the
`WRITTEN`, `REJECTED`, `FAILED` and `BYTES` cells, so it updates them without the lock; each only grows.
"""

import os
import uuid
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from ataraxis_sharedarray import SharedMemoryArray


class RunState(IntEnum):
    """The life cycle of a run, stored in the `STATE` cell."""

    IDLE = 0
    """The queue exists but the writer was not started yet: puts wait in the queue's pipe."""
    RUNNING = 1
    """The writer runs: puts are accepted."""
    STOPPING = 2
    """`stop()` has begun: puts are refused, the writer drains what was put before."""
    STOPPED = 3
    """The run is over."""
    DEAD = 4
    """The writer process died: puts are refused."""


class Cell(IntEnum):
    """The meaning of each cell of the shared array."""

    STATE = 0
    """A `RunState`."""
    SUBMITTED = 1
    """Objects put on the queue (counted before they are enqueued)."""
    WRITTEN = 2
    """Entries on disk."""
    REJECTED = 3
    """Objects that were not valid log packages, skipped."""
    FAILED = 4
    """Valid entries that could not be written (a disk or file-system error)."""
    BYTES = 5
    """Bytes of the entry files written."""
    READY = 6
    """1 once the writer process is running its loop."""


ACCEPTING_STATES = frozenset({RunState.IDLE, RunState.RUNNING})
"""The states in which a put is accepted."""

# Plain ints for the put path, which runs once per entry in every producer (enum lookups cost microseconds there).
_STATE_CELL = int(Cell.STATE)
_SUBMITTED_CELL = int(Cell.SUBMITTED)
_ACCEPTING_CODES = frozenset(int(state) for state in ACCEPTING_STATES)


class LogStatistics(NamedTuple):
    """How many entries a logger run has received and where they went.

    Every object put on the queue ends up in exactly one of `written`, `rejected` and `failed`, or is still
    `pending`: put but not processed yet (while running), or never received (after a stop that reported it).
    """

    submitted: int
    """Objects put on the input queue."""
    written: int
    """Entries written to disk."""
    rejected: int
    """Objects that were not valid log packages and were skipped."""
    failed: int
    """Entries that could not be written because of a disk or file-system error."""
    bytes_written: int
    """The total size of the entry files written, in bytes."""

    @property
    def pending(self) -> int:
        """Objects put but not (yet) written, rejected or failed."""
        return self.submitted - self.written - self.rejected - self.failed


class SharedRunState:
    """The shared state of one run. Picklable: a copy in another process attaches to the same memory.

    Args:
        array: The shared array holding the cells, created by `create()`.
    """

    def __init__(self, array: SharedMemoryArray) -> None:
        self._array = array
        self._connected_pid = os.getpid()

    @classmethod
    def create(cls) -> "SharedRunState":
        """Creates the shared cells of a new run (all zero, state `IDLE`).

        The name, `adl<pid in hex>_<12 random hex digits>`, is unique and short enough for macOS (31 bytes).
        """
        name = f"adl{os.getpid():x}_{uuid.uuid4().hex[:12]}"
        return cls(SharedMemoryArray.create_array(name, np.zeros(len(Cell), dtype=np.uint64)))

    def __getstate__(self) -> SharedMemoryArray:
        """Pickles the array only: the receiving process attaches on first use."""
        return self._array

    def __setstate__(self, array: SharedMemoryArray) -> None:
        """Restores a copy that attaches on first use."""
        self._array = array
        self._connected_pid = -1

    def _attach(self) -> None:
        """Connects this process to the shared cells if it is not connected yet."""
        if self._connected_pid != os.getpid():
            self._array.connect()
            self._connected_pid = os.getpid()

    def admit(self) -> RunState | None:
        """Counts one put if the run accepts entries.

        Returns:
            None if the put was counted, else the state that refused it.
        """
        if self._connected_pid != os.getpid():
            self._attach()
        with self._array.array(with_lock=True) as cells:
            state = cells.item(_STATE_CELL)
            if state not in _ACCEPTING_CODES:
                return RunState(state)
            cells[_SUBMITTED_CELL] += 1
        return None

    def withdraw(self) -> None:
        """Uncounts a put that was admitted but could not be enqueued."""
        self._attach()
        with self._array.array(with_lock=True) as cells:
            cells[Cell.SUBMITTED] -= 1

    def transition(self, new_state: RunState, *, only_from: frozenset[RunState] | None = None) -> tuple[RunState, int]:
        """Moves the run to `new_state`, atomically with respect to puts.

        Args:
            new_state: The state to move to.
            only_from: If given, move only when the current state is one of these.

        Returns:
            The state before the call and the number of puts counted at that moment.
        """
        self._attach()
        with self._array.array(with_lock=True) as cells:
            old_state = RunState(int(cells[Cell.STATE]))
            if only_from is None or old_state in only_from:
                cells[Cell.STATE] = new_state
            return old_state, int(cells[Cell.SUBMITTED])

    def statistics(self) -> LogStatistics:
        """Returns a snapshot of the counters."""
        self._attach()
        with self._array.array(with_lock=True) as cells:
            values = [int(value) for value in cells]
        return LogStatistics(
            submitted=values[Cell.SUBMITTED],
            written=values[Cell.WRITTEN],
            rejected=values[Cell.REJECTED],
            failed=values[Cell.FAILED],
            bytes_written=values[Cell.BYTES],
        )

    def processed(self) -> int:
        """Returns how many puts the writer has finished with (written, rejected or failed)."""
        self._attach()
        with self._array.array(with_lock=False) as cells:
            return int(cells[Cell.WRITTEN]) + int(cells[Cell.REJECTED]) + int(cells[Cell.FAILED])

    def writer_ready(self) -> bool:
        """Returns True once the writer process has started its loop."""
        self._attach()
        with self._array.array(with_lock=False) as cells:
            return bool(cells[Cell.READY])

    def record(self, written: int, rejected: int, failed: int, bytes_written: int) -> None:
        """Adds the writer's progress to its cells. Only the writer calls it, so it takes no lock.

        Args:
            written: Entries written since the last call.
            rejected: Objects rejected since the last call.
            failed: Entries that failed since the last call.
            bytes_written: Bytes written since the last call.
        """
        self._attach()
        with self._array.array(with_lock=False) as cells:
            # The totals that stop() compares against SUBMITTED are updated last, once the bytes are counted.
            cells[Cell.BYTES] += bytes_written
            cells[Cell.REJECTED] += rejected
            cells[Cell.FAILED] += failed
            cells[Cell.WRITTEN] += written

    def mark_ready(self) -> None:
        """Records that the writer process has started its loop."""
        self._attach()
        with self._array.array(with_lock=False) as cells:
            cells[Cell.READY] = 1

    def disconnect(self) -> None:
        """Disconnects this process from the shared cells (they stay for the other processes)."""
        if self._connected_pid == os.getpid():
            self._array.disconnect()
        self._connected_pid = -1

    def destroy(self) -> None:
        """Disconnects and removes the shared cells. Only the process that created them calls it."""
        self.disconnect()
        self._array.destroy()
