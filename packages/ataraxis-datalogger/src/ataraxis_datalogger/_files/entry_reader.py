"""Reading the entry files of a log directory one at a time, never holding more than one open.

Files are opened relative to a descriptor of the directory (no path is resolved per entry) and closed before the
next one is opened; with memory mapping, the single mapping of the previous file is released first. A directory of
a million entries therefore needs two descriptors, not a million.

Each file is opened without blocking and without following a symbolic link, and checked to be a regular file on
its descriptor (see `regular_file`): a FIFO named like an entry is reported, never waited on.

Memory mapping (an option of `compress_npy_logs`) maps one entry file at a time. The logger never changes a file
once it is named, but a file truncated by someone else while it is mapped kills the process with SIGBUS; that is
safe (a killed compression loses nothing) but is why mapping is an option, off by default.
"""

import contextlib
import errno
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._format.entry import decode_entry, entry_array, entry_file_name
from .._format.legacy_archive import legacy_payload_start
from ..exceptions import EntryFormatError
from .closeable import Closeable
from .regular_file import open_regular_file

_CHUNK_ENTRIES = 65536
"""`read_entries` turns the NumPy arrays of timestamps and duplicate indices into Python ints this many at a time."""
_NOTHING = memoryview(b"")
# Errors that concern one file (it is damaged, and kept); any other OSError, such as running out of descriptors or
# memory, concerns the process, and condemning every file after it would be wrong.
_FILE_ERRORS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EIO, errno.EISDIR, errno.ELOOP})


class EntryRead(NamedTuple):
    """One entry file read by `EntryReader.read_entries`: its payload, or the error that kept it from being read."""

    position: int
    """The entry's position in the arrays `read_entries` was given."""
    time_stamp: int
    """The timestamp from the file's name."""
    duplicate_index: int
    """The duplicate index from the file's name."""
    name: str
    """The file's name."""
    payload: memoryview
    """The payload (valid until the generator resumes); empty if the file could not be read."""
    mtime_ns: int
    """The file's modification time in nanoseconds (0 if it could not be read)."""
    error: EntryFormatError | OSError | None
    """Why the file could not be read, or None."""


def damage_reason(error: EntryFormatError | OSError) -> str | None:
    """Returns why an entry file that could not be read counts as damaged, or None if the error is not the file's.

    Args:
        error: The error of an `EntryRead`.
    """
    if isinstance(error, EntryFormatError):
        return str(error)
    if error.errno in _FILE_ERRORS:
        return f"cannot be read: {error.strerror}"
    return None


class EntryReader(Closeable):
    """Reads entry files of one directory and checks each against the source and timestamp its name declares.

    Args:
        directory: The log directory.
        memory_mapping: Map each file instead of reading it into a new buffer. Mapping saves a copy and is faster
            for entries of megabytes, but costs more than a read for small entries.

    Raises:
        OSError: If the directory cannot be opened.
    """

    def __init__(self, directory: Path, *, memory_mapping: bool = False) -> None:
        self.directory = directory
        """The log directory."""
        self._memory_mapping = memory_mapping
        self._directory_descriptor: int | None = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        self._mapping: mmap.mmap | None = None
        self._payload: memoryview | None = None

    def read(self, name: str, source_id: int, time_stamp: int) -> tuple[memoryview, int]:
        """Reads one entry file and returns its payload and modification time.

        The payload stays valid until the next `read`, `release` or `close` (with memory mapping, it is a view
        into the mapped file).

        Args:
            name: The file's name inside the directory.
            source_id: The source id the name declares.
            time_stamp: The timestamp the name declares.

        Returns:
            The payload and the file's modification time in nanoseconds.

        Raises:
            EntryFormatError: If the file is not a regular file, not an entry, or its content disagrees with its name.
            OSError: If the file cannot be opened or read.
        """
        if self._payload is not None or self._mapping is not None:
            self.release()
        if self._directory_descriptor is None:
            raise ValueError(f"the entry reader of {self.directory} is closed")
        descriptor, status = open_regular_file(name, EntryFormatError, dir_fd=self._directory_descriptor)
        try:
            data: bytes | mmap.mmap
            if self._memory_mapping and status.st_size:
                self._mapping = data = mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
            else:
                data = _read_all(descriptor, status.st_size)
        finally:
            os.close(descriptor)
        entry = decode_entry(memoryview(data))
        payload = entry.payload
        if (entry.source_id, entry.time_stamp) != (source_id, time_stamp):
            # An entry 3.x wrote from a NumPy integer source id wider than a byte holds it whole.
            body = entry_array(memoryview(data))
            start = legacy_payload_start(body, source_id, time_stamp)
            if start is None and entry.source_id != source_id:
                raise EntryFormatError(
                    f"the name says source {source_id} but the content says source {entry.source_id}"
                )
            if start is None:
                raise EntryFormatError(
                    f"the name says timestamp {time_stamp} but the content says timestamp {entry.time_stamp}"
                )
            payload = body[start:]
        if self._mapping is not None:
            self._payload = payload
        return payload, status.st_mtime_ns

    def read_entries(
        self, source_id: int, time_stamps: NDArray[np.uint64], duplicate_indices: NDArray[np.uint64]
    ) -> Iterator[EntryRead]:
        """Reads the entry files of one source in the given order, one file at a time.

        A file that cannot be read is yielded with its error instead of raising it, so each caller decides what a
        damaged file means to it (`damage_reason` tells the file's errors from the process's). Each payload is
        released when the generator resumes.

        Args:
            source_id: The source.
            time_stamps: The entries' timestamps, from their names.
            duplicate_indices: The entries' duplicate indices, from their names, in the same order.
        """
        for first in range(0, time_stamps.size, _CHUNK_ENTRIES):
            stamps = time_stamps[first : first + _CHUNK_ENTRIES].tolist()
            indices = duplicate_indices[first : first + _CHUNK_ENTRIES].tolist()
            for position, (time_stamp, duplicate_index) in enumerate(zip(stamps, indices, strict=True), start=first):
                name = entry_file_name(source_id, time_stamp, duplicate_index)
                try:
                    payload, mtime_ns = self.read(name, source_id, time_stamp)
                except (EntryFormatError, OSError) as error:
                    yield EntryRead(position, time_stamp, duplicate_index, name, _NOTHING, 0, error)
                    continue
                yield EntryRead(position, time_stamp, duplicate_index, name, payload, mtime_ns, None)
                del payload
                self.release()

    def release(self) -> None:
        """Releases the last payload and, with memory mapping, unmaps its file."""
        payload, self._payload = self._payload, None
        if payload is not None:
            # A caller that wrapped the payload in an array keeps it alive; it is then freed with that array.
            with contextlib.suppress(BufferError):
                payload.release()
        mapping, self._mapping = self._mapping, None
        if mapping is not None:
            # Views still alive (held by a traceback, for example) keep the mapping until they are freed.
            with contextlib.suppress(BufferError):
                mapping.close()

    def close(self) -> None:
        """Releases the last payload and the directory descriptor."""
        self.release()
        if self._directory_descriptor is not None:
            os.close(self._directory_descriptor)
            self._directory_descriptor = None


def _read_all(descriptor: int, size: int) -> bytes:
    """Reads a whole file whose size is known (a single read for any entry below 2 GiB)."""
    data = os.read(descriptor, size)
    if len(data) == size:
        return data
    chunks = [data]
    while chunk := os.read(descriptor, 1 << 30):
        chunks.append(chunk)
    return b"".join(chunks)
