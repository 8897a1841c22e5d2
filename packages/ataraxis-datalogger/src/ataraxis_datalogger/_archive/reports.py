"""What archiving one source did: the per-source part of `compress_npy_logs`'s report.

It lives apart from `compression` because the workers that archive sources (`_archive.archive_writer`) build it
directly.
"""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DamagedFile:
    """A file of a log directory that was not archived, and why."""

    path: Path
    """The file (left in place)."""
    reason: str
    """What is wrong with it."""


@dataclass(frozen=True)
class SourceReport:
    """What compressing one source did."""

    source_id: int
    """The source."""
    archive_path: Path | None
    """The source's archive, or None if it has none (every one of its entry files was damaged)."""
    entries_archived: int
    """Entries this call added to the archive."""
    entries_total: int
    """Entries in the archive after this call (earlier ones included)."""
    payload_bytes: int
    """Payload bytes in the archive after this call."""
    archive_bytes: int
    """The archive file's size on disk."""
    files_removed: int
    """Entry files removed (only with `remove_sources=True`), after the archive holding them was verified."""
    damaged_files: tuple[DamagedFile, ...]
    """Entry files of this source that could not be archived; they are left in place."""
