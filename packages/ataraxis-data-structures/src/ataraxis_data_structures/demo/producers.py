"""The simulated data sources: each runs in its own process and logs verifiable messages at a steady rate."""

import signal
import time
from multiprocessing import Queue

import numpy as np
from numpy.typing import NDArray

from ataraxis_datalogger import LogPackage

from .control import ControlBoard
from .settings import SEQUENCE_BYTES, SourceSettings

_PATTERN_OFFSETS = 251
"""Payloads start at one of this many offsets into the source's byte pool, so neighbouring messages differ."""


class PayloadPattern:
    """Makes and checks the payloads of one source.

    A payload is the message's sequence number (uint64, little-endian) followed by a slice of a pseudo-random byte
    pool that depends on the source id and starts at an offset that depends on the sequence number. A payload read
    back from the logs therefore tells which message it is, and any changed, truncated or swapped byte shows.

    Args:
        source: The source whose payloads to make or check.
    """

    def __init__(self, source: SourceSettings) -> None:
        self._body_bytes = source.payload_bytes - SEQUENCE_BYTES
        self._pool = np.random.default_rng(source.source_id).bytes(self._body_bytes + _PATTERN_OFFSETS)

    def _body(self, sequence: int) -> bytes:
        offset = sequence % _PATTERN_OFFSETS
        return self._pool[offset : offset + self._body_bytes]

    def make(self, sequence: int) -> NDArray[np.uint8]:
        """Returns the payload of the message with the given sequence number, as the logger expects it."""
        return np.frombuffer(sequence.to_bytes(SEQUENCE_BYTES, "little") + self._body(sequence), dtype=np.uint8)

    def check(self, payload: NDArray[np.uint8]) -> int | None:
        """Returns the sequence number of an intact payload, or None if the payload was damaged."""
        data = payload.tobytes()
        if len(data) != SEQUENCE_BYTES + self._body_bytes:
            return None
        sequence = int.from_bytes(data[:SEQUENCE_BYTES], "little")
        return sequence if data[SEQUENCE_BYTES:] == self._body(sequence) else None


def run_producer(position: int, source: SourceSettings, board: ControlBoard, queue: "Queue[LogPackage]") -> None:
    """The body of a producer process: logs messages at the source's rate until the run flag drops.

    Every tick, the producer puts `burst_size` messages on the logger's queue, reports its progress and heartbeat to
    the control board, and sleeps until the next tick. A producer that falls behind does not try to catch up.

    Args:
        position: The source's position in the run's source list (its row on the board).
        source: The source to simulate.
        board: The run's control board, received from the parent.
        queue: The logger's input queue.
    """
    # Ctrl-C reaches every process of the terminal's process group; the parent handles it by lowering the run
    # flag, so that each producer stops between two messages and its count stays exact.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    board.connect()
    pattern = PayloadPattern(source)
    period_s = 1.0 / source.rate_hz
    sent = 0
    try:
        next_tick = time.monotonic()
        while board.running:
            for _ in range(source.burst_size):
                queue.put(LogPackage(source.source_id, time.monotonic_ns(), pattern.make(sent)))
                sent += 1
            board.report(position, sent, sent * source.payload_bytes)
            next_tick += period_s
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_tick = time.monotonic()
    finally:
        board.report(position, sent, sent * source.payload_bytes)
        board.disconnect()
