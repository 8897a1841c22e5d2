"""The layout of a columnar log archive: its file name, its members, their meaning and their checksums.

One archive, `{source_id}_log.npz`, holds every archived entry of one source as a standard NumPy `.npz` (a zip
file of `.npy` members), so `numpy.load` opens it without this library:

- `format_version`: 0-d uint16, the layout version (`FORMAT_VERSION`).
- `source_id`: 0-d uint8, the source whose entries the archive holds.
- `timestamps`: uint64, shape (N,): each entry's timestamp, in timestamp order, ties in arrival order.
- `offsets`: uint64, shape (N + 1,): entry i's payload is `payloads[offsets[i]:offsets[i + 1]]`.
- `payloads`: uint8, every payload byte, in entry order.
- `file_mtimes`: uint64, shape (N,): bookkeeping. For an entry whose `.npy` file may still exist on disk (it was
  archived by a compression without `remove_sources`, or its removal had not happened yet when the archive was
  written), the file's modification time in nanoseconds; 0 otherwise.
- `file_duplicates`: uint64, shape (N,): each entry's duplicate index, from its file's name.

  The last two let a second compression of the same directory recognise, and skip, files it already archived (see
  `_archive.loose_examination`). They cost about one byte per entry once compressed.

Version 2 adds one member:

- `payload_checksums`: uint32, shape (ceil(M / CHECKSUM_BLOCK_BYTES),): the CRC-32 of each block of
  `CHECKSUM_BLOCK_BYTES` bytes of the `payloads.npy` member, M bytes long (its `.npy` header included, the last
  block shorter). A reader checks every block it reads, so a flipped payload byte never reads back as data.

Version 2 archives that hold entries of stream segments (`_format.stream`) which may still exist also have two
bookkeeping members, playing for stream records the part the file records play for entry files:

- `stream_segments`: uint64, shape (K, 3): one row per such segment: its writer id (16 bytes, as two
  little-endian uint64: bytes 0 to 7, then 8 to 15) and its sequence number.
- `stream_origins`: uint64, shape (N, 2): per entry, the row of its segment plus one (0: the entry did not come
  from a segment that may still exist) and the offset of its record in that segment.

  A stream record is archived exactly when the archive has an entry of that origin, so compressing a folder again
  never archives a record twice. An archive without them holds no such entry (older writers, or only entry files).

Every other member is read whole through the zip layer, which checks the CRC-32 the zip directory records for it;
zip checks no CRC on a range read out of a member, hence the blocks of the payload member. Version 1 archives (no
`payload_checksums`) are still read; their payload bytes are checked only by a whole read (`inspect --verify`).
"""

import io
import itertools
import re
import zlib
from collections.abc import Iterator
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ..exceptions import ArchiveFormatError

FORMAT_VERSION: Final = 2
"""The archive layout version this library writes and the newest one it reads."""

READABLE_VERSIONS: Final = (1, 2)
"""Every archive layout version this library reads."""

CHECKSUM_BLOCK_BYTES: Final = 1 << 16
"""The bytes of the payload member each checksum covers (version 2): 64 KiB, so that reading one small entry
checks at most two blocks, while the checksums cost 4 bytes per 64 KiB."""

ARCHIVE_SUFFIX: Final = "_log.npz"
"""The suffix of an archive's file name, after the source id."""

FORMAT_VERSION_MEMBER: Final = "format_version.npy"
SOURCE_ID_MEMBER: Final = "source_id.npy"
TIMESTAMPS_MEMBER: Final = "timestamps.npy"
OFFSETS_MEMBER: Final = "offsets.npy"
PAYLOADS_MEMBER: Final = "payloads.npy"
FILE_MTIMES_MEMBER: Final = "file_mtimes.npy"
FILE_DUPLICATES_MEMBER: Final = "file_duplicates.npy"
PAYLOAD_CHECKSUMS_MEMBER: Final = "payload_checksums.npy"
STREAM_SEGMENTS_MEMBER: Final = "stream_segments.npy"
STREAM_ORIGINS_MEMBER: Final = "stream_origins.npy"

VERSION_1_MEMBERS: Final = (
    FORMAT_VERSION_MEMBER,
    SOURCE_ID_MEMBER,
    TIMESTAMPS_MEMBER,
    OFFSETS_MEMBER,
    FILE_MTIMES_MEMBER,
    FILE_DUPLICATES_MEMBER,
    PAYLOADS_MEMBER,
)
"""Every member of a version 1 archive, in the order they are written (the payload bytes last)."""

MEMBERS: Final = (*VERSION_1_MEMBERS, PAYLOAD_CHECKSUMS_MEMBER)
"""Every member a version 2 archive always has, in the order they are written (the checksums follow the payload
bytes they are computed from). The stream bookkeeping members, when present, are written last."""

_ARCHIVE_NAME = re.compile(r"^(0|[1-9]\d{0,2})_log\.npz$")
_TEMPORARY_NAME = re.compile(r"^\.(0|[1-9]\d{0,2})_log\.npz\.\d+\.tmp$")
_NPY_VERSIONS = ((1, 0), (2, 0))


def archive_file_name(source_id: int) -> str:
    """Returns the file name of a source's archive: `{source_id}_log.npz`.

    Args:
        source_id: The id of the source, 0 to 255.
    """
    return f"{source_id}{ARCHIVE_SUFFIX}"


def temporary_archive_name(source_id: int, process_id: int) -> str:
    """Returns the hidden name an archive is written under before it is renamed into place.

    Args:
        source_id: The id of the source, 0 to 255.
        process_id: The id of the writing process, so two writers never share a temporary file.
    """
    return f".{archive_file_name(source_id)}.{process_id}.tmp"


def parse_archive_file_name(name: str) -> int | None:
    """Returns the source id an archive's file name encodes, or None if the name is not an archive's.

    Args:
        name: A file name (not a path).
    """
    match = _ARCHIVE_NAME.match(name)
    if match is None or int(match[1]) > 255:
        return None
    return int(match[1])


def is_temporary_archive_name(name: str) -> bool:
    """Returns True if the name is one an unfinished archive is written under (see `temporary_archive_name`).

    Args:
        name: A file name (not a path).
    """
    return _TEMPORARY_NAME.match(name) is not None


def checksum_block_count(member_bytes: int) -> int:
    """Returns how many checksums cover a payload member of the given size (version 2).

    Args:
        member_bytes: The size of the `payloads.npy` member, its `.npy` header included.
    """
    return -(-member_bytes // CHECKSUM_BLOCK_BYTES)


class BlockChecksums:
    """Computes the checksum of each block of a payload member from the member's bytes, fed in any pieces."""

    def __init__(self) -> None:
        self._checksums: list[int] = []
        self._running = 0
        self._filled = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Adds the next bytes of the member.

        Args:
            data: The bytes that follow those already added.
        """
        view = memoryview(data).cast("B")
        while view:
            take = min(len(view), CHECKSUM_BLOCK_BYTES - self._filled)
            self._running = zlib.crc32(view[:take], self._running)
            self._filled += take
            view = view[take:]
            if self._filled == CHECKSUM_BLOCK_BYTES:
                self._checksums.append(self._running)
                self._running = self._filled = 0

    def finish(self) -> NDArray[np.uint32]:
        """Returns the checksum of every block, the last (shorter) one included."""
        checksums = self._checksums + ([self._running] if self._filled else [])
        return np.array(checksums, dtype=np.uint32)


def damaged_blocks(data: bytes | memoryview, first_block: int, checksums: NDArray[np.uint32]) -> list[int]:
    """Returns the indices of the blocks of `data` that do not match their checksums.

    Args:
        data: Consecutive bytes of a payload member, starting at the first byte of block `first_block`; the last
            block may be shorter only if it is the member's last.
        first_block: The index of the block `data` starts with.
        checksums: The checksum of every block of the member.
    """
    view = memoryview(data).cast("B")
    bad = []
    for index, start in enumerate(range(0, len(view), CHECKSUM_BLOCK_BYTES), start=first_block):
        if zlib.crc32(view[start : start + CHECKSUM_BLOCK_BYTES]) != int(checksums[index]):
            bad.append(index)
    return bad


def decode_member(data: bytes, name: str, dtype: np.dtype[np.generic], ndim: int) -> NDArray[np.generic]:
    """Decodes the bytes of an `.npy` member, checking its type, its number of dimensions and its size.

    The header is parsed and its size checked against the bytes before any array is made, so a damaged header
    cannot ask for a huge allocation.

    Args:
        data: The whole member.
        name: The member's name, for messages.
        dtype: The expected data type.
        ndim: The expected number of dimensions.

    Returns:
        A read-only array viewing `data`.

    Raises:
        ArchiveFormatError: If the bytes are not such an array (the message names the member, not the file).
    """
    buffer = io.BytesIO(data)
    shape, fortran_order, found_dtype = _read_header(buffer, f"the member {name}")
    if found_dtype != dtype or len(shape) != ndim:
        raise ArchiveFormatError(
            f"the member {name} should be a {ndim}-d {dtype} array, found a {len(shape)}-d {found_dtype} one"
        )
    count = int(np.prod(shape, dtype=object))
    body = len(data) - buffer.tell()
    if count * dtype.itemsize != body:
        raise ArchiveFormatError(f"the member {name} declares shape {shape} but holds {body} bytes of data")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=buffer.tell())
    return array.reshape(shape, order="F" if fortran_order else "C")


def npy_header_size(prefix: bytes) -> int:
    """Returns the size of the `.npy` header that `prefix` (at least the first 12 bytes of a member) starts.

    Args:
        prefix: The first bytes of the member.

    Raises:
        ArchiveFormatError: If they do not start a `.npy` header of version 1.0 or 2.0.
    """
    if len(prefix) < 10 or prefix[:6] != b"\x93NUMPY" or (prefix[6], prefix[7]) not in _NPY_VERSIONS:
        raise ArchiveFormatError(f"the member {PAYLOADS_MEMBER} does not start with a .npy header")
    if prefix[6] == 1:
        return 10 + int.from_bytes(prefix[8:10], "little")
    if len(prefix) < 12:
        raise ArchiveFormatError(f"the member {PAYLOADS_MEMBER} does not start with a .npy header")
    return 12 + int.from_bytes(prefix[8:12], "little")


def read_payload_header(head: bytes) -> tuple[int, tuple[int, ...], np.dtype[np.generic]]:
    """Parses the `.npy` header that starts a payload member.

    Args:
        head: The first bytes of the member (enough to hold its header).

    Returns:
        The header's length in bytes, the array's shape and its data type.

    Raises:
        ArchiveFormatError: If the header is damaged (the message names the member, not the file).
    """
    buffer = io.BytesIO(head)
    shape, _, dtype = _read_header(buffer, f"the member {PAYLOADS_MEMBER}")
    return buffer.tell(), shape, dtype


def _read_header(buffer: io.BytesIO, what: str) -> tuple[tuple[int, ...], bool, np.dtype[np.generic]]:
    """Reads a `.npy` magic string and header from `buffer`; returns the shape, the order flag and the dtype."""
    try:
        version = np.lib.format.read_magic(buffer)
        if version not in _NPY_VERSIONS:
            raise ValueError(f"unsupported .npy version {version}")
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(buffer)
        return np.lib.format.read_array_header_2_0(buffer)
    except MemoryError:
        raise
    except Exception as error:
        # NumPy raises ValueError, TypeError or SyntaxError (from its header parser) for damaged headers.
        raise ArchiveFormatError(f"{what} is not a valid .npy header ({error})") from error


def check_version(version: int, path: object) -> None:
    """Raises if an archive's layout version is not one this library reads.

    Args:
        version: The value of the archive's `format_version` member.
        path: The archive, for the message.

    Raises:
        ArchiveFormatError: If the version is newer (or otherwise unknown).
    """
    if version not in READABLE_VERSIONS:
        newest = max(READABLE_VERSIONS)
        advice = " (upgrade ataraxis-datalogger to read newer archives)" if version > newest else ""
        raise ArchiveFormatError(
            f"{path} has archive format version {version}; this version of ataraxis-datalogger reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}{advice}"
        )


class MergeOrder:
    """The order of a source's entries from several sides: its archive, then newer ones (loose files, stream records).

    Timestamp order; among equal timestamps the sides in the order given (archived entries first, then loose entry
    files, then stream records), each side keeping its own order. It is the order in which an archive stores merged
    entries and in which a reader returns them: the stable sort of the sides' timestamps, concatenated in that
    order, gives exactly that. Archiving new entries and merging them with the old archive later gives the same
    order as merging all three at once, since a stable sort keeps the sides' relative order either way.

    Args:
        sides: Each side's timestamps, in order: the archived ones first.
    """

    def __init__(self, *sides: NDArray[np.uint64]) -> None:
        merged = np.concatenate(sides) if sides else np.empty(0, np.uint64)
        self.order: NDArray[np.intp] = np.argsort(merged, kind="stable")
        """For each merged position, the entry's position in the sides' timestamps, concatenated."""
        self.time_stamps: NDArray[np.uint64] = merged[self.order]
        """The merged timestamps."""
        starts = np.cumsum([0, *(side.size for side in sides)])
        self.side: NDArray[np.intp] = np.searchsorted(starts, self.order, side="right") - 1
        """For each merged position, the side its entry comes from (0 for the first)."""
        self._side_position = self.order - starts[self.side]

    def runs(self, first: int, last: int) -> Iterator[tuple[int, int, int]]:
        """Yields the merged positions `first` to `last` (exclusive) as runs of consecutive entries of one side.

        Args:
            first: The first merged position.
            last: One past the last merged position.

        Yields:
            The run's side (0 for the first), and its first and one-past-last positions on that side.
        """
        origin = self.side[first:last]
        boundaries = [0, *(np.flatnonzero(origin[1:] != origin[:-1]) + 1).tolist(), last - first]
        for run_start, run_stop in itertools.pairwise(boundaries):
            if run_start < run_stop:
                side_first = int(self._side_position[first + run_start])
                yield int(origin[run_start]), side_first, side_first + run_stop - run_start
