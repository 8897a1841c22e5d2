"""An exception raised by a signal handler (Ctrl-C's KeyboardInterrupt, say) never leaves the lock taken.

Python runs signal handlers between bytecodes, so their exception can surface at any point of a locked operation,
including right after the semaphore was taken and before the operation has set up its release. Each scenario
interrupts one operation thousands of times at random instants, in a fresh interpreter, and checks after every
interruption that the lock is free.
"""

import subprocess
from collections.abc import Callable

import pytest

OPERATIONS = {
    "read_data": "sma.read_data(0)",
    "write_data": "sma.write_data(0, 1)",
    "add": "sma.add(0, 1)",
    "add, checked path": "sma.add(0, 1.0)",
    "read_data of a range": "sma.read_data((0, 2))",
    "write_data of a range": "sma.write_data((0, 2), 1)",
    "indexing": "sma[0]",
    "assignment by index": "sma[0] = 1",
    "update": "sma.update(0, lambda value: value)",
}

_SCENARIO = """
import random, signal, sys
import numpy as np
from ataraxis_sharedarray import SharedMemoryArray
from ataraxis_sharedarray._posix import semaphore_value

class Interrupted(Exception):
    pass

def interrupt(signum, frame):
    raise Interrupted

signal.signal(signal.SIGALRM, interrupt)
sma = SharedMemoryArray.create_array(sys.argv[1], np.zeros(4, dtype=np.int64))
lock = sma._connection.lock
random.seed(7)
for round in range(1500):
    try:
        signal.setitimer(signal.ITIMER_REAL, random.uniform(5e-5, 5e-4))
        while True:
            {operation}
    except Interrupted:
        pass
    if semaphore_value(lock.semaphore) != 1 or sma._connection.words[8] != 0:
        sys.exit(f"round {{round}}: the interrupted operation left the lock taken")
sma.destroy()
print("done")
"""


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_an_interrupted_operation_never_leaves_the_lock_taken(
    array_name: str, run_python: Callable[..., subprocess.CompletedProcess[str]], operation: str
) -> None:
    script = _SCENARIO.format(operation=operation).replace("sys.argv[1]", repr(array_name))
    result = run_python(script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "done"


_BLOCK_SCENARIO = """
import random, signal, sys
import numpy as np
from ataraxis_sharedarray import SharedMemoryArray
from ataraxis_sharedarray._connection import LockedView
from ataraxis_sharedarray._posix import semaphore_value

class Interrupted(Exception):
    pass

def interrupt(signum, frame):
    raise Interrupted

signal.signal(signal.SIGALRM, interrupt)
sma = SharedMemoryArray.create_array(NAME, np.zeros(4, dtype=np.int64))
connection = sma._connection
random.seed(7)
at_exit = 0
for round in range(1500):
    try:
        signal.setitimer(signal.ITIMER_REAL, random.uniform(5e-5, 5e-4))
        while True:
            with sma.array() as view:
                view[1] += 1
    except Interrupted as error:
        interrupted = error.__traceback__.tb_next
        while interrupted.tb_next is not None and interrupted.tb_next.tb_frame.f_code is not interrupt.__code__:
            interrupted = interrupted.tb_next
    if semaphore_value(connection.lock.semaphore) == 1:
        continue
    frame = interrupted.tb_frame
    if frame.f_code is not LockedView.__exit__.__code__ or interrupted.tb_lineno != frame.f_code.co_firstlineno:
        where = f"line {interrupted.tb_lineno} of {frame.f_code.co_name}"
        sys.exit(f"round {round}: interrupted at {where}, the lock is taken")
    at_exit += 1
    connection.locked_view.__exit__(None, None, None)  # what the interrupted __exit__ would have done
sma.destroy()
print("done", at_exit)
"""


def test_an_interrupted_block_leaves_the_lock_taken_only_when_interrupted_entering_its_exit(
    array_name: str, run_python: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # The known limit of `with array()`: an exception raised by a signal handler as Python enters the block's
    # `__exit__`, before its first line runs, leaves the lock taken. Anywhere else it is released.
    result = run_python(_BLOCK_SCENARIO.replace("NAME", repr(array_name)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("done")


_AFTER_FORK_IN_BLOCK = """
import os, random, signal, sys
import numpy as np
from ataraxis_sharedarray import SharedMemoryArray
from ataraxis_sharedarray._posix import semaphore_value

class Interrupted(Exception):
    pass

def interrupt(signum, frame):
    raise Interrupted

def child_work():
    # Like a multiprocessing child forked inside a block: it never leaves its copy of that block.
    signal.signal(signal.SIGALRM, interrupt)
    sma.connect()
    sma.read_data(0)  # waits for the parent to leave the block
    random.seed(3)
    for round in range(1500):
        try:
            signal.setitimer(signal.ITIMER_REAL, random.uniform(5e-5, 5e-4))
            while True:
                sma.read_data(0)
        except Interrupted:
            pass
        if semaphore_value(sma._connection.lock.semaphore) != 1:
            print(f"round {round}: the interrupted operation left the lock taken", flush=True)
            os._exit(1)
    print("done", flush=True)
    os._exit(0)

sma = SharedMemoryArray.create_array(NAME, np.zeros(4, dtype=np.int64))
with sma.array():
    child = os.fork()
    if child == 0:
        child_work()
_, status = os.waitpid(child, 0)
sma.destroy()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_child_forked_inside_a_block_releases_what_its_own_interrupted_operations_took(
    array_name: str, run_python: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    result = run_python(_AFTER_FORK_IN_BLOCK.replace("NAME", repr(array_name)))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.strip() == "done"
