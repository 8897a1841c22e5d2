"""The not-yet-archived entry files of one source, read in order for a reader."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._files.entry_reader import EntryReader
from ..exceptions import EntryFormatError


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

    def run(self, reader: EntryReader, first: int, last: int) -> Iterator[tuple[int, NDArray[np.uint8]]]:
        """Yields the timestamp and payload of entries `first` to `last` (exclusive).

        Args:
            reader: A reader from `open_reader`.
            first: The first entry's position among this source's loose entries.
            last: One past the last entry's position.

        Raises:
            EntryFormatError: If a file is damaged or its content disagrees with its name (the message names it).
        """
        stamps, indices = self.time_stamps[first:last], self.duplicate_indices[first:last]
        for entry in reader.read_entries(self.source_id, stamps, indices):
            if isinstance(entry.error, EntryFormatError):
                message = f"the log entry {self.directory / entry.name} is damaged: {entry.error}"
                raise EntryFormatError(message) from entry.error
            if entry.error is not None:
                raise entry.error
            yield entry.time_stamp, np.frombuffer(entry.payload, dtype=np.uint8)
