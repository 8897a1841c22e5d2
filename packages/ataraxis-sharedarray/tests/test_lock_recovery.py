"""A holder killed while it holds the lock never deadlocks the others: they recover the lock and say what happened."""

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np
import pytest
import sharedarray_workers as workers

import ataraxis_sharedarray._lock as lock_module
from ataraxis_sharedarray import LockRecoveredWarning, LockReentryError, SharedMemoryArray


@pytest.fixture
def lock_holder(join: Callable[..., list[int | None]]) -> Iterator[Callable[..., BaseProcess]]:
    """Starts a spawned process that takes an array's lock and holds it until killed; joins it after the test.

    The returned function takes the process body (which receives an `Event` to set once it holds the lock, after the
    given arguments) and returns the process once it holds the lock.
    """
    started: list[BaseProcess] = []

    def start(target: Callable[..., None], *arguments: object) -> BaseProcess:
        context = mp.get_context("spawn")
        holding = context.Event()
        process = context.Process(target=target, args=(*arguments, holding))
        process.start()
        started.append(process)
        assert holding.wait(60), "the holder never took the lock"
        return process

    yield start
    join(started)


def test_waiter_recovers_the_lock_of_a_killed_holder(
    new_array: Callable[[Any], SharedMemoryArray], lock_holder: Callable[..., BaseProcess]
) -> None:
    sma = new_array(np.zeros(2, dtype=np.int64))
    holder = lock_holder(workers.hold_lock_forever, sma)
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    # Not joined yet: the dead holder is a zombie, which must count as dead.
    with pytest.warns(LockRecoveredWarning, match=rf"process {holder.pid}, which died"):
        sma.write_data(0, 1)
    assert sma.read_data(0) == 1
    sma.write_data(1, 2)


def test_several_waiters_recover_once_and_stay_exclusive(
    new_array: Callable[[Any], SharedMemoryArray],
    lock_holder: Callable[..., BaseProcess],
    join: Callable[..., list[int | None]],
) -> None:
    repeats, waiters = 300, 3
    sma = new_array(np.zeros(1, dtype=np.int64))
    holder = lock_holder(workers.hold_lock_forever, sma)
    context = mp.get_context("spawn")
    started = [context.Event() for _ in range(waiters)]
    blocked = [
        context.Process(target=workers.increment_after_recovery, args=(sma, repeats, event)) for event in started
    ]
    for process in blocked:
        process.start()
    assert all(event.wait(60) for event in started), "a waiter never started"
    time.sleep(0.2)  # let the waiters block on the lock
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    assert join(blocked) == [0] * waiters
    assert sma.read_data(0) == waiters * repeats
    assert sma.add(0, 1) == waiters * repeats + 1


def test_holder_killed_before_recording_its_pid_is_recovered_after_a_timeout(
    new_array: Callable[[Any], SharedMemoryArray],
    lock_holder: Callable[..., BaseProcess],
    join: Callable[..., list[int | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lock_module, "UNKNOWN_HOLDER_TIMEOUT", 0.5)
    sma = new_array(np.zeros(1, dtype=np.uint8))
    holder = lock_holder(workers.hold_semaphore_without_pid, sma.name)
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    join([holder])
    with pytest.warns(LockRecoveredWarning, match="never recorded its pid"):
        sma.write_data(0, 3)
    assert sma.read_data(0) == 3


def test_live_holder_is_waited_for_not_recovered(
    new_array: Callable[[Any], SharedMemoryArray],
    lock_holder: Callable[..., BaseProcess],
    join: Callable[..., list[int | None]],
) -> None:
    sma = new_array(np.zeros(1, dtype=np.uint8))
    holder = lock_holder(workers.hold_lock_forever, sma)
    killer = mp.get_context("fork").Process(target=_kill_later, args=(holder.pid, 0.5))
    killer.start()
    started = time.monotonic()
    with pytest.warns(LockRecoveredWarning):
        sma.write_data(0, 1)
    assert time.monotonic() - started >= 0.4, "the lock of a live holder was taken"
    join([killer])


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


@pytest.mark.slow
def test_processes_killed_at_random_instants_lose_no_acknowledged_update_and_stall_no_one(
    array_name: str, join: Callable[..., list[int | None]]
) -> None:
    running, kills, repeats = 4, 10, 20_000
    sma = SharedMemoryArray.create_array(array_name, np.zeros((1 + running + kills, 3), dtype=np.int64))
    context = mp.get_context("fork")
    random = np.random.default_rng(11)
    workers_by_slot: dict[int, BaseProcess] = {}
    killed: list[int] = []

    def start(slot: int) -> None:
        started = context.Event()
        process = context.Process(target=workers.count_until_killed, args=(sma, slot, repeats, started))
        process.start()
        assert started.wait(60), "a worker never started"
        workers_by_slot[slot] = process

    try:
        for slot in range(1, 1 + running):
            start(slot)
        next_slot = 1 + running
        while len(killed) < kills:
            time.sleep(float(random.uniform(0.01, 0.08)))
            alive = [slot for slot, process in workers_by_slot.items() if process.is_alive() and slot not in killed]
            if not alive:
                break
            victim = int(random.choice(alive))
            os.kill(workers_by_slot[victim].pid, signal.SIGKILL)  # type: ignore[arg-type]
            killed.append(victim)
            start(next_slot)
            next_slot += 1
        codes = dict(zip(workers_by_slot, join(workers_by_slot.values(), timeout=240), strict=True))
        assert all(codes[slot] == 0 for slot in codes if slot not in killed), codes
        rows = sma.read_data((0,))
        for cell, operation in enumerate(["add", "update", "with array()"]):
            acknowledged = int(rows[1:, cell].sum())
            assert 0 <= int(rows[0, cell]) - acknowledged <= len(killed), (operation, rows[0, cell], acknowledged)
    finally:
        for process in workers_by_slot.values():
            process.kill()
        join(workers_by_slot.values())
        sma.destroy()
