"""The logger process: drains the producers' buffers into the log folder until its run is stopped.

It runs a `Drainer` in a loop, sleeping (100 us, doubling up to 1 ms) only when no buffer had anything new, so an
entry waits at most about a millisecond. It ends once `stop()` has closed every buffer and it has drained each to its
stop target. If the process that owns the logger dies (it watches a pipe only the owner holds), it closes the
buffers itself, drains them, removes every segment of the run and exits.

The process ignores SIGINT and SIGTERM. A Ctrl+C in the terminal reaches every process of the foreground group, and
a service manager (systemd, by default) sends SIGTERM to every process of the service: the logger must outlive
either long enough for the owner to call `stop()` and have every entry written, or, if the signal killed the owner,
to notice and write everything itself. It follows its owner rather than signals: it exits once the owner stopped it
or died, and `stop()` ends a logger process that makes no progress with SIGKILL.
"""

import contextlib
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

from . import _posix
from .control import ControlSegment
from .drain import Drainer, Sink
from .layout import C_HEARTBEAT, C_OWNER_PID, C_SYNC, C_WRITER_PID, C_WRITER_READY, Target
from .reports import DONE, FATAL, PipeReporter, Reporter
from .run_state import ACCEPTING_STATES, RunState
from .sinks import open_sink
from .stopping import close_buffers, remove_buffers

_IDLE_SECONDS: Final = (0.0001, 0.001)
"""The shortest and longest sleep when no buffer had anything new: an entry waits at most about 1 ms."""
_OWNER_CHECK_SECONDS: Final = 0.05
"""How often the loop looks whether the owner is still alive."""
_ORPHAN_LOCK_SECONDS: Final = 5.0
"""How long an orphaned logger waits for a producer holding its buffer's lock before it closes it without."""


def run_logger_process(
    control_name: str,
    backend: int,
    directory: Path,
    sink_settings: dict[str, object],
    reports: Connection,
    owner_alive: Connection,
) -> None:
    """The logger process's main function.

    Args:
        control_name: The run's name (its control segment).
        backend: The run's `_posix` backend.
        directory: The log folder.
        sink_settings: The layout and its settings (see `sinks.open_sink`).
        reports: The sending end of the pipe to the owner's watchdog.
        owner_alive: The receiving end of a pipe nobody writes to: it reads as closed once the process that owns
            the logger (and every child it forked) is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reporter = PipeReporter(reports)
    control = ControlSegment.attach(control_name, backend)
    try:
        sink = open_sink(directory, sink_settings, reporter, recovering=False)
    except OSError as error:
        reports.send((FATAL, f"cannot open the log folder {directory}: {error}"))
        control.close()
        raise SystemExit(1) from None
    drainer = Drainer(control, sink, reporter)
    try:
        drainer.recover()
        control.words[C_WRITER_PID] = os.getpid()
        control.words[C_WRITER_READY] = 1
        orphaned = drain_until_stopped(control, drainer, sink, owner_alive)
        if control.words[C_SYNC]:
            sink.sync()
        sink.close()
        drainer.close()
        if orphaned:
            remove_buffers(control)
            # The owner registered it with the tracker this process shares.
            _posix.untrack(control.backend, control.name, lock=False)
            control.destroy()
        else:
            control.close()
        # Its exit code may never reach the owner (if the fork server was killed), this report does; an owner that
        # died has closed the pipe.
        with contextlib.suppress(OSError):
            reports.send((DONE, ""))
    except BaseException:
        with contextlib.suppress(OSError):
            reports.send((FATAL, traceback.format_exc()))
        raise


def drain_until_stopped(control: ControlSegment, drainer: Drainer, sink: Sink, owner_alive: Connection | None) -> bool:
    """Drains until every buffer reaches its stop target; returns True if the owner died meanwhile.

    Args:
        control: The run's control segment.
        drainer: The drainer.
        sink: The drainer's sink.
        owner_alive: The owner-watch pipe (None when the owner itself drains).
    """
    words = control.words
    idle = _IDLE_SECONDS[0]
    next_owner_check = 0.0
    targets: dict[int, tuple[Target, int, int]] | None = None
    orphaned = False
    while True:
        if targets is None:
            targets = control.targets()
        drained, busy = drainer.cycle(targets)
        words[C_HEARTBEAT] = time.monotonic_ns()
        if targets is not None and not drained and not busy and drainer.reached(targets):
            return orphaned
        now = time.monotonic()
        if owner_alive is not None and not orphaned and now >= next_owner_check:
            next_owner_check = now + _OWNER_CHECK_SECONDS
            # Readable means closed: nobody ever writes to this pipe. Children the owner forked hold it open too,
            # so the owner's pid is checked as well.
            if owner_alive.poll() or not _posix.process_is_alive(int(words[C_OWNER_PID])):
                orphaned = True
                control.transition(RunState.ORPHANED, only_from=ACCEPTING_STATES | {RunState.STOPPING})
                if targets is None:
                    close_buffers(control, _ORPHAN_LOCK_SECONDS)
                continue
        if drained:
            idle = _IDLE_SECONDS[0]
        elif busy:
            time.sleep(0)
        else:
            sink.idle()
            time.sleep(idle)
            idle = min(idle * 2, _IDLE_SECONDS[1])


def drain_in_owner(
    control: ControlSegment,
    directory: Path,
    sink_settings: dict[str, object],
    reporter: Reporter,
    give_up_seconds: float,
) -> str | None:
    """Drains the buffers from the owner's process after the logger process died (`stop()` calls it).

    Args:
        control: The run's control segment (the buffers are closed and their targets set).
        directory: The log folder.
        sink_settings: The layout and its settings.
        reporter: Receives descriptions of what went wrong with single entries.
        give_up_seconds: How long to go on without any progress before giving up.

    Returns:
        Why the drain stopped short, or None if every buffer reached its target.
    """
    try:
        sink = open_sink(directory, sink_settings, reporter, recovering=True)
    except OSError as error:
        return f"the log folder {directory} cannot be opened ({error})"
    drainer = Drainer(control, sink, reporter)
    try:
        drainer.recover()
        targets = control.targets() or {}
        last_progress = time.monotonic()
        while not drainer.reached(targets):
            drained, busy = drainer.cycle(targets)
            if drained:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > give_up_seconds:
                return f"no progress for {give_up_seconds:g} s"
            elif not busy:
                time.sleep(_IDLE_SECONDS[1])
        if control.words[C_SYNC]:
            sink.sync()
        return None
    finally:
        sink.close()
        drainer.close()
