"""Who removes an array's segment and semaphore from the system, and when.

Only the process that created an array removes it automatically: at its interpreter exit (normal exit, or the end
of a `multiprocessing` child under any start method) unless `destroy()` ran first. A process that merely connected
never removes anything and never talks to the resource tracker, which is how CPython gh-82300 (attachers registering,
warning about and unlinking segments they do not own) is avoided on every Python version.

The creator also registers both names with `multiprocessing`'s resource tracker, whose only job here is to remove them
if the creator is killed before it can clean up (the tracker then prints its usual leak warning: something did go
wrong). The normal paths unregister first, so they print nothing. Registrations are reference-counted per name
because the tracker keeps a set: unregistering a name twice makes it print a traceback.

Removal checks the token in the segment header, so a process never removes an array of the same name that someone
else created after replacing its own (`create_array(..., exist_ok=True)`).
"""

import contextlib
import os
from collections import Counter
from multiprocessing import resource_tracker, util

from ._posix import unlink_segment, unlink_semaphore
from ._segment import read_token

_EXIT_PRIORITY = -100
"""`multiprocessing.util.Finalize` priority: negative, so it runs after the exit handler has joined the children."""

_registrations: Counter[tuple[str, str]] = Counter()
"""(resource type, name) -> number of live creations of this process registered with the resource tracker."""
_finalizers: dict[tuple[str, bytes], util.Finalize] = {}
"""(segment name, token) -> the exit-time cleanup of an array this process created."""


def _register(rtype: str, name: str) -> None:
    _registrations[(rtype, name)] += 1
    if _registrations[(rtype, name)] == 1:
        resource_tracker.register(name, rtype)


def _unregister(rtype: str, name: str) -> None:
    if _registrations[(rtype, name)] == 0:
        return
    _registrations[(rtype, name)] -= 1
    if _registrations[(rtype, name)] == 0:
        del _registrations[(rtype, name)]
        resource_tracker.unregister(name, rtype)


def start_tracker() -> None:
    """Starts the resource tracker now, so that `claim` later only sends it a message (starting it takes a while)."""
    resource_tracker.ensure_running()


def claim(segment_name: str, semaphore_name: str) -> None:
    """Hands both names to the resource tracker, right after this process created the segment exclusively.

    From then on the tracker removes them if this process is killed, however far the creation has got. The creator
    holds both names: the semaphore's name belongs to whoever holds the segment's (see `replace`).
    """
    _register("shared_memory", segment_name)
    _register("semaphore", semaphore_name)


def unclaim(segment_name: str, semaphore_name: str) -> None:
    """Takes back a `claim` whose creation failed (and whose names were removed)."""
    _unregister("shared_memory", segment_name)
    _unregister("semaphore", semaphore_name)


def adopt(segment_name: str, semaphore_name: str, token: bytes) -> None:
    """Makes this process the owner of a just-created, claimed array: it is removed at exit unless `destroy()` runs."""
    # multiprocessing's Finalize rather than atexit: it also runs at the end of fork and forkserver children, which
    # leave through os._exit and so skip atexit, and it ignores copies inherited by a fork (it checks the pid).
    _finalizers[(segment_name, token)] = util.Finalize(
        None, _remove_at_exit, args=(segment_name, semaphore_name, token), exitpriority=_EXIT_PRIORITY
    )


def remove(segment_name: str, semaphore_name: str, token: bytes) -> bool:
    """Removes the array's segment and semaphore if the segment is still the creation identified by `token`.

    Returns:
        Whether anything was removed (False if it was already gone or replaced by another creation).
    """
    finalizer = _finalizers.pop((segment_name, token), None)
    if finalizer is not None:
        finalizer.cancel()
    removed = read_token(segment_name) == token
    if removed:
        replace(segment_name, semaphore_name)
    # Only now: a process killed between the two steps leaves the removal to the tracker, rather than a leak.
    if finalizer is not None:
        unclaim(segment_name, semaphore_name)
    return removed


def replace(segment_name: str, semaphore_name: str) -> None:
    """Removes whatever segment and semaphore carry these names, so that a new array can take them."""
    # The semaphore goes first: a creator that then wins the segment name can trust that any semaphore it finds
    # under the matching name was left behind by a killed process, never one that a removal is about to unlink.
    with contextlib.suppress(FileNotFoundError):
        unlink_semaphore(semaphore_name)
    with contextlib.suppress(FileNotFoundError):
        unlink_segment(segment_name)


def _remove_at_exit(segment_name: str, semaphore_name: str, token: bytes) -> None:
    # Runs during interpreter shutdown, where an exception would only print a traceback: a failure to remove leaves
    # the names to the resource tracker instead.
    with contextlib.suppress(OSError):
        remove(segment_name, semaphore_name, token)


def _forget_after_fork() -> None:
    # A forked child inherits these tables but owns nothing; it shares the parent's resource tracker, so it must not
    # unregister the parent's names either.
    _registrations.clear()
    _finalizers.clear()


if hasattr(os, "register_at_fork"):  # POSIX only; elsewhere creating an array raises a clear OSError
    os.register_at_fork(after_in_child=_forget_after_fork)
