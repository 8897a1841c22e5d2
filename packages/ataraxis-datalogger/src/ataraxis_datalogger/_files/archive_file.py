"""One opened log archive: its metadata held in memory, its payload bytes read on demand.

The archive file is opened once and every later read goes through that descriptor, so a compression that renames
a new archive over the path while a reader is open does not change what the reader sees. An uncompressed
(stored) payload member is memory-mapped: a range of entries is a zero-copy view. A compressed (deflated) one is
decompressed as a stream, which is cheap front to back and costs a re-decompression from the start for a backward
jump; each cursor has its own stream, so interleaved iterations do not disturb each other.
"""

import mmap
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import numpy as np
from numpy.typing import NDArray

from .._format.archive import (
    FILE_DUPLICATES_MEMBER,
    FILE_MTIMES_MEMBER,
    FORMAT_VERSION,
    FORMAT_VERSION_MEMBER,
    MEMBERS,
    OFFSETS_MEMBER,
    PAYLOADS_MEMBER,
    SOURCE_ID_MEMBER,
    TIMESTAMPS_MEMBER,
)
from ..exceptions import ArchiveFormatError
from .closeable import Closeable

PIECE_BYTES: Final = 1 << 20
"""The largest piece of payload bytes a cursor hands out at once when streaming (bounds memory)."""

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError, KeyError)


class ArchiveFile(Closeable):
    """An opened archive whose metadata (timestamps and offsets) is loaded and validated.

    Args:
        path: The archive file.

    Raises:
        ArchiveFormatError: If the file is not a log archive in a layout this version reads, or is damaged.
        OSError: If the file cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        """The archive file."""
        self._file = path.open("rb")
        self._mapping: mmap.mmap | None = None
        self._mapped: NDArray[np.uint8] | None = None
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._load()
        except _ZIP_ERRORS as error:
            self._file.close()
            if isinstance(error, ArchiveFormatError):
                raise
            raise ArchiveFormatError(f"{path} is not a readable log archive: {error}") from error
        except BaseException:
            self._file.close()
            raise

    def _load(self) -> None:
        missing = [name for name in MEMBERS if name not in self._zip.NameToInfo]
        if missing:
            raise ArchiveFormatError(
                f"{self.path} is not a columnar log archive: it lacks {', '.join(missing)} (an archive in the "
                "one-member-per-entry layout of ataraxis-data-structures 4.x has to be rebuilt from its entries)"
            )
        version = int(self._read_member(FORMAT_VERSION_MEMBER, np.uint16, 0))
        if version != FORMAT_VERSION:
            raise ArchiveFormatError(
                f"{self.path} has archive format version {version}; this version of ataraxis-datalogger reads "
                f"version {FORMAT_VERSION} (upgrade it to read newer archives)"
            )
        self.source_id: int = int(self._read_member(SOURCE_ID_MEMBER, np.uint8, 0))
        """The id of the source whose entries the archive holds."""
        self.timestamps: NDArray[np.uint64] = self._read_member(TIMESTAMPS_MEMBER, np.uint64, 1)
        """Every entry's timestamp, in order (read-only)."""
        self.offsets: NDArray[np.uint64] = self._read_member(OFFSETS_MEMBER, np.uint64, 1)
        """Entry i's payload spans bytes `offsets[i]` to `offsets[i + 1]` of the payload member (read-only)."""
        count = self.timestamps.size
        problem = None
        if self.offsets.size != count + 1 or self.offsets[0] != 0:
            problem = f"{count} timestamps need {count + 1} offsets starting at 0, found {self.offsets.size}"
        elif count and np.any(self.offsets[1:] < self.offsets[:-1]):
            problem = "the payload offsets decrease"
        elif count and np.any(self.timestamps[1:] < self.timestamps[:-1]):
            problem = "the timestamps are not in order"
        if problem is not None:
            raise ArchiveFormatError(f"{self.path} is inconsistent: {problem}")
        for array in (self.timestamps, self.offsets):
            array.flags.writeable = False
        self._file_records: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None
        self.payload_bytes: int = int(self.offsets[-1])
        """The total size of all payloads."""
        self._payload_info = self._zip.getinfo(PAYLOADS_MEMBER)
        self.compressed: bool = self._payload_info.compress_type != zipfile.ZIP_STORED
        """True if the payload member is deflated, False if it is stored and memory-mapped."""
        with self._zip.open(self._payload_info) as member:
            major_minor = np.lib.format.read_magic(member)
            if major_minor == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            self.payload_header_length = member.tell()
        if dtype != np.uint8 or shape != (self.payload_bytes,):
            raise ArchiveFormatError(
                f"{self.path} is inconsistent: the offsets need a uint8 payload member of shape "
                f"({self.payload_bytes},), found {dtype} {shape}"
            )

    def _read_member(self, name: str, dtype: type[np.unsignedinteger], ndim: int) -> NDArray[np.uint64]:
        """Reads a metadata member, checking its type and number of dimensions."""
        try:
            with self._zip.open(name) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
        except _ZIP_ERRORS as error:
            raise ArchiveFormatError(f"{self.path}: the member {name} is damaged ({error})") from error
        if array.dtype != np.dtype(dtype) or array.ndim != ndim:
            raise ArchiveFormatError(
                f"{self.path}: the member {name} should be a {ndim}-d {np.dtype(dtype)} array, "
                f"found a {array.ndim}-d {array.dtype} one"
            )
        return array

    def file_records(self) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
        """Returns the per-entry modification times and duplicate indices of the entry files (loaded on first use).

        Raises:
            ArchiveFormatError: If the members are damaged or do not hold one value per entry.
        """
        if self._file_records is None:
            mtimes = self._read_member(FILE_MTIMES_MEMBER, np.uint64, 1)
            duplicates = self._read_member(FILE_DUPLICATES_MEMBER, np.uint64, 1)
            count = self.timestamps.size
            if mtimes.size != count or duplicates.size != count:
                raise ArchiveFormatError(
                    f"{self.path} is inconsistent: {count} entries need as many file records, found "
                    f"{mtimes.size} modification times and {duplicates.size} duplicate indices"
                )
            self._file_records = (mtimes, duplicates)
        return self._file_records

    def mapped_payloads(self) -> NDArray[np.uint8]:
        """Returns every payload byte of a stored (uncompressed) archive as a read-only memory-mapped array."""
        if self._mapped is None:
            if self.payload_bytes == 0:
                self._mapped = np.empty(0, dtype=np.uint8)
            else:
                info = self._payload_info
                header = os.pread(self._file.fileno(), _LOCAL_HEADER.size, info.header_offset)
                fields = _LOCAL_HEADER.unpack(header) if len(header) == _LOCAL_HEADER.size else None
                if fields is None or fields[0] != _LOCAL_SIGNATURE:
                    raise ArchiveFormatError(f"{self.path}: the payload member's local header is damaged")
                start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10] + self.payload_header_length
                self._mapping = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
                if start + self.payload_bytes > len(self._mapping):
                    raise ArchiveFormatError(f"{self.path} is truncated: the payload member ends past the file")
                self._mapped = np.frombuffer(self._mapping, dtype=np.uint8, count=self.payload_bytes, offset=start)
        return self._mapped

    def cursor(self) -> "PayloadCursor":
        """Returns a new cursor that reads this archive's payload bytes."""
        return PayloadCursor(self)

    def check_payloads(self) -> None:
        """Reads the whole payload member through the zip layer, which checks its CRC-32.

        Raises:
            ArchiveFormatError: If the member is truncated or its bytes do not match their checksum.
        """
        try:
            with self._zip.open(self._payload_info) as member:
                while member.read(PIECE_BYTES):
                    pass
        except _ZIP_ERRORS as error:
            raise ArchiveFormatError(f"{self.path}: the payload bytes are damaged ({error})") from error

    def open_member(self, name: str) -> IO[bytes]:
        """Opens one member of the archive for reading.

        Args:
            name: The member's name.
        """
        return self._zip.open(name)

    def close(self) -> None:
        """Releases the file and the memory map (a mapping still viewed by payload arrays lives until they do)."""
        self._mapped = None
        if self._mapping is not None:
            try:
                self._mapping.close()
            except BufferError:
                # Payload views handed to the caller still use the mapping; it is unmapped when the last one goes.
                pass
            self._mapping = None
        self._zip.close()
        self._file.close()


class PayloadCursor(Closeable):
    """Reads byte ranges of an archive's payload member; for a compressed archive, reading forward is cheapest.

    Args:
        archive: The opened archive.
    """

    def __init__(self, archive: ArchiveFile) -> None:
        self._archive = archive
        self._stream: IO[bytes] | None = None

    def read(self, start: int, stop: int) -> NDArray[np.uint8]:
        """Returns payload bytes `start` to `stop` as a read-only uint8 array.

        Args:
            start: The first byte.
            stop: One past the last byte.

        Raises:
            ArchiveFormatError: If the payload member is truncated or damaged.
        """
        if not self._archive.compressed:
            return self._archive.mapped_payloads()[start:stop]
        if self._stream is None:
            self._stream = self._archive.open_member(PAYLOADS_MEMBER)
        target = self._archive.payload_header_length + start
        try:
            if self._stream.tell() != target:
                self._stream.seek(target)
            data = self._stream.read(stop - start)
        except _ZIP_ERRORS as error:
            raise ArchiveFormatError(f"{self._archive.path}: the payload bytes are damaged ({error})") from error
        if len(data) != stop - start:
            raise ArchiveFormatError(f"{self._archive.path} is truncated: payload byte {start + len(data)} is missing")
        return np.frombuffer(data, dtype=np.uint8)

    def pieces(self, start: int, stop: int) -> Iterator[memoryview]:
        """Yields payload bytes `start` to `stop` in pieces of at most `PIECE_BYTES`.

        Args:
            start: The first byte.
            stop: One past the last byte.
        """
        while start < stop:
            end = min(stop, start + PIECE_BYTES)
            yield self.read(start, end).data
            start = end

    def close(self) -> None:
        """Closes the cursor's decompression stream, if it has one."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def open_source_archive(path: Path, source_id: int) -> ArchiveFile:
    """Opens the archive of a source, checking that it holds that source's entries.

    Args:
        path: The archive file, named for the source.
        source_id: The source its name says it holds.

    Raises:
        ArchiveFormatError: If the file is not a readable archive, or holds another source's entries.
        OSError: If the file cannot be opened.
    """
    archive = ArchiveFile(path)
    if archive.source_id != source_id:
        archive.close()
        raise ArchiveFormatError(f"{path} is named for source {source_id} but holds source {archive.source_id}")
    return archive
