"""Reads a config file, and replaces one atomically: readers see the old content or the new one, never a mix.

This is the package's one place for operating-system specifics: `O_NOFOLLOW` (POSIX; elsewhere a symbolic link is
detected with `Path.is_symlink`), `O_NONBLOCK` (POSIX; elsewhere there are no FIFOs to wait on), `fchmod` (POSIX;
elsewhere `chmod` by path) and fsyncing a folder (POSIX only; Windows has no such call and makes renames durable by
itself). A save costs few system calls, since on some machines (sandboxes, network shares) each one that touches a
folder costs a good part of a millisecond: the old file is opened and read once, for both its permissions and its
content.

Files are opened without blocking and checked with `fstat` on the opened descriptor before anything is read or
replaced: opening a FIFO that has no writer would wait forever, and a save through a link to a device (`/dev/null`)
must not replace the device with a regular file. A config is a regular file; anything else is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import secrets
import stat
from pathlib import Path

from .exceptions import ConfigFileError, ConfigNotFoundError

_READ_LIMIT = 16 << 20
"""Old files larger than this are not read back for their comments (a config is a few kilobytes)."""


@dataclasses.dataclass(frozen=True)
class Existing:
    """The file a save is about to replace."""

    target: Path
    """The file to replace: the path itself, or the file a symbolic link at the path points to."""
    mode: int | None
    """The permission bits of the existing file, or None when there is none."""
    content: bytes | None
    """The existing file's bytes, or None when there is no file (or it is too large or unreadable)."""


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""Opening for reading never waits (a FIFO without a writer), and reads bytes as they are on Windows too."""

_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def read_config(path: Path) -> bytes:
    """Reads a config file's bytes, refusing anything but a regular file (symbolic links are followed).

    Args:
        path: The file.

    Returns:
        Its content.

    Raises:
        ConfigNotFoundError: There is no file at the path.
        ConfigFileError: The path names a FIFO, a device or a socket.
        OSError: The file cannot be opened or read (no permission, a loop of symbolic links, a folder).
    """
    try:
        descriptor = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigNotFoundError(path) from None
    try:
        status = os.fstat(descriptor)
        _require_regular(status.st_mode, path, "")
        return _read_all(descriptor, status.st_size)
    finally:
        os.close(descriptor)


def read_existing(path: Path) -> Existing:
    """Finds out what a save to `path` replaces: the real target, its permissions and its content.

    Args:
        path: The path given to the save.

    Returns:
        What is there now.

    Raises:
        ConfigFileError: The path (or the target of the symbolic link it is) names a FIFO, a device or a socket,
            which a save must not replace.
        PermissionError: The existing file is read-only for this process (the rename would replace it anyway).
        OSError: The path is a loop of symbolic links or a folder, or the existing file cannot be opened.
    """
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if not nofollow and path.is_symlink():  # the portable fallback of O_NOFOLLOW
        return read_existing(_resolve(path))
    try:
        descriptor = os.open(path, _READ_FLAGS | nofollow)
    except FileNotFoundError:
        return Existing(path, None, None)
    except OSError:
        if path.is_symlink():  # O_NOFOLLOW refuses a link (ELOOP): the link stays and its target is replaced
            return read_existing(_resolve(path))
        raise
    try:
        status = os.fstat(descriptor)
        _require_regular(status.st_mode, path, "cannot save over it: ")
        if not _writable(status, path):
            problem = f"{os.strerror(errno.EACCES)}: the file is read-only; make it writable to save over it"
            raise PermissionError(errno.EACCES, problem, str(path))
        mode = stat.S_IMODE(status.st_mode)
        content = _read_all(descriptor, status.st_size) if status.st_size <= _READ_LIMIT else None
    finally:
        os.close(descriptor)
    return Existing(path, mode, content)


def _require_regular(mode: int, path: Path, action: str) -> None:
    """Refuses what is not a regular file: a folder as the `IsADirectoryError` the system reports for it elsewhere."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    kind = next((kind for test, kind in _FILE_KINDS if test(mode)), "not a file")
    raise ConfigFileError(f"{action}not a regular file: it is {kind}", path)


def _writable(status: os.stat_result, path: Path) -> bool:
    """Tells whether this process may write the file, as writing it in place would require.

    The atomic rename needs only a writable folder, so it would replace a file that a person made read-only to
    protect it. The permission bits settle it without a system call in the usual case (the owner saving its own
    writable file); `os.access` confirms a refusal, since an access control list may grant what the bits do not.
    POSIX only: Windows refuses to replace a read-only file by itself.
    """
    if not hasattr(os, "geteuid"):
        return True
    user = os.geteuid()
    if user == 0:
        return True
    if status.st_uid == user:
        allowed = status.st_mode & stat.S_IWUSR
    elif status.st_gid == os.getegid() or status.st_gid in os.getgroups():
        allowed = status.st_mode & stat.S_IWGRP
    else:
        allowed = status.st_mode & stat.S_IWOTH
    return bool(allowed) or os.access(path, os.W_OK)


def _resolve(link: Path) -> Path:
    """Returns the file a symbolic link leads to, following links on the way; a loop is the OSError it is."""
    try:
        target = link.resolve()
    except RuntimeError:  # Python before 3.13 reports a loop of links as a RuntimeError
        target = link
    if target.is_symlink():  # Python 3.13 returns a path still inside the loop
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(link))
    return target


def _read_all(descriptor: int, size: int) -> bytes:
    chunks = []
    total = 0
    while True:
        chunk = os.read(descriptor, size - total + 1 if total <= size else 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total == size:  # the size fstat reported: no further read needed to see the end
            break
    return b"".join(chunks)


def write_atomically(existing: Existing, text: str, *, durable: bool) -> None:
    """Writes text to a file through a temporary file in the same folder, then renames it over the target.

    The rename is atomic on POSIX and on Windows (`os.replace`), and the temporary file lives in the target's folder
    so that the rename never crosses file systems: a reader, or a writer killed at any instant, sees the old file or
    the new one. With `durable`, the temporary file is fsynced before the rename and the folder after it, so that
    the new file also survives a power cut or a kernel crash right after the call returns; without it, the operating
    system writes the file back within seconds, and a power cut before then can leave the old file (or, on some file
    systems, an empty one). The new file keeps the permissions of the one it replaces (a new file gets the usual
    umask-based ones, not the private ones of `tempfile.mkstemp`). Missing parent folders are created. If anything
    fails, the temporary file is removed and the previous file is untouched.

    Args:
        existing: What the save replaces (from `read_existing`); a symbolic link stays and its target is replaced.
        text: The content, written as UTF-8 with LF line endings.
        durable: Whether to fsync the file and its folder before returning.

    Raises:
        OSError: The folder cannot be created or written, or the target cannot be replaced (it is a folder, say).
    """
    path = existing.target
    # At most 64 bytes of the target's name, so that the temporary name fits wherever the target's name does.
    prefix = os.fsdecode(os.fsencode(path.name)[:64])
    temporary = path.with_name(f".{prefix}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(temporary, flags, 0o666)
    except FileNotFoundError:  # the folder does not exist yet (checked only then: a save is a few system calls)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, flags, 0o666)
    try:
        try:
            if existing.mode is not None:
                _set_mode(descriptor, temporary, existing.mode)
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(descriptor, data) :]
            if durable:
                os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if durable:
        _sync_folder(path.parent)


def _set_mode(descriptor: int, path: Path, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, mode)
    else:  # the portable fallback
        os.chmod(path, mode)


def _sync_folder(folder: Path) -> None:
    """Makes the rename itself durable: on POSIX a directory's entries reach the disk when the directory is fsynced."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
