"""Child-process bodies for the multi-process tests.

They live in an importable module (the tests directory is put on `sys.path` by conftest.py, and `spawn` and
`forkserver` children inherit that path) because the `importlib` import mode gives test modules names that a child
process cannot import. Each body reports problems through its exit code: 0 means every check passed.
"""

import os
import signal
import sys
import time
import warnings
from multiprocessing.synchronize import Event

import numpy as np

from ataraxis_sharedarray import LockRecoveredWarning, SharedMemoryArray
from ataraxis_sharedarray._posix import open_semaphore

ROW = 16
"""Width of the rows the tear test writes."""


def increment_with_array_context(sma: SharedMemoryArray, cells: int, repeats: int) -> None:
    """Increments every one of the first `cells` cells `repeats` times, each time a read-modify-write under the lock."""
    sma.connect()
    for _ in range(repeats):
        for cell in range(cells):
            with sma.array(with_lock=True) as view:
                view[cell] += 1
    sma.disconnect()


def add_and_update(sma: SharedMemoryArray, repeats: int) -> None:
    """Adds 1 to cell 0, 2 to cell 1 (through `update`) and 1 to cells 2 and 3, `repeats` times each."""
    sma.connect()
    for _ in range(repeats):
        sma.add(0, 1)
        sma.update(1, lambda value: value + 2)
        sma.add((2, 4), 1)
    sma.disconnect()


def write_rows_and_check_reads(sma: SharedMemoryArray, worker: int, repeats: int) -> None:
    """Writes whole rows of one repeated value and checks that no locked read ever sees two writes mixed.

    Row 0 is written by every worker; cell `worker` of row 1 is this worker's own step counter.
    """
    sma.connect()
    for step in range(repeats):
        sma.write_data(0, worker * 1_000_000 + step, with_lock=True)
        seen = sma.read_data(0, with_lock=True)
        if not np.all(seen == seen[0]):
            sys.exit(f"torn read: {seen.tolist()}")
        sma[1, worker] = sma[1, worker] + 1
    sma.disconnect()


def index_rows_and_check_reads(sma: SharedMemoryArray, worker: int, repeats: int) -> None:
    """Like `write_rows_and_check_reads`, through indexing: `sma[0] = row` and `sma[0]` must never mix two writes."""
    sma.connect()
    width = sma.shape[1]
    for step in range(repeats):
        sma[0] = np.full(width, worker * 1_000_000 + step, dtype=sma.datatype)
        seen = sma[0]
        if not np.all(seen == seen[0]):
            sys.exit(f"torn read through indexing: {sorted(set(seen.tolist()))}")
    sma.disconnect()


def connect_write_and_exit(sma: SharedMemoryArray, *, disconnect: bool) -> None:
    """Connects, writes 42 into cell 0 and exits, disconnecting first only if asked."""
    if sma.is_connected:
        sys.exit("the copy a child receives must start disconnected")
    try:
        sma.read_data(0)
    except ConnectionError:
        pass
    else:
        sys.exit("a disconnected copy must refuse to read")
    sma.connect()
    sma.write_data(0, 42)
    if disconnect:
        sma.disconnect()


def hold_lock_forever(sma: SharedMemoryArray, holding: Event) -> None:
    """Takes the lock through array() and never releases it (the test kills this process)."""
    sma.connect()
    with sma.array(with_lock=True):
        holding.set()
        time.sleep(600)


def hold_semaphore_without_pid(name: str, holding: Event) -> None:
    """Takes the array's semaphore directly, the way a holder killed before recording its pid leaves it."""
    semaphore = open_semaphore(f"/{name}.lock")
    semaphore.acquire()
    holding.set()
    time.sleep(600)


def increment_after_recovery(sma: SharedMemoryArray, repeats: int, started: Event) -> None:
    """Blocks on the dead holder's lock, then increments cell 0 `repeats` times under the lock.

    Exits with 0 whether or not this process was the one that recovered the lock (exactly one waiter does); the
    recovery warning is recorded rather than printed.
    """
    sma.connect()
    started.set()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", LockRecoveredWarning)
        for _ in range(repeats):
            with sma.array(with_lock=True) as view:
                view[0] += 1
    sma.disconnect()


def count_until_killed(sma: SharedMemoryArray, slot: int, repeats: int, started: Event) -> None:
    """Increments the cells of row 0 through `add`, `update` and `with array()`, recording its own in row `slot`.

    The three cells of row 0 are shared by all such processes; each is incremented `repeats` times, and after each
    increment row `slot` records how many of this process's increments have returned. The test kills such processes
    at random instants: each killed increment is either done or not, so each shared cell ends between the sum of the
    recorded counts and that sum plus the number of kills. Lock recoveries are recorded, not printed, and recovery
    waits 0.3 s rather than 2 s for a holder that died before recording its pid.
    """
    import ataraxis_sharedarray._lock as lock_module

    lock_module.UNKNOWN_HOLDER_TIMEOUT = 0.3
    sma.connect()
    started.set()
    done = [0, 0, 0]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", LockRecoveredWarning)
        for step in range(repeats * 3):
            cell = step % 3
            if cell == 0:
                sma.add(0, [1, 0, 0])
            elif cell == 1:
                sma.update(0, lambda row: row + np.array([0, 1, 0]))
            else:
                with sma.array() as view:
                    view[0, 2] += 1
            done[cell] += 1
            sma.write_data(slot, done)
    sma.disconnect()


def release_semaphore(name: str) -> None:
    """Opens the named semaphore `name` and releases it once."""
    open_semaphore(name).release()


def kill(process_id: int) -> None:
    """SIGKILLs a process."""
    os.kill(process_id, signal.SIGKILL)
