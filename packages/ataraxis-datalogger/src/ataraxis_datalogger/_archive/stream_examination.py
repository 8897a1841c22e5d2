"""Which stream records of a source its archive already holds, and the stream origins a new archive records.

An archive records, per entry that came from a stream segment that may still exist, the segment (writer id and
sequence number) and the record's offset in it (`stream_segments` and `stream_origins`, see `_format.archive`). A
segment is append-only and its writer id is random, so (segment, offset) names one record for good: a record is
archived exactly when its archive has an entry of that origin. Compressing a folder again therefore never archives
a record twice, whether its segment was still being written the first time or not.

Before a segment is removed, each of its records that an earlier compression archived is compared, payload byte for
payload byte, with its archived entry (whose bytes are checked against their block checksums as they are read), so
a damaged archive never makes the only other copy go away.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._files.archive_file import ArchiveFile, StreamOrigins
from .._files.stream_index import SegmentKey, SourceRecords
from ..exceptions import ArchiveFormatError

_OFFSET_BITS: Final = 44
"""Bits of a record offset in the combined (row, offset) key: segments up to 16 TiB."""
_CHUNK_RECORDS: Final = 65536


def archived_positions(origins: StreamOrigins, records: SourceRecords) -> NDArray[np.intp]:
    """Returns, per record, the position of the archive entry that came from it, or -1 if it is not archived.

    Args:
        origins: The archive's stream origins.
        records: The source's stream records.
    """
    positions = np.full(len(records), -1, dtype=np.intp)
    recorded = np.flatnonzero(origins.rows)
    if not recorded.size or not len(records):
        return positions
    row_of = {key: row + 1 for row, key in enumerate(origins.keys)}
    segment_rows = np.array([row_of.get(key, 0) for key in records.keys], dtype=np.uint64)
    record_rows = segment_rows[records.segment_of]
    archive_keys = (origins.rows[recorded] << np.uint64(_OFFSET_BITS)) | origins.offsets[recorded]
    order = np.argsort(archive_keys, kind="stable")
    sorted_keys = archive_keys[order]
    wanted = (record_rows << np.uint64(_OFFSET_BITS)) | records.offsets.astype(np.uint64)
    found = np.minimum(np.searchsorted(sorted_keys, wanted), sorted_keys.size - 1)
    hit = (record_rows > 0) & (sorted_keys[found] == wanted)
    positions[hit] = recorded[order[found[hit]]]
    return positions


def verified_copies(archive: ArchiveFile, records: SourceRecords, positions: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Returns, per archived record, whether its archived entry holds the same time stamp and payload bytes.

    Args:
        archive: The source's archive.
        records: The source's stream records that the archive holds, in reading order.
        positions: The archive position of each of them (`archived_positions`).
    """
    equal = np.zeros(len(records), dtype=np.bool_)
    offsets = archive.offsets
    with archive.cursor() as cursor:
        for first in range(0, len(records), _CHUNK_RECORDS):
            last = min(len(records), first + _CHUNK_RECORDS)
            for position, time_stamp, payload in records.read_checked(first, last):
                index = int(positions[position])
                if payload is None or int(archive.timestamps[index]) != time_stamp:
                    continue
                start, stop = int(offsets[index]), int(offsets[index + 1])
                if stop - start != payload.size:
                    continue
                try:
                    equal[position] = cursor.read(start, stop).data == payload.data
                except ArchiveFormatError:
                    continue
    return equal


@dataclass(frozen=True)
class NewOrigins:
    """The stream bookkeeping of an archive about to be written."""

    keys: list[SegmentKey]
    """The segments recorded, by row."""
    rows: NDArray[np.uint64]
    """Per entry of the new archive (in its order), its segment's row plus one, or 0."""
    offsets: NDArray[np.uint64]
    """Per entry, its record's offset (0 when its row is 0)."""

    def members(self) -> tuple[NDArray[np.uint64], NDArray[np.uint64]] | None:
        """Returns the `stream_segments` and `stream_origins` arrays, or None if no entry has an origin."""
        if not self.keys:
            return None
        segments = np.array(
            [
                (int.from_bytes(writer[:8], "little"), int.from_bytes(writer[8:], "little"), sequence)
                for writer, sequence in self.keys
            ],
            dtype=np.uint64,
        ).reshape(-1, 3)
        return segments, np.stack((self.rows, self.offsets), axis=1)


def new_origins(
    old: StreamOrigins | None,
    old_count: int,
    existing: set[SegmentKey],
    new_records: SourceRecords | None,
    order: NDArray[np.intp],
    loose_count: int,
) -> NewOrigins:
    """Returns the stream origins of a merged archive: the old entries', then the new stream records'.

    Old entries keep their origin only while their segment still exists (the others forget it, as old entries forget
    a removed file's modification time), so the bookkeeping never outgrows the segments in the folder.

    Args:
        old: The old archive's origins (None without an old archive).
        old_count: The old archive's entry count.
        existing: The keys of the segments in the folder now.
        new_records: The stream records being archived (None if there are none).
        order: The merge order of (old entries, new loose entries, new stream records) (`MergeOrder.order`).
        loose_count: The number of new loose entries.
    """
    keys: list[SegmentKey] = []
    row_of: dict[SegmentKey, int] = {}

    def row(key: SegmentKey) -> int:
        if key not in row_of:
            row_of[key] = len(keys) + 1
            keys.append(key)
        return row_of[key]

    old_rows = np.zeros(old_count, dtype=np.uint64)
    old_offsets = np.zeros(old_count, dtype=np.uint64)
    if old is not None and old.keys:
        remap = np.array([0, *(row(key) if key in existing else 0 for key in old.keys)], dtype=np.uint64)
        old_rows = remap[old.rows]
        old_offsets = np.where(old_rows > 0, old.offsets, np.uint64(0))
    stream_count = 0 if new_records is None else len(new_records)
    stream_rows = np.zeros(stream_count, dtype=np.uint64)
    stream_offsets = np.zeros(stream_count, dtype=np.uint64)
    if new_records is not None and stream_count:
        segment_rows = np.array([row(key) for key in new_records.keys], dtype=np.uint64)
        stream_rows = segment_rows[new_records.segment_of]
        stream_offsets = new_records.offsets.astype(np.uint64)
    loose = np.zeros(loose_count, dtype=np.uint64)
    rows = np.concatenate((old_rows, loose, stream_rows))[order]
    offsets = np.concatenate((old_offsets, loose, stream_offsets))[order]
    used = set(np.unique(rows[rows > 0]).tolist())
    if len(used) < len(keys):
        # Keys of segments none of whose records is in the merged archive are dropped, and the rows renumbered.
        kept = [number for number in range(1, len(keys) + 1) if number in used]
        renumber = np.zeros(len(keys) + 1, dtype=np.uint64)
        renumber[kept] = np.arange(1, len(kept) + 1, dtype=np.uint64)
        rows = renumber[rows]
        keys = [keys[number - 1] for number in kept]
    return NewOrigins(keys, rows, offsets)
