"""Opening a file of a log directory for reading, never blocking on a special file and never following a link.

Opening a FIFO that has no writer blocks forever, and so does a read of some devices; a name in a log directory
can be anything a user or a program put there. Every file this package reads is therefore opened with
`O_NONBLOCK` (which changes nothing for a regular file) and checked with `fstat` on the opened descriptor, so
what is read is what was checked. Symbolic links are not followed (`O_NOFOLLOW`): the logger never creates one, a
link may lead out of the log directory, and removing it after archiving would leave its target behind.

`O_NONBLOCK` and `O_NOFOLLOW` are POSIX; the package runs on POSIX systems only (it locks with `flock`).
"""

import errno
import os
import stat
from collections.abc import Callable

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def describe_file_kind(mode: int) -> str:
    """Returns what a file of this mode is, in words ("a FIFO", "a directory", ...; "a regular file").

    Args:
        mode: An `st_mode` value.
    """
    for test, kind in _FILE_KINDS:
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def open_regular_file(
    name: str | os.PathLike[str],
    not_regular: Callable[[str], Exception],
    dir_fd: int | None = None,
    *,
    follow_symlinks: bool = False,
) -> tuple[int, os.stat_result]:
    """Opens a regular file for reading without blocking, and returns its descriptor and status.

    Args:
        name: The file's name inside `dir_fd`, or its path.
        not_regular: Makes the error raised for anything that is not a regular file, from a reason such as "not a
            regular file: it is a FIFO" (each caller raises its own format error).
        dir_fd: A descriptor of the directory holding the file, or None for a path.
        follow_symlinks: Open the target if the file is a symbolic link (only for paths a user gave explicitly).

    Returns:
        A blocking descriptor of the file, open for reading (the caller closes it), and its status.

    Raises:
        Exception: What `not_regular` makes, if it is a symbolic link (unless followed), a FIFO, a directory, a
            device or a socket.
        OSError: If it cannot be opened for another reason.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        descriptor = os.open(name, flags, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP and not follow_symlinks:
            raise not_regular("not a regular file: it is a symbolic link") from None
        raise
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise not_regular(f"not a regular file: it is {describe_file_kind(status.st_mode)}")
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor, status
