"""Replaces a file atomically: readers see the old content or the new one, never a half-written file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Writes text to a file through a temporary file in the same folder, fsynced and then renamed over the target.

    The rename is atomic on POSIX and on Windows (`os.replace`), and the temporary file lives in the target's folder
    so that the rename never crosses file systems. The new file keeps the permissions of the one it replaces (a new
    file gets the usual umask-based ones, not the private ones of `tempfile.mkstemp`). Missing parent folders are
    created. If anything fails, the temporary file is removed and the previous file is untouched.

    Args:
        path: The file to write. A symbolic link is followed, so the link stays and its target is replaced.
        text: The content, written as UTF-8 with LF line endings.

    Raises:
        OSError: The folder cannot be created or written, or the target cannot be replaced (it is a folder, say).
    """
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        previous_mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        previous_mode = None
    # At most 64 bytes of the target's name, so that the temporary name fits wherever the target's name does.
    prefix = os.fsdecode(os.fsencode(path.name)[:64])
    temporary = path.with_name(f".{prefix}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            if previous_mode is not None:
                os.chmod(temporary, previous_mode)
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Makes the rename itself durable: on POSIX a directory's entries reach the disk when the directory is fsynced."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
