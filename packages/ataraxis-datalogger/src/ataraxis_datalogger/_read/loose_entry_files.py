"""The not-yet-archived entry files of one source, read in order for a reader."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._files.entry_reader import EntryReader, damage_reason
from .._format.damage import OnDamage, handle_damage
from ..exceptions import EntryFormatError, LogFilesChangedError


class LooseEntryFiles:
    """The loose entry files of one source, in timestamp order, read one file at a time.

    Args:
        directory: The log directory.
        source_id: The source.
        time_stamps: The entries' timestamps (from their names), in order.
        duplicate_indices: The entries' duplicate indices (from their names), in the same order.
    """

    def __init__(
        self,
        directory: Path,
        source_id: int,
        time_stamps: NDArray[np.uint64],
        duplicate_indices: NDArray[np.uint64],
    ) -> None:
        self.directory = directory
        """The log directory."""
        self.source_id = source_id
        """The source."""
        self.time_stamps = time_stamps
        """The entries' timestamps, in order."""
        self.duplicate_indices = duplicate_indices
        """The entries' duplicate indices, in order."""

    def open_reader(self) -> EntryReader:
        """Returns a reader of the log directory's files (it holds one descriptor until closed)."""
        return EntryReader(self.directory)

    def run(
        self, reader: EntryReader, first: int, last: int, on_damage: OnDamage
    ) -> Iterator[tuple[int, NDArray[np.uint8]]]:
        """Yields the timestamp and payload of entries `first` to `last` (exclusive).

        Args:
            reader: A reader from `open_reader`.
            first: The first entry's position among this source's loose entries.
            last: One past the last entry's position.
            on_damage: What to do with a damaged file: skip it with a warning, or raise.

        Raises:
            EntryFormatError: If a file is damaged or its content disagrees with its name, and `on_damage` is
                "raise" (the message names it).
            LogFilesChangedError: If a file was removed since the reader was opened (a compression with
                `remove_sources` archived it), whatever `on_damage` says: its entry is not lost, it is in the archive.
        """
        stamps, indices = self.time_stamps[first:last], self.duplicate_indices[first:last]
        for entry in reader.read_entries(self.source_id, stamps, indices):
            error = entry.error
            if error is None:
                yield entry.time_stamp, np.frombuffer(entry.payload, dtype=np.uint8)
                continue
            path = self.directory / entry.name
            if isinstance(error, FileNotFoundError):
                raise LogFilesChangedError(
                    f"the log entry {path} was removed while a reader of {self.directory} was open (a compression "
                    "with remove_sources archives entry files and removes them): open the directory again with "
                    "read_logs to read its entries from their archive"
                ) from None
            reason = damage_reason(error)
            if reason is None:
                raise error  # the process, not the file, is in trouble (out of descriptors, say)
            handle_damage(on_damage, EntryFormatError(f"the log entry {path} is damaged: {reason}"), "the file")
