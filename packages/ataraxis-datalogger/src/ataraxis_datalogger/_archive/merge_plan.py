"""The plan of a merged archive: its metadata, and where each of its payloads comes from.

The merged entries are the old archive's, the new entry files', and the new stream records' (`MergeOrder` sides 0,
1 and 2). Payloads reach the archive in pieces of at most `PIECE_BYTES`: the old archive's through its cursor (each
block checked), the entry files' from the examination's buffer or read again, the stream records' read from their
segments again and checked.
"""

from collections.abc import Iterator
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._files.archive_file import ArchiveFile
from .._files.entry_reader import EntryReader
from .._files.listing import SourceEntries
from .._files.payload_cursor import PIECE_BYTES, PayloadCursor
from .._files.stream_index import SourceRecords
from .._format.archive import MergeOrder
from ..exceptions import ArchiveVerificationError
from .loose_examination import Examination
from .source_job import SourceJob
from .stream_examination import NewOrigins, new_origins

_LOOSE: Final = 1
_STREAM: Final = 2
"""The sides of a merge after the old archive (side 0): new entry files, then new stream records."""


class MergePlan:
    """The merged archive's metadata, and where each of its payloads comes from (old archive, entry file, segment)."""

    def __init__(
        self,
        job: SourceJob,
        entries: SourceEntries,
        archive: ArchiveFile | None,
        examination: Examination,
        stream: SourceRecords | None,
    ) -> None:
        self.job = job
        self.archive = archive
        self.examination = examination
        self.stream = stream
        old_stamps = np.empty(0, np.uint64) if archive is None else archive.timestamps
        old_offsets = np.zeros(1, np.uint64) if archive is None else archive.offsets
        old_count = old_stamps.size
        self.new_stamps = entries.time_stamps[examination.new]
        self.new_indices = entries.duplicate_indices[examination.new]
        new_count = self.new_stamps.size
        stream_stamps = np.empty(0, np.uint64) if stream is None else stream.time_stamps
        stream_lengths = np.empty(0, np.int64) if stream is None else stream.lengths
        merge = MergeOrder(old_stamps, self.new_stamps, stream_stamps)
        self.merge = merge
        self.time_stamps = merge.time_stamps
        lengths = np.concatenate((np.diff(old_offsets), examination.lengths, stream_lengths.astype(np.uint64)))[
            merge.order
        ]
        self.offsets = np.zeros(merge.order.size + 1, dtype=np.uint64)
        np.cumsum(lengths, out=self.offsets[1:])
        self.total = int(self.offsets[-1])
        self.checksums: NDArray[np.uint32] | None = None
        """The block checksums of the payload member, once it is written."""
        self.old_offsets = old_offsets
        self.new_offsets = np.zeros(new_count + 1, dtype=np.uint64)
        np.cumsum(examination.lengths, out=self.new_offsets[1:])
        # Only files seen in this run can still exist: the other old entries forget their file (modification time 0).
        old_mtimes = np.zeros(old_count, dtype=np.uint64)
        old_mtimes[examination.copy_positions] = examination.copy_mtimes
        old_duplicates = np.zeros(old_count, dtype=np.uint64) if archive is None else archive.file_records()[1]
        none = np.zeros(stream_stamps.size, dtype=np.uint64)
        self.file_records = (
            np.concatenate((old_mtimes, examination.mtimes, none))[merge.order],
            np.concatenate((old_duplicates, self.new_indices, none))[merge.order],
        )
        self.origins: NewOrigins = new_origins(
            None if archive is None else archive.stream_origins(),
            old_count,
            set(job.segments),
            stream,
            merge.order,
            new_count,
        )

    def payload_pieces(self, old_cursor: PayloadCursor | None, reader: EntryReader | None) -> Iterator[memoryview]:
        """Yields every payload byte of the merged archive, in order, in pieces of at most `PIECE_BYTES`.

        Args:
            old_cursor: Reads the old archive's payloads (None if there is none).
            reader: Reads the entry files again; None to take new payloads from the examination's buffer.
        """
        for side, first, last in self.merge.runs(0, self.time_stamps.size):
            if side == _LOOSE:
                yield from self._new_pieces(first, last, reader)
            elif side == _STREAM:
                yield from self._stream_pieces(first, last)
            elif old_cursor is not None:
                yield from old_cursor.pieces(int(self.old_offsets[first]), int(self.old_offsets[last]))

    def _stream_pieces(self, first: int, last: int) -> Iterator[memoryview]:
        """Yields the payloads of new stream records `first` to `last`, read from their segments and checked again."""
        records = self.stream
        if records is None:
            return
        pending = bytearray()
        for position, _, payload in records.read_checked(first, last):
            if payload is None:
                segment = records.paths[int(records.segment_of[position])]
                raise ArchiveVerificationError(
                    f"{segment} changed while it was archived: the record at offset {int(records.offsets[position])} "
                    "no longer verifies"
                )
            if len(pending) + payload.size > PIECE_BYTES and pending:
                yield memoryview(pending)
                pending = bytearray()
            if payload.size >= PIECE_BYTES:
                yield payload.data
            else:
                pending += payload.data
        if pending:
            yield memoryview(pending)

    def _new_pieces(self, first: int, last: int, reader: EntryReader | None) -> Iterator[memoryview]:
        """Yields the payloads of new entries `first` to `last`, from the buffer or read again from their files."""
        buffer = self.examination.payloads
        if reader is None and buffer is not None:
            start, stop = int(self.new_offsets[first]), int(self.new_offsets[last])
            view = memoryview(buffer)
            for piece_start in range(start, stop, PIECE_BYTES):
                yield view[piece_start : min(stop, piece_start + PIECE_BYTES)]
            return
        if reader is None:
            raise ValueError("payloads that did not fit the buffer must be read again: pass an entry reader")
        lengths = np.diff(self.new_offsets[first : last + 1]).tolist()
        pending = bytearray()
        entries = reader.read_entries(self.job.source_id, self.new_stamps[first:last], self.new_indices[first:last])
        for entry, length in zip(entries, lengths, strict=True):
            payload = entry.payload
            if entry.error is not None or len(payload) != length:
                change = entry.error or f"its payload was {length} bytes, now {len(payload)}"
                message = f"{self.job.directory / entry.name} changed while it was archived: {change}"
                raise ArchiveVerificationError(message) from entry.error
            if len(pending) + length > PIECE_BYTES and pending:
                yield memoryview(pending)
                pending = bytearray()
            if length >= PIECE_BYTES:
                yield payload
            else:
                pending += payload
        if pending:
            yield memoryview(pending)
