"""One opened log archive: its metadata read whole and checked, its payload bytes read on demand.

The archive file is opened once (never blocking, see `regular_file`) and every later read goes through that
descriptor, so a compression that renames a new archive over the path while a reader is open does not change what
the reader sees.

Every metadata member is read whole through the zip layer, which checks its CRC-32, and decoded only after its
`.npy` header was checked against its size. Payload bytes are read by a `PayloadCursor` (see `payload_cursor`):
with `pread` from a stored member, decompressed as a stream from a deflated one, and in format 2 checked block by
block against the `payload_checksums` member. Nothing is memory-mapped: a file truncated under a mapping kills the
reading process with SIGBUS, while a `pread` past the end of the file merely comes back short.

An archive of the 3.x layout (one member per entry, no `format_version`) is opened through `LegacyMembers`, which
gives it the same metadata (`format_version` 0) and a cursor of its own; see `legacy_members`.

Whatever a damaged file makes the zip or NumPy layers raise (`BadZipFile`, `NotImplementedError` for a flipped
compression method, `UnicodeDecodeError` for a flipped name flag, `ValueError`, `EOFError`, ...) leaves this module
as an `ArchiveFormatError` naming the file; only `MemoryError` passes through as itself.
"""

import contextlib
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .._format.archive import (
    FILE_DUPLICATES_MEMBER,
    FILE_MTIMES_MEMBER,
    FORMAT_VERSION_MEMBER,
    OFFSETS_MEMBER,
    PAYLOAD_CHECKSUMS_MEMBER,
    PAYLOADS_MEMBER,
    SOURCE_ID_MEMBER,
    STREAM_ORIGINS_MEMBER,
    STREAM_SEGMENTS_MEMBER,
    TIMESTAMPS_MEMBER,
    VERSION_1_MEMBERS,
    check_version,
    checksum_block_count,
    decode_member,
    npy_header_size,
    read_payload_header,
)
from .._format.legacy_archive import is_legacy_layout
from ..exceptions import ArchiveFormatError
from .closeable import Closeable
from .legacy_members import LegacyMembers, LegacyPayloadCursor
from .payload_cursor import PayloadCursor
from .regular_file import open_regular_file

_LOCAL_HEADER: Final = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE: Final = b"PK\x03\x04"
_HEADER_PREFIX: Final = 12
"""Bytes of the payload member that hold its `.npy` magic string, version and header size."""


class ArchiveFile(Closeable):
    """An opened archive whose metadata (version, source, timestamps, offsets, checksums) is loaded and checked.

    Args:
        path: The archive file.
        follow_symlinks: Open the target if `path` is a symbolic link. Archives found in a log directory are never
            followed (see `regular_file`); a path a user names explicitly is.

    Raises:
        ArchiveFormatError: If the file is not a regular file, not a log archive in a layout this version reads, or
            is damaged.
        OSError: If the file cannot be opened.
    """

    def __init__(self, path: Path, *, follow_symlinks: bool = False) -> None:
        self.path = path
        """The archive file."""
        descriptor, status = open_regular_file(
            path, lambda reason: ArchiveFormatError(f"{path} is {reason}"), follow_symlinks=follow_symlinks
        )
        self.file_size: int = status.st_size
        """The archive's size when it was opened, in bytes."""
        self._file = os.fdopen(descriptor, "rb")
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._load()
        except ArchiveFormatError:
            self._file.close()
            raise
        except MemoryError:
            self._file.close()
            raise
        except Exception as error:
            self._file.close()
            raise ArchiveFormatError(f"{path} is not a readable log archive: {_describe(error)}") from error
        except BaseException:
            self._file.close()
            raise

    def _load(self) -> None:
        names = self._zip.NameToInfo
        self._legacy: LegacyMembers | None = None
        # A 3.x archive (loaded by `_load_legacy`) has no stream bookkeeping: it reads as holding no stream record.
        self._stream_origins: StreamOrigins | None = None
        self.records_exact_mtimes: bool = True
        """Whether `file_records` gives each entry file's exact modification time (else a time it is not later than)."""
        if FORMAT_VERSION_MEMBER not in names and is_legacy_layout(names):
            self._load_legacy()
            return
        missing = [name for name in VERSION_1_MEMBERS if name not in names]
        if missing:
            raise ArchiveFormatError(f"{self.path} is not a columnar log archive: it lacks {', '.join(missing)}")
        self.format_version: int = int(self._read_member(FORMAT_VERSION_MEMBER, np.uint16, 0))
        """The archive's layout version (1 or 2; see `_format.archive`), or 0 for the 3.x layout."""
        check_version(self.format_version, self.path)
        if self.format_version >= 2 and PAYLOAD_CHECKSUMS_MEMBER not in names:
            raise ArchiveFormatError(
                f"{self.path} is not a log archive of format version {self.format_version}: it lacks "
                f"{PAYLOAD_CHECKSUMS_MEMBER}"
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
        self._file_records: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None
        self.payload_bytes: int = int(self.offsets[-1])
        """The total size of all payloads."""
        self._load_payload_layout()

    def _load_payload_layout(self) -> None:
        """Parses the payload member's header, checks its size, and loads its checksums (format 2)."""
        info = self._zip.getinfo(PAYLOADS_MEMBER)
        self.payload_info: zipfile.ZipInfo = info
        """The zip directory's record of the payload member."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveFormatError(f"{self.path}: the payload member uses compression method {info.compress_type}")
        self.compressed: bool = info.compress_type == zipfile.ZIP_DEFLATED
        """True if the payload member is deflated, False if it is stored."""
        self.member_start: int = self._member_start()
        """Where the payload member's stored (or deflated) bytes start in the file."""
        self.checksums: NDArray[np.uint32] | None = None
        """The checksum of each block of the payload member (format 2), or None (format 1: none)."""
        # Only the header is read (its size first): damage further in is found when those bytes are read.
        with PayloadCursor(self) as cursor:
            prefix, failure = cursor.member_bytes(0, min(_HEADER_PREFIX, info.file_size))
            if failure is None:
                try:
                    size = npy_header_size(prefix)
                except ArchiveFormatError as error:
                    raise ArchiveFormatError(f"{self.path}: {error}") from None
                head, failure = cursor.member_bytes(0, min(size, info.file_size))
        if failure is not None:
            raise ArchiveFormatError(f"{self.path}: the payload member cannot be read ({failure})")
        try:
            header_length, shape, dtype = read_payload_header(head)
        except ArchiveFormatError as error:
            raise ArchiveFormatError(f"{self.path}: {error}") from None
        self.payload_header_length: int = header_length
        """The length of the payload member's `.npy` header: payload byte i is member byte i + this."""
        if dtype != np.uint8 or shape != (self.payload_bytes,):
            raise ArchiveFormatError(
                f"{self.path} is inconsistent: the offsets need a uint8 payload member of shape "
                f"({self.payload_bytes},), found {dtype} {shape}"
            )
        self.member_bytes: int = header_length + self.payload_bytes
        """The size of the payload member, header included."""
        if info.file_size != self.member_bytes:
            raise ArchiveFormatError(
                f"{self.path} is inconsistent: the zip directory gives the payload member {info.file_size} bytes, "
                f"its header and offsets {self.member_bytes}"
            )
        if self.format_version >= 2:
            checksums = self._read_member(PAYLOAD_CHECKSUMS_MEMBER, np.uint32, 1)
            expected = checksum_block_count(self.member_bytes)
            if checksums.size != expected:
                raise ArchiveFormatError(
                    f"{self.path} is inconsistent: a payload member of {self.member_bytes} bytes needs {expected} "
                    f"block checksums, found {checksums.size}"
                )
            self.checksums = checksums

    def _member_start(self) -> int:
        """Returns the file offset of the payload member's first stored or deflated byte, checking its local header.

        The payload bytes are read from there directly (not through the zip layer, whose CRC check at the end of a
        member would fail a whole read for damage the block checksums locate to a block).
        """
        info = self.payload_info
        if not self.compressed and info.compress_size != info.file_size:
            raise ArchiveFormatError(f"{self.path}: the stored payload member's sizes disagree")
        header = os.pread(self._file.fileno(), _LOCAL_HEADER.size, info.header_offset)
        fields = _LOCAL_HEADER.unpack(header) if len(header) == _LOCAL_HEADER.size else None
        if fields is None or fields[0] != _LOCAL_SIGNATURE:
            raise ArchiveFormatError(f"{self.path}: the payload member's local header is damaged")
        name_start = info.header_offset + _LOCAL_HEADER.size
        if os.pread(self._file.fileno(), fields[9], name_start) != info.orig_filename.encode("ascii", "replace"):
            raise ArchiveFormatError(f"{self.path}: the payload member's local header names another member")
        start = name_start + fields[9] + fields[10]
        if start + info.compress_size > self.file_size:
            raise ArchiveFormatError(f"{self.path} is truncated: the payload member ends past the end of the file")
        return int(start)

    def _read_member(self, name: str, dtype: type[np.generic], ndim: int) -> NDArray[Any]:
        """Reads a metadata member whole (checking its zip CRC-32) and decodes it as a read-only array."""
        try:
            with self._zip.open(name) as member:
                data = member.read()
        except MemoryError:
            raise
        except Exception as error:
            raise ArchiveFormatError(f"{self.path}: the member {name} is damaged ({_describe(error)})") from error
        try:
            return decode_member(data, name, np.dtype(dtype), ndim)
        except ArchiveFormatError as error:
            raise ArchiveFormatError(f"{self.path}: {error}") from None

    def _load_legacy(self) -> None:
        """Loads an archive of the 3.x layout, one member per entry (see `legacy_members`)."""
        legacy = LegacyMembers(self.path, self._file, self._zip)
        self._legacy = legacy
        self.format_version = 0
        self.source_id = legacy.source_id
        self.timestamps = legacy.timestamps
        self.offsets = legacy.offsets
        for array in (self.timestamps, self.offsets):
            array.flags.writeable = False
        self.payload_bytes = int(self.offsets[-1])
        self.compressed = legacy.compressed
        self.checksums = None
        self.records_exact_mtimes = False
        self._file_records = legacy.file_records()

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

    def stream_origins(self) -> "StreamOrigins":
        """Returns which stream records the archive's entries came from (loaded on first use; see `_format.archive`).

        Raises:
            ArchiveFormatError: If the members are damaged, disagree with each other or with the entry count, or
                only one of them is present.
        """
        if self._stream_origins is None:
            names = self._zip.NameToInfo
            present = [name in names for name in (STREAM_SEGMENTS_MEMBER, STREAM_ORIGINS_MEMBER)]
            count = self.timestamps.size
            if not any(present):
                self._stream_origins = StreamOrigins([], np.zeros(count, np.uint64), np.zeros(count, np.uint64))
                return self._stream_origins
            if not all(present):
                raise ArchiveFormatError(
                    f"{self.path} is inconsistent: it holds only one of {STREAM_SEGMENTS_MEMBER} and "
                    f"{STREAM_ORIGINS_MEMBER}"
                )
            segments = self._read_member(STREAM_SEGMENTS_MEMBER, np.uint64, 2)
            origins = self._read_member(STREAM_ORIGINS_MEMBER, np.uint64, 2)
            problem = None
            if segments.shape[1:] != (3,) or origins.shape != (count, 2):
                problem = (
                    f"{count} entries need stream segments of shape (K, 3) and origins of shape ({count}, 2), found "
                    f"{segments.shape} and {origins.shape}"
                )
            elif count and int(origins[:, 0].max()) > segments.shape[0]:
                problem = f"an entry names stream segment row {int(origins[:, 0].max())} of {segments.shape[0]}"
            if problem is not None:
                raise ArchiveFormatError(f"{self.path} is inconsistent: {problem}")
            keys = [
                (low.to_bytes(8, "little") + high.to_bytes(8, "little"), sequence)
                for low, high, sequence in segments.tolist()
            ]
            self._stream_origins = StreamOrigins(keys, origins[:, 0].copy(), origins[:, 1].copy())
        return self._stream_origins

    def cursor(self) -> PayloadCursor:
        """Returns a new cursor that reads this archive's payload bytes."""
        if self._legacy is not None:
            return LegacyPayloadCursor(self, self._legacy)
        return PayloadCursor(self)

    def verify(self) -> None:
        """Reads every byte the archive holds and checks it: the file records, and every payload byte.

        Format 2 payloads are checked block by block against their checksums; format 1 payloads, which have none,
        by reading the whole member through the zip layer (which checks its CRC-32), and the members of a 3.x
        archive each likewise.

        Raises:
            ArchiveFormatError: If anything is damaged.
        """
        if self._legacy is not None:
            self._legacy.verify()
            return
        self.file_records()
        if self.checksums is None:
            self._verify_zip_crc()
            return
        with self.cursor() as cursor:
            for _ in cursor.pieces(0, self.payload_bytes):
                pass

    def _verify_zip_crc(self) -> None:
        """Reads the whole payload member through the zip layer, which checks its CRC-32 (format 1)."""
        try:
            with self._zip.open(self.payload_info) as member:
                while member.read(1 << 20):
                    pass
        except MemoryError:
            raise
        except Exception as error:
            raise ArchiveFormatError(f"{self.path}: the payload bytes are damaged ({_describe(error)})") from error

    def read_at(self, size: int, offset: int) -> bytes:
        """Reads up to `size` bytes of the file at `offset` (fewer if the file ends first).

        Args:
            size: How many bytes.
            offset: Where, from the start of the file.
        """
        return os.pread(self._file.fileno(), size, offset)

    def close(self) -> None:
        """Releases the file; payload arrays already read stay valid (they are copies)."""
        with contextlib.suppress(Exception):
            self._zip.close()
        self._file.close()


@dataclass(frozen=True)
class StreamOrigins:
    """Which stream record each entry of an archive came from, for the segments that may still exist."""

    keys: list[tuple[bytes, int]]
    """Each recorded segment's writer id and sequence number, by row."""
    rows: NDArray[np.uint64]
    """Per entry, the row of its segment plus one (0: none)."""
    offsets: NDArray[np.uint64]
    """Per entry, the offset of its record in that segment."""


def open_source_archive(path: Path, source_id: int) -> ArchiveFile:
    """Opens the archive of a source found in a log directory, checking that it holds that source's entries.

    Args:
        path: The archive file, named for the source (a symbolic link is not followed).
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


def _describe(error: BaseException) -> str:
    """Describes an error of the zip or NumPy layers (some carry no message, such as a bare `EOFError`)."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
