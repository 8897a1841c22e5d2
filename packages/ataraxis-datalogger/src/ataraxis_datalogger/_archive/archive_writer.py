"""Archiving one source: read its entries once, merge them with its archive, stream, fsync, verify, rename, remove.

The new entries come from entry files and from stream records (found by the caller's scan of the segments, and read
from the segments again, each checked, while the archive is written).

The order of operations is what keeps every entry safe: the new archive is written under a temporary name, flushed
to disk, opened again and checked (counts, timestamps, offsets, and with `verify_integrity` every payload byte
against the entry files on disk and the block checksums), and only then renamed over the old archive; entry files
are removed last. An error at any step leaves the old archive and every entry file as they were.

The old archive's payload bytes are checked as they are copied (block checksums in format 2; a format 1 archive,
which has none, is read whole through the zip layer first, checking its CRC-32), so damage is never carried over
into a new archive under a new, valid checksum: the source fails instead.

Archives are written in the newest format (`FORMAT_VERSION`): merging new entries into a format 1 archive
upgrades it.

Memory stays bounded: per-entry metadata (16 bytes per entry) is held in arrays, payload bytes are kept in memory
only while they fit `SourceJob.buffer_limit`, and are otherwise read again from the entry files while the archive
is written. Either way they reach the zip member in pieces of at most 1 MiB.
"""

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .._files.archive_file import ArchiveFile, open_source_archive
from .._files.entry_reader import EntryReader
from .._files.listing import parse_entry_names
from .._files.stream_index import SegmentKey, SourceRecords
from .._format.archive import (
    FILE_DUPLICATES_MEMBER,
    FILE_MTIMES_MEMBER,
    FORMAT_VERSION,
    FORMAT_VERSION_MEMBER,
    OFFSETS_MEMBER,
    PAYLOAD_CHECKSUMS_MEMBER,
    PAYLOADS_MEMBER,
    SOURCE_ID_MEMBER,
    STREAM_ORIGINS_MEMBER,
    STREAM_SEGMENTS_MEMBER,
    TIMESTAMPS_MEMBER,
    BlockChecksums,
    archive_file_name,
    temporary_archive_name,
)
from .._format.entry import entry_file_name, npy_header
from ..exceptions import ArchiveFormatError, ArchiveVerificationError
from .loose_examination import ArchivedCopyCheck, examine_entries
from .merge_plan import MergePlan
from .reports import DamagedFile, SourceReport
from .source_job import SourceJob, SourceOutcome, StepProgress
from .stream_examination import NewOrigins, archived_positions, verified_copies

COMPRESS_LEVEL: Final = 1
"""The zlib level of compressed archives: 2 to 7 times faster than level 6, for a ratio within 1%."""

_ZIP64_FROM: Final = 1 << 30
_WRITE_SLICE_BYTES: Final = 8 << 20
"""The most payload bytes handed to the archive member at once (see `_write_archive`)."""


def archive_source(job: SourceJob, progress: StepProgress | None = None) -> SourceOutcome:
    """Archives the loose entries and stream records of one source, merging them into its archive if it has one.

    Stream records the archive already holds (by their origin) are not archived again; with `remove_sources`, those
    are compared byte for byte with their archived entries, so that the outcome can say which segments hold nothing
    of this source that is not safely archived. Segments themselves are removed by the caller, once every source
    with records in them is done.

    Args:
        job: The source and the options.
        progress: Told how many entries were read and removed, now and then.

    Returns:
        What was done.

    Raises:
        ArchiveFormatError: If the existing archive is damaged or belongs to another source.
        ArchiveVerificationError: If the new archive does not read back as written, or an entry file or a stream record
            changed meanwhile.
        OSError: If the directory cannot be read or written.
    """
    entries, foreign = parse_entry_names(job.file_names)
    archive_path = job.directory / archive_file_name(job.source_id)
    # lexists: a dangling link named like the archive must fail the source, not be replaced by a new archive.
    archive = open_source_archive(archive_path, job.source_id) if os.path.lexists(archive_path) else None
    complete: frozenset[SegmentKey] = frozenset()
    try:
        if archive is not None and job.verify_integrity:
            archive.verify()
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
        new_stream, stream_copies = _stream_records_to_archive(job, archive)
        new_count = int(examination.lengths.size) + (0 if new_stream is None else len(new_stream))
        if new_count:
            if archive is not None and archive.checksums is None and not job.verify_integrity:
                archive.verify()  # format 1: no block checksums to check while copying, so check the zip CRC first
            plan = MergePlan(job, entries, archive, examination, new_stream)
            _write_archive(plan, archive_path)
            entries_total, payload_bytes = plan.time_stamps.size, plan.total
        else:
            entries_total = 0 if archive is None else archive.timestamps.size
            payload_bytes = 0 if archive is None else archive.payload_bytes
        if job.remove_sources and job.stream is not None and stream_copies is not None:
            complete = _complete_segments(job.stream, stream_copies)
        if progress is not None and job.stream is not None and len(job.stream):
            progress("read", len(job.stream))
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
    return SourceOutcome(report, tuple(foreign), complete)


def _stream_records_to_archive(
    job: SourceJob, archive: ArchiveFile | None
) -> tuple[SourceRecords | None, NDArray[np.bool_] | None]:
    """Splits the source's stream records into those to archive now and those the archive already holds.

    Returns:
        The records to archive (None if none), and, with `remove_sources`, per record of `job.stream`, whether it
        is in the archive after this call: to be archived now, or an archived copy verified byte for byte.
    """
    records = job.stream
    if records is None or not len(records):
        return None, None
    positions = (
        np.full(len(records), -1, dtype=np.intp)
        if archive is None
        else archived_positions(archive.stream_origins(), records)
    )
    to_archive = positions < 0
    in_archive = None
    if job.remove_sources:
        in_archive = to_archive.copy()
        held = ~to_archive
        if archive is not None and held.any():
            in_archive[held] = verified_copies(archive, records.subset(held), positions[held])
    return (records.subset(to_archive) if to_archive.any() else None), in_archive


def _complete_segments(records: SourceRecords, in_archive: NDArray[np.bool_]) -> frozenset[SegmentKey]:
    """Returns the keys of the segments all of whose records of `records` are in the archive."""
    incomplete = set(np.unique(records.segment_of[~in_archive]).tolist())
    present = set(np.unique(records.segment_of).tolist())
    return frozenset(records.keys[segment] for segment in present - incomplete)


def _write_array(archive: zipfile.ZipFile, name: str, array: NDArray[np.generic]) -> None:
    """Writes one metadata array as an `.npy` member."""
    with archive.open(name, "w", force_zip64=array.nbytes >= _ZIP64_FROM) as member:
        np.lib.format.write_array(member, array, allow_pickle=False)


def _write_archive(plan: MergePlan, archive_path: Path) -> None:
    """Writes the merged archive under a temporary name, fsyncs, verifies it, and renames it into place."""
    job = plan.job
    temporary = job.directory / temporary_archive_name(job.source_id, os.getpid())
    compression = zipfile.ZIP_DEFLATED if job.compress else zipfile.ZIP_STORED
    created = False
    try:
        with _create_exclusively(temporary) as raw:
            created = True
            with zipfile.ZipFile(raw, "w", compression=compression, compresslevel=COMPRESS_LEVEL) as archive:
                _write_array(archive, FORMAT_VERSION_MEMBER, np.array(FORMAT_VERSION, dtype=np.uint16))
                _write_array(archive, SOURCE_ID_MEMBER, np.array(job.source_id, dtype=np.uint8))
                _write_array(archive, TIMESTAMPS_MEMBER, plan.time_stamps)
                _write_array(archive, OFFSETS_MEMBER, plan.offsets)
                _write_array(archive, FILE_MTIMES_MEMBER, plan.file_records[0])
                _write_array(archive, FILE_DUPLICATES_MEMBER, plan.file_records[1])
                checksums = BlockChecksums()
                with archive.open(PAYLOADS_MEMBER, "w", force_zip64=True) as member:

                    def write(piece: bytes | memoryview) -> None:
                        # In slices: zipfile deflates what it is given at once, so a large entry handed over
                        # whole would be held a second time, compressed, before any of it is written.
                        if len(piece) <= _WRITE_SLICE_BYTES:
                            checksums.update(piece)
                            member.write(piece)
                            return
                        view = memoryview(piece)
                        for start in range(0, len(view), _WRITE_SLICE_BYTES):
                            part = view[start : start + _WRITE_SLICE_BYTES]
                            checksums.update(part)
                            member.write(part)

                    write(npy_header(plan.total))
                    _stream_payloads(plan, write, reread=plan.examination.payloads is None)
                plan.checksums = checksums.finish()
                _write_array(archive, PAYLOAD_CHECKSUMS_MEMBER, plan.checksums)
                stream_members = plan.origins.members()
                if stream_members is not None:
                    _write_array(archive, STREAM_SEGMENTS_MEMBER, stream_members[0])
                    _write_array(archive, STREAM_ORIGINS_MEMBER, stream_members[1])
            raw.flush()
            os.fsync(raw.fileno())
        _verify(plan, temporary)
        os.replace(temporary, archive_path)
        _fsync_directory(job.directory)
    except BaseException:
        if created:
            temporary.unlink(missing_ok=True)
        raise


def _create_exclusively(path: Path) -> io.BufferedWriter:
    """Creates a new file for writing; a file already at `path` (a leftover of this pid) is removed first.

    The exclusive, non-following creation means a FIFO or a link planted under the temporary name is never
    opened or written through.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, 0o644)
    except FileExistsError:
        path.unlink()
        descriptor = os.open(path, flags, 0o644)
    return os.fdopen(descriptor, "wb")


def _stream_payloads(plan: MergePlan, consume: Callable[[memoryview], object], *, reread: bool) -> None:
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


def _verify(plan: MergePlan, temporary: Path) -> None:
    """Opens the written archive and checks it against the plan (and, with `verify_integrity`, every byte)."""
    try:
        written = ArchiveFile(temporary)
    except ArchiveFormatError as error:
        raise ArchiveVerificationError(f"the archive just written does not read back: {error}") from error
    try:
        checks = {
            "format version": written.format_version == FORMAT_VERSION,
            "source id": written.source_id == plan.job.source_id,
            "timestamps": np.array_equal(written.timestamps, plan.time_stamps),
            "offsets": np.array_equal(written.offsets, plan.offsets),
            "checksums": written.checksums is not None
            and plan.checksums is not None
            and np.array_equal(written.checksums, plan.checksums),
            "file records": all(
                np.array_equal(found, expected)
                for found, expected in zip(written.file_records(), plan.file_records, strict=True)
            ),
            "stream origins": _same_origins(written, plan.origins),
        }
        wrong = [name for name, correct in checks.items() if not correct]
        if wrong:
            raise ArchiveVerificationError(f"the archive just written reads back with wrong {', '.join(wrong)}")
        if plan.job.verify_integrity:
            _verify_payloads(plan, written)
    finally:
        written.close()


def _same_origins(written: ArchiveFile, expected: NewOrigins) -> bool:
    """Returns True if the archive just written records the stream origins it should."""
    found = written.stream_origins()
    return (
        found.keys == expected.keys
        and np.array_equal(found.rows, expected.rows)
        and np.array_equal(found.offsets, expected.offsets)
    )


def _verify_payloads(plan: MergePlan, written: ArchiveFile) -> None:
    """Compares the written payload member with a fresh read of its sources, byte for byte.

    The member is read back through a cursor, which checks every block against its checksum; the sources are the
    old archive and the entry files on disk, read again rather than taken from memory.
    """
    position = 0
    with written.cursor() as cursor:

        def compare(piece: memoryview) -> None:
            nonlocal position
            try:
                found = cursor.read(position, min(plan.total, position + len(piece)))
            except ArchiveFormatError as error:
                raise ArchiveVerificationError(f"the archive just written is damaged: {error}") from error
            if found.data != piece:
                raise ArchiveVerificationError(
                    f"the archive just written differs from its sources after byte {position}"
                )
            position += len(piece)

        _stream_payloads(plan, compare, reread=True)
    if position != plan.total:
        raise ArchiveVerificationError(
            f"the archive just written holds {plan.total} payload bytes, its sources {position}"
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
