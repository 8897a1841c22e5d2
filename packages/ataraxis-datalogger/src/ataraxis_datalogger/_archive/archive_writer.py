"""Archiving one source: read its entries once, merge them with its archive, stream, fsync, verify, rename, remove.

The order of operations is what keeps every entry safe: the new archive is written under a temporary name, flushed
to disk, opened again and checked (counts, timestamps, offsets, and with `verify_integrity` every payload byte
against the entry files on disk and the zip checksums), and only then renamed over the old archive; entry files
are removed last. An error at any step leaves the old archive and every entry file as they were.

Memory stays bounded: per-entry metadata (16 bytes per entry) is held in arrays, payload bytes are kept in memory
only while they fit `SourceJob.buffer_limit`, and are otherwise read again from the entry files while the archive
is written. Either way they reach the zip member in pieces of at most 1 MiB.
"""

import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._files.archive_file import PIECE_BYTES, ArchiveFile, PayloadCursor, open_source_archive
from .._files.entry_reader import EntryReader
from .._files.listing import SourceEntries, parse_entry_names
from .._format.archive import (
    FILE_DUPLICATES_MEMBER,
    FILE_MTIMES_MEMBER,
    FORMAT_VERSION,
    FORMAT_VERSION_MEMBER,
    OFFSETS_MEMBER,
    PAYLOADS_MEMBER,
    SOURCE_ID_MEMBER,
    TIMESTAMPS_MEMBER,
    MergeOrder,
    archive_file_name,
    temporary_archive_name,
)
from .._format.entry import entry_file_name, npy_header
from ..exceptions import ArchiveFormatError, ArchiveVerificationError
from .loose_examination import ArchivedCopyCheck, Examination, examine_entries
from .reports import DamagedFile, SourceReport

COMPRESS_LEVEL: Final = 1
"""The zlib level of compressed archives: 2 to 7 times faster than level 6, for a ratio within 1%."""

_ZIP64_FROM: Final = 1 << 30

StepProgress = Callable[[str, int], None]
"""Called with a step name ("read" or "remove") and the number of entries that step handled since the last call."""


@dataclass(frozen=True)
class SourceJob:
    """Everything a worker needs to archive one source (picklable, so it can cross to a worker process)."""

    directory: Path
    """The log directory."""
    source_id: int
    """The source to archive."""
    file_names: list[str]
    """The names of the source's entry files, as listed (parsed and ordered by the worker)."""
    remove_sources: bool
    """Remove the entry files once the archive holding them is verified and in place."""
    memory_mapping: bool
    """Memory-map entry files instead of reading them."""
    compress: bool
    """Deflate the archive's members (else store them, which makes the payloads memory-mappable)."""
    verify_integrity: bool
    """Compare every archived payload byte with the entry files before anything is removed."""
    buffer_limit: int
    """Payload bytes kept in memory between reading and writing; beyond it entries are read a second time."""


@dataclass(frozen=True)
class SourceOutcome:
    """What archiving one source did."""

    report: SourceReport
    """The source's part of the public report."""
    foreign: tuple[str, ...]
    """Names listed for the source that turned out not to be entries' (kept)."""


def archive_source(job: SourceJob, progress: StepProgress | None = None) -> SourceOutcome:
    """Archives the loose entries of one source, merging them into its archive if it has one.

    Args:
        job: The source and the options.
        progress: Told how many entries were read and removed, now and then.

    Returns:
        What was done.

    Raises:
        ArchiveFormatError: If the existing archive is damaged or belongs to another source.
        ArchiveVerificationError: If the new archive does not read back as written, or an entry file changed meanwhile.
        OSError: If the directory cannot be read or written.
    """
    entries, foreign = parse_entry_names(job.file_names)
    archive_path = job.directory / archive_file_name(job.source_id)
    archive = open_source_archive(archive_path, job.source_id) if archive_path.exists() else None
    try:
        with (
            EntryReader(job.directory, memory_mapping=job.memory_mapping) as reader,
            ArchivedCopyCheck(archive) as copy_check,
        ):
            examination = examine_entries(
                reader,
                job.source_id,
                entries,
                copy_check,
                job.buffer_limit,
                None if progress is None else lambda count: progress("read", count),
            )
        new_count = int(examination.lengths.size)
        if new_count:
            plan = _MergePlan(job, entries, archive, examination)
            _write_archive(plan, archive_path)
            entries_total, payload_bytes = plan.time_stamps.size, plan.total
        else:
            entries_total = 0 if archive is None else archive.timestamps.size
            payload_bytes = 0 if archive is None else archive.payload_bytes
    finally:
        if archive is not None:
            archive.close()
    removed = 0
    if job.remove_sources:
        in_archive = examination.new | examination.copies
        stamps = entries.time_stamps[in_archive].tolist()
        indices = entries.duplicate_indices[in_archive].tolist()
        names = [entry_file_name(job.source_id, *key) for key in zip(stamps, indices, strict=True)]
        removed = _remove_files(job.directory, names, progress)
    exists = archive_path.exists()
    report = SourceReport(
        source_id=job.source_id,
        archive_path=archive_path if exists else None,
        entries_archived=new_count,
        entries_total=int(entries_total),
        payload_bytes=int(payload_bytes),
        archive_bytes=archive_path.stat().st_size if exists else 0,
        files_removed=removed,
        damaged_files=tuple(DamagedFile(job.directory / name, reason) for name, reason in examination.damaged),
    )
    return SourceOutcome(report, tuple(foreign))


class _MergePlan:
    """The merged archive's metadata, and where each of its payloads comes from (old archive or entry file)."""

    def __init__(
        self, job: SourceJob, entries: SourceEntries, archive: ArchiveFile | None, examination: Examination
    ) -> None:
        self.job = job
        self.archive = archive
        self.examination = examination
        old_stamps = np.empty(0, np.uint64) if archive is None else archive.timestamps
        old_offsets = np.zeros(1, np.uint64) if archive is None else archive.offsets
        old_count = old_stamps.size
        self.new_stamps = entries.time_stamps[examination.new]
        self.new_indices = entries.duplicate_indices[examination.new]
        new_count = self.new_stamps.size
        merge = MergeOrder(old_stamps, self.new_stamps)
        self.merge = merge
        self.time_stamps = merge.time_stamps
        lengths = np.concatenate((np.diff(old_offsets), examination.lengths))[merge.order]
        self.offsets = np.zeros(merge.order.size + 1, dtype=np.uint64)
        np.cumsum(lengths, out=self.offsets[1:])
        self.total = int(self.offsets[-1])
        self.old_offsets = old_offsets
        self.new_offsets = np.zeros(new_count + 1, dtype=np.uint64)
        np.cumsum(examination.lengths, out=self.new_offsets[1:])
        # Only files seen in this run can still exist: the other old entries forget their file (modification time 0).
        old_mtimes = np.zeros(old_count, dtype=np.uint64)
        old_mtimes[examination.copy_positions] = examination.copy_mtimes
        old_duplicates = np.zeros(old_count, dtype=np.uint64) if archive is None else archive.file_records()[1]
        self.file_records = (
            np.concatenate((old_mtimes, examination.mtimes))[merge.order],
            np.concatenate((old_duplicates, self.new_indices))[merge.order],
        )

    def payload_pieces(self, old_cursor: PayloadCursor | None, reader: EntryReader | None) -> Iterator[memoryview]:
        """Yields every payload byte of the merged archive, in order, in pieces of at most `PIECE_BYTES`.

        Args:
            old_cursor: Reads the old archive's payloads (None if there is none).
            reader: Reads the entry files again; None to take new payloads from the examination's buffer.
        """
        for from_new, first, last in self.merge.runs(0, self.time_stamps.size):
            if from_new:
                yield from self._new_pieces(first, last, reader)
            elif old_cursor is not None:
                yield from old_cursor.pieces(int(self.old_offsets[first]), int(self.old_offsets[last]))

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


def _write_array(archive: zipfile.ZipFile, name: str, array: NDArray[np.generic]) -> None:
    """Writes one metadata array as an `.npy` member."""
    with archive.open(name, "w", force_zip64=array.nbytes >= _ZIP64_FROM) as member:
        np.lib.format.write_array(member, array, allow_pickle=False)


def _write_archive(plan: _MergePlan, archive_path: Path) -> None:
    """Writes the merged archive under a temporary name, fsyncs, verifies it, and renames it into place."""
    job = plan.job
    temporary = job.directory / temporary_archive_name(job.source_id, os.getpid())
    compression = zipfile.ZIP_DEFLATED if job.compress else zipfile.ZIP_STORED
    try:
        with temporary.open("wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=compression, compresslevel=COMPRESS_LEVEL) as archive:
                _write_array(archive, FORMAT_VERSION_MEMBER, np.array(FORMAT_VERSION, dtype=np.uint16))
                _write_array(archive, SOURCE_ID_MEMBER, np.array(job.source_id, dtype=np.uint8))
                _write_array(archive, TIMESTAMPS_MEMBER, plan.time_stamps)
                _write_array(archive, OFFSETS_MEMBER, plan.offsets)
                _write_array(archive, FILE_MTIMES_MEMBER, plan.file_records[0])
                _write_array(archive, FILE_DUPLICATES_MEMBER, plan.file_records[1])
                with archive.open(PAYLOADS_MEMBER, "w", force_zip64=True) as member:
                    member.write(npy_header(plan.total))
                    _stream_payloads(plan, member.write, reread=plan.examination.payloads is None)
            raw.flush()
            os.fsync(raw.fileno())
        _verify(plan, temporary)
        os.replace(temporary, archive_path)
        _fsync_directory(job.directory)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _stream_payloads(plan: _MergePlan, consume: Callable[[memoryview], object], *, reread: bool) -> None:
    """Feeds every merged payload piece to `consume`, opening the readers the plan needs for the duration."""
    old_cursor = None if plan.archive is None else plan.archive.cursor()
    reader = EntryReader(plan.job.directory, memory_mapping=plan.job.memory_mapping) if reread else None
    try:
        for piece in plan.payload_pieces(old_cursor, reader):
            consume(piece)
    finally:
        if old_cursor is not None:
            old_cursor.close()
        if reader is not None:
            reader.close()


def _verify(plan: _MergePlan, temporary: Path) -> None:
    """Opens the written archive and checks it against the plan (and, with `verify_integrity`, every byte)."""
    try:
        written = ArchiveFile(temporary)
    except ArchiveFormatError as error:
        raise ArchiveVerificationError(f"the archive just written does not read back: {error}") from error
    try:
        checks = {
            "source id": written.source_id == plan.job.source_id,
            "timestamps": np.array_equal(written.timestamps, plan.time_stamps),
            "offsets": np.array_equal(written.offsets, plan.offsets),
            "file records": all(
                np.array_equal(found, expected)
                for found, expected in zip(written.file_records(), plan.file_records, strict=True)
            ),
        }
        wrong = [name for name, correct in checks.items() if not correct]
        if wrong:
            raise ArchiveVerificationError(f"the archive just written reads back with wrong {', '.join(wrong)}")
        if plan.job.verify_integrity:
            _verify_payloads(plan, written)
    finally:
        written.close()


def _verify_payloads(plan: _MergePlan, written: ArchiveFile) -> None:
    """Compares the written payload member with a fresh read of its sources, byte for byte.

    The member is read through the zip layer, which checks its CRC-32; the sources are the old archive and the
    entry files on disk, read again rather than taken from memory.
    """
    position = 0
    with written.open_member(PAYLOADS_MEMBER) as member:
        member.read(written.payload_header_length)

        def compare(piece: memoryview) -> None:
            nonlocal position
            try:
                found = member.read(len(piece))
            except (zipfile.BadZipFile, zlib.error) as error:
                raise ArchiveVerificationError(f"the archive just written is damaged: {error}") from error
            if found != piece:
                raise ArchiveVerificationError(
                    f"the archive just written differs from its sources after byte {position}"
                )
            position += len(piece)

        _stream_payloads(plan, compare, reread=True)
        try:
            leftover = member.read()
        except (zipfile.BadZipFile, zlib.error) as error:
            raise ArchiveVerificationError(f"the archive just written is damaged: {error}") from error
    if leftover or position != plan.total:
        raise ArchiveVerificationError(
            f"the archive just written holds {position + len(leftover)} payload bytes, expected {plan.total}"
        )


def _fsync_directory(directory: Path) -> None:
    """Makes a rename inside the directory durable."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_files(directory: Path, names: list[str], progress: StepProgress | None) -> int:
    """Removes entry files (already archived and verified); returns how many it removed."""
    removed = unreported = 0
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names:
            try:
                os.unlink(name, dir_fd=descriptor)
            except FileNotFoundError:
                continue
            removed += 1
            unreported += 1
            if progress is not None and unreported >= 2048:
                progress("remove", unreported)
                unreported = 0
    finally:
        os.close(descriptor)
    if progress is not None and unreported:
        progress("remove", unreported)
    return removed
