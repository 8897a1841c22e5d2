"""The not-yet-archived entry files of one source, read in order for a reader."""

import errno
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._files.entry_reader import EntryReader
from .._format.damage import OnDamage, handle_damage
from .._format.entry import entry_file_name
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
        stamps = self.time_stamps[first:last].tolist()
        indices = self.duplicate_indices[first:last].tolist()
        for time_stamp, duplicate_index in zip(stamps, indices, strict=True):
            name = entry_file_name(self.source_id, time_stamp, duplicate_index)
            try:
                payload, _ = reader.read(name, self.source_id, time_stamp)
            except FileNotFoundError:
                raise LogFilesChangedError(
                    f"the log entry {self.directory / name} was removed while a reader of {self.directory} was "
                    "open (a compression with remove_sources archives entry files and removes them): open the "
                    "directory again with read_logs to read its entries from their archive"
                ) from None
            except EntryFormatError as error:
                damage = EntryFormatError(f"the log entry {self.directory / name} is damaged: {error}")
                handle_damage(on_damage, damage, "the file")
                continue
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
                    raise  # the process, not the file, is in trouble
                damage = EntryFormatError(f"the log entry {self.directory / name} cannot be read: {error.strerror}")
                handle_damage(on_damage, damage, "the file")
                continue
            yield time_stamp, np.frombuffer(payload, dtype=np.uint8)
