"""The private CPython modules behind `_posix` behave as this package needs, on every supported Python version."""

import multiprocessing as mp
import os
from pathlib import Path

import pytest
import sharedarray_workers as workers

from ataraxis_sharedarray._posix import (
    create_semaphore,
    open_segment,
    open_semaphore,
    process_is_alive,
    semaphore_value,
    unlink_segment,
    unlink_semaphore,
)


def test_named_semaphore_is_shared_by_name_across_processes(array_name: str) -> None:
    name = f"/{array_name}.lock"
    semaphore = create_semaphore(name)
    try:
        with pytest.raises(FileExistsError):
            create_semaphore(name)
        assert semaphore.acquire(block=False)
        assert not open_semaphore(name).acquire(block=False), "a second handle must see the semaphore taken"
        assert semaphore_value(semaphore) == 0
        child = mp.get_context("spawn").Process(target=workers.release_semaphore, args=(name,))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert semaphore.acquire(block=True, timeout=10), "a release by another process must wake this one"
        semaphore.release()
        with pytest.raises(ValueError, match="released too many times"):
            semaphore.release()
        assert not semaphore.acquire(block=True, timeout=0.0) or semaphore.release() is None
    finally:
        unlink_semaphore(name)
    with pytest.raises(FileNotFoundError):
        open_semaphore(name)
    with pytest.raises(FileNotFoundError):
        unlink_semaphore(name)


def test_segment_open_and_unlink(array_name: str) -> None:
    name = f"/{array_name}"
    fd = open_segment(name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
    try:
        assert Path(f"/dev/shm/{array_name}").exists()
        with pytest.raises(FileExistsError):
            open_segment(name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        os.close(open_segment(name, os.O_RDONLY))
    finally:
        os.close(fd)
        unlink_segment(name)
    with pytest.raises(FileNotFoundError):
        open_segment(name, os.O_RDWR)
    with pytest.raises(FileNotFoundError):
        unlink_segment(name)


def test_process_liveness_counts_zombies_as_dead() -> None:
    assert process_is_alive(os.getpid())
    child = mp.get_context("fork").Process(target=os._exit, args=(0,))
    child.start()
    assert child.pid is not None
    sentinel_ready = child.sentinel
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited but not reaped: a zombie
    assert os.path.exists(f"/proc/{child.pid}")
    assert not process_is_alive(child.pid)
    child.join(10)
    assert sentinel_ready is not None
    assert not process_is_alive(child.pid)


def test_without_procfs_a_live_process_counts_as_alive(tmp_path: Path) -> None:
    # macOS has no /proc: a live holder must not be taken for dead there (its lock would be stolen).
    assert process_is_alive(os.getpid(), procfs=tmp_path)
    child = mp.get_context("fork").Process(target=os._exit, args=(0,))
    child.start()
    child.join(10)
    assert child.pid is not None
    assert not process_is_alive(child.pid, procfs=tmp_path)
