"""The logger process: takes packages off the queue and writes each to its own file.

It runs until it receives the run's `StopWriting` message, which the parent sends only once every counted put has
been processed. Anything on the queue that is not a valid `LogPackage` is skipped and reported; an entry that cannot
be written is counted as failed and reported; neither stops the loop. Reports go to the parent through a pipe (the
first few of each kind per run, with their details); the counts go to the shared cells.

The process ignores SIGINT: a Ctrl+C in the terminal reaches every process of the foreground group, and the logger
must outlive it long enough for the parent to call `stop()` and have every entry written.
"""

import reprlib
import signal
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

from .._files.entry_creator import EntryCreator
from .._format.entry import entry_fields
from ..log_package import LogPackage
from .log_queue import LogQueue, StopWriting, Unsendable
from .run_state import SharedRunState

MAX_REPORTS_PER_KIND = 20
"""How many rejected objects and how many failed writes are reported in detail per run; all are counted."""

_FLUSH_EVERY = 256
"""The writer publishes its counts at least every this many entries, and after each batch it reads."""
_SMALL_BATCH = 32
_SMALL_BATCH_BYTES = 64 * 1024
"""A read of fewer messages and bytes than these means the writer is ahead of the producers."""
_GATHER_SECONDS = 0.001
"""How long the writer lets entries gather after a small read: at most this much delay for an entry."""
_IDLE_POLL_SECONDS = 0.25
"""How long the writer waits for an entry before it checks that the logger's owner is still alive."""
_ORPHAN_IDLE_SECONDS = 2.0
"""An orphaned writer (its owner died without stopping it) exits once the queue has been idle this long."""

_loads = ForkingPickler.loads

REJECTED = "rejected"
"""Report kind: an object on the queue was skipped."""
FAILED = "failed"
"""Report kind: an entry could not be written."""
FATAL = "fatal"
"""Report kind: the writer hit an unexpected error and exits."""


class _Tally:
    """The writer's counts not yet published to the shared cells, and its report quota."""

    def __init__(self, shared_state: SharedRunState, reports: Connection) -> None:
        self.shared_state = shared_state
        self.reports = reports
        self.written = self.rejected = self.failed = self.bytes_written = 0
        self.reported = {REJECTED: 0, FAILED: 0}

    @property
    def unpublished(self) -> int:
        return self.written + self.rejected + self.failed

    def publish(self) -> None:
        if self.unpublished:
            self.shared_state.record(self.written, self.rejected, self.failed, self.bytes_written)
            self.written = self.rejected = self.failed = self.bytes_written = 0

    def report(self, kind: str, message: str) -> None:
        if self.reported[kind] < MAX_REPORTS_PER_KIND:
            self.reported[kind] += 1
            self.reports.send((kind, message))


def run_logger_process(
    input_queue: LogQueue,
    shared_state: SharedRunState,
    directory: Path,
    token: str,
    reports: Connection,
    owner_alive: Connection,
) -> None:
    """The logger process's main function.

    Args:
        input_queue: The queue producers put packages on.
        shared_state: The run's shared cells.
        directory: The log folder.
        token: The secret carried by this run's `StopWriting` message.
        reports: The sending end of the pipe to the parent's watchdog.
        owner_alive: The receiving end of a pipe nobody writes to: it reads as closed once the process that owns
            the logger (and every child it forked) is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        files = EntryCreator(directory)
    except OSError as error:
        reports.send((FATAL, f"cannot open the log folder {directory}: {error}"))
        raise SystemExit(1) from None
    try:
        sync = _write_until_stopped(input_queue, _Tally(shared_state, reports), files, token, owner_alive)
        if sync:
            files.sync()
    except BaseException:
        reports.send((FATAL, traceback.format_exc()))
        raise
    finally:
        files.close()
        shared_state.disconnect()


def _write_until_stopped(
    input_queue: LogQueue, tally: _Tally, files: EntryCreator, token: str, owner_alive: Connection
) -> bool:
    """Processes the queue until this run's stop message (or, orphaned, until it idles); returns its sync flag."""
    tally.shared_state.mark_ready()
    idle_since: float | None = None
    while True:
        messages = input_queue.receive_batch(_IDLE_POLL_SECONDS)
        if not messages:
            # Readable means closed: nobody ever writes to this pipe.
            if owner_alive.poll():
                idle_since = idle_since if idle_since is not None else time.monotonic()
                if time.monotonic() - idle_since >= _ORPHAN_IDLE_SECONDS:
                    return False
            continue
        idle_since = None
        for message in messages:
            try:
                item = _loads(message)
            except Exception as error:
                # A class the logger cannot import, a damaged or forged package: the message is consumed, so it is
                # accounted for as rejected.
                tally.rejected += 1
                tally.report(REJECTED, f"an object that could not be unpickled: {error!r}")
                continue
            if type(item) is bytes:
                _write_entry(item, tally, files)
            elif type(item) is LogPackage:
                # Put through multiprocessing.Queue.put itself, bypassing the logger queue's conversion to bytes.
                _write_entry(item.entry_bytes, tally, files)
            elif type(item) is StopWriting and item.token == token:
                tally.publish()
                return item.sync
            elif type(item) is Unsendable:
                tally.rejected += 1
                tally.report(REJECTED, item.description)
            else:
                tally.rejected += 1
                tally.report(REJECTED, f"{reprlib.repr(item)} ({type(item).__name__}, not a LogPackage)")
            if tally.unpublished >= _FLUSH_EVERY:
                tally.publish()
        tally.publish()
        if len(messages) < _SMALL_BATCH and sum(message.nbytes for message in messages) < _SMALL_BATCH_BYTES:
            # The producers are slower than the writer: let entries gather in the pipe rather than waking up (in
            # this process and in the sending one) for every entry, which costs more CPU than writing it.
            time.sleep(_GATHER_SECONDS)


def _write_entry(content: bytes, tally: _Tally, files: EntryCreator) -> None:
    """Writes one entry's file, counting it as written, failed, or rejected if the bytes are not an entry."""
    fields = entry_fields(content)
    if fields is None:
        tally.rejected += 1
        tally.report(REJECTED, f"{reprlib.repr(content)} (bytes that are not a log entry)")
        return
    source_id, time_stamp = fields
    try:
        files.write(source_id, time_stamp, content)
    except OSError as error:
        tally.failed += 1
        tally.report(FAILED, f"entry of source {source_id} at {time_stamp}: {files.explain(error)}")
    else:
        tally.written += 1
        tally.bytes_written += len(content)
