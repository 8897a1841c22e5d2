"""Telling a segment that is still being written from one whose writer is gone: a lock the kernel releases.

A writer holds an exclusive `flock` on each segment it writes, taken before the segment gets its name, for as long
as it may append to it. The kernel drops the lock when the writer closes the segment or dies, however it dies, so a
reader that can take a shared lock knows that nothing will be appended any more: a record cut short at the end is
then a torn tail (the writer crashed mid-append), not one still being written.

`flock` locks belong to an open file description, so a reader and a writer in the same process (as in the tests)
exclude each other as two processes would. On a file system without `flock` (some network file systems refuse it),
`held_by_writer` cannot know and says True: a reader then treats every segment without a segment end as still being
written, never as torn. These are the package's only `flock` calls on segments; like the rest of the logger, they
need a POSIX system.
"""

import fcntl


def hold(descriptor: int) -> None:
    """Marks the open segment as being written, until the descriptor is closed (or its process dies).

    Args:
        descriptor: The writer's descriptor of the segment (a new file: no one else can hold its lock).
    """
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        # A file system without flock support: readers cannot take the lock either, and so treat the segment as
        # being written (see the module description).
        pass


def held_by_writer(descriptor: int) -> bool:
    """Returns True if a writer still holds the segment open (see the module description).

    Args:
        descriptor: A reader's descriptor of the segment.
    """
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        # A file system without flock support: nothing can be known (see the module description).
        return True
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return False
