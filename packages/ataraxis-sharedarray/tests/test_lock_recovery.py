"""A holder killed while it holds the lock never deadlocks the others: they recover the lock and say what happened."""

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable

import numpy as np
import pytest
import sharedarray_workers as workers

import ataraxis_sharedarray._lock as lock_module
from ataraxis_sharedarray import LockRecoveredWarning, LockReentryError, SharedMemoryArray


def test_waiter_recovers_the_lock_of_a_killed_holder(array_name: str, join: Callable[..., list[int | None]]) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(2, dtype=np.int64))
    context = mp.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=workers.hold_lock_forever, args=(sma, holding))
    holder.start()
    try:
        assert holding.wait(60), "the holder never took the lock"
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        # Not joined yet: the dead holder is a zombie, which must count as dead.
        with pytest.warns(LockRecoveredWarning, match=rf"process {holder.pid}, which died"):
            sma.write_data(0, 1)
        assert sma.read_data(0) == 1
        sma.write_data(1, 2)
    finally:
        join([holder])
        sma.destroy()


def test_several_waiters_recover_once_and_stay_exclusive(
    array_name: str, join: Callable[..., list[int | None]]
) -> None:
    repeats, waiters = 300, 3
    sma = SharedMemoryArray.create_array(array_name, np.zeros(1, dtype=np.int64))
    context = mp.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=workers.hold_lock_forever, args=(sma, holding))
    holder.start()
    started = [context.Event() for _ in range(waiters)]
    blocked = [
        context.Process(target=workers.increment_after_recovery, args=(sma, repeats, event)) for event in started
    ]
    try:
        assert holding.wait(60), "the holder never took the lock"
        for process in blocked:
            process.start()
        assert all(event.wait(60) for event in started), "a waiter never started"
        time.sleep(0.2)  # let the waiters block on the lock
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        assert join(blocked) == [0] * waiters
        assert sma.read_data(0) == waiters * repeats
        with sma.array() as view:
            view[0] += 1
        assert sma.read_data(0) == waiters * repeats + 1
    finally:
        join([holder])
        sma.destroy()


def test_holder_killed_before_recording_its_pid_is_recovered_after_a_timeout(
    array_name: str, join: Callable[..., list[int | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock_module, "UNKNOWN_HOLDER_TIMEOUT", 0.5)
    sma = SharedMemoryArray.create_array(array_name, np.zeros(1, dtype=np.uint8))
    context = mp.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=workers.hold_semaphore_without_pid, args=(array_name, holding))
    holder.start()
    try:
        assert holding.wait(60), "the holder never took the semaphore"
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        join([holder])
        with pytest.warns(LockRecoveredWarning, match="never recorded its pid"):
            sma.write_data(0, 3)
        assert sma.read_data(0) == 3
    finally:
        join([holder])
        sma.destroy()


def test_live_holder_is_waited_for_not_recovered(array_name: str, join: Callable[..., list[int | None]]) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(1, dtype=np.uint8))
    context = mp.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=workers.hold_lock_forever, args=(sma, holding))
    holder.start()
    try:
        assert holding.wait(60), "the holder never took the lock"
        killer = mp.get_context("fork").Process(target=_kill_later, args=(holder.pid, 0.5))
        killer.start()
        started = time.monotonic()
        with pytest.warns(LockRecoveredWarning):
            sma.write_data(0, 1)
        assert time.monotonic() - started >= 0.4, "the lock of a live holder was taken"
        join([killer])
    finally:
        join([holder])
        sma.destroy()


def _kill_later(process_id: int, delay: float) -> None:
    time.sleep(delay)
    workers.kill(process_id)


def test_nested_locked_call_in_the_same_thread_raises_instead_of_deadlocking(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(3, dtype=np.float32))
    try:
        with sma.array() as view:
            view[0] = 1.0
            with pytest.raises(LockReentryError, match="already holds the lock"):
                sma.read_data(0)
            other = SharedMemoryArray.attach(array_name)
            with pytest.raises(LockReentryError, match="already holds the lock"):
                other.write_data(1, 2.0)
            other.disconnect()
            assert sma.read_data(0, with_lock=False) == 1.0
        assert sma.read_data(0) == 1.0
    finally:
        sma.destroy()
