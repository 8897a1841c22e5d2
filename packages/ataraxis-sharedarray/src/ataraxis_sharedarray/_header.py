"""The header at the start of every segment, which lets a process attach knowing only the array's name.

An attacher sees the segment's size rounded up to a page, so shape and data type cannot be inferred from the
size; the creator writes them here. Layout (native byte order; offsets in bytes):

| offset | field                                                                                      |
|-------:|--------------------------------------------------------------------------------------------|
| 0      | magic, written last by the creator: an attacher that does not see it waits or refuses      |
| 8      | layout version (u32), data offset (u32)                                                    |
| 16     | token: 16 random bytes naming this creation (a re-created array of the same name differs)  |
| 32     | creator pid (i64), number of dimensions (u32), length of the dtype description (u32)       |
| 64     | holder pid (i64): the process that holds the lock, 0 when free (its own cache line)        |
| 72     | recovery epoch (u64): bumped each time a waiter recovers a lock left by a dead holder      |
| 128    | shape (u64 each), then the dtype description (`numpy.lib.format` descr, as a literal)      |

The data starts at the next multiple of 64 bytes, so it is aligned for any NumPy type and never shares a cache line
with the lock's fields.
"""

import ast
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import ArrayHeaderError

MAGIC = b"ATXSMA\x00\x01"
"""Marks a complete SharedMemoryArray segment."""
VERSION = 1
"""Layout version; an attacher refuses any other."""
ALIGNMENT = 64
"""Alignment of the data block (a cache line; enough for every NumPy type)."""
HOLDER_WORD = 8
"""Index of the holder-pid field among the header's 8-byte words."""
EPOCH_WORD = 9
"""Index of the recovery-epoch field among the header's 8-byte words."""
WORDS = 16
"""Number of 8-byte words (128 bytes) the lock fields are read and written through."""

_FIXED = struct.Struct("=8sII16sqII")
_SHAPE_OFFSET = 128
MAX_DIMENSIONS = 64
"""NumPy's limit on the number of dimensions; a header announcing more is corrupt."""
MAX_DESCR_LENGTH = 1 << 20
"""Upper bound on the dtype description length; a header announcing more is corrupt."""


@dataclass(frozen=True)
class Layout:
    """What the header describes: the array's type, shape and where its data starts."""

    dtype: np.dtype[Any]
    """The array's data type."""
    shape: tuple[int, ...]
    """The array's shape."""
    token: bytes
    """16 random bytes identifying this creation of the array."""
    descr: bytes
    """The encoded dtype description stored in the header."""

    @classmethod
    def new(cls, dtype: np.dtype[Any], shape: tuple[int, ...], token: bytes) -> "Layout":
        """Builds the layout of a new array."""
        descr = repr(np.lib.format.dtype_to_descr(dtype)).encode()
        return cls(dtype=dtype, shape=shape, token=token, descr=descr)

    @property
    def data_offset(self) -> int:
        """Offset of the first data byte in the segment."""
        end = _SHAPE_OFFSET + 8 * len(self.shape) + len(self.descr)
        return -(-end // ALIGNMENT) * ALIGNMENT

    @property
    def size(self) -> int:
        """Size of the whole segment in bytes."""
        return self.data_offset + self.dtype.itemsize * math.prod(self.shape)

    def encode(self, creator_pid: int) -> bytes:
        """Returns the header bytes, without the magic (the creator writes it last)."""
        fixed = _FIXED.pack(
            b"\x00" * 8, VERSION, self.data_offset, self.token, creator_pid, len(self.shape), len(self.descr)
        )
        body = struct.pack(f"={len(self.shape)}Q", *self.shape) + self.descr
        return fixed.ljust(_SHAPE_OFFSET, b"\x00") + body

    @classmethod
    def decode(cls, header: bytes, name: str) -> "Layout":
        """Parses a header read from the segment of the array `name`.

        Raises:
            ArrayHeaderError: The bytes are not a complete, consistent header of this layout version.
        """
        if len(header) < _FIXED.size or not header.startswith(MAGIC):
            message = f"the shared memory segment {name!r} is not a SharedMemoryArray (no valid header)"
            raise ArrayHeaderError(message)
        _, version, data_offset, token, _, ndim, descr_length = _FIXED.unpack_from(header)
        if version != VERSION:
            message = (
                f"the SharedMemoryArray {name!r} uses header layout version {version}, but this version of "
                f"ataraxis-sharedarray reads version {VERSION}"
            )
            raise ArrayHeaderError(message)
        _check_counts(ndim, descr_length, name)
        descr_start = _SHAPE_OFFSET + 8 * ndim
        if len(header) < descr_start + descr_length:
            raise _damaged(name, f"it is {len(header)} bytes long, shorter than the header it announces")
        shape = tuple(struct.unpack_from(f"={ndim}Q", header, _SHAPE_OFFSET))
        descr = header[descr_start : descr_start + descr_length]
        try:
            dtype = np.lib.format.descr_to_dtype(ast.literal_eval(descr.decode("ascii")))
        except Exception as error:  # damaged text can fail in any of the ways parsing can
            reason = f"its data type description {descr[:80]!r} does not parse ({type(error).__name__}: {error})"
            raise _damaged(name, reason) from error
        if dtype.hasobject:
            raise _damaged(name, f"it describes the data type {dtype}, which holds Python objects")
        if ndim == 0 or 0 in shape or dtype.itemsize == 0:
            raise _damaged(name, f"it describes an empty array (shape {shape}, data type {dtype})")
        layout = cls(dtype=dtype, shape=shape, token=token, descr=descr)
        if layout.data_offset != data_offset:
            raise _damaged(name, f"it places the data at byte {data_offset}, its layout at byte {layout.data_offset}")
        return layout


def header_length(first_bytes: bytes, name: str) -> int:
    """Returns the length of the header of the array `name`, given its first 64 bytes (0: not published yet).

    Raises:
        ArrayHeaderError: The header is published but announces more dimensions or a longer description than any
            creator writes.
    """
    if len(first_bytes) < _FIXED.size or not first_bytes.startswith(MAGIC):
        return 0
    _, version, _, _, _, ndim, descr_length = _FIXED.unpack_from(first_bytes)
    if version != VERSION:
        return _FIXED.size  # enough for `Layout.decode` to name the version it cannot read
    _check_counts(ndim, descr_length, name)
    return int(_SHAPE_OFFSET + 8 * ndim + descr_length)


def unpublished_creator(first_bytes: bytes) -> int | None:
    """Returns the pid of the creator still writing this segment, given its first 64 bytes, or None.

    None when the magic is there (the segment is published) or when the bytes are not those of a header of this
    layout version being written (the segment is something else, or its creator has not reached its header yet).
    """
    if len(first_bytes) < _FIXED.size or first_bytes[: len(MAGIC)] != bytes(len(MAGIC)):
        return None
    _, version, _, _, creator, _, _ = _FIXED.unpack_from(first_bytes)
    return int(creator) if version == VERSION and creator > 0 else None


def _check_counts(ndim: int, descr_length: int, name: str) -> None:
    if ndim > MAX_DIMENSIONS:
        raise _damaged(name, f"it announces {ndim} dimensions (NumPy allows at most {MAX_DIMENSIONS})")
    if descr_length > MAX_DESCR_LENGTH:
        raise _damaged(name, f"it announces a {descr_length}-byte data type description")


def _damaged(name: str, reason: str) -> ArrayHeaderError:
    return ArrayHeaderError(f"the header of the SharedMemoryArray {name!r} is damaged: {reason}")
