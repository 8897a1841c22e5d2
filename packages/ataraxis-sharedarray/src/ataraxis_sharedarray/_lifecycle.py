"""Validating prototypes, and creating or opening the segment and semaphore pair of one array."""

import errno
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._header import Layout
from ._names import posix_names
from ._ownership import adopt, claim, replace, start_tracker, unclaim
from ._posix import NO_ROOM, NamedSemaphore, create_semaphore, open_segment, open_semaphore, unlink_semaphore
from ._segment import Segment
from .exceptions import ArrayExistsError, ArrayNotFoundError, PrototypeError, SharedMemoryFullError

_REPLACE_ATTEMPTS = 100
"""How often `create_array(..., exist_ok=True)` removes and re-creates a name that others keep creating meanwhile."""


def create(name: str, prototype: object, *, exist_ok: bool) -> tuple[Segment, NamedSemaphore]:
    """Creates the array `name` holding a copy of `prototype`, owned by this process (see `SharedMemoryArray`)."""
    content = check_prototype(prototype)
    segment_name, semaphore_name = posix_names(name)
    layout = Layout.new(content.dtype, tuple(content.shape), os.urandom(16))
    start_tracker()
    try:
        fd = open_segment(segment_name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
    except FileExistsError:
        if not exist_ok:
            message = (
                f"a shared memory array named {name!r} already exists; pass exist_ok=True to replace it or use "
                f"SharedMemoryArray.attach({name!r}) to open it"
            )
            raise ArrayExistsError(message) from None
        fd = _replace(segment_name, semaphore_name, name)
    # Claimed at once, before the segment has any content: from here on a kill leaves the removal to the tracker.
    claim(segment_name, semaphore_name)
    try:
        segment = Segment.create(fd, name, layout, os.getpid())
        try:
            semaphore = _create_semaphore(semaphore_name, name)
            data = np.ndarray(layout.shape, layout.dtype, buffer=segment.buffer, offset=layout.data_offset)
            data[...] = content
            del data
            segment.publish()
            adopt(segment_name, semaphore_name, layout.token)
        except BaseException:
            segment.close()
            raise
    except BaseException:
        replace(segment_name, semaphore_name)
        unclaim(segment_name, semaphore_name)
        raise
    return segment, semaphore


def _replace(segment_name: str, semaphore_name: str, name: str) -> int:
    # Another process replacing the same name at the same time may take it between the removal and the creation.
    for _ in range(_REPLACE_ATTEMPTS):
        replace(segment_name, semaphore_name)
        try:
            return open_segment(segment_name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        except FileExistsError:
            continue
    message = f"could not replace the shared memory array {name!r}: other processes keep creating it at the same time"
    raise ArrayExistsError(message)


def check_prototype(prototype: object) -> NDArray[Any]:
    """Returns `prototype` if it is a non-empty array of 1 or more dimensions that can be shared, or raises."""
    if not isinstance(prototype, np.ndarray):
        message = f"prototype must be a numpy.ndarray, not {type(prototype).__name__}: {prototype!r:.100}"
        raise PrototypeError(message)
    if prototype.dtype.hasobject:
        message = f"prototype has data type {prototype.dtype}, which holds Python objects that cannot be shared"
        raise PrototypeError(message)
    if prototype.ndim == 0:
        # int and range indexes select along the first axis, which a 0-d array does not have.
        message = f"prototype {prototype!r:.100} has no dimensions; give a 1-element array (numpy.array([value]))"
        raise PrototypeError(message)
    if prototype.nbytes == 0:
        message = f"prototype of shape {prototype.shape} and data type {prototype.dtype} holds no data"
        raise PrototypeError(message)
    return prototype


def _create_semaphore(semaphore_name: str, name: str) -> NamedSemaphore:
    try:
        try:
            return create_semaphore(semaphore_name)
        except FileExistsError:
            # The caller holds the segment name exclusively and removal always unlinks the semaphore before the
            # segment, so this semaphore was left by a creator killed before it could clean up: it guards nothing.
            unlink_semaphore(semaphore_name)
            return create_semaphore(semaphore_name)
    except OSError as error:
        if error.errno not in NO_ROOM:
            raise
        # Linux keeps a named semaphore as a small file in /dev/shm, which the segment may have just filled.
        message = (
            f"shared memory has no room for the lock of the array {name!r} ({error.strerror}); free some, or enlarge "
            f"the shared-memory file system (/dev/shm on Linux)"
        )
        raise SharedMemoryFullError(errno.ENOSPC, message) from None


def open_existing(name: str, wait: float) -> tuple[Segment, NamedSemaphore]:
    """Opens the existing array `name` (waiting up to `wait` s for a creator still writing its header).

    Raises:
        ArrayNameError: `name` is not a valid array name.
        ArrayNotFoundError: No such array exists, it is being destroyed, or its creator died before finishing it
            (or, after `wait`, is still filling it).
        ArrayHeaderError: The segment of that name is not a SharedMemoryArray.
    """
    segment_name, semaphore_name = posix_names(name)
    try:
        segment = Segment.open(segment_name, name, wait)
    except ArrayNotFoundError:
        raise  # an unfinished array: its own message says why
    except FileNotFoundError:
        message = f"no shared memory array named {name!r} exists (it was never created, destroyed, or its owner exited)"
        raise ArrayNotFoundError(message) from None
    try:
        semaphore = open_semaphore(semaphore_name)
    except FileNotFoundError:
        segment.close()
        message = f"the shared memory array {name!r} is being destroyed (its lock is already gone)"
        raise ArrayNotFoundError(message) from None
    except BaseException:
        segment.close()
        raise
    return segment, semaphore
