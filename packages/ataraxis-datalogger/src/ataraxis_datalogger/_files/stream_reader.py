"""Reading the records of one segment: every checksum verified, damage skipped and reported, a torn tail recovered.

The segment is read with `pread` in chunks of at most `CHUNK_BYTES` (a record larger than that is read alone), never
memory-mapped: a file truncated under the reader then reads short instead of killing the process with SIGBUS.
Payloads are views into the chunk they were read with, so memory is bounded by one chunk plus what the caller keeps.

What a reader makes of the bytes (`docs/formats/stream.md`, "Recovery"):

- A segment whose writer still holds its lock (`segment_lock`) is being written: a record cut short at its end is
  in progress, not damage. The next `records()` call goes on from there.
- A segment whose writer is gone and that ends with its segment end is closed; one without is unclosed (its writer
  died or could not append the segment end). A record cut short at the end of an unclosed segment, with no valid
  record after it, is a **torn tail**: every record before it is read, and a warning names the file and the offset.
- A record whose checksum fails with valid records after it is **damage**: it is never returned. Reading resumes at
  the record its length points to when that one is valid and confirmed; otherwise at the first position, scanning
  8 bytes at a time, where a confirmed record starts (a valid record followed by another valid record, or by the
  end of the data). Resuming, rather than stopping, keeps the entries of every source written after one flipped
  bit; confirmation by two records in a row keeps random bytes from passing for a record (2**-64). In a closed
  segment the segment end anchors where reading resumes (`resync`), so that records embedded in a damaged payload
  are not taken for real ones.
"""

import os
import warnings
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final, Literal, NamedTuple

from .._format.stream import (
    ALIGNMENT,
    RECORD_HEADER,
    RECORD_HEADER_SIZE,
    Kind,
    SegmentEnd,
    SegmentHeader,
    decode_header,
    decode_segment_end,
    header_size,
)
from ..exceptions import DamagedLogFilesWarning, StreamFormatError
from . import segment_lock
from .record_batch import Record, RecordBatch, single_record, verified_run
from .regular_file import open_regular_file
from .resync import SCAN_WINDOW, AnchoredChains, candidates, closing_end

CHUNK_BYTES: Final = 8 << 20
"""The most bytes read at once (a single larger record is read alone)."""

OnDamage = Literal["warn", "raise", "collect"]
"""What a damaged record or torn tail does: a `DamagedLogFilesWarning`, a `StreamFormatError`, or only a `Damage`
entry in the reader's `damage` list (for inspection)."""

_ENTRY: Final = int(Kind.ENTRY)
_SEGMENT_END: Final = int(Kind.SEGMENT_END)
_unpack_header = RECORD_HEADER.unpack_from
_crc32 = zlib.crc32


class SegmentState(Enum):
    """Whether more records may be appended to a segment."""

    WRITING = "writing"
    """Its writer still holds it: records may still be appended."""
    CLOSED = "closed"
    """It ends with its segment end."""
    UNCLOSED = "unclosed"
    """Its writer is gone and it has no segment end (the writer died, or could not append it)."""


@dataclass(frozen=True)
class Damage:
    """A range of a segment that holds no valid record."""

    path: Path
    """The segment."""
    offset: int
    """Where the range starts."""
    length: int
    """Its length in bytes."""
    reason: str
    """What is wrong."""
    torn_tail: bool
    """True if it is the end of the segment, cut short by a crash (no valid record after it)."""

    def summary(self) -> str:
        """Returns one sentence naming the offset, the length and the reason (not the file)."""
        what = "torn tail" if self.torn_tail else "damaged bytes"
        return f"{what} at offset {self.offset} ({self.length} bytes, skipped): {self.reason}"

    def describe(self) -> str:
        """Returns one sentence naming the file, the offset, the length and the reason."""
        return f"{self.path}: {self.summary()}"


class _RawRecord(NamedTuple):
    """A record whose checksum verified, of any kind."""

    source_id: int
    time_stamp: int
    data: bytes
    """The record's bytes, without its padding."""
    end: int
    """Where the next record starts."""
    kind: int

    @property
    def payload(self) -> memoryview:
        return memoryview(self.data)[RECORD_HEADER_SIZE:]


class SegmentReader:
    """Reads the entry records of one segment in file order (see the module description).

    Args:
        path: The segment file.
        on_damage: What a damaged record or a torn tail does (`OnDamage`).

    Raises:
        StreamFormatError: If the file is not a regular file, not a segment, or has a damaged header.
        OSError: If it cannot be opened.
    """

    def __init__(self, path: Path, on_damage: OnDamage = "warn") -> None:
        if on_damage not in ("warn", "raise", "collect"):
            raise ValueError(f'on_damage must be "warn" or "raise", got {on_damage!r}')
        self.path = path
        """The segment file."""
        self.on_damage: OnDamage = on_damage
        """What damage does."""
        self.damage: list[Damage] = []
        """Every damaged range found so far, in order."""
        self.end: SegmentEnd | None = None
        """The segment end, once read."""
        self.state = SegmentState.WRITING
        """Whether more records may come, as of the last `records()` call."""
        self.entry_records = 0
        """Entry records read so far."""
        # A link named like a segment is not followed: a log folder's records are its own files' (as for entries).
        self._fd, _ = open_regular_file(path, lambda reason: StreamFormatError(f"{path}: {reason}"))
        try:
            self.header: SegmentHeader = self._read_header()
            """The segment's header."""
        except BaseException:
            os.close(self._fd)
            raise
        self.data_start: int = self._data_start
        """Where the first record starts."""
        self.position: int = self.data_start
        """Where the next `records()` call starts reading."""
        self._resumed = 0
        """Damaged ranges resumed after: each lost at least one entry record."""

    def _read_header(self) -> SegmentHeader:
        prefix = os.pread(self._fd, 16, 0)
        try:
            size = header_size(prefix)
            self._data_start = size
            return decode_header(os.pread(self._fd, size, 0))
        except StreamFormatError as error:
            raise StreamFormatError(f"{self.path}: {error}") from None

    @property
    def finished(self) -> bool:
        """True once nothing more can be read: the segment is closed or unclosed and was read to its end."""
        return self.state is not SegmentState.WRITING

    def batches(self) -> Generator[RecordBatch, None, None]:
        """Yields the entry records from `position` to the end of what is written now, a chunk at a time.

        Every record's checksum is verified before its batch is yielded. Each batch holds the bytes of one `pread`
        (at most `CHUNK_BYTES`, or one larger record), and `position` is past it once it is yielded.

        Raises:
            StreamFormatError: With `on_damage="raise"`, at the first damaged range or torn tail, naming the file
                and offset (the records before it are yielded first).
        """
        if self.finished:
            return
        # Taken before the size: a segment its writer had left then can no longer grow, so a short record is torn.
        writing = segment_lock.held_by_writer(self._fd)
        size = os.fstat(self._fd).st_size
        size_before_truncation = size
        position = self.position
        while position < size:
            data = os.pread(self._fd, min(CHUNK_BYTES, size - position), position)
            if len(data) < min(CHUNK_BYTES, size - position):
                size = position + len(data)  # the file was truncated under the reader
                if len(data) < RECORD_HEADER_SIZE:
                    break
            run, consumed, rejected = verified_run(data, position)
            if len(run):
                self.position, self.entry_records = position + consumed, self.entry_records + len(run)
                yield run
            position += consumed
            if consumed and not rejected:
                continue  # the next record starts in the next chunk
            record = self._record_at(position, size)
            if record is not None and record.kind == _ENTRY:
                # A record larger than a chunk: read alone.
                self.position, self.entry_records = record.end, self.entry_records + 1
                yield single_record(record.data, position, record.source_id, record.time_stamp)
                position = record.end
                continue
            self.position = position
            resumed = self._check_record(position, size, writing=writing, record=record)
            if resumed is None:
                return
            position = self.position = resumed
        self.position = max(self.position, position)
        if size < size_before_truncation:
            reason = f"the segment was truncated to {size} bytes while it was read"
            self._report(position, size_before_truncation - position, reason, torn_tail=True)
        if not writing:
            self.state = SegmentState.UNCLOSED

    def records(self) -> Iterator[Record]:
        """Yields the entry records of `batches()` one at a time: `(offset, source_id, time_stamp, payload)`.

        Each record is a plain tuple (see `Record`): building a named tuple per record would cost more than
        checking its checksum. Stopping the iteration early is safe: the next call goes on after the last record
        yielded.

        Raises:
            StreamFormatError: As `batches()`.
        """
        batches = self.batches()
        for batch in batches:
            delivered = 0
            try:
                for record in batch.records():
                    delivered += 1
                    yield record
            except GeneratorExit:
                batches.close()
                if delivered < len(batch):
                    self.position = batch.offset + int(batch.starts[delivered])
                    self.entry_records -= len(batch) - delivered
                raise

    def _check_record(self, position: int, size: int, *, writing: bool, record: "_RawRecord | None") -> int | None:
        """Handles a position where no entry record could be read.

        Returns:
            Where reading resumes, or None if the segment is finished or its remaining bytes are being written.
        """
        if record is not None and record.kind == _SEGMENT_END:
            self._segment_end(position, size, record)
            return None
        if record is not None:
            reason = f"a record of kind {record.kind}, which no segment of format version 1 holds"
            self._report(position, record.end - position, reason, torn_tail=False)
            return record.end
        resumed = self._resync(position, size, writing=writing)
        if resumed is None:
            self._tail(position, size, writing=writing)
            return None
        self._report(position, resumed - position, "a record whose checksum does not match its bytes", torn_tail=False)
        return resumed

    def _segment_end(self, position: int, size: int, record: "_RawRecord") -> None:
        """Reads the segment end at `position`; the segment is finished after it."""
        try:
            end: SegmentEnd | None = decode_segment_end(record.time_stamp, record.payload)
        except StreamFormatError as error:
            self._report(position, record.end - position, str(error), torn_tail=False)
            end = None
        if end is not None and end.offset != position:
            self._report(
                position, record.end - position, f"a segment end that says it is at {end.offset}", torn_tail=False
            )
            end = None
        if end is not None and not self.damage and end.entry_records != self.entry_records:
            reason = f"the segment end counts {end.entry_records} entry records, {self.entry_records} were read"
            self._report(position, 0, reason, torn_tail=False)
        elif end is not None and self.entry_records > end.entry_records - self._resumed:
            reason = (
                f"the segment end counts {end.entry_records} entry records, but {self.entry_records} were read "
                f"besides {self._resumed} damaged range(s): records read after the damage may not be real ones "
                "(bytes of a damaged record's payload that hold records)"
            )
            self._report(position, 0, reason, torn_tail=False)
        self.end = end
        self.state = SegmentState.CLOSED
        self.position = record.end
        if record.end < size:
            self._report(record.end, size - record.end, "bytes after the segment end", torn_tail=False)
            self.position = size

    def _tail(self, position: int, size: int, *, writing: bool) -> None:
        """Handles bytes at the end that hold no complete valid record: in progress if written, else a torn tail."""
        if writing:
            return
        self.state = SegmentState.UNCLOSED
        self.position = size
        self._report(
            position, size - position, "an incomplete record (the writer stopped while appending it)", torn_tail=True
        )

    def _report(self, offset: int, length: int, reason: str, *, torn_tail: bool) -> None:
        damage = Damage(self.path, offset, length, reason, torn_tail)
        self.damage.append(damage)
        if self.on_damage == "raise":
            raise StreamFormatError(damage.describe())
        if self.on_damage == "warn":
            warnings.warn(damage.describe(), DamagedLogFilesWarning, stacklevel=2)

    def _record_at(self, position: int, size: int) -> "_RawRecord | None":
        """Returns the record at `position` if its checksum verifies, whatever its kind; None otherwise."""
        if position + RECORD_HEADER_SIZE > size:
            return None
        head = os.pread(self._fd, RECORD_HEADER_SIZE, position)
        if len(head) < RECORD_HEADER_SIZE:
            return None
        crc, payload_length, time_stamp, source_id, kind, reserved = _unpack_header(head)
        stop = position + RECORD_HEADER_SIZE + payload_length
        if stop > size or reserved:
            return None
        data = os.pread(self._fd, stop - position, position)
        if len(data) < stop - position or _crc32(memoryview(data)[4:]) != crc:
            return None
        end = (stop + ALIGNMENT - 1) & ~(ALIGNMENT - 1)
        return _RawRecord(source_id, time_stamp, data, end, kind)

    def _confirmed(self, position: int, size: int) -> int | None:
        """Returns the end of a valid record at `position` if what follows confirms it (see the module)."""
        record = self._record_at(position, size)
        if record is None or record.kind not in (_ENTRY, _SEGMENT_END):
            return None
        if record.kind == _SEGMENT_END or record.end >= size:
            return record.end
        following = self._record_at(record.end, size)
        return record.end if following is not None and following.kind in (_ENTRY, _SEGMENT_END) else None

    def _resync(self, position: int, size: int, *, writing: bool) -> int | None:
        """Returns the position of the next confirmed record after damage at `position`, or None if there is none.

        In a closed segment whose segment end is intact, it is the first position from which valid entry records
        lead exactly to the segment end, as many as it leaves room for if the damage cost one record (`resync`);
        where there is none (the damage cost more, or more damage follows), or in any other segment, it is the first
        confirmed record.
        """
        if not writing:
            end = closing_end(self._fd, size)
            if end is not None and position < end.offset:
                room = end.entry_records - self.entry_records - (self._resumed + 1)
                anchored = AnchoredChains(self._fd, end.offset, position).first_start(position + ALIGNMENT, room)
                if anchored is not None:
                    self._resumed += 1
                    return anchored
        resumed = self._first_confirmed(position, size)
        if resumed is not None:
            self._resumed += 1
        return resumed

    def _first_confirmed(self, position: int, size: int) -> int | None:
        """Returns where reading resumes after damage at `position` without an anchor, or None.

        That is where the damaged record's length points if a confirmed record starts there, else the first
        confirmed record after `position` (8 bytes at a time).
        """
        head = os.pread(self._fd, RECORD_HEADER_SIZE, position)
        if len(head) == RECORD_HEADER_SIZE:
            declared = position + ((RECORD_HEADER_SIZE + int(_unpack_header(head)[1]) + 7) & ~7)
            if declared < size and self._confirmed(declared, size) is not None:
                return declared
        start = position + ALIGNMENT
        while start + RECORD_HEADER_SIZE <= size:
            window = os.pread(self._fd, min(SCAN_WINDOW + RECORD_HEADER_SIZE, size - start), start)
            if len(window) < RECORD_HEADER_SIZE:
                return None
            for candidate in candidates(window):
                if self._confirmed(start + candidate, size) is not None:
                    return start + candidate
            start += SCAN_WINDOW
        return None

    def close(self) -> None:
        """Closes the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "SegmentReader":
        """Returns the reader itself."""
        return self

    def __exit__(self, *exception: object) -> None:
        """Closes the reader."""
        self.close()
