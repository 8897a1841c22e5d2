"""SharedMemoryArray across real processes: every start method, exact locked updates, ownership and attach by name."""

import multiprocessing as mp
import subprocess
import sys
import textwrap
from collections.abc import Callable

import numpy as np
import pytest
import sharedarray_workers as workers

from ataraxis_sharedarray import SharedMemoryArray

START_METHODS = ["spawn", "forkserver", "fork"]
PROCESSES = 4


@pytest.mark.parametrize("start_method", START_METHODS)
def test_array_context_increments_are_exact(
    array_name: str, start_method: str, join: Callable[..., list[int | None]]
) -> None:
    cells, repeats = 3, 1500
    sma = SharedMemoryArray.create_array(array_name, np.zeros(cells, dtype=np.int64))
    try:
        context = mp.get_context(start_method)
        processes = [
            context.Process(target=workers.increment_with_array_context, args=(sma, cells, repeats))
            for _ in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        assert join(processes) == [0] * PROCESSES
        assert sma.read_data((0,), convert_output=True) == [PROCESSES * repeats] * cells
    finally:
        sma.destroy()


@pytest.mark.parametrize("start_method", START_METHODS)
def test_locked_writes_are_never_torn(
    array_name: str, start_method: str, join: Callable[..., list[int | None]]
) -> None:
    repeats = 1500
    sma = SharedMemoryArray.create_array(array_name, np.zeros((2, workers.ROW), dtype=np.int64))
    try:
        context = mp.get_context(start_method)
        processes = [
            context.Process(target=workers.write_rows_and_check_reads, args=(sma, worker, repeats))
            for worker in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        assert join(processes) == [0] * PROCESSES
        shared_row, counters = sma.read_data((0,), convert_output=True)
        assert len(set(shared_row)) == 1
        assert counters[:PROCESSES] == [repeats] * PROCESSES
    finally:
        sma.destroy()


def test_locked_indexing_never_reads_a_row_half_written(array_name: str, join: Callable[..., list[int | None]]) -> None:
    # Wide rows, so that a copy made after the lock is released overlaps another process's write.
    repeats = 400
    sma = SharedMemoryArray.create_array(array_name, np.zeros((1, 1 << 16), dtype=np.int64))
    try:
        context = mp.get_context("fork")
        processes = [
            context.Process(target=workers.index_rows_and_check_reads, args=(sma, worker, repeats))
            for worker in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        assert join(processes) == [0] * PROCESSES
    finally:
        sma.destroy()


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("disconnect", [True, False])
def test_child_that_connects_and_exits_never_removes_the_array(
    array_name: str,
    start_method: str,
    join: Callable[..., list[int | None]],
    shm_entries: Callable[[str], list[str]],
    *,
    disconnect: bool,
) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(4, dtype=np.uint16))
    try:
        child = mp.get_context(start_method).Process(
            target=workers.connect_write_and_exit, args=(sma,), kwargs={"disconnect": disconnect}
        )
        child.start()
        assert join([child]) == [0]
        assert len(shm_entries(array_name)) == 2
        assert sma.read_data(0) == 42
        late = SharedMemoryArray.attach(array_name)
        assert late.read_data(0) == 42
        late.disconnect()
    finally:
        sma.destroy()


@pytest.mark.parametrize("disconnect_first", [False, True])
def test_creator_exit_without_destroy_leaves_nothing_and_prints_nothing(
    array_name: str,
    shm_entries: Callable[[str], list[str]],
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
    *,
    disconnect_first: bool,
) -> None:
    result = run_python(f"""
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray
        sma = SharedMemoryArray.create_array({array_name!r}, np.arange(5))
        sma.write_data(1, 7)
        if {disconnect_first}:
            sma.disconnect()
        print("created")
    """)
    assert (result.returncode, result.stdout, result.stderr) == (0, "created\n", "")
    assert shm_entries(array_name) == []


def test_children_under_every_start_method_print_no_warning(
    array_name: str,
    shm_entries: Callable[[str], list[str]],
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    # The whole family runs with warnings as errors, and its stderr is captured: a resource tracker warning
    # (CPython gh-82300) or any other noise from a child, the tracker or the exit cleanup fails the test.
    result = run_python(f"""
        import multiprocessing as mp
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray

        def child(sma, value):
            sma.connect()
            sma.write_data(value, value)

        if __name__ == "__main__":
            sma = SharedMemoryArray.create_array({array_name!r}, np.zeros(3, dtype=np.int32))
            for value, method in enumerate(["spawn", "forkserver", "fork"]):
                process = mp.get_context(method).Process(target=child, args=(sma, value))
                process.start()
                process.join(60)
                assert process.exitcode == 0, (method, process.exitcode)
            assert sma.read_data((0,), convert_output=True) == [0, 1, 2]
            print("done")
    """)
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")
    assert shm_entries(array_name) == []


@pytest.mark.parametrize("start_method", START_METHODS)
def test_array_created_in_a_child_is_removed_when_that_child_ends(
    array_name: str,
    start_method: str,
    shm_entries: Callable[[str], list[str]],
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = run_python(f"""
        import multiprocessing as mp
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray

        def child():
            SharedMemoryArray.create_array({array_name!r}, np.zeros(3))

        if __name__ == "__main__":
            process = mp.get_context({start_method!r}).Process(target=child)
            process.start()
            process.join(60)
            assert process.exitcode == 0, process.exitcode
            try:
                SharedMemoryArray.attach({array_name!r})
            except FileNotFoundError:
                print("removed")
    """)
    assert (result.returncode, result.stdout, result.stderr) == (0, "removed\n", "")
    assert shm_entries(array_name) == []


def test_forked_copy_is_disconnected_and_never_removes_the_parents_array(
    array_name: str,
    shm_entries: Callable[[str], list[str]],
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = run_python(f"""
        import os
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray

        sma = SharedMemoryArray.create_array({array_name!r}, np.zeros(2, dtype=np.int8))
        pid = os.fork()
        if pid == 0:
            # A raw fork: the child runs the interpreter's normal exit, atexit handlers included.
            assert not sma.is_connected
            sma.connect()
            sma.write_data(0, 5)
            raise SystemExit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert SharedMemoryArray.attach({array_name!r}).read_data(0) == 5
        print("kept")
    """)
    assert (result.returncode, result.stdout, result.stderr) == (0, "kept\n", "")
    assert shm_entries(array_name) == []


def test_attach_by_name_from_an_unrelated_program_shares_the_lock(array_name: str) -> None:
    repeats = 3000
    sma = SharedMemoryArray.create_array(array_name, np.zeros(1, dtype=np.int64))
    try:
        program = subprocess.Popen(
            [
                sys.executable,
                "-W",
                "error",
                "-c",
                textwrap.dedent(f"""
                    from ataraxis_sharedarray import SharedMemoryArray
                    sma = SharedMemoryArray.attach({array_name!r})
                    assert sma.shape == (1,) and sma.datatype == "int64"
                    for _ in range({repeats}):
                        with sma.array() as view:
                            view[0] += 1
                    sma.disconnect()
                """),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(repeats):
                with sma.array() as view:
                    view[0] += 1
            _, stderr = program.communicate(timeout=120)
        finally:
            program.kill()
        assert (program.returncode, stderr) == (0, "")
        assert sma.read_data(0) == 2 * repeats
    finally:
        sma.destroy()
