"""Appending records to the segment files of a stream log: `StreamSegmentWriter`.

The writer never walks records: the caller (the logger process) hands it byte ranges that already hold whole records
in their on-disk form, with their count, and the writer appends them with `pwritev`. Its guarantees:

- **Segments appear complete and are never overwritten.** A segment is created unnamed (`O_TMPFILE`), given its
  header and its writer's lock (see `segment_lock`), and only then linked to its name, which fails rather than
  replace an existing file: a restarted writer, or a second writer in the same folder, takes the next free sequence
  number. Without `O_TMPFILE`, a hidden temporary name and `link` give the same guarantees.
- **Rotation happens between writes.** Before a write that would take the current segment past `segment_bytes`
  (segment end included), the segment gets its segment end and a new one is started; a segment exceeds the limit
  only when a single write is larger than it (then it holds that write alone). Records never straddle segments.
- **A failed write leaves nothing that reads as a record.** If `pwritev` fails midway (a full disk, an I/O error),
  the segment is truncated back to where the write started; if even that fails, the segment is abandoned as it is
  (its partial record fails its checksum, so readers report a torn tail) and the next write starts a new segment.
- **The sync policy bounds what a power cut costs.** `"none"`: never `fdatasync` (the kernel writes dirty pages back
  within about 30 s on Linux defaults, but nothing is promised). `"rotate"`: `fdatasync` every segment as it is
  closed, so a power cut costs at most the current segment. A number of seconds N: also `fdatasync` once N seconds
  have passed since the last sync, at the next `write` or `sync_if_due` call, so a power cut costs at most about N
  seconds of entries provided the caller calls `sync_if_due` at least that often when idle.
"""

import contextlib
import errno
import itertools
import math
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

import numpy as np

from .._format.stream import (
    ALIGNMENT,
    SEGMENT_END_SIZE,
    EndReason,
    SegmentEnd,
    SegmentHeader,
    encode_header,
    encode_segment_end,
    parse_segment_file_name,
    segment_file_name,
)
from ..exceptions import DataLoggerTypeError, DataLoggerValueError
from . import segment_lock

SyncPolicy = Literal["none", "rotate"] | float
"""When the writer makes written records durable: `"none"`, `"rotate"`, or every N seconds (see the module)."""

DEFAULT_SEGMENT_BYTES: Final = 64 << 20
"""The default size at which a segment is closed and the next one started."""

MIN_SEGMENT_BYTES: Final = 4096
"""The smallest allowed `segment_bytes`."""

_PROC_FD: Final = "/proc/self/fd"
_MAX_PIECES: Final = min(1024, os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024)
_NO_DIRECTORY: Final = -1
_NO_ANONYMOUS_FILES: Final = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT})
"""Errors that say the file system (or a missing /proc) does not allow unnamed files: a temporary name is used."""


class StreamSegmentWriter:
    """Appends records to the segments of a stream log in one folder (see the module description).

    The first segment is created at once, so an unusable folder fails here rather than at the first write.

    Args:
        directory: The log folder. It must exist; the writer keeps it open, so segments keep going to this folder
            even if it is renamed, and fail (rather than go elsewhere) if it is removed.
        segment_bytes: The size at which a segment is closed and the next started, at least `MIN_SEGMENT_BYTES`.
        sync: `"none"`, `"rotate"` or a positive number of seconds (see the module description).
        instance_name: The logger's name, recorded in every segment's header.

    Raises:
        DataLoggerTypeError: If an argument has the wrong type.
        DataLoggerValueError: If `segment_bytes` or `sync` is out of range.
        ValueError: If the name does not fit a header.
        OSError: If the folder cannot be opened or the first segment cannot be created.
    """

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        sync: SyncPolicy = "rotate",
        instance_name: str = "",
    ) -> None:
        if isinstance(segment_bytes, bool) or not isinstance(segment_bytes, int):
            raise DataLoggerTypeError(f"segment_bytes must be an integer, got {segment_bytes!r}")
        if segment_bytes < MIN_SEGMENT_BYTES:
            raise DataLoggerValueError(f"segment_bytes must be at least {MIN_SEGMENT_BYTES}, got {segment_bytes}")
        self._interval = check_sync_policy(sync)
        self._sync_on_close = sync != "none"
        if not isinstance(instance_name, str):
            raise DataLoggerTypeError(f"instance_name must be a string, got {instance_name!r}")
        encode_header(SegmentHeader(0, 0, bytes(16), 0, instance_name))  # checks that the name fits a header
        self.directory = directory
        """The log folder."""
        self.segment_bytes = segment_bytes
        """The size at which a segment is closed."""
        self.sync_policy: SyncPolicy = sync
        """The sync policy."""
        self.instance_name = instance_name
        """The name recorded in every segment's header."""
        self.writer_id = uuid.uuid4().bytes
        """16 random bytes recorded in every segment of this writer."""
        self.records_written = 0
        """Records appended, over all segments."""
        self.bytes_written = 0
        """Record bytes appended, over all segments (headers and segment ends excluded)."""
        self.segments: list[Path] = []
        """Every segment this writer created, in order."""
        self._anonymous = hasattr(os, "O_TMPFILE") and os.path.isdir(_PROC_FD)
        self._directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._fd = -1
        self._sequence = -1
        self._size = 0
        self._records = 0
        self._broken = False
        self._directory_synced = True
        self._unsynced = False
        self._last_sync = time.monotonic()
        self._temporary_names = (f".stream_{os.getpid()}_{self.writer_id.hex()}_{n}.tmp" for n in itertools.count())
        try:
            self._start_segment()
        except BaseException:
            os.close(self._directory_fd)
            self._directory_fd = _NO_DIRECTORY
            raise

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._directory_fd == _NO_DIRECTORY

    @property
    def path(self) -> Path | None:
        """The segment being written, or None once closed."""
        return self.segments[-1] if self._fd >= 0 else None

    def write(self, pieces: Sequence[memoryview | bytes | bytearray], records: int) -> None:
        """Appends whole records, in order.

        Args:
            pieces: Consecutive byte ranges holding whole records in their on-disk form; a record may span two
                consecutive pieces. Their total length is a multiple of 8 (every record is padded).
            records: How many records the pieces hold.

        Raises:
            ValueError: If the writer is closed, `records` is negative or the total length is not a multiple of 8.
            OSError: If the disk refused the write; nothing of this write is then left in a segment (see the module
                description), and the next write may succeed. `FileNotFoundError` if the segment being written was
                removed (the next write starts a new one) or the log folder was.
        """
        if self.closed:
            raise ValueError(f"the stream writer of {self.directory} is closed")
        if records < 0:
            raise ValueError(f"records must not be negative, got {records}")
        views = [memoryview(piece).cast("B") for piece in pieces]
        total = sum(len(view) for view in views)
        if total % ALIGNMENT:
            raise ValueError(f"records are padded to multiples of {ALIGNMENT} bytes; the pieces hold {total} bytes")
        if total == 0:
            return
        # The segment is written through its descriptor, which works on after the file (or the whole folder) was
        # removed: without this look, records would go into a deleted file and count as written.
        if self._fd >= 0 and not self._broken and os.fstat(self._fd).st_nlink == 0:
            self._broken = True
            raise self._removal()
        if self._broken or self._fd < 0:
            if os.fstat(self._directory_fd).st_nlink == 0:
                raise self._removal()
            self._replace_broken_segment()
        elif self._records and self._size + total + SEGMENT_END_SIZE > self.segment_bytes:
            self._rotate(EndReason.ROTATED)
        start = self._size
        try:
            _pwrite_all(self._fd, views, start)
        except OSError:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                self._broken = True
            raise
        self._size = start + total
        self._records += records
        self.records_written += records
        self.bytes_written += total
        self._unsynced = True
        if self._interval is not None:
            self.sync_if_due()

    def sync(self) -> None:
        """Makes every record written so far durable (`fdatasync`, and the folder once per new segment).

        Raises:
            OSError: If the disk reports an error.
        """
        if self._fd >= 0:
            os.fdatasync(self._fd)
        if not self._directory_synced and self._directory_fd != _NO_DIRECTORY:
            os.fsync(self._directory_fd)
            self._directory_synced = True
        self._unsynced = False
        self._last_sync = time.monotonic()

    def sync_if_due(self) -> None:
        """Syncs if the policy's interval has passed since the last sync and records were written since.

        Does nothing under the `"none"` and `"rotate"` policies. It costs a clock read: the writing process calls it
        whenever it is idle, which bounds how long written records stay unsynced.

        Raises:
            OSError: If the disk reports an error.
        """
        if self._interval is not None and self._unsynced and time.monotonic() - self._last_sync >= self._interval:
            self.sync()

    def close(self) -> None:
        """Ends the current segment with its segment end (synced unless the policy is `"none"`). Idempotent.

        Raises:
            OSError: If the segment end could not be written or synced; the writer is closed all the same.
        """
        if self.closed:
            return
        try:
            if self._fd >= 0 and not self._broken:
                self._end_segment(EndReason.CLOSED)
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            os.close(self._directory_fd)
            self._directory_fd = _NO_DIRECTORY

    def __enter__(self) -> "StreamSegmentWriter":
        """Returns the writer itself."""
        return self

    def __exit__(self, *exception: object) -> None:
        """Closes the writer."""
        self.close()

    def _removal(self) -> FileNotFoundError:
        """Describes the removal of the log folder, or else of the segment being written, and what it took."""
        if os.fstat(self._directory_fd).st_nlink == 0:
            return FileNotFoundError(errno.ENOENT, f"the log folder {self.directory} was removed")
        return FileNotFoundError(
            errno.ENOENT,
            f"the segment {self.segments[-1].name} was removed while it was written, with the {self._records} "
            "records it held; the next entries go to a new segment",
        )

    def _rotate(self, reason: EndReason) -> None:
        """Ends the current segment and starts the next."""
        try:
            self._end_segment(reason)
        finally:
            os.close(self._fd)
            self._fd = -1
        self._start_segment()

    def _replace_broken_segment(self) -> None:
        """Leaves a segment whose failed write could not be undone as it is, and starts the next."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._broken = False
        self._start_segment()

    def _end_segment(self, reason: EndReason) -> None:
        """Appends the segment end and, unless the policy is `"none"`, syncs the segment."""
        end = encode_segment_end(SegmentEnd(self._records, self._size, reason, time.time_ns()))
        try:
            _pwrite_all(self._fd, [memoryview(end)], self._size)
        except OSError:
            # A partial segment end would read as a torn tail; without one, the segment reads as unclosed, whole.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(end)
        if self._sync_on_close:
            self.sync()

    def _start_segment(self) -> None:
        """Creates the next segment under the next free sequence number, its header written and its lock held."""
        sequence = self._sequence + 1 if self._sequence >= 0 else self._next_free_sequence()
        if self._anonymous:
            try:
                descriptor = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=self._directory_fd)
            except OSError as error:
                if error.errno not in _NO_ANONYMOUS_FILES:
                    raise
                self._anonymous = False
            else:
                try:
                    sequence = self._publish(descriptor, f"{_PROC_FD}/{descriptor}", None, sequence)
                except OSError as error:
                    os.close(descriptor)
                    if error.errno not in _NO_ANONYMOUS_FILES:
                        raise
                    self._anonymous = False
                else:
                    self._adopt(descriptor, sequence)
                    return
        temporary = next(self._temporary_names)
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
        descriptor = os.open(temporary, flags, 0o644, dir_fd=self._directory_fd)
        try:
            sequence = self._publish(descriptor, temporary, self._directory_fd, sequence)
        except BaseException:
            os.close(descriptor)
            raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=self._directory_fd)
        self._adopt(descriptor, sequence)

    def _publish(self, descriptor: int, source: str, source_directory: int | None, sequence: int) -> int:
        """Locks a new file, writes its header and links it to the first free segment name; returns its sequence."""
        segment_lock.hold(descriptor)
        index = len(self.segments)
        while True:
            header = encode_header(SegmentHeader(sequence, time.time_ns(), self.writer_id, index, self.instance_name))
            _pwrite_all(descriptor, [memoryview(header)], 0)
            try:
                name = segment_file_name(sequence)
                os.link(source, name, src_dir_fd=source_directory, dst_dir_fd=self._directory_fd)
            except FileExistsError:
                sequence = max(sequence + 1, self._next_free_sequence())
                continue
            self._size = len(header)
            return sequence

    def _adopt(self, descriptor: int, sequence: int) -> None:
        """Makes a just published segment the current one."""
        self._fd = descriptor
        self._sequence = sequence
        self._records = 0
        self._directory_synced = False
        self.segments.append(self.directory / segment_file_name(sequence))

    def _next_free_sequence(self) -> int:
        """Returns one more than the highest sequence number of the segments in the folder (0 if there is none)."""
        numbers = (parse_segment_file_name(name) for name in os.listdir(self._directory_fd))
        return max((number for number in numbers if number is not None), default=-1) + 1


def check_sync_policy(sync: object) -> float | None:
    """Checks a sync policy; returns its interval in seconds, or None for "none" and "rotate".

    Raises:
        DataLoggerTypeError: If `sync` is neither a string nor a number.
        DataLoggerValueError: If it is another string, or not a finite positive number.
    """
    expected = f'sync must be "none", "rotate" or a positive number of seconds, got {sync!r}'
    if isinstance(sync, str):
        if sync in ("none", "rotate"):
            return None
        raise DataLoggerValueError(expected)
    if isinstance(sync, bool | np.bool_) or not isinstance(sync, int | float | np.integer | np.floating):
        raise DataLoggerTypeError(f"{expected} ({type(sync).__name__})")
    if not (math.isfinite(sync) and sync > 0):
        raise DataLoggerValueError(expected)
    return float(sync)


def _pwrite_all(descriptor: int, views: list[memoryview], offset: int) -> None:
    """Writes every byte of `views` at `offset`, however many calls that takes (one, for a regular file)."""
    pending = [view for view in views if len(view)]
    first = 0
    while first < len(pending):
        written = os.pwritev(descriptor, pending[first : first + _MAX_PIECES], offset)
        offset += written
        while first < len(pending) and written >= len(pending[first]):
            written -= len(pending[first])
            first += 1
        if written:
            pending[first] = pending[first][written:]
