"""The simulated data sources: each runs in its own process and logs verifiable messages at a steady rate."""

import os
import signal
import threading
import time
from multiprocessing import Queue
from types import FrameType

import numpy as np
from numpy.typing import NDArray

from ataraxis_datalogger import DataLoggerError, LogPackage

from ._platform import arm_parent_death_signal
from .control import ControlBoard
from .settings import SEQUENCE_BYTES, SourceSettings
from .signals import TERMINAL_SIGNALS

_ORPHAN_EXIT_S = 30.0
"""How long a producer whose parent died may wait at exit for the logger to take what it sent."""
_ORPHAN_EXIT_STATUS = 3
"""The exit status of a producer that gave up waiting for a logger that no longer reads."""
_WAKE_INTERVAL_S = 0.05
"""The longest a producer sleeps without checking for a stop request and for its parent."""
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


class ParentWatch:
    """Tells a producer whether the process that started it is still alive, however that process ended.

    Two mechanisms, each enough on its own (the tests run the demo with each):

    - portable: the producer compares `os.getppid()` with its parent's id at every tick and every 50 ms while it
      waits for the next one; when the parent dies, the producer is re-parented (to init or a subreaper) and the id
      changes. This needs the demo to start producers itself (`spawn`): a producer started through a fork server
      would see the server as its parent.
    - Linux: the kernel sends the producer SIGTERM the moment its parent dies (`prctl(PR_SET_PDEATHSIG)`), the same
      stop request a person or a service manager can send. Strictly, it is sent when the parent's thread that
      created the producer ends, which for a killed parent can be a moment before its last thread ends and the
      parent id changes: the producer does not rely on the id having changed when the signal arrives.

    Args:
        parent_pid: The id of the demo's process, which started this one.
    """

    def __init__(self, parent_pid: int) -> None:
        self._parent_pid = parent_pid
        self.kernel_signal = arm_parent_death_signal(signal.SIGTERM)
        """Whether the kernel will send SIGTERM when the parent dies (Linux); the portable check runs regardless."""

    def parent_alive(self) -> bool:
        """Returns whether the parent is still alive (checked after arming, so a parent that died before is seen)."""
        return os.getppid() == self._parent_pid


class StopRequest:
    """Set by SIGTERM: from a person or a service manager, or from the kernel when the parent died."""

    def __init__(self) -> None:
        self.requested = False
        """Whether the producer must stop after its current tick."""

    def set(self, signal_number: int, frame: FrameType | None) -> None:
        """The SIGTERM handler."""
        self.requested = True


def run_producer(
    position: int, source: SourceSettings, board: ControlBoard, queue: "Queue[LogPackage]", parent_pid: int
) -> None:
    """The body of a producer process: logs messages at the source's rate until it is told to stop.

    Every tick, the producer puts `burst_size` messages on the logger's queue, reports its progress and heartbeat to
    the control board, and sleeps until the next tick. A producer that falls behind does not try to catch up. It
    stops between two ticks, so every message it counted is on the queue, when the parent lowers the run flag, when
    it receives SIGTERM, or when its parent is gone. If the logger's process died, the producer stops at once and
    exits with status 1 (the parent says why).

    Args:
        position: The source's position in the run's source list (its row on the board).
        source: The source to simulate.
        board: The run's control board, received from the parent.
        queue: The logger's input queue.
        parent_pid: The id of the demo's process.
    """
    stop = StopRequest()
    signal.signal(signal.SIGTERM, stop.set)
    # A terminal's Ctrl-C and hang-up reach every process of its foreground group; the parent handles them (it
    # lowers the run flag), so that each producer stops between two ticks and its count stays exact.
    for number in TERMINAL_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    parent = ParentWatch(parent_pid)
    board.connect()
    pattern = PayloadPattern(source)
    period_s = 1.0 / source.rate_hz
    sent = 0
    logger_failed = abandoned = False
    try:
        board.report(position, sent, 0)  # ready: the parent starts the run's clock once every producer is
        next_tick = time.monotonic()
        while board.running and not stop.requested and parent.parent_alive():
            for _ in range(source.burst_size):
                queue.put(LogPackage(source.source_id, time.monotonic_ns(), pattern.make(sent)))
                sent += 1
            board.report(position, sent, sent * source.payload_bytes)
            next_tick += period_s
            if next_tick <= time.monotonic():
                next_tick = time.monotonic()
            # Sleep in short slices: a signal handler that returns lets time.sleep finish its whole delay, and a
            # slow source (a tick every few seconds) must still notice a stop request or a dead parent at once.
            while (delay := next_tick - time.monotonic()) > 0 and not stop.requested and parent.parent_alive():
                time.sleep(min(delay, _WAKE_INTERVAL_S))
    except DataLoggerError:
        logger_failed = True  # the logger's process died and the queue refuses puts; the parent reports why
    finally:
        board.report(position, sent, sent * source.payload_bytes)
        abandoned = board.abandoned
        board.disconnect()
    _leave(queue, drop_unsent=logger_failed or abandoned, orderly=not stop.requested and parent.parent_alive())
    if logger_failed:
        raise SystemExit(1)


def _leave(queue: "Queue[LogPackage]", *, drop_unsent: bool, orderly: bool) -> None:
    """Prepares the producer's exit, which waits until everything it put on the queue is in the queue's pipe.

    Args:
        queue: The logger's queue.
        drop_unsent: The logger failed: nobody will ever read the pipe, so do not wait for it.
        orderly: Whether the producer stops because its live parent lowered the run flag (the parent then waits
            for it, and kills it if it hangs); False after SIGTERM or when the parent died.
    """
    if drop_unsent:
        queue.cancel_join_thread()
    elif not orderly:
        # When the parent died, the orphaned logger keeps reading the pipe until it is idle; if the logger was
        # killed too, the pipe stays full and the exit would wait forever, so the producer ends within a bounded
        # time regardless.
        watchdog = threading.Timer(_ORPHAN_EXIT_S, os._exit, args=(_ORPHAN_EXIT_STATUS,))
        watchdog.daemon = True
        watchdog.start()
