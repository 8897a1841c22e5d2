"""Reading byte ranges of an archive's payload member, checking each block against its checksum (format 2).

A stored member is read with `pread`: any range costs only the blocks it touches, and a file truncated meanwhile
makes the read come back short (reported as damage), never a SIGBUS. A deflated member is decompressed as a stream
of `pread`s: cheap front to back, while a backward jump restarts the decompression from the start. Each cursor has
its own stream, so interleaved iterations do not disturb each other. The zip layer is not used for payload bytes:
its CRC check at the end of a member would fail the last read for damage the block checksums place elsewhere.

In format 2 every read is widened to whole checksum blocks and each block is checked; the last block read is kept,
so consecutive reads whose ranges share a block (a reader's chunks end at entry boundaries, not block boundaries)
neither decompress it nor read it twice. A read never raises for damage: it returns the bytes with the ranges that
failed, and the caller decides (`read` raises, a reader may skip the entries those ranges hold).
"""

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from .._format.archive import CHECKSUM_BLOCK_BYTES, damaged_blocks
from ..exceptions import ArchiveFormatError
from .closeable import Closeable

if TYPE_CHECKING:
    from .archive_file import ArchiveFile

PIECE_BYTES: Final = 1 << 20
"""The largest piece of payload bytes `pieces` hands out at once (bounds memory); a multiple of the block size."""

_SKIP_BYTES: Final = 1 << 20
_INPUT_BYTES: Final = 1 << 20
_FEED_BYTES: Final = 1 << 14
_STEP_BYTES: Final = 1 << 14


@dataclass(frozen=True)
class PayloadRange:
    """Payload bytes read from an archive, and the parts of them that cannot be trusted."""

    data: NDArray[np.uint8]
    """The bytes, as a read-only array; bytes inside `damaged` are zeros or damaged data, never to be used."""
    damaged: tuple[tuple[int, int], ...]
    """Payload byte ranges `[start, stop)` that failed their checksum or could not be read, in order."""
    problem: str | None
    """What is wrong with the damaged ranges (naming the archive), or None."""
    unreadable_from: int | None
    """The payload byte from which nothing more of this archive can be read (truncated file, broken deflate
    stream), if the read met such damage."""


class PayloadCursor(Closeable):
    """Reads byte ranges of an archive's payload member.

    Args:
        archive: The opened archive.
    """

    def __init__(self, archive: "ArchiveFile") -> None:
        self._archive = archive
        self._stream: _Inflater | None = None
        self._stream_position = 0
        self._tail: tuple[int, bytes] | None = None
        self._broken: tuple[int, str] | None = None

    def read(self, start: int, stop: int) -> NDArray[np.uint8]:
        """Returns payload bytes `start` to `stop` as a read-only uint8 array.

        Args:
            start: The first byte.
            stop: One past the last byte.

        Raises:
            ArchiveFormatError: If any of the bytes is damaged or cannot be read.
        """
        result = self.read_range(start, stop)
        if result.problem is not None:
            raise ArchiveFormatError(result.problem)
        return result.data

    def pieces(self, start: int, stop: int) -> Iterator[memoryview]:
        """Yields payload bytes `start` to `stop` in pieces of at most `PIECE_BYTES`, each checked.

        Pieces end on block boundaries, so no block is read twice.

        Args:
            start: The first byte.
            stop: One past the last byte.

        Raises:
            ArchiveFormatError: If any of the bytes is damaged or cannot be read.
        """
        header = self._archive.payload_header_length
        while start < stop:
            aligned = (header + start + PIECE_BYTES) // CHECKSUM_BLOCK_BYTES * CHECKSUM_BLOCK_BYTES - header
            end = min(stop, aligned if aligned > start else start + PIECE_BYTES)
            yield self.read(start, end).data
            start = end

    def read_range(self, start: int, stop: int) -> PayloadRange:
        """Reads payload bytes `start` to `stop`, reporting the damaged parts instead of raising.

        Args:
            start: The first byte.
            stop: One past the last byte.
        """
        archive = self._archive
        header = archive.payload_header_length
        if stop <= start:
            return PayloadRange(np.empty(0, dtype=np.uint8), (), None, None)
        checksums = archive.checksums
        if checksums is None:
            first, last = header + start, header + stop
        else:
            first = (header + start) // CHECKSUM_BLOCK_BYTES * CHECKSUM_BLOCK_BYTES
            last = min(archive.member_bytes, -(-(header + stop) // CHECKSUM_BLOCK_BYTES) * CHECKSUM_BLOCK_BYTES)
        raw, failure = self.member_bytes(first, last)
        damaged: list[tuple[int, int]] = []
        problems: list[str] = []
        if checksums is not None:
            complete = len(raw) if len(raw) == last - first else len(raw) // CHECKSUM_BLOCK_BYTES * CHECKSUM_BLOCK_BYTES
            first_block = first // CHECKSUM_BLOCK_BYTES
            for block in damaged_blocks(memoryview(raw)[:complete], first_block, checksums):
                block_start = block * CHECKSUM_BLOCK_BYTES - header
                damaged.append((max(start, block_start), min(stop, block_start + CHECKSUM_BLOCK_BYTES)))
            if damaged:
                problems.append(
                    f"{archive.path}: payload bytes {damaged[0][0]} to {damaged[-1][1]} do not match their checksum"
                )
            readable = first + complete
        else:
            readable = first + len(raw)
        unreadable_from = None
        if failure is not None:
            unreadable_from = max(start, readable - header)
            damaged.append((unreadable_from, stop))
            problems.append(
                f"{archive.path}: the payload bytes from byte {unreadable_from} on cannot be read ({failure})"
            )
        if len(raw) < last - first:
            raw += bytes(last - first - len(raw))
        view = memoryview(raw)[header + start - first : header + stop - first]
        data = np.frombuffer(view, dtype=np.uint8)
        return PayloadRange(data, _merge(damaged), "; ".join(problems) or None, unreadable_from)

    def member_bytes(self, first: int, last: int) -> tuple[bytes, str | None]:
        """Returns member bytes `first` to `last` (unchecked), or fewer (the readable ones) with the reason why.

        Args:
            first: The first byte, counted from the start of the member (its `.npy` header).
            last: One past the last byte.
        """
        if self._archive.compressed:
            return self._streamed(first, last)
        archive = self._archive
        parts: list[bytes] = []
        position = first
        while position < last:
            try:
                data = archive.read_at(min(last - position, 1 << 30), archive.member_start + position)
            except OSError as error:
                return b"".join(parts), f"the file cannot be read: {error.strerror}"
            if not data:
                return b"".join(parts), "the file is truncated"
            parts.append(data)
            position += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts), None

    def _streamed(self, first: int, last: int) -> tuple[bytes, str | None]:
        """Decompresses member bytes `first` to `last` from the cursor's stream (see `_member_bytes`)."""
        if self._broken is not None and last > self._broken[0]:
            if first >= self._broken[0]:
                return b"", self._broken[1]
            readable, _ = self._streamed(first, self._broken[0])
            return readable, self._broken[1]
        parts: list[bytes] = []
        position = first
        if self._tail is not None and self._tail[0] == first and len(self._tail[1]) <= last - first:
            parts.append(self._tail[1])
            position += len(self._tail[1])
        try:
            if position < last:
                self._seek(position)
                while position < last:
                    data = self._stream.read(last - position) if self._stream is not None else b""
                    if not data:
                        raise EOFError("the member ends early")
                    parts.append(data)
                    position += len(data)
                    self._stream_position = position
        except MemoryError:
            raise
        except Exception as error:
            # Nothing at or after the point the stream failed can be decompressed: remember it, so later reads
            # past it report the damage at once instead of decompressing from the start again.
            failed_at = min(position, self._stream_position) if self._stream is not None else 0
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._broken = (failed_at, reason)
            self.close()
            readable = b"".join(parts)[: max(0, failed_at - first)]
            return readable, reason
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if self._archive.checksums is not None:
            # Reads are block-aligned here, so the last block starts inside this read.
            tail_start = (last - 1) // CHECKSUM_BLOCK_BYTES * CHECKSUM_BLOCK_BYTES
            self._tail = (tail_start, data[tail_start - first :])
        return data, None

    def _seek(self, position: int) -> None:
        """Moves the decompression stream to member byte `position` (restarting it to go back)."""
        if self._stream is None or position < self._stream_position:
            self.close()
            self._stream_position = 0
            self._stream = _Inflater(self._archive)
        while self._stream_position < position:
            skipped = self._stream.read(min(_SKIP_BYTES, position - self._stream_position))
            if not skipped:
                raise EOFError("the member ends early")
            self._stream_position += len(skipped)

    def close(self) -> None:
        """Drops the cursor's decompression stream, if it has one."""
        self._stream = None


class _Inflater:
    """Decompresses a deflated payload member front to back, reading its compressed bytes with `pread`.

    The decompressor produces at most `_STEP_BYTES` per call, so that when it meets damage, the bytes it produced
    before are returned (the damage is raised by the next read) and the entries they hold can be read. It is fed
    at most `_FEED_BYTES` of input at a time, because each call copies the input it did not consume.
    """

    def __init__(self, archive: "ArchiveFile") -> None:
        self._archive = archive
        self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        self._input = archive.member_start
        self._input_end = archive.member_start + archive.payload_info.compress_size
        self._buffer = memoryview(b"")
        self._failure: Exception | None = None

    def read(self, size: int) -> bytes:
        """Returns the next `size` decompressed bytes, or fewer at the end of the member or before damage.

        Raises:
            zlib.error: If the deflated bytes are damaged (once the bytes before the damage were returned).
            EOFError: If the file ends before the member does (idem).
        """
        if self._failure is not None:
            raise self._failure
        parts = []
        produced = 0
        decompressor = self._decompressor
        try:
            while produced < size and not decompressor.eof:
                source: bytes | memoryview = decompressor.unconsumed_tail
                if not source:
                    if not self._buffer:
                        self._fill()
                        if not self._buffer:
                            break
                    source, self._buffer = self._buffer[:_FEED_BYTES], self._buffer[_FEED_BYTES:]
                chunk = decompressor.decompress(source, min(size - produced, _STEP_BYTES))
                parts.append(chunk)
                produced += len(chunk)
        except (zlib.error, EOFError) as error:
            if not produced:
                raise
            self._failure = error
        return b"".join(parts)

    def _fill(self) -> None:
        """Reads the next compressed bytes of the member (none at its end)."""
        if self._input >= self._input_end:
            return
        data = self._archive.read_at(min(_INPUT_BYTES, self._input_end - self._input), self._input)
        if not data:
            raise EOFError("the file is truncated")
        self._input += len(data)
        self._buffer = memoryview(data)


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Merges overlapping or touching ranges (given in order of their starts, except perhaps the last)."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if start >= stop:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return tuple(merged)
