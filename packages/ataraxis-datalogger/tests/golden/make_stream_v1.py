"""Writes the golden segment of stream format version 1 (see README.md); run it only to re-create that file.

The bytes are built with the format helpers rather than `StreamSegmentWriter`, so that the header's creation time
and writer id are fixed and the file is the same on every run; `test_stream_format` checks that the writer produces
the same layout.
"""

import sys
from pathlib import Path

from ataraxis_datalogger._format.stream import (
    EndReason,
    SegmentEnd,
    SegmentHeader,
    encode_header,
    encode_record,
    encode_segment_end,
    segment_file_name,
)

ENTRIES: list[tuple[int, int, bytes]] = [
    (1, 1_000, b""),  # empty payload: a 20-byte record padded to 24
    (1, 1_001, b"\x01"),
    (2, 1_001, b"12345678"),  # 28 bytes, padded to 32
    (1, 1_001, b"tie after"),  # same source and time stamp as the second: arrival order decides
    (0, 0, bytes(range(12))),  # exactly 32 bytes, no padding
    (255, 2**64 - 1, "µs ünïcode".encode()),
    (7, 123_456_789_012, bytes(range(256)) * 4),
]
"""(source id, time stamp, payload) of every entry, in the order they are written."""

HEADER = SegmentHeader(
    sequence=0,
    created_ns=1_700_000_000_123_456_789,
    writer_id=bytes(range(16)),
    writer_index=0,
    instance_name="golden-ü",
)
CLOSED_NS = 1_700_000_001_000_000_000


def segment_bytes() -> bytes:
    """Returns the golden segment's bytes."""
    header = encode_header(HEADER)
    records = b"".join(encode_record(*entry) for entry in ENTRIES)
    end = encode_segment_end(SegmentEnd(len(ENTRIES), len(header) + len(records), EndReason.CLOSED, CLOSED_NS))
    return header + records + end


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "stream_v1"
    target.mkdir(exist_ok=True)
    (target / segment_file_name(HEADER.sequence)).write_bytes(segment_bytes())
