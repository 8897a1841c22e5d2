"""Creating, opening and mapping the shared-memory segment that holds one array's header and data."""

import contextlib
import errno
import mmap
import os
import time
import weakref

from ._header import MAGIC, Layout, header_length, unpublished_creator
from ._posix import NO_ROOM, free_space, open_segment, process_is_alive, reserve_space
from .exceptions import ArrayHeaderError, ArrayNotFoundError, SharedMemoryFullError

_PUBLISH_POLL = 0.001
"""Seconds between two looks at a segment whose creator has not finished writing its header."""
_CREATION_WAIT = 60.0
"""Seconds `attach` waits at most for a live creator that is still reserving and filling a (large) array."""


class Segment:
    """One open and mapped segment: its file descriptor, its mapping and the layout its header describes.

    The descriptor stays open while the segment is mapped: the lock's rare recovery path takes an `flock` on it, which
    the kernel releases if the recovering process dies.
    """

    __slots__ = ("__weakref__", "_close_fd", "buffer", "fd", "layout")

    def __init__(self, fd: int, buffer: mmap.mmap, layout: Layout) -> None:
        self.fd = fd
        """The segment's open file descriptor."""
        self.buffer = buffer
        """The whole segment, mapped read-write and shared."""
        self.layout = layout
        """The array's type, shape and data offset."""
        # An object dropped without disconnect() must not leak its descriptor (the mapping frees itself).
        self._close_fd = weakref.finalize(self, os.close, fd)
        self._close_fd.atexit = False

    @classmethod
    def create(cls, fd: int, name: str, layout: Layout, creator_pid: int) -> "Segment":
        """Sizes the just-created segment `fd` of the array `name` and writes its header, all but the magic (`publish`).

        Every page is allocated before anything is written, so a lack of room is an error here rather than a SIGBUS
        when the header or the prototype is written. The segment is closed if this fails (its name is the caller's).

        Raises:
            SharedMemoryFullError: Shared memory has no room for the segment.
        """
        try:
            os.ftruncate(fd, layout.size)
            # The header goes first, through the descriptor (which reports a lack of room as an error, where the
            # mapping would fault), so that an attacher sees who is creating the array while the pages are reserved.
            _reserve(fd, name, layout, layout.encode(creator_pid))
            buffer = mmap.mmap(fd, layout.size)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, buffer, layout)

    def publish(self) -> None:
        """Writes the magic, which tells attachers the header and the initial data are complete."""
        self.buffer[: len(MAGIC)] = MAGIC

    @classmethod
    def open(cls, posix_name: str, name: str, wait: float) -> "Segment":
        """Opens and maps the existing segment, waiting up to `wait` seconds for its creator to publish it.

        Raises:
            FileNotFoundError: No segment with this name exists.
            ArrayNotFoundError: The segment's creator died before it finished the array, or is still filling it
                (waited for up to `_CREATION_WAIT` seconds when `wait` is not 0).
            ArrayHeaderError: The segment is not (or, after `wait` seconds, not yet) a complete SharedMemoryArray, or
                its header is damaged.
        """
        fd = open_segment(posix_name, os.O_RDWR)
        try:
            header = _read_header(fd, wait, name)
            layout = Layout.decode(header, name)
            size = os.fstat(fd).st_size
            if size < layout.size:
                message = f"the shared memory segment {name!r} holds {size} bytes, its header describes {layout.size}"
                raise ArrayHeaderError(message)
            buffer = mmap.mmap(fd, layout.size)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, buffer, layout)

    def close(self) -> None:
        """Unmaps the segment (once no NumPy view of it is left) and closes its descriptor."""
        # A view the user kept (from `array()`) pins the mapping: it stays valid for them and is unmapped when the
        # last such view is garbage-collected, so there is never a dangling pointer.
        with contextlib.suppress(BufferError):
            self.buffer.close()
        self._close_fd()


def _reserve(fd: int, name: str, layout: Layout, header: bytes) -> None:
    free = free_space(fd)  # before this array takes any of it
    try:
        os.pwrite(fd, header, 0)
        reserve_space(fd, layout.size)
    except OSError as error:
        if error.errno not in NO_ROOM:
            raise
        left = "an unknown number of bytes" if free is None else f"{free:,} bytes"
        message = (
            f"shared memory has no room for the array {name!r}: it needs {layout.size:,} bytes (shape "
            f"{layout.shape}, data type {layout.dtype}, and its header), but the shared-memory file system has {left} "
            f"free ({error.strerror}); free some, or enlarge that file system (/dev/shm on Linux)"
        )
        raise SharedMemoryFullError(errno.ENOSPC, message) from None


def _read_header(fd: int, wait: float, name: str) -> bytes:
    # Only a missing magic is waited for: a creator writes it last, so it may be about to appear. A header that has
    # its magic is complete, and a damaged one is refused at once. A header being written names its creator, which
    # is waited for as long as it lives (up to `_CREATION_WAIT`: a large array takes a while to fill).
    started = time.monotonic()
    while True:
        first = os.pread(fd, 64, 0)
        length = header_length(first, name)
        if length:
            return os.pread(fd, length, 0)
        creator = unpublished_creator(first)
        waited = time.monotonic() - started
        if creator is not None:
            if not process_is_alive(creator):
                message = (
                    f"the shared memory array {name!r} was never finished: process {creator}, which was creating it, "
                    f"died before it was complete (its resource tracker removes what is left)"
                )
                raise ArrayNotFoundError(message)
            if waited >= (_CREATION_WAIT if wait else 0.0):
                message = (
                    f"the shared memory array {name!r} is still being created by process {creator} (waited "
                    f"{waited:.1f} s); try again once it is complete"
                )
                raise ArrayNotFoundError(message)
        elif waited >= wait:
            return b""
        time.sleep(_PUBLISH_POLL)


def read_token(posix_name: str) -> bytes | None:
    """Returns the token of the published segment `posix_name`, or None if there is no such published segment."""
    try:
        fd = open_segment(posix_name, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        first = os.pread(fd, 32, 0)
    finally:
        os.close(fd)
    if len(first) < 32 or not first.startswith(MAGIC):
        return None
    return first[16:32]
