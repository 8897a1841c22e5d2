"""The run's live control state, shared by the parent and every producer through one SharedMemoryArray."""

import time
from typing import NamedTuple

import numpy as np

from ataraxis_sharedarray import SharedMemoryArray

_RUN_FLAG_ROW = 0
_RUNNING, _STOPPED = 1, 0


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

    The state lives in a 2-D uint64 `SharedMemoryArray`: row 0 holds the run flag, row `1 + i` holds producer
    `i`'s `[sent, payload_bytes, heartbeat_ns]`. Each producer writes only its own row; the parent reads them all
    to show progress and to know how many messages must come back from the logs. The board is handed to the
    producer processes as a `Process` argument; each calls `connect()` before using it.

    Args:
        array: The shared array holding the state; create boards with `ControlBoard.create()`.
    """

    def __init__(self, array: SharedMemoryArray) -> None:
        self._array = array

    @classmethod
    def create(cls, name: str, producer_count: int) -> "ControlBoard":
        """Creates the shared state for a run, with the run flag raised.

        Args:
            name: A name for the shared-memory segment, unique on this machine.
            producer_count: How many producers report to the board.

        Returns:
            The board, connected in the calling (owning) process.
        """
        prototype = np.zeros(shape=(1 + producer_count, len(ProducerStatus._fields)), dtype=np.uint64)
        prototype[_RUN_FLAG_ROW, 0] = _RUNNING
        return cls(SharedMemoryArray.create_array(name=name, prototype=prototype))

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

    def stop_run(self) -> None:
        """Lowers the run flag: every producer finishes its current message and exits."""
        with self._array.array(with_lock=True) as state:
            state[_RUN_FLAG_ROW, 0] = _STOPPED

    def report(self, producer: int, sent: int, payload_bytes: int) -> None:
        """Records a producer's progress and heartbeat.

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
