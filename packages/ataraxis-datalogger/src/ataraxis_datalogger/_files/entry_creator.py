"""Creating entry files: each appears complete or not at all, and none ever replaces another.

The fast path (Linux) creates an unnamed file in the log folder with `O_TMPFILE`, writes the entry with one
`write`, and gives it its name with `linkat` through `/proc/self/fd`. The file becomes visible only once complete,
`linkat` fails rather than replace an existing name (so an entry of an earlier run in the same folder, or of another
logger writing there, is never overwritten), only one directory entry is created per file, and a crash leaves no
temporary file behind: the kernel frees an unnamed file when its descriptor closes.

Where `O_TMPFILE` is not available (another OS, an old kernel, a file system without it) the same guarantees come
from a hidden temporary name, `link` to the final name (which fails rather than replace) and `unlink` of the
temporary name.

When the name of an entry is taken, the next free duplicate name `..._{n}.npy` is used (see `_entry_format`), so
entries that share a source and timestamp are all kept, numbered in arrival order.
"""

import errno
import itertools
import os
import uuid
from pathlib import Path

from .._format.entry import entry_file_name

_PROC_FD = "/proc/self/fd"
_ANONYMOUS_FLAGS = getattr(os, "O_TMPFILE", 0) | os.O_WRONLY
_MAX_TRACKED_DUPLICATES = 100_000
"""How many (source, timestamp) pairs that had duplicates are remembered; beyond it, the memory is cleared (names
stay correct, since a taken name is always detected, only the probing for the next free one restarts at 1)."""


class EntryCreator:
    """Writes entry files into one folder.

    Args:
        directory: The log folder. It must exist; the writer keeps it open, so entries keep going to this folder
            even if it is renamed, and fail (rather than go elsewhere) if it is removed.

    Raises:
        OSError: If the folder cannot be opened.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        self._next_duplicate: dict[tuple[int, int], int] = {}
        self._temporary_names = (f".adl_{os.getpid()}_{index}.tmp" for index in itertools.count())
        self.anonymous = self._anonymous_files_work()
        """True when files are created unnamed (`O_TMPFILE`), False when through a temporary name."""

    def close(self) -> None:
        """Closes the folder's descriptor."""
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def write(self, source_id: int, time_stamp: int, content: bytes) -> str:
        """Creates the file of one entry.

        Args:
            source_id: The entry's source id.
            time_stamp: The entry's timestamp.
            content: The complete file content.

        Returns:
            The name the file was given.

        Raises:
            OSError: If the file could not be created, written or named. Nothing is left behind in that case.
        """
        if self.anonymous:
            directory = self._dir_fd
            descriptor = os.open(".", _ANONYMOUS_FLAGS, 0o644, dir_fd=directory)
            try:
                written = os.write(descriptor, content)
                if written < len(content):
                    _write_all(descriptor, memoryview(content)[written:])
                source = f"{_PROC_FD}/{descriptor}"
                if (source_id, time_stamp) not in self._next_duplicate:
                    # The common case, inlined: the entry's own name is free.
                    name = entry_file_name(source_id, time_stamp)
                    try:
                        os.link(source, name, src_dir_fd=directory, dst_dir_fd=directory)
                    except FileExistsError:
                        pass
                    else:
                        return name
                return self._link(source, source_id, time_stamp)
            finally:
                os.close(descriptor)
        temporary = next(self._temporary_names)
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=self._dir_fd)
        try:
            try:
                _write_all(descriptor, content)
            finally:
                os.close(descriptor)
            return self._link(temporary, source_id, time_stamp)
        finally:
            os.unlink(temporary, dir_fd=self._dir_fd)

    def explain(self, error: OSError) -> str:
        """Describes a write error, naming the likely cause when the log folder itself is gone.

        Args:
            error: The error raised by `write`.
        """
        try:
            removed = os.fstat(self._dir_fd).st_nlink == 0
        except OSError:
            removed = False
        if removed:
            return f"the log folder was removed ({error})"
        return str(error)

    def sync(self) -> None:
        """Flushes the folder's file system to the disk (for durability across a power loss)."""
        os.fsync(self._dir_fd)
        os.sync()

    def _link(self, source: str, source_id: int, time_stamp: int) -> str:
        """Gives the written file the first free name of its entry; never replaces an existing file."""
        key = (source_id, time_stamp)
        duplicate_index = self._next_duplicate.get(key, 0)
        while True:
            name = entry_file_name(source_id, time_stamp, duplicate_index)
            try:
                os.link(source, name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
            except FileExistsError:
                duplicate_index += 1
                continue
            break
        if duplicate_index:
            if len(self._next_duplicate) >= _MAX_TRACKED_DUPLICATES:
                self._next_duplicate.clear()
            self._next_duplicate[key] = duplicate_index + 1
        return name

    def _anonymous_files_work(self) -> bool:
        """Returns True if an unnamed file can be created, written and linked into the folder here."""
        if not hasattr(os, "O_TMPFILE") or not os.path.isdir(_PROC_FD):
            return False
        probe = f".adl_probe_{uuid.uuid4().hex}"
        try:
            descriptor = os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o644, dir_fd=self._dir_fd)
        except OSError as error:
            if error.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                return False
            raise
        try:
            os.link(f"{_PROC_FD}/{descriptor}", probe, dst_dir_fd=self._dir_fd)
        except OSError:
            return False
        finally:
            os.close(descriptor)
        os.unlink(probe, dir_fd=self._dir_fd)
        return True


def _write_all(descriptor: int, content: bytes | memoryview) -> None:
    """Writes every byte of `content` (a regular file takes it in one call; the loop covers interruptions)."""
    view = memoryview(content)
    while view:
        view = view[os.write(descriptor, view) :]
