"""The not-yet-archived entry files of one source, read in order for a reader."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._files.entry_reader import EntryReader
from .._format.entry import entry_file_name
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
        stamps = self.time_stamps[first:last].tolist()
        indices = self.duplicate_indices[first:last].tolist()
        for time_stamp, duplicate_index in zip(stamps, indices, strict=True):
            name = entry_file_name(self.source_id, time_stamp, duplicate_index)
            try:
                payload, _ = reader.read(name, self.source_id, time_stamp)
            except EntryFormatError as error:
                raise EntryFormatError(f"the log entry {self.directory / name} is damaged: {error}") from error
            yield time_stamp, np.frombuffer(payload, dtype=np.uint8)
