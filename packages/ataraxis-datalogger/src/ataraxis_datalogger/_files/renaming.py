"""Renaming into place only if nothing is there yet (`rename_no_replace`), or swapping two names (`exchange`).

`os.rename` replaces an existing file (and an empty folder) without a word, so "check that the target is free, then
rename" lets two writers that checked at the same moment replace each other's work. Linux renames without replacing
in one system call (`renameat2` with `RENAME_NOREPLACE`, called through the C library, which Python's `os` module
does not expose). Elsewhere, and on file systems that refuse the flag, a portable fallback (exercised by the tests
on Linux) claims the name first: a hard link for a file (`link` fails if the name exists) and an empty folder for
a folder (`mkdir` fails if the name exists, and `rename` may replace the empty folder it made).

Replacing a folder by another in one step is impossible with `rename` (it replaces only an empty folder); Linux
swaps two names in one system call (`renameat2` with `RENAME_EXCHANGE`), so that a reader sees one or the other,
never neither. `exchange` says when it cannot, and the caller then sets the old folder aside first.
"""

import contextlib
import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

_RENAME_NOREPLACE: Final = 1
_RENAME_EXCHANGE: Final = 2
_AT_FDCWD: Final = -100
_FLAG_REFUSED: Final = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})
"""What `renameat2` returns when the kernel or the file system does not know the flag: the fallback is used."""
_NO_HARD_LINKS: Final = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV})


def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """Returns the C library's `renameat2`, or None where there is none (not Linux, or glibc before 2.28)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def rename_no_replace(source: Path, target: Path) -> None:
    """Renames `source` (a file or a folder) to `target`, which must not exist: nothing is ever replaced.

    Args:
        source: What to rename.
        target: Its new name, in the same file system.

    Raises:
        FileExistsError: If anything (a file, a folder, even empty, a link) exists at `target`; nothing changed.
        OSError: If the rename fails otherwise.
    """
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in _FLAG_REFUSED:
            raise OSError(code, os.strerror(code), str(source), None, str(target))
    _claim_and_rename(source, target)


def _claim_and_rename(source: Path, target: Path) -> None:
    """The portable fallback: claims `target` with a hard link (a file) or an empty folder, then renames over it."""
    if source.is_dir() and not source.is_symlink():
        os.mkdir(target)
        try:
            os.rename(source, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.rmdir(target)
            raise
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        # A file system without hard links: the check and the rename are two steps, the best it allows.
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.rename(source, target)
        return
    os.unlink(source)


def exchange(first: Path, second: Path) -> bool:
    """Swaps the names of `first` and `second` (files or folders, both existing) in one step, where the system can.

    Args:
        first: One of the two.
        second: The other, in the same file system.

    Returns:
        True if they were swapped; False if the system cannot swap names (nothing changed).

    Raises:
        FileNotFoundError: If either does not exist; nothing changed.
        OSError: If the swap fails otherwise.
    """
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _FLAG_REFUSED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))
