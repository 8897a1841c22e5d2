"""Creating an array for which shared memory has no room raises a clear error instead of killing the process.

On Linux a segment is a file of a tmpfs (`/dev/shm`) whose pages are allocated when first written: without a
reservation, copying the prototype into a segment larger than the free space kills the creator with SIGBUS. Each
scenario runs in a fresh interpreter that sees a private, small tmpfs as `/dev/shm` (see `run_with_small_shm`), so
no test fills the machine's real shared memory.
"""

import subprocess
from collections.abc import Callable

Runner = Callable[[str, str], subprocess.CompletedProcess[str]]

_ASSERT_SHM_EMPTY = """
        def assert_shm_holds(*expected):
            left = sorted(os.listdir("/dev/shm"))
            assert left == sorted(expected), f"/dev/shm holds {left}"
"""


def _succeeds(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit code {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stderr == "", result.stderr
    assert result.stdout.strip().endswith("done"), result.stdout


def test_an_array_larger_than_the_free_shared_memory_is_refused_cleanly(run_with_small_shm: Runner) -> None:
    result = run_with_small_shm(
        """
        import errno, os
        import numpy as np
        from ataraxis_sharedarray import SharedArrayError, SharedMemoryArray, SharedMemoryFullError
        """
        + _ASSERT_SHM_EMPTY
        + """
        try:
            SharedMemoryArray.create_array("big", np.ones(1_000_000, dtype=np.float64))
        except SharedMemoryFullError as error:
            assert isinstance(error, SharedArrayError) and isinstance(error, OSError)
            assert error.errno == errno.ENOSPC
            message = str(error)
            assert "'big'" in message and "8,000,192 bytes" in message, message
            assert "1,048,576 bytes free" in message, message
        else:
            raise AssertionError("an 8 MB array was created in a 1 MiB /dev/shm")
        assert_shm_holds()
        small = SharedMemoryArray.create_array("small", np.arange(1000, dtype=np.int64))
        assert small.read_data((0,), convert_output=True) == list(range(1000))
        small.destroy()
        assert_shm_holds()
        print("done")
        """,
        "1m",
    )
    _succeeds(result)


def test_a_full_shared_memory_refuses_even_a_one_element_array(run_with_small_shm: Runner) -> None:
    result = run_with_small_shm(
        """
        import errno, os
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray, SharedMemoryFullError
        """
        + _ASSERT_SHM_EMPTY
        + """
        filler = os.open("/dev/shm/filler", os.O_CREAT | os.O_WRONLY)
        try:
            while os.write(filler, b"\\xff" * 4096):
                pass
        except OSError as error:
            assert error.errno == errno.ENOSPC
        os.close(filler)
        for replace in (False, True):
            try:
                SharedMemoryArray.create_array("tiny", np.zeros(1, dtype=np.uint8), exist_ok=replace)
            except SharedMemoryFullError as error:
                assert "'tiny'" in str(error) and " 0 bytes free" in str(error), str(error)
            else:
                raise AssertionError("an array was created in a full /dev/shm")
            assert_shm_holds("filler")
        os.unlink("/dev/shm/filler")
        tiny = SharedMemoryArray.create_array("tiny", np.ones(1, dtype=np.uint8))
        assert tiny.read_data(0) == 1
        tiny.destroy()
        assert_shm_holds()
        print("done")
        """,
        "256k",
    )
    _succeeds(result)


def test_the_portable_reservation_reports_a_lack_of_room_as_the_native_one_does(run_with_small_shm: Runner) -> None:
    # `posix_fallocate` is missing on some systems (macOS) and some file systems refuse it: the fallback writes zeros
    # through the descriptor, which reports a lack of room as an error too, where a write to the mapping would fault.
    result = run_with_small_shm(
        """
        import errno, os
        from ataraxis_sharedarray._posix import open_segment, reserve_space, unlink_segment
        """
        + _ASSERT_SHM_EMPTY
        + """
        for native in (True, False):
            fd = open_segment("/room", os.O_CREAT | os.O_EXCL | os.O_RDWR)
            try:
                os.ftruncate(fd, 3 << 20)
                try:
                    reserve_space(fd, 3 << 20, native=native)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, error
                else:
                    raise AssertionError("3 MiB were reserved in a 2 MiB /dev/shm")
                reserve_space(fd, 1 << 20, native=native)
                assert os.fstat(fd).st_blocks * 512 >= 1 << 20, "the reservation allocated nothing"
                assert os.pread(fd, 1 << 20, 0) == bytes(1 << 20)
            finally:
                os.close(fd)
                unlink_segment("/room")
        assert_shm_holds()
        print("done")
        """,
        "2m",
    )
    _succeeds(result)


def test_no_room_left_for_the_lock_after_the_segment_is_refused_cleanly_too(run_with_small_shm: Runner) -> None:
    # The segment takes the last page; the semaphore's own file in /dev/shm then finds none.
    result = run_with_small_shm(
        """
        import errno, os
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray, SharedMemoryFullError
        """
        + _ASSERT_SHM_EMPTY
        + """
        filler = os.open("/dev/shm/filler", os.O_CREAT | os.O_WRONLY)
        try:
            while os.write(filler, b"\\\\xff" * 4096):
                pass
        except OSError as error:
            assert error.errno == errno.ENOSPC
        os.ftruncate(filler, os.fstat(filler).st_size - os.statvfs("/dev/shm").f_frsize)
        os.close(filler)
        try:
            SharedMemoryArray.create_array("tiny", np.zeros(1, dtype=np.uint8))
        except SharedMemoryFullError as error:
            assert "lock of the array 'tiny'" in str(error), str(error)
        else:
            raise AssertionError("an array was created without room for its lock")
        assert_shm_holds("filler")
        print("done")
        """,
        "256k",
    )
    _succeeds(result)
