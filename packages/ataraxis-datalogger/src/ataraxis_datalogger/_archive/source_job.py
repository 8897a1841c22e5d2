"""What a worker needs to archive one source, and what it reports back (both cross process boundaries)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._files.stream_index import SegmentKey, SourceRecords
from .reports import SourceReport

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
    """Deflate the archive's members (else store them, which lets a reader read any range directly)."""
    verify_integrity: bool
    """Compare every archived payload byte with the entry files before anything is removed."""
    buffer_limit: int
    """Payload bytes kept in memory between reading and writing; beyond it entries are read a second time."""
    stream: SourceRecords | None = None
    """The source's stream records found by the compression's scan of the segments (None if it has none)."""
    segments: tuple[SegmentKey, ...] = ()
    """The key of every segment in the folder when it was scanned (old archived entries of other segments forget
    their origin)."""

    @property
    def entry_count(self) -> int:
        """The entry files and stream records this job reads (a measure of its work)."""
        return len(self.file_names) + (0 if self.stream is None else len(self.stream))


@dataclass(frozen=True)
class SourceOutcome:
    """What archiving one source did."""

    report: SourceReport
    """The source's part of the public report."""
    foreign: tuple[str, ...]
    """Names listed for the source that turned out not to be entries' (kept)."""
    complete_segments: frozenset[SegmentKey] = frozenset()
    """With `remove_sources`: the segments every record of which (of this source) is now in the archive, archived
    by this call or compared byte for byte with its archived entry."""
