"""The members of an archive of ataraxis-data-structures 3.x (one per entry), read as one run of payload bytes.

`ArchiveFile` opens a 3.x archive through `LegacyMembers`, which gives it the metadata of a columnar archive
(timestamps, and offsets into the payloads laid end to end) and a `LegacyPayloadCursor` over them, so a reader, an
inspection and a compression use a 3.x archive like any other; a compression merges its entries into a columnar
archive when it archives new entries of its source.

Opening reads the head of every member (its `.npy` header, source id and timestamp) straight from the file, to find
where its payload starts and to check it against the member's name; 3.x's own reading cost no less. Payload bytes
are read one member at a time, each in full through the zip layer, which checks its CRC-32: a damaged member makes
its entry unreadable and no other.
"""

import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from .._format.legacy_archive import legacy_payload_start, parse_legacy_member_name, parse_member_header
from ..exceptions import ArchiveFormatError
from .payload_cursor import PIECE_BYTES, PayloadCursor, PayloadRange

if TYPE_CHECKING:
    from .archive_file import ArchiveFile

_HEAD_BYTES: Final = 4096
"""Bytes read from the start of each member on opening: a `.npy` header (128 bytes as NumPy writes it) and prefix."""
_LOCAL_HEADER: Final = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE: Final = b"PK\x03\x04"


class LegacyMembers:
    """The members of an opened 3.x archive, in timestamp order, with where each one's payload starts.

    Args:
        path: The archive file, for messages.
        file: The archive file, open for reading.
        archive: The zip file read from `file`.

    Raises:
        ArchiveFormatError: If a member is not named as an entry, the members belong to several sources, a
            member's head is damaged, or a member holds another entry than its name says.
    """

    def __init__(self, path: Path, file: IO[bytes], archive: zipfile.ZipFile) -> None:
        self._path = path
        self._file = file
        self._zip = archive
        named = []
        for info in archive.infolist():
            name = parse_legacy_member_name(info.filename)
            if name is None:
                raise ArchiveFormatError(f"{path} is not a 3.x log archive: the member {info.filename} is no entry")
            named.append((name.time_stamp, name.source_id, info))
        source_ids = sorted({source_id for _, source_id, _ in named})
        if len(source_ids) != 1:
            found = ", ".join(str(source_id) for source_id in source_ids) or "none"
            raise ArchiveFormatError(f"{path} is not a 3.x log archive of one source: it holds sources {found}")
        named.sort(key=lambda member: member[0])
        self.source_id: int = source_ids[0]
        """The source whose entries the archive holds."""
        self._members = [info for _, _, info in named]
        self.timestamps: NDArray[np.uint64] = np.array([stamp for stamp, _, _ in named], dtype=np.uint64)
        """Every entry's timestamp, in order."""
        layouts = [self._member_layout(stamp, info) for stamp, _, info in named]
        self._payload_starts = [start for start, _ in layouts]
        self.offsets: NDArray[np.uint64] = np.zeros(len(named) + 1, dtype=np.uint64)
        """Entry i's payload is bytes `offsets[i]` to `offsets[i + 1]` of the payloads laid end to end."""
        np.cumsum(np.array([length for _, length in layouts], dtype=np.uint64), out=self.offsets[1:])
        self.compressed: bool = any(info.compress_type != zipfile.ZIP_STORED for info in self._members)
        """True if any member is deflated."""
        self.modified_ns: int = os.fstat(file.fileno()).st_mtime_ns
        """The archive file's modification time when it was opened, in nanoseconds."""

    def _member_layout(self, time_stamp: int, info: zipfile.ZipInfo) -> tuple[int, int]:
        """Returns where a member's payload starts in the member and its length, after checking the member's head."""
        head = self._member_head(info)
        source_id = int(info.filename[:3])
        try:
            header_length, array_length = parse_member_header(head)
        except ArchiveFormatError as error:
            raise ArchiveFormatError(f"{self._path}: the member {info.filename}: {error}") from None
        if header_length + array_length != info.file_size:
            raise ArchiveFormatError(
                f"{self._path}: the member {info.filename} holds {info.file_size} bytes, its header says "
                f"{header_length + array_length}"
            )
        prefix = legacy_payload_start(head[header_length:], source_id, time_stamp)
        if prefix is None:
            raise ArchiveFormatError(
                f"{self._path}: the member {info.filename} does not hold source {source_id} and timestamp "
                f"{time_stamp} as its name says"
            )
        return header_length + prefix, array_length - prefix

    def _member_head(self, info: zipfile.ZipInfo) -> bytes:
        """Returns the first bytes of a member (up to `_HEAD_BYTES`), read from the file without the zip layer.

        The zip layer would read small members whole and check their CRC-32 here: damage to a member's payload
        must cost that entry when it is read, not the whole archive when it is opened.
        """
        descriptor = self._file.fileno()
        local = os.pread(descriptor, _LOCAL_HEADER.size, info.header_offset)
        fields = _LOCAL_HEADER.unpack(local) if len(local) == _LOCAL_HEADER.size else None
        if fields is None or fields[0] != _LOCAL_SIGNATURE:
            raise ArchiveFormatError(f"{self._path}: the local header of the member {info.filename} is damaged")
        start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        wanted = min(info.file_size, _HEAD_BYTES)
        if info.compress_type == zipfile.ZIP_STORED:
            head = os.pread(descriptor, wanted, start)
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            raw = os.pread(descriptor, min(info.compress_size, _HEAD_BYTES), start)
            try:
                head = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, wanted)
            except zlib.error as error:
                raise ArchiveFormatError(f"{self._path}: the member {info.filename} is damaged ({error})") from error
        else:
            raise ArchiveFormatError(
                f"{self._path}: the member {info.filename} uses compression method {info.compress_type}"
            )
        if len(head) < wanted:
            # A head that did not deflate within _HEAD_BYTES (or a truncated file): read the member whole.
            head = self._read_whole(info)[:wanted]
        return head

    def _read_whole(self, info: zipfile.ZipInfo) -> bytes:
        """Reads a member whole through the zip layer, which checks its CRC-32."""
        try:
            with self._zip.open(info) as member:
                return member.read()
        except MemoryError:
            raise
        except Exception as error:
            raise ArchiveFormatError(f"{self._path}: the member {info.filename} is damaged ({error})") from error

    def payload(self, index: int) -> bytes:
        """Reads entry `index`'s member whole through the zip layer (checking its CRC-32); returns its payload.

        Args:
            index: The entry's position, in timestamp order.

        Raises:
            ArchiveFormatError: If the member is damaged.
        """
        return self._read_whole(self._members[index])[self._payload_starts[index] :]

    def file_records(self) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
        """Returns, per entry, the archive's modification time and the duplicate index 0.

        3.x recorded no modification time; the archive's is a time no entry file it was made from can be newer
        than (3.x archived files that already existed, and left them in place unless told to remove them). See
        `ArchivedCopyCheck`, which takes these times as bounds (`ArchiveFile.records_exact_mtimes` is False).
        """
        count = self.timestamps.size
        return np.full(count, self.modified_ns, dtype=np.uint64), np.zeros(count, dtype=np.uint64)

    def verify(self) -> None:
        """Reads every member whole through the zip layer, which checks its CRC-32.

        Raises:
            ArchiveFormatError: If a member is damaged.
        """
        for info in self._members:
            self._read_whole(info)


class LegacyPayloadCursor(PayloadCursor):
    """Reads byte ranges of a 3.x archive's payloads laid end to end, one member at a time.

    Args:
        archive: The opened archive.
        members: Its members.
    """

    def __init__(self, archive: "ArchiveFile", members: LegacyMembers) -> None:
        super().__init__(archive)
        self._members = members

    def read_range(self, start: int, stop: int) -> PayloadRange:
        """Reads payload bytes `start` to `stop`, reporting the entries whose member is damaged instead of raising.

        Args:
            start: The first byte.
            stop: One past the last byte.
        """
        if stop <= start:
            return PayloadRange(np.empty(0, dtype=np.uint8), (), None, None)
        offsets = self._members.offsets
        data = bytearray(stop - start)
        damaged: list[tuple[int, int]] = []
        problems: list[str] = []
        index = int(np.searchsorted(offsets, np.uint64(start), side="right")) - 1
        while index < offsets.size - 1 and int(offsets[index]) < stop:
            entry_start, entry_stop = int(offsets[index]), int(offsets[index + 1])
            low, high = max(start, entry_start), min(stop, entry_stop)
            if low < high:
                try:
                    payload = self._members.payload(index)
                except ArchiveFormatError as error:
                    damaged.append((low, high))
                    problems.append(str(error))
                else:
                    data[low - start : high - start] = payload[low - entry_start : high - entry_start]
            index += 1
        array = np.frombuffer(bytes(data), dtype=np.uint8)
        return PayloadRange(array, tuple(damaged), "; ".join(problems) or None, None)

    def pieces(self, start: int, stop: int) -> Iterator[memoryview]:
        """Yields payload bytes `start` to `stop` in pieces of at most `PIECE_BYTES` (or one entry, if larger).

        Args:
            start: The first byte.
            stop: One past the last byte.

        Raises:
            ArchiveFormatError: If a member is damaged.
        """
        offsets = self._members.offsets
        while start < stop:
            # Up to the last entry boundary that keeps the piece within PIECE_BYTES, or else the next boundary.
            end = int(offsets[int(np.searchsorted(offsets, np.uint64(start + PIECE_BYTES), side="right")) - 1])
            if end <= start:
                end = int(offsets[int(np.searchsorted(offsets, np.uint64(start), side="right"))])
            end = min(stop, end)
            yield self.read(start, end).data
            start = end
