"""The entries of a folder's stream segments: found in one checked pass, then read per source in reading order.

`scan_segments` reads every segment once, verifying every record (damage is reported then, as `on_damage` says),
and keeps, per entry record, where it is and its source, time stamp and length: 25 bytes per entry, in arrays.
`SourceRecords` is one source's share, ordered by time stamp with ties in arrival order (segment sequence, then
position); it holds only arrays and paths, so it can be sent to a worker process. It reads payloads on demand:
consecutive records of one segment are read with one `pread` and checked again (checksum and header fields) before
any payload is handed out, so a segment changed after the scan never yields wrong data.
"""

import dataclasses
import itertools
import os
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._format.stream import RECORD_HEADER_SIZE, SegmentHeader, parse_segment_file_name
from ..exceptions import DamagedLogFilesWarning, StreamFormatError
from .stream_reader import CHUNK_BYTES, Damage, OnDamage, SegmentReader, SegmentState

SegmentKey = tuple[bytes, int]
"""What identifies a segment across renames and removals: its writer id and its sequence number."""

_SPAN_GAP: Final = 64 << 10
"""Records of one segment closer than this are read with one `pread`, the bytes between them read and dropped."""


@dataclass(frozen=True)
class ScannedSegment:
    """What the scan found in one segment."""

    path: Path
    """The segment."""
    header: SegmentHeader
    """Its header."""
    state: SegmentState
    """Whether it was still being written, closed or unclosed when scanned."""
    entry_records: int
    """The valid entry records read."""
    scanned_to: int
    """Where the scan stopped: every record before it was read (more may follow in a segment being written)."""
    damage: tuple[Damage, ...]
    """The damaged ranges and torn tail found."""

    @property
    def key(self) -> SegmentKey:
        """The segment's writer id and sequence number."""
        return self.header.writer_id, self.header.sequence


@dataclass
class StreamIndex:
    """Every valid entry record of a folder's segments, in arrival order."""

    directory: Path
    """The log folder."""
    segments: list[ScannedSegment] = field(default_factory=list)
    """The segments read, in sequence order."""
    unreadable: list[Damage] = field(default_factory=list)
    """Segments whose header is damaged (none of their records is read)."""
    segment_of: NDArray[np.uint32] = field(default_factory=lambda: np.empty(0, np.uint32))
    """Per record: its segment, a position in `segments`."""
    offsets: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    """Per record: where it starts in its segment."""
    lengths: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    """Per record: its payload length."""
    source_ids: NDArray[np.uint8] = field(default_factory=lambda: np.empty(0, np.uint8))
    """Per record: its source id."""
    time_stamps: NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, np.uint64))
    """Per record: its time stamp."""
    _grouping: tuple[NDArray[np.intp], NDArray[np.intp]] | None = field(default=None, repr=False)

    def source_ids_present(self) -> list[int]:
        """Returns the source ids that have at least one record, in order."""
        return [int(source) for source in np.flatnonzero(np.bincount(self.source_ids, minlength=256))]

    def keys(self) -> list[SegmentKey]:
        """Returns each scanned segment's key, by position."""
        return [segment.key for segment in self.segments]

    def source(self, source_id: int) -> "SourceRecords | None":
        """Returns one source's records in reading order, or None if it has none.

        Args:
            source_id: The source.
        """
        if self._grouping is None:
            # One stable sort for all sources (not one pass over every record per source): each source's
            # positions come out in arrival order.
            by_source = np.argsort(self.source_ids, kind="stable")
            bounds = np.concatenate(([0], np.cumsum(np.bincount(self.source_ids, minlength=256))))
            self._grouping = (by_source, bounds)
        by_source, bounds = self._grouping
        positions = by_source[bounds[source_id] : bounds[source_id + 1]]
        if not positions.size:
            return None
        # Stable: records are in arrival order here, so ties keep it.
        order = positions[np.argsort(self.time_stamps[positions], kind="stable")]
        return SourceRecords(
            source_id,
            [segment.path for segment in self.segments],
            self.keys(),
            self.segment_of[order],
            self.offsets[order],
            self.lengths[order],
            self.time_stamps[order],
        )


def segment_names_in_order(names: Sequence[str]) -> list[str]:
    """Returns the segment names among `names`, in sequence order.

    Args:
        names: File names.
    """
    numbered = [(number, name) for name in names if (number := parse_segment_file_name(name)) is not None]
    return [name for _, name in sorted(numbered)]


def scan_segments(directory: Path, names: Sequence[str], on_damage: OnDamage) -> StreamIndex:
    """Reads every record of the named segments once, checking each, and indexes the entry records.

    Args:
        directory: The log folder.
        names: Segment file names (in any order; others are ignored).
        on_damage: What a damaged record, torn tail or damaged header does.

    Raises:
        StreamFormatError: With `on_damage="raise"`, at the first damage.
        OSError: If a segment cannot be read (one removed since the listing is skipped).
    """
    index = StreamIndex(directory)
    columns: list[
        tuple[NDArray[np.uint32], NDArray[np.int64], NDArray[np.int64], NDArray[np.uint8], NDArray[np.uint64]]
    ]
    columns = []
    for name in segment_names_in_order(names):
        path = directory / name
        try:
            reader = SegmentReader(path, on_damage=on_damage)
        except FileNotFoundError:
            continue
        except StreamFormatError as error:
            if on_damage == "raise":
                raise
            damage = Damage(path, 0, _size(path), f"unreadable: {error}", torn_tail=False)
            index.unreadable.append(damage)
            if on_damage == "warn":
                warnings.warn(damage.describe(), DamagedLogFilesWarning, stacklevel=3)
            continue
        with reader:
            number = len(index.segments)
            for batch in reader.batches():
                segment = np.full(len(batch), number, dtype=np.uint32)
                columns.append((segment, batch.file_offsets(), batch.lengths, batch.source_ids, batch.time_stamps))
            index.segments.append(
                ScannedSegment(
                    path, reader.header, reader.state, reader.entry_records, reader.position, tuple(reader.damage)
                )
            )
    _report_cut_segments(index, on_damage)
    if columns:
        index.segment_of, index.offsets, index.lengths, index.source_ids, index.time_stamps = (
            np.concatenate(parts) for parts in zip(*columns, strict=True)
        )
    return index


def _report_cut_segments(index: StreamIndex, on_damage: OnDamage) -> None:
    """Reports as damage every unclosed segment whose writer went on in a later segment.

    A writer ends each segment with a segment end before it starts the next one, so such a segment was cut short
    after it was closed (at a record boundary: otherwise its reader found a torn tail), or its writer could not
    append the segment end (a full disk). Without this, a cut that falls between two records would read as the
    last segment of a writer that died: whole, with the records after the cut silently missing.
    """
    last_index: dict[bytes, int] = {}
    for segment in index.segments:
        writer = segment.header.writer_id
        last_index[writer] = max(last_index.get(writer, -1), segment.header.writer_index)
    for position, segment in enumerate(index.segments):
        header = segment.header
        if segment.state is not SegmentState.UNCLOSED or header.writer_index >= last_index[header.writer_id]:
            continue
        reason = (
            f"no segment end, though its writer went on in a later segment (writer index {header.writer_index} of "
            f"{last_index[header.writer_id]}): the segment was cut short after it was closed, or its writer could "
            "not append the segment end (a full disk); records after its last one may be missing"
        )
        damage = Damage(segment.path, segment.scanned_to, 0, reason, torn_tail=False)
        if on_damage == "raise":
            raise StreamFormatError(damage.describe())
        if on_damage == "warn":
            warnings.warn(damage.describe(), DamagedLogFilesWarning, stacklevel=3)
        index.segments[position] = dataclasses.replace(segment, damage=(*segment.damage, damage))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class SourceRecords:
    """One source's stream records in reading order, and where each one is (picklable: arrays and paths only)."""

    source_id: int
    """The source."""
    paths: list[Path]
    """The scanned segments, by position."""
    keys: list[SegmentKey]
    """Each scanned segment's key, by position."""
    segment_of: NDArray[np.uint32]
    """Per record (in reading order), its segment's position in `paths`."""
    offsets: NDArray[np.int64]
    """Per record, where it starts in its segment."""
    lengths: NDArray[np.int64]
    """Per record, its payload length."""
    time_stamps: NDArray[np.uint64]
    """Per record, its time stamp, in reading order."""

    def __len__(self) -> int:
        """Returns the number of records."""
        return int(self.time_stamps.size)

    @property
    def payload_bytes(self) -> int:
        """The total payload bytes."""
        return int(self.lengths.sum())

    def subset(self, chosen: NDArray[np.bool_]) -> "SourceRecords":
        """Returns the records for which `chosen` is True, in the same order.

        Args:
            chosen: One flag per record.
        """
        return SourceRecords(
            self.source_id,
            self.paths,
            self.keys,
            self.segment_of[chosen],
            self.offsets[chosen],
            self.lengths[chosen],
            self.time_stamps[chosen],
        )

    def read(self, first: int, last: int, on_damage: OnDamage) -> Iterator[tuple[int, NDArray[np.uint8]]]:
        """Yields the time stamp and payload of records `first` to `last` (exclusive) of the reading order.

        Args:
            first: The first record's position.
            last: One past the last record's position.
            on_damage: What a record that no longer verifies (it changed since the scan) does: "warn" skips it with
                a `DamagedLogFilesWarning`, "raise" raises, "collect" skips it silently.

        Raises:
            StreamFormatError: If a record no longer verifies and `on_damage` is "raise".
            FileNotFoundError: If a segment was removed since the scan.
        """
        for position, time_stamp, payload in self.read_checked(first, last):
            if payload is not None:
                yield time_stamp, payload
                continue
            where = f"{self.paths[int(self.segment_of[position])]}: the record at offset {int(self.offsets[position])}"
            message = f"{where} (source {self.source_id}) changed since it was indexed"
            if on_damage == "raise":
                raise StreamFormatError(message)
            if on_damage == "warn":
                warnings.warn(f"{message}; skipped it", DamagedLogFilesWarning, stacklevel=3)

    def read_checked(self, first: int, last: int) -> Iterator[tuple[int, int, NDArray[np.uint8] | None]]:
        """Yields the position, time stamp and payload of records `first` to `last`, in order.

        The payload is None for a record that no longer verifies (it changed since the scan).

        Args:
            first: The first record's position.
            last: One past the last record's position.

        Raises:
            FileNotFoundError: If a segment was removed since the scan.
        """
        descriptor, open_segment = -1, -1
        try:
            for start, stop in self._spans(first, last):
                segment = int(self.segment_of[start])
                if segment != open_segment:
                    if descriptor >= 0:
                        os.close(descriptor)
                        descriptor = -1
                    descriptor = os.open(self.paths[segment], os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                    open_segment = segment
                yield from self._read_span(descriptor, start, stop)
        finally:
            if descriptor >= 0:
                os.close(descriptor)

    def _spans(self, first: int, last: int) -> Iterator[tuple[int, int]]:
        """Splits records `first` to `last` into runs read with one `pread` each.

        A run holds consecutive records (in reading order) of one segment that start in the same `CHUNK_BYTES` block
        of it, each starting within `_SPAN_GAP` bytes of where the one before ends (forwards or backwards): the run
        is read from its lowest offset to its highest end. Records whose arrival order differs from their timestamp
        order (several producers of one source, clocks that jitter) are thus read a chunk at a time too, not with
        one `pread` each (which made reading them ten to thirty times slower).
        """
        if first >= last:
            return
        segments = self.segment_of[first:last]
        offsets = self.offsets[first:last]
        ends = offsets + ((RECORD_HEADER_SIZE + self.lengths[first:last] + 7) & ~7)
        blocks = offsets // CHUNK_BYTES
        jumps = np.abs(offsets[1:] - ends[:-1])
        breaks = (segments[1:] != segments[:-1]) | (blocks[1:] != blocks[:-1]) | (jumps > _SPAN_GAP)
        edges = [0, *(np.flatnonzero(breaks) + 1).tolist(), last - first]
        for start, stop in itertools.pairwise(edges):
            yield first + start, first + stop

    def _read_span(self, descriptor: int, start: int, stop: int) -> Iterator[tuple[int, int, NDArray[np.uint8] | None]]:
        """Reads records `start` to `stop` (one segment, in any order of offsets) with one `pread`, checking each."""
        offsets = self.offsets[start:stop]
        lengths, stamps = self.lengths[start:stop], self.time_stamps[start:stop]
        base = int(offsets.min())
        size = int((offsets + ((RECORD_HEADER_SIZE + lengths + 7) & ~7)).max()) - base
        data = os.pread(descriptor, size, base)
        relative = offsets - base
        valid = _verify(data, relative, lengths, self.source_id, stamps)
        block = np.frombuffer(data, dtype=np.uint8)
        first = relative + RECORD_HEADER_SIZE
        payloads: Iterator[NDArray[np.uint8] | None] = map(
            block.__getitem__, map(slice, first.tolist(), (first + lengths).tolist())
        )
        if not valid.all():
            payloads = (payload if ok else None for payload, ok in zip(payloads, valid.tolist(), strict=True))
        yield from zip(range(start, stop), stamps.tolist(), payloads, strict=True)


def _verify(
    data: bytes, relative: NDArray[np.int64], lengths: NDArray[np.int64], source_id: int, stamps: NDArray[np.uint64]
) -> NDArray[np.bool_]:
    """Returns, per expected record of `data`, whether it is there, whole, verifies, and has the scanned fields."""
    valid = relative + RECORD_HEADER_SIZE + lengths <= len(data)
    present = np.flatnonzero(valid)
    starts, sizes = relative[present], lengths[present]
    view = memoryview(data)
    covered = map(view.__getitem__, map(slice, (starts + 4).tolist(), (starts + RECORD_HEADER_SIZE + sizes).tolist()))
    checksums = np.fromiter(map(zlib.crc32, covered), dtype=np.uint32, count=present.size)
    words = np.frombuffer(data, dtype="<u4", count=len(data) // 4)
    quads = np.frombuffer(data, dtype="<u8", count=len(data) // 8)
    octets = np.frombuffer(data, dtype=np.uint8)
    valid[present] = (
        (checksums == words[starts >> 2])
        & (words[(starts >> 2) + 1] == sizes)
        & (quads[(starts >> 3) + 1] == stamps[present])
        & (octets[starts + 16] == source_id)
        & (octets[starts + 17] == 0)
        & (octets[starts + 18] == 0)
        & (octets[starts + 19] == 0)
    )
    return valid
