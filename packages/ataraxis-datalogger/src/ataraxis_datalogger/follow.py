"""Following a stream log while it is written: `follow_logs` yields entries as they land, for live monitoring."""

import errno
import os
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._files.listing import check_log_directory
from ._files.stream_reader import SegmentReader
from ._format.damage import OnDamage, check_on_damage, handle_damage
from ._format.stream import EndReason, parse_segment_file_name
from ._runtime.settings import check_seconds
from .exceptions import DataLoggerTypeError, StreamFormatError


class FollowedEntry(NamedTuple):
    """One entry of a stream log, as `follow_logs` yields it."""

    source_id: int
    """The source that logged it."""
    time_stamp: int
    """Its time stamp."""
    payload: NDArray[np.uint8]
    """Its payload: a read-only uint8 array (copy it to keep it writable)."""


def follow_logs(
    log_directory: str | os.PathLike[str],
    *,
    poll_interval: float = 0.05,
    stop: threading.Event | None = None,
    from_start: bool = True,
    stop_at_end: bool = True,
    on_damage: OnDamage = "warn",
) -> Generator[FollowedEntry, None, None]:
    """Yields the entries of a stream log as they are written, in arrival order, until the log is closed.

    Every `poll_interval` seconds the folder is listed and each segment still being written is read from where the
    last poll stopped; a new segment (a rotation, or a logger that started) is picked up at the next poll. Every
    record's checksum is verified, as by `read_logs`. Entries come in arrival order: segments in sequence order,
    records in file order (with two loggers writing into one folder, each one's entries stay in their order).

    Only the stream layout (`.adlog` segments) can be followed; entries in `.npy` files or archives are not
    yielded. A follower never changes the folder, and may run in any process, even while a compression runs.

    Args:
        log_directory: The log folder (`DataLogger.output_directory`). It may hold no segment yet: the follower
            waits for the logger to start.
        poll_interval: Seconds between polls: the latency of an entry is at most about this long. A poll costs one
            directory listing and, per segment being written, a lock test, an `fstat` and a read of what is new.
        stop: An event that ends the iteration at the next poll when set (from another thread). Closing the
            generator (leaving a `for` loop with `break`) also ends it.
        from_start: Yield the entries already written (True), or only the entries written from now on (False; the
            segments that exist are still read once, to find where their records end).
        stop_at_end: End the iteration once every logger that wrote into the folder has closed its last segment
            (or died), rather than keep waiting for a logger that may start again.
        on_damage: What a damaged record or torn tail does: a `DamagedLogFilesWarning` naming the file and offset
            (reading goes on), or a `StreamFormatError`.

    Yields:
        Each entry as a `FollowedEntry(source_id, time_stamp, payload)`.

    Raises:
        FileNotFoundError: If the folder does not exist, or (raised by the iteration) if it is removed while followed.
        NotADirectoryError: If it is not a folder.
        DataLoggerTypeError: If `poll_interval` is not a number, `stop` not an event, or `from_start` or
            `stop_at_end` not a boolean.
        DataLoggerValueError: If `poll_interval` is not a finite positive number of seconds.
        ValueError: If `on_damage` is not one of its values.
        StreamFormatError: If a segment's header is damaged, or with `on_damage="raise"`, at damage (raised by the
            iteration; the other errors, but a removed folder, are raised by the call itself, before anything is
            read).
    """
    directory = check_log_directory(log_directory)
    interval = check_seconds(poll_interval, "poll_interval")
    if stop is not None and not (callable(getattr(stop, "is_set", None)) and callable(getattr(stop, "wait", None))):
        raise DataLoggerTypeError(f"stop must be a threading.Event or None, got {stop!r} ({type(stop).__name__})")
    for name, flag in (("from_start", from_start), ("stop_at_end", stop_at_end)):
        if not isinstance(flag, bool | np.bool_):
            raise DataLoggerTypeError(f"{name} must be True or False, got {flag!r}")
    policy = check_on_damage(on_damage)
    # The arguments are checked at the call; the generator below does the work once iterated.
    return _follow(
        _Follower(directory, policy, from_start=bool(from_start)), interval, stop, stop_at_end=bool(stop_at_end)
    )


def _follow(
    follower: "_Follower", poll_interval: float, stop: threading.Event | None, *, stop_at_end: bool
) -> Generator[FollowedEntry, None, None]:
    """Polls the follower until it ends, `stop` is set, or the generator is closed."""
    waiter = stop if stop is not None else threading.Event()
    try:
        while not waiter.is_set():
            for source_id, time_stamp, payload in follower.poll():
                yield FollowedEntry(source_id, time_stamp, np.frombuffer(payload, dtype=np.uint8))
            if stop_at_end and follower.ended():
                return
            # Waiting even after a busy poll lets entries gather: fewer system calls per entry, same latency bound.
            waiter.wait(poll_interval)
    finally:
        follower.close()


class _Follower:
    """The open segments of a followed folder and what is known about each writer's last segment."""

    def __init__(self, directory: Path, on_damage: OnDamage, *, from_start: bool) -> None:
        self._directory = directory
        self._on_damage = on_damage
        self._open: dict[int, SegmentReader] = {}
        self._done: set[int] = set()
        # Per writer id: (writer index, end reason or None while it is not finished) of its newest segment seen.
        self._writers: dict[bytes, tuple[int, EndReason | None]] = {}
        self._skip_existing = not from_start
        self._listed_once = False

    def poll(self) -> Iterator[tuple[int, int, memoryview]]:
        """Yields the records written since the last poll, opening new segments and closing finished ones."""
        self._discover()
        for sequence in sorted(self._open):
            reader = self._open[sequence]
            for _, source_id, time_stamp, payload in reader.records():
                yield source_id, time_stamp, payload
            if reader.finished:
                self._finish(sequence, reader)

    def ended(self) -> bool:
        """True once segments were seen, none is open, and no writer's newest segment announced a successor."""
        if not self._listed_once or self._open or not self._writers:
            return False
        return all(reason not in (None, EndReason.ROTATED) for _, reason in self._writers.values())

    def close(self) -> None:
        """Closes every open segment."""
        for reader in self._open.values():
            reader.close()
        self._open.clear()

    def _discover(self) -> None:
        """Opens the segments that appeared since the last poll."""
        try:
            names = os.listdir(self._directory)
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, "the log folder was removed while it was followed", str(self._directory)
            ) from None
        for name in names:
            sequence = parse_segment_file_name(name)
            if sequence is None or sequence in self._open or sequence in self._done:
                continue
            try:
                reader = SegmentReader(self._directory / name, on_damage=self._on_damage)
            except FileNotFoundError:
                continue  # removed (by a compression) since the listing
            except StreamFormatError as error:
                self._done.add(sequence)
                handle_damage(self._on_damage, error, "that segment")
                continue
            self._open[sequence] = reader
            self._note_writer(reader)
            if self._skip_existing and not self._listed_once:
                # Start at the end of what is written now: read (and drop) the records already there.
                for _ in reader.records():
                    pass
        self._listed_once = True

    def _note_writer(self, reader: SegmentReader) -> None:
        header = reader.header
        newest = self._writers.get(header.writer_id)
        if newest is None or header.writer_index > newest[0]:
            self._writers[header.writer_id] = (header.writer_index, None)

    def _finish(self, sequence: int, reader: SegmentReader) -> None:
        header = reader.header
        reason = reader.end.reason if reader.end is not None else EndReason.CLOSED
        if self._writers.get(header.writer_id, (-1, None))[0] == header.writer_index:
            self._writers[header.writer_id] = (header.writer_index, reason)
        reader.close()
        del self._open[sequence]
        self._done.add(sequence)
