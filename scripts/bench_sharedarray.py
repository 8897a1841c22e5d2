"""Benchmarks SharedMemoryArray against raw NumPy over shared memory, with and without a multiprocessing.Lock.

Every figure is a median over many timed batches taken in this one run, and every SharedMemoryArray figure is printed
as a ratio to the baseline measured right next to it, so the table means the same on a busy or an idle machine:

- unlocked operations against raw NumPy indexing of an array over `multiprocessing.shared_memory` (target: 4x);
- locked operations against the same indexing inside `with multiprocessing.Lock():` (target: 1.5x);
- a cross-process ping-pong: two processes alternately increment one cell under the lock (target: 250,000 round
  trips per second), next to the same ping-pong over the raw baseline.

Usage: uv run python scripts/bench_sharedarray.py [--quick]
"""

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
import timeit
import uuid
from collections.abc import Callable
from functools import partial
from multiprocessing.shared_memory import SharedMemory
from multiprocessing.synchronize import Lock
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ataraxis_sharedarray import SharedMemoryArray

LENGTH = 10_000
"""Elements in the benchmarked arrays (uint64)."""
RANGE = (0, 1_000)
"""The range read and written by the range benchmarks."""
PATIENCE = 64
"""Polls a ping-pong side makes before it yields its core, which matters only when the machine is oversubscribed."""


def median_ns(statement: Callable[[], object], number: int, repeat: int) -> float:
    """Median over `repeat` batches of the time of one call of `statement`, in nanoseconds."""
    timer = timeit.Timer(statement)
    return statistics.median(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def _ping_pong_sma(sma: SharedMemoryArray, parity: int, turns: int) -> None:
    inherited = not sma.is_connected
    sma.connect()
    done = misses = 0
    while done < turns:
        # Wait for this side's turn without the lock, then increment under it (an atomic read-modify-write).
        if sma.read_data(0, convert_output=True, with_lock=False) % 2 == parity:
            with sma.array() as view:
                view[0] += 1
            done += 1
            misses = 0
        else:
            misses += 1
            if misses > PATIENCE:
                os.sched_yield()
    if inherited:
        sma.disconnect()


def _ping_pong_raw(name: str, lock: Lock, parity: int, turns: int) -> None:
    memory = SharedMemory(name=name)
    array: NDArray[np.uint64] = np.ndarray((LENGTH,), dtype=np.uint64, buffer=memory.buf)
    done = misses = 0
    while done < turns:
        if array.item(0) % 2 == parity:
            with lock:
                array[0] += 1
            done += 1
            misses = 0
        else:
            misses += 1
            if misses > PATIENCE:
                os.sched_yield()
    del array
    memory.close()


def ping_pong(target: Callable[..., None], arguments: tuple[Any, ...], turns: int) -> float:
    """Runs a spawned partner (odd turns) against this process (even turns); returns round trips per second."""
    context = mp.get_context("spawn")
    partner = context.Process(target=target, args=(*arguments, 1, turns))
    partner.start()
    # Let the partner import and connect before the clock starts: it spins on its parity from then on.
    time.sleep(1.0)
    start = time.perf_counter()
    target(*arguments, 0, turns)
    elapsed = time.perf_counter() - start
    partner.join(timeout=60)
    if partner.exitcode != 0:
        partner.kill()
        raise RuntimeError(f"the ping-pong partner failed (exit code {partner.exitcode})")
    return turns / elapsed


class Baseline:
    """The baselines: raw NumPy indexing of an array over `multiprocessing.shared_memory`, alone and under a Lock."""

    def __init__(self, name: str) -> None:
        self.memory = SharedMemory(name=name, create=True, size=LENGTH * 8)
        self.array: NDArray[np.uint64] = np.ndarray((LENGTH,), dtype=np.uint64, buffer=self.memory.buf)
        self.array[:] = np.arange(LENGTH, dtype=np.uint64)
        self.lock = mp.get_context("spawn").Lock()
        self.block = np.arange(RANGE[1] - RANGE[0], dtype=np.uint64)

    def read(self) -> object:
        return self.array[2]

    def write(self) -> None:
        self.array[2] = 7

    def locked_read(self) -> object:
        with self.lock:
            return self.array[2]

    def locked_write(self) -> None:
        with self.lock:
            self.array[2] = 7

    def range_read(self) -> object:
        return self.array[RANGE[0] : RANGE[1]].copy()

    def locked_range_read(self) -> object:
        with self.lock:
            return self.array[RANGE[0] : RANGE[1]].copy()

    def locked_range_write(self) -> None:
        with self.lock:
            self.array[RANGE[0] : RANGE[1]] = self.block

    def close(self) -> None:
        """Releases the NumPy view, then closes and removes the segment."""
        del self.array
        self.memory.close()
        self.memory.unlink()


def main() -> None:
    """Runs the benchmark and prints its table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run, noisier figures)")
    options = parser.parse_args()
    number, repeat, turns = (2_000, 15, 20_000) if options.quick else (20_000, 51, 200_000)

    name = f"bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    sma = SharedMemoryArray.create_array(name, np.arange(LENGTH, dtype=np.uint64))
    base = Baseline(name + "_raw")
    read, write = sma.read_data, sma.write_data
    # partial() calls the method under test directly, as the baseline's bound methods are called.
    rows: list[tuple[str, Callable[[], object], Callable[[], object], str]] = [
        ("read_data(2)", partial(read, 2), base.locked_read, "locked"),
        ("write_data(2, 7)", partial(write, 2, 7), base.locked_write, "locked"),
        ("read_data(2, with_lock=False)", partial(read, 2, with_lock=False), base.read, "raw"),
        ("write_data(2, 7, with_lock=False)", partial(write, 2, 7, with_lock=False), base.write, "raw"),
        ("read_data(2, convert_output=True)", partial(read, 2, convert_output=True), base.locked_read, "locked"),
        ("read_data((0, 1000))", partial(read, RANGE), base.locked_range_read, "locked"),
        ("write_data((0, 1000), block)", partial(write, RANGE, base.block), base.locked_range_write, "locked"),
        ("read_data((0, 1000), with_lock=False)", partial(read, RANGE, with_lock=False), base.range_read, "raw"),
    ]
    try:
        print(f"Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores, {sys.platform}")
        print(f"medians of {repeat} batches of {number} calls; uint64 array of {LENGTH} elements\n")
        header = f"{'operation':40} {'ns/op':>8} {'baseline':>18} {'ns/op':>8} {'ratio':>7}"
        print(header)
        print("-" * len(header))
        for label, operation, baseline, kind in rows:
            # Interleave the two measurements so that a burst of load on the machine hits both alike.
            ours, theirs = [], []
            for _ in range(3):
                ours.append(median_ns(operation, number, repeat // 3))
                theirs.append(median_ns(baseline, number, repeat // 3))
            ours_ns, theirs_ns = statistics.median(ours), statistics.median(theirs)
            description = "with mp.Lock()" if kind == "locked" else "raw NumPy"
            print(f"{label:40} {ours_ns:8.0f} {description:>18} {theirs_ns:8.0f} {ours_ns / theirs_ns:6.2f}x")

        sma.write_data(0, 0)
        ours_rate = ping_pong(_ping_pong_sma, (sma,), turns)
        base.array[0] = 0
        theirs_rate = ping_pong(_ping_pong_raw, (base.memory.name, base.lock), turns)
        print(f"\nping-pong, 2 processes, locked: {ours_rate:,.0f} round trips/s ", end="")
        print(f"(raw NumPy with mp.Lock(): {theirs_rate:,.0f}/s; target 250,000/s)")
    finally:
        base.close()
        sma.destroy()


if __name__ == "__main__":
    main()
