"""The segment header: its layout is pinned by a golden file, and a damaged one is refused with one clear error."""

import os
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ataraxis_sharedarray import ArrayHeaderError, SharedMemoryArray
from ataraxis_sharedarray._header import MAGIC, Layout

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_DTYPE = np.dtype([("id", "<u2"), ("position", "<f8", (2,)), ("label", "<U3")])
GOLDEN_SHAPE = (3, 2)
GOLDEN_TOKEN = bytes(range(16))
GOLDEN_PID = 4242


def _golden_layout() -> Layout:
    return Layout.new(GOLDEN_DTYPE, GOLDEN_SHAPE, GOLDEN_TOKEN)


def test_header_layout_version_1_matches_its_golden_file() -> None:
    # The bytes a version-1 creator writes (magic included) for a fixed array. Another process, possibly running
    # another version of the package, reads them: changing them means a new layout version and a new golden file.
    golden = (GOLDEN / "header-v1.bin").read_bytes()
    layout = _golden_layout()
    assert MAGIC + layout.encode(GOLDEN_PID)[len(MAGIC) :] == golden
    decoded = Layout.decode(golden, "golden")
    assert (decoded.dtype, decoded.shape, decoded.token) == (GOLDEN_DTYPE, GOLDEN_SHAPE, GOLDEN_TOKEN)
    assert decoded.data_offset == 256
    assert decoded.size == 256 + GOLDEN_DTYPE.itemsize * 6


def _mutable_positions(header_size: int) -> list[int]:
    # Every byte the attacher parses except the magic (an attacher waits for a missing magic, see the test below):
    # layout version, data offset, token, creator pid, dimensions, description length, shape, description.
    return [*range(len(MAGIC), 48), *range(128, header_size)]


def test_randomly_damaged_headers_are_opened_or_refused_with_one_error_naming_the_array(array_name: str) -> None:
    prototype = np.zeros(GOLDEN_SHAPE, dtype=GOLDEN_DTYPE)
    prototype["label"] = "abc"
    sma = SharedMemoryArray.create_array(array_name, prototype)
    header_size = _golden_layout().data_offset
    fd = os.open(f"/dev/shm/{array_name}", os.O_RDWR)
    original = os.pread(fd, header_size, 0)
    positions = _mutable_positions(header_size)
    generator = random.Random(20_240_611)
    outcomes: Counter[str] = Counter()
    try:
        for _ in range(3000):
            damaged = bytearray(original)
            for _ in range(generator.randint(1, 4)):
                position = generator.choice(positions)
                damaged[position] = generator.choice([generator.randrange(256), damaged[position] ^ 1, 0, 255])
            os.pwrite(fd, bytes(damaged), 0)
            try:
                attached = SharedMemoryArray.attach(array_name)
            except ArrayHeaderError as error:
                assert repr(array_name) in str(error), error
                outcomes["refused"] += 1
                continue
            # A damaged header the attacher accepts still describes memory inside the segment, readable as such.
            attached.read_data((0,))
            attached.read_data(-1)
            attached.disconnect()
            outcomes["opened"] += 1
    finally:
        os.pwrite(fd, original, 0)
        os.close(fd)
        sma.destroy()
    assert outcomes["refused"] > 1000, outcomes
    assert outcomes["opened"] > 100, outcomes


def test_a_header_announcing_too_many_dimensions_is_refused_without_waiting(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(4))
    fd = os.open(f"/dev/shm/{array_name}", os.O_RDWR)
    try:
        os.pwrite(fd, (1000).to_bytes(4, "little"), 40)  # the number of dimensions
        started = time.monotonic()
        with pytest.raises(ArrayHeaderError, match=rf"{array_name}.*1000 dimensions"):
            SharedMemoryArray.attach(array_name)
        assert time.monotonic() - started < 0.9, "a published but damaged header must not be waited for"
    finally:
        os.close(fd)
        sma.destroy()


def test_a_segment_without_the_magic_is_refused_after_the_publication_wait(array_name: str) -> None:
    sma = SharedMemoryArray.create_array(array_name, np.zeros(4))
    fd = os.open(f"/dev/shm/{array_name}", os.O_RDWR)
    try:
        os.pwrite(fd, b"NOTMAGIC", 0)
        with pytest.raises(ArrayHeaderError, match=rf"{array_name}.*is not a SharedMemoryArray"):
            SharedMemoryArray.attach(array_name)
    finally:
        os.pwrite(fd, MAGIC, 0)  # destroy() removes only the segment its token names, which needs the magic
        os.close(fd)
        sma.destroy()


def test_a_header_describing_python_objects_is_refused(array_name: str) -> None:
    # An attacher that trusted such a header would read raw memory as object pointers and crash.
    sma = SharedMemoryArray.create_array(array_name, np.zeros(2, dtype="<i8"))
    fd = os.open(f"/dev/shm/{array_name}", os.O_RDWR)
    try:
        header = os.pread(fd, 256, 0)
        os.pwrite(fd, header.replace(b"'<i8'", b"'|O' "), 0)
        with pytest.raises(ArrayHeaderError, match="Python objects"):
            SharedMemoryArray.attach(array_name)
    finally:
        os.close(fd)
        sma.destroy()
