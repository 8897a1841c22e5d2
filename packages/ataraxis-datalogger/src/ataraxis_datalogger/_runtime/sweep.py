"""Removing the segments of runs whose processes were all killed.

A run's segments are removed by `stop()`, or by its logger process when the owner dies. If both are killed (a
`kill -9` of the whole process group, the out-of-memory killer), nobody is left to do it: the next logger started on
the machine does it. A run is stale when its owner and its logger process are both dead (pids are compared within
one pid namespace: every process sharing `/dev/shm` must share it). Buffers of a stale run go with it, and the
entries they still held are lost; the sweep counts them, and a new logger writing to the stale run's log folder
reports them with a `DataLoggerWarning`.
"""

import contextlib
import re
from typing import Final, NamedTuple

from . import _posix
from .control import ControlSegment
from .layout import C_OWNER_PID, C_WRITER_PID, RUN_NAME
from .ring import remove_ring
from .stopping import statistics

_RING_NAME: Final = re.compile(rf"^({RUN_NAME.pattern})r[0-9a-f]+g[0-9a-f]+$")


class StaleRun(NamedTuple):
    """A run swept away."""

    name: str
    """The run's name."""
    owner_pid: int
    """Its owner's pid."""
    directory: str
    """Its log folder ("" if unknown)."""
    unwritten: int
    """Entries its producers had put that were never written (lost with it)."""


def sweep_stale_runs(backend: int) -> list[StaleRun]:
    """Removes every segment (and buffer lock) of runs whose owner and logger process are dead.

    Returns:
        The runs removed.
    """
    names = _posix.segment_names(backend, "adl")
    removed: list[StaleRun] = []
    live_runs = set()
    for name in names:
        match = RUN_NAME.fullmatch(name)
        if match is None:
            continue
        try:
            control = ControlSegment.attach(name, backend)
        except (OSError, ValueError):
            continue
        owner, writer = int(control.words[C_OWNER_PID]), int(control.words[C_WRITER_PID])
        if _posix.process_is_alive(owner) or _posix.process_is_alive(writer):
            control.close()
            live_runs.add(name)
            continue
        try:
            unwritten = statistics(control, final=False).pending
            directory = control.directory
        except (OSError, ValueError):
            unwritten, directory = 0, ""
        control.close()
        with contextlib.suppress(OSError):
            _posix.unlink_segment(backend, name)
            removed.append(StaleRun(name, owner, directory, unwritten))
    buffers = set(_posix.lock_file_names("adl")) | {name for name in names if _RING_NAME.match(name)}
    removed_names = {run.name for run in removed}
    for name in buffers:
        match = _RING_NAME.match(name)
        if match is None or match[1] in live_runs:
            continue
        if match[1] in removed_names or not _posix.process_is_alive(int(match[2], 16)):
            with contextlib.suppress(OSError):
                remove_ring(backend, name)
    return removed
