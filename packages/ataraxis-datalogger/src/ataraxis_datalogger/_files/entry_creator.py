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

import contextlib
import errno
import itertools
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .._format.entry import entry_file_name

Buffer = bytes | bytearray | memoryview
"""A piece of an entry file's content."""

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

    def write(self, source_id: int, time_stamp: int, content: bytes | Sequence[Buffer]) -> str:
        """Creates the file of one entry.

        Args:
            source_id: The entry's source id.
            time_stamp: The entry's timestamp.
            content: The complete file content, or consecutive pieces of it.

        Returns:
            The name the file was given.

        Raises:
            OSError: If the file could not be created, written or named. Nothing is left behind in that case.
        """
        pending = self.create(content)
        try:
            return self.link(pending, source_id, time_stamp)
        finally:
            self.discard(pending)

    def create(self, content: bytes | Sequence[Buffer]) -> "UnnamedEntry":
        """Writes an entry's content into a file that has no entry name yet (`link` gives it one).

        Args:
            content: The complete file content, or consecutive pieces of it.

        Returns:
            The unnamed file: its inode and device identify it once it is linked; pass it to `discard` when done.

        Raises:
            OSError: If the file could not be created or written. Nothing is left behind in that case.
        """
        pieces: list[Buffer] = [content] if isinstance(content, bytes | bytearray | memoryview) else list(content)
        if self.anonymous:
            descriptor = os.open(".", _ANONYMOUS_FLAGS, 0o644, dir_fd=self._dir_fd)
            source = f"{_PROC_FD}/{descriptor}"
        else:
            source = next(self._temporary_names)
            descriptor = os.open(source, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=self._dir_fd)
        try:
            _write_all(descriptor, pieces)
            status = os.fstat(descriptor)
        except BaseException:
            os.close(descriptor)
            if not self.anonymous:
                os.unlink(source, dir_fd=self._dir_fd)
            raise
        return UnnamedEntry(descriptor, source, status.st_ino, status.st_dev)

    def link(self, entry: "UnnamedEntry", source_id: int, time_stamp: int) -> str:
        """Gives a created file the first free name of its entry; never replaces an existing file.

        Returns:
            The name the file was given.

        Raises:
            OSError: If the file could not be named.
        """
        if self.anonymous and (source_id, time_stamp) not in self._next_duplicate:
            # The common case, inlined: the entry's own name is free.
            name = entry_file_name(source_id, time_stamp)
            try:
                os.link(entry.source, name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
            except FileExistsError:
                pass
            else:
                return name
        return self._link(entry.source, source_id, time_stamp)

    def discard(self, entry: "UnnamedEntry") -> None:
        """Closes a created file; an unnamed one is then freed (a temporary name is removed)."""
        os.close(entry.descriptor)
        if not self.anonymous:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.source, dir_fd=self._dir_fd)

    def linked_name(self, source_id: int, time_stamp: int, inode: int, device: int) -> str | None:
        """Returns the name of the entry file of this source and timestamp that is the file `(inode, device)`, if any.

        A logger process killed between naming an entry file and recording that it did leaves this question to
        whoever takes over: the file's identity was recorded before it was named.
        """
        prefix = entry_file_name(source_id, time_stamp)[: -len(".npy")]
        with os.scandir(self._dir_fd) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".npy"):
                    with contextlib.suppress(OSError):
                        status = entry.stat(follow_symlinks=False)
                        if (status.st_ino, status.st_dev) == (inode, device):
                            return entry.name
        return None

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


class UnnamedEntry(NamedTuple):
    """An entry file created and written, before it has its name."""

    descriptor: int
    """The open file."""
    source: str
    """What `link` links from: its `/proc/self/fd` path, or its temporary name."""
    inode: int
    """The file's inode number."""
    device: int
    """The file's device."""


def _write_all(descriptor: int, pieces: list[Buffer]) -> None:
    """Writes every byte of the pieces (a regular file takes them in one call; the loop covers interruptions)."""
    views = [memoryview(piece).cast("B") for piece in pieces]
    while views:
        written = os.writev(descriptor, views) if len(views) > 1 else os.write(descriptor, views[0])
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]
