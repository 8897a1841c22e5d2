"""Array names: which are accepted, and the POSIX names of an array's segment and semaphore derived from them.

Only the POSIX portable filename characters (`A-Z a-z 0-9 . _ -`) are accepted, on every platform:

- the standard library's resource tracker, which removes the array if its owner is killed, writes each name into a
  line of its `cmd:name:type` protocol: a name holding ':' or a newline is never removed after a crash;
- the tracker encodes those lines as ASCII, so any other character fails there, after the segment exists;
- shells, `ls /dev/shm` and other systems' shared-memory namespaces all take these characters literally.

The semaphore's name adds `.lock` to the array's, and macOS allows 31 characters (with the leading '/') for both
kinds of name, so 25 characters is the longest name that works everywhere; Linux allows 246 (its files in `/dev/shm`
may have 255 bytes, and the semaphore's file adds `sem.` and `.lock`).
"""

import re
import sys

from .exceptions import ArrayNameError

SEMAPHORE_SUFFIX = ".lock"
"""The lock of array `x` is the named semaphore `/x.lock` (the file `/dev/shm/sem.x.lock` on Linux)."""
_RESERVED_PREFIX = "sem."
"""Linux keeps named semaphores in `/dev/shm` beside the segments, as `sem.<name>`: a segment named `sem.x.lock` is the
very file of the lock of array `x` (and `sem.mp-...` that of a `multiprocessing` lock), so such names are refused."""
PORTABLE_NAME_LENGTH = 31 - len("/") - len(SEMAPHORE_SUFFIX)
"""The longest name whose segment and semaphore names fit every supported platform (macOS's 31 characters)."""
MAX_NAME_LENGTH = PORTABLE_NAME_LENGTH if sys.platform == "darwin" else 255 - len("sem.") - len(SEMAPHORE_SUFFIX)
"""The longest name this platform accepts."""
_OUTSIDE_PORTABLE_SET = re.compile(r"[^A-Za-z0-9._-]")


def posix_names(name: object) -> tuple[str, str]:
    """Returns the POSIX names of the segment and the semaphore of the array `name`.

    Raises:
        ArrayNameError: `name` is not a str, is empty, `.` or `..`, holds a character outside the portable set,
            starts with `sem.`, or is longer than this platform allows.
    """
    if not isinstance(name, str):
        raise ArrayNameError(f"name must be a str, not {type(name).__name__}: {name!r}")
    if name in ("", ".", ".."):
        message = f"name {name!r} is not a valid array name (expected a non-empty name other than '.' and '..')"
        raise ArrayNameError(message)
    outside = _OUTSIDE_PORTABLE_SET.search(name)
    if outside is not None:
        message = (
            f"name {name!r} contains {outside.group()!r}; array names may hold only A-Z, a-z, 0-9, '.', '_' and '-' "
            f"(the characters every supported system and the resource tracker accept)"
        )
        raise ArrayNameError(message)
    if name.startswith(_RESERVED_PREFIX):
        message = (
            f"name {name!r} starts with {_RESERVED_PREFIX!r}, which is reserved: on Linux named semaphores live beside "
            f"the segments as 'sem.<name>' files (the lock of array 'x' is 'sem.x.lock'), so this array would take or "
            f"remove the file of a lock"
        )
        raise ArrayNameError(message)
    if len(name) > MAX_NAME_LENGTH:
        message = (
            f"name {name!r} is {len(name)} characters long; this platform allows at most {MAX_NAME_LENGTH} "
            f"(at most {PORTABLE_NAME_LENGTH} work on every supported platform)"
        )
        raise ArrayNameError(message)
    return "/" + name, "/" + name + SEMAPHORE_SUFFIX
