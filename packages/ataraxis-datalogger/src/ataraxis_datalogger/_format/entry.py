"""The on-disk layout of one log entry: its file name and its bytes.

Every entry is one `.npy` file holding a one-dimensional uint8 array:

    [source_id: 1 byte][time_stamp: 8 bytes, little-endian uint64][payload: the serialized data]

named `{source_id:03d}_{time_stamp:020d}.npy`. When a source logs two entries with the same timestamp, the later
ones are named `{source_id:03d}_{time_stamp:020d}_{n}.npy` with n = 1, 2, ... in arrival order, so no entry
overwrites another and sorting by `(time_stamp, n)` restores arrival order among ties.

The files carry the standard NumPy version 1.0 header, byte for byte what `numpy.save` writes for such an array, so
`numpy.load` reads them, and entry files written by `numpy.save` (as ataraxis-data-structures 4.x wrote them) read
here too. The header is computed once per payload length and cached, so writing an entry costs no NumPy call.
"""

import io
import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..exceptions import EntryFormatError

ENTRY_SUFFIX = ".npy"
"""The file suffix of a single log entry."""

PREFIX_SIZE = 9
"""Bytes that precede the payload inside the array: the source id (1) and the timestamp (8)."""

MAX_SOURCE_ID = 255
"""The largest source id: ids are stored in one unsigned byte."""

MAX_TIME_STAMP = 2**64 - 1
"""The largest timestamp: timestamps are stored as an unsigned 64-bit integer."""

_NAME_PATTERN = re.compile(r"^(\d{3})_(\d{20})(?:_(\d+))?\.npy$")
_NPY_MAGIC_PREFIX = b"\x93NUMPY"
_NPY_MAGIC = _NPY_MAGIC_PREFIX + b"\x01\x00"


class EntryName(NamedTuple):
    """The fields encoded in an entry's file name."""

    source_id: int
    """The id of the source that logged the entry."""
    time_stamp: int
    """The entry's timestamp."""
    duplicate_index: int
    """0 for the first entry of a (source, timestamp) pair, n for the n-th later one with the same timestamp."""


class DecodedEntry(NamedTuple):
    """The fields of one entry read back from its bytes."""

    source_id: int
    """The id of the source that logged the entry."""
    time_stamp: int
    """The entry's timestamp."""
    payload: memoryview
    """The serialized data, a view into the bytes it was decoded from (no copy)."""


def entry_file_name(source_id: int, time_stamp: int, duplicate_index: int = 0) -> str:
    """Returns the file name of an entry.

    Args:
        source_id: The id of the source that logged the entry, 0 to 255.
        time_stamp: The entry's timestamp, 0 to 2**64 - 1.
        duplicate_index: 0 for the first entry with this source and timestamp, n for the n-th later one.

    Returns:
        `{source_id:03d}_{time_stamp:020d}.npy`, with `_{duplicate_index}` before the suffix when it is not 0.
    """
    if duplicate_index:
        return f"{source_id:03d}_{time_stamp:020d}_{duplicate_index}{ENTRY_SUFFIX}"
    return f"{source_id:03d}_{time_stamp:020d}{ENTRY_SUFFIX}"


def parse_entry_file_name(name: str) -> EntryName | None:
    """Returns the fields encoded in an entry's file name, or None if the name is not one an entry has.

    Args:
        name: A file name (not a path).
    """
    match = _NAME_PATTERN.match(name)
    if match is None:
        return None
    source_id, time_stamp = int(match[1]), int(match[2])
    if source_id > MAX_SOURCE_ID or time_stamp > MAX_TIME_STAMP:
        return None
    return EntryName(source_id, time_stamp, int(match[3]) if match[3] else 0)


@lru_cache(maxsize=4096)
def npy_header(array_length: int) -> bytes:
    """Returns the NumPy 1.0 header of a one-dimensional uint8 array of the given length.

    Args:
        array_length: The number of elements (bytes) of the array, prefix included.

    Returns:
        The exact bytes `numpy.save` writes before such an array's data.
    """
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (array_length,)})
    return buffer.getvalue()


def encode_entry_prefix(source_id: int, time_stamp: int, payload_length: int) -> bytes:
    """Returns every byte of an entry file that precedes the payload: the NumPy header, source id and timestamp.

    Writing this prefix followed by the payload produces a complete entry file.

    Args:
        source_id: The id of the source that logged the entry, 0 to 255.
        time_stamp: The entry's timestamp, 0 to 2**64 - 1.
        payload_length: The payload's size in bytes.
    """
    return npy_header(PREFIX_SIZE + payload_length) + source_id.to_bytes(1, "little") + time_stamp.to_bytes(8, "little")


def npy_header_length(data: bytes | memoryview) -> int:
    """Returns the length of the NumPy 1.0 header that starts `data`, as the header's own length field gives it.

    Args:
        data: The bytes of an entry file, at least its first 10 (a memoryview must be of single bytes).
    """
    return 10 + data[8] + (data[9] << 8)


def own_header_length(data: bytes | memoryview) -> int | None:
    """Returns the length of the NumPy header that starts `data`, if it is exactly the header this module writes.

    That is the header `npy_header` gives for the array length the bytes imply, followed by at least `PREFIX_SIZE`
    array bytes; anything else (another header padding, another dtype, damage, too few bytes) gives None. Only byte
    comparisons: the logger process runs this once per entry.

    Args:
        data: The bytes of an entry file (a memoryview must be of single bytes).
    """
    if len(data) < 10 or data[:8] != _NPY_MAGIC:
        return None
    header_length = npy_header_length(data)
    array_length = len(data) - header_length
    if array_length < PREFIX_SIZE or data[:header_length] != npy_header(array_length):
        return None
    return header_length


def decode_entry(data: bytes | bytearray | memoryview) -> DecodedEntry:
    """Reads the source id, timestamp and payload out of the bytes of an entry file.

    Files in this module's layout are decoded without NumPy; any other valid `.npy` file holding a one-dimensional
    uint8 array (for example one written by `numpy.save` with another header padding) is decoded through NumPy.

    Args:
        data: The whole content of an entry file.

    Returns:
        The decoded entry; its payload is a view into `data`.

    Raises:
        EntryFormatError: If `data` is not a `.npy` file holding a one-dimensional uint8 array of at least
            `PREFIX_SIZE` bytes.
    """
    return _split(entry_array(data))


def entry_array(data: bytes | bytearray | memoryview) -> memoryview:
    """Returns the array bytes of an entry file (what follows its `.npy` header), checking the header.

    Args:
        data: The whole content of an entry file.

    Raises:
        EntryFormatError: If `data` is not a `.npy` file holding a one-dimensional uint8 array.
    """
    view = memoryview(data).cast("B")
    header_length = own_header_length(view)
    if header_length is not None:
        return view[header_length:]
    return _decode_with_numpy(view)


def _decode_with_numpy(view: memoryview) -> memoryview:
    """Decodes a `.npy` file whose header this module did not write; returns the array's bytes."""
    if view[: len(_NPY_MAGIC_PREFIX)] != _NPY_MAGIC_PREFIX:
        # Checked here: NumPy takes such bytes for a pickle, and its message advises loading them unsafely.
        problem = "it does not start with the NumPy magic string" if len(view) else "the file is empty"
        raise EntryFormatError(f"not a .npy file ({problem})")
    stream = io.BytesIO(view)
    try:
        array = np.load(stream, allow_pickle=False)
    except Exception as error:
        raise EntryFormatError(f"not a .npy file ({error})") from error
    if stream.tell() != len(view):
        # NumPy reads the array its header declares and ignores the rest: a damaged shape would cut the payload.
        raise EntryFormatError(
            f"not a .npy entry: {len(view) - stream.tell()} bytes after the array its header declares "
            f"(shape {array.shape})"
        )
    if array.dtype != np.uint8 or array.ndim != 1:
        raise EntryFormatError(f"expected a one-dimensional uint8 array, found dtype {array.dtype} shape {array.shape}")
    if array.size < PREFIX_SIZE:
        raise EntryFormatError(f"expected at least {PREFIX_SIZE} bytes (source id and timestamp), found {array.size}")
    return memoryview(array.tobytes())


def _split(body: memoryview) -> DecodedEntry:
    """Splits an entry's array bytes into its source id, timestamp and payload."""
    if len(body) < PREFIX_SIZE:
        raise EntryFormatError(f"expected at least {PREFIX_SIZE} bytes (source id and timestamp), found {len(body)}")
    return DecodedEntry(body[0], int.from_bytes(body[1:PREFIX_SIZE], "little"), body[PREFIX_SIZE:])
