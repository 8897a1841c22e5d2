"""The run's live control state, shared by the parent and every producer through one SharedMemoryArray.

The board is named after the parent's process id (`ataraxis_demo_<pid>`), which says whose it is. Its creator removes
it when the run ends; if the creator is killed (SIGKILL), its `multiprocessing` resource tracker removes it once every
process of the run is gone (the producers stop by themselves when their parent dies). If the tracker was killed too
(a `kill -9` of the whole process group), nothing is left to do it: the next demo started on the machine removes the
boards whose process no longer exists (`remove_stale_boards`).
"""

import contextlib
import os
import re
import time
from typing import NamedTuple

import numpy as np

from ataraxis_sharedarray import SharedMemoryArray

from ._platform import process_exists, shared_memory_names

_RUN_FLAG_ROW = 0
_STOPPED, _RUNNING, _ABANDONED = 0, 1, 2
"""The run flag: stop after the current tick; keep sending; stop and drop what the logger can no longer take."""
BOARD_PREFIX = "ataraxis_demo_"
"""Every board's name is this prefix followed by the id of the process that created it."""


def board_name(pid: int) -> str:
    """Returns the name of the board created by the process `pid`."""
    return f"{BOARD_PREFIX}{pid}"


def remove_stale_boards() -> list[str]:
    """Removes the boards left in shared memory by demos that were killed together with their resource tracker.

    A board whose creator's process id is in use is kept, whoever uses that id now. Where shared-memory names cannot
    be listed (outside Linux), nothing is removed.

    Returns:
        The names of the boards removed.
    """
    removed = []
    for name in shared_memory_names():
        match = re.fullmatch(rf"{BOARD_PREFIX}(\d+)", name)
        if match is None or int(match[1]) == os.getpid() or process_exists(int(match[1])):
            continue
        # The public way to remove an array one does not own: take its name over, then destroy what one owns.
        with contextlib.suppress(OSError, ValueError):
            SharedMemoryArray.create_array(name=name, prototype=np.zeros(1, dtype=np.uint8), exist_ok=True).destroy()
            removed.append(name)
    return removed


class ProducerStatus(NamedTuple):
    """What one producer has reported so far."""

    sent: int
    """Messages the producer has put on the logger's queue."""
    payload_bytes: int
    """Payload bytes in those messages."""
    heartbeat_ns: int
    """`time.monotonic_ns()` at the producer's last report; 0 before its first."""


class ControlBoard:
    """The parent's and producers' shared state: a run flag and one status row per producer.

    The state lives in a 2-D uint64 `SharedMemoryArray`: row 0 holds the run flag (1 running, 0 stopped, 2 abandoned
    because the logger failed), row `1 + i` holds producer
    `i`'s `[sent, payload_bytes, heartbeat_ns]`. Each producer writes only its own row; the parent reads them all
    to show progress and to know how many messages must come back from the logs. The board is handed to the
    producer processes as a `Process` argument; each calls `connect()` before using it.

    Args:
        array: The shared array holding the state; create boards with `ControlBoard.create()`.
    """

    def __init__(self, array: SharedMemoryArray) -> None:
        self._array = array

    @classmethod
    def create(cls, producer_count: int) -> "ControlBoard":
        """Creates the shared state for a run of this process, with the run flag raised.

        Args:
            producer_count: How many producers report to the board.

        Returns:
            The board, named after this process and connected in it (its owner).
        """
        prototype = np.zeros(shape=(1 + producer_count, len(ProducerStatus._fields)), dtype=np.uint64)
        prototype[_RUN_FLAG_ROW, 0] = _RUNNING
        # A board already named after this process was left by a killed process that had the same id: replace it.
        return cls(SharedMemoryArray.create_array(name=board_name(os.getpid()), prototype=prototype, exist_ok=True))

    @property
    def name(self) -> str:
        """The board's shared-memory name."""
        return self._array.name

    def connect(self) -> None:
        """Connects a producer process to the board."""
        self._array.connect()

    def disconnect(self) -> None:
        """Disconnects this process from the board."""
        self._array.disconnect()

    def destroy(self) -> None:
        """Removes the board from shared memory (the owner calls this once the producers are gone)."""
        self._array.disconnect()
        self._array.destroy()

    @property
    def running(self) -> bool:
        """Whether the producers should keep sending."""
        return bool(self._array.read_data(index=_RUN_FLAG_ROW)[0] == _RUNNING)

    @property
    def abandoned(self) -> bool:
        """Whether the run was abandoned because its logger failed (see `abandon_run`)."""
        return bool(self._array.read_data(index=_RUN_FLAG_ROW)[0] == _ABANDONED)

    def stop_run(self) -> None:
        """Lowers the run flag: every producer finishes its current tick and exits (unless the run was abandoned)."""
        with self._array.array(with_lock=True) as state:
            if state[_RUN_FLAG_ROW, 0] == _RUNNING:
                state[_RUN_FLAG_ROW, 0] = _STOPPED

    def abandon_run(self) -> None:
        """Stops the run because the logger failed: producers exit at once, dropping what they could not send.

        A `multiprocessing.Queue` makes its process wait at exit until everything put is in the pipe, which a dead
        logger no longer empties; an abandoned run's producers do not wait.
        """
        with self._array.array(with_lock=True) as state:
            state[_RUN_FLAG_ROW, 0] = _ABANDONED

    def report(self, producer: int, sent: int, payload_bytes: int) -> None:
        """Records a producer's progress and heartbeat (a producer reports once before it sends: it is ready).

        Args:
            producer: The producer's position in the run's source list.
            sent: Messages it has put on the queue so far.
            payload_bytes: Payload bytes in those messages.
        """
        with self._array.array(with_lock=True) as state:
            state[1 + producer] = (sent, payload_bytes, time.monotonic_ns())

    def statuses(self) -> list[ProducerStatus]:
        """Returns every producer's latest report, read in one locked snapshot."""
        with self._array.array(with_lock=True) as state:
            rows = state[1:].tolist()
        return [ProducerStatus(*map(int, row)) for row in rows]
