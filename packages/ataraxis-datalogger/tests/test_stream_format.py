"""The stream segment format: its bytes, the golden file of version 1, and the reader of its docs page."""

import re
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ataraxis_datalogger import StreamFormatError
from ataraxis_datalogger._files.stream_reader import SegmentReader, SegmentState
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.stream import (
    MAGIC,
    EndReason,
    SegmentHeader,
    decode_header,
    encode_header,
    encode_record,
    parse_segment_file_name,
    record_size,
    segment_file_name,
)

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "stream_v1" / "stream_000000.adlog"
FORMAT_PAGE = HERE.parents[2] / "docs" / "formats" / "stream.md"

GOLDEN_ENTRIES = [
    (1, 1_000, b""),
    (1, 1_001, b"\x01"),
    (2, 1_001, b"12345678"),
    (1, 1_001, b"tie after"),
    (0, 0, bytes(range(12))),
    (255, 2**64 - 1, "µs ünïcode".encode()),
    (7, 123_456_789_012, bytes(range(256)) * 4),
]
"""What the golden segment holds, written out here rather than imported, so that the file is checked against
values fixed when it was made."""


def test_golden_segment_reads_entry_by_entry() -> None:
    with SegmentReader(GOLDEN) as reader:
        records = list(reader.records())
        assert reader.state is SegmentState.CLOSED
        assert reader.end is not None and reader.end.reason is EndReason.CLOSED
        assert reader.end.entry_records == len(GOLDEN_ENTRIES)
        assert reader.header == SegmentHeader(0, 1_700_000_000_123_456_789, bytes(range(16)), 0, "golden-ü")
    assert [(source_id, time_stamp, bytes(payload)) for _, source_id, time_stamp, payload in records] == GOLDEN_ENTRIES
    assert not reader.damage


def test_golden_segment_bytes_follow_the_specification() -> None:
    data = GOLDEN.read_bytes()
    assert data[:8] == b"\x89ADL\r\n\x1a\n"
    version, header_size, header_crc = struct.unpack_from("<HHI", data, 8)
    assert (version, header_size) == (1, 72)
    assert zlib.crc32(data[16:header_size], zlib.crc32(data[:12])) == header_crc
    position = header_size
    for source_id, time_stamp, payload in GOLDEN_ENTRIES:
        crc, length, stamp, source, kind, reserved = struct.unpack_from("<IIQBBH", data, position)
        assert (length, stamp, source, kind, reserved) == (len(payload), time_stamp, source_id, 0, 0)
        assert zlib.crc32(data[position + 4 : position + 20 + length]) == crc
        assert data[position + 20 : position + 20 + length] == payload
        padded = (20 + length + 7) // 8 * 8
        assert data[position + 20 + length : position + padded] == bytes(padded - 20 - length)
        position += padded
    crc, length, _, source, kind, _ = struct.unpack_from("<IIQBBH", data, position)
    assert (length, source, kind) == (24, 0, 255)
    assert struct.unpack_from("<QQB7s", data, position + 20) == (len(GOLDEN_ENTRIES), position, 1, bytes(7))
    assert position + 48 == len(data)


def test_the_writer_produces_the_golden_layout(tmp_path: Path) -> None:
    records = [encode_record(*entry) for entry in GOLDEN_ENTRIES]
    with StreamSegmentWriter(tmp_path, segment_bytes=1 << 20, sync="none", instance_name="golden-ü") as writer:
        writer.write([memoryview(record) for record in records], len(records))
        header = decode_header((tmp_path / segment_file_name(0)).read_bytes())
    written, golden = (tmp_path / segment_file_name(0)).read_bytes(), GOLDEN.read_bytes()
    assert header.writer_id == writer.writer_id and header.instance_name == "golden-ü"
    assert len(written) == len(golden)
    # Everything but the header's checksum, creation time and writer id, and the segment end's time and checksum.
    end = len(golden) - 48
    assert written[:12] == golden[:12] and written[48:end] == golden[48:end]
    assert written[end + 4 : end + 8] == golden[end + 4 : end + 8] and written[end + 16 :] == golden[end + 16 :]


def test_the_reader_of_the_format_page_reads_the_golden_segment() -> None:
    blocks = re.findall(r"```python\n(.*?)```", FORMAT_PAGE.read_text(), flags=re.DOTALL)
    reader_code = next(block for block in blocks if "def read_segment" in block)
    assert len(reader_code.strip().splitlines()) <= 25
    namespace: dict[str, object] = {}
    exec(reader_code, namespace)
    read_segment = namespace["read_segment"]
    assert callable(read_segment)
    assert [(s, t, bytes(p)) for s, t, p in read_segment(GOLDEN)] == GOLDEN_ENTRIES


@given(
    source_id=st.integers(0, 255),
    time_stamp=st.integers(0, 2**64 - 1),
    payload=st.binary(max_size=100),
)
def test_a_record_is_laid_out_as_specified(source_id: int, time_stamp: int, payload: bytes) -> None:
    record = encode_record(source_id, time_stamp, payload)
    assert len(record) == record_size(len(payload)) == (20 + len(payload) + 7) // 8 * 8
    crc, length, stamp, source, kind, reserved = struct.unpack_from("<IIQBBH", record)
    assert (length, stamp, source, kind, reserved) == (len(payload), time_stamp, source_id, 0, 0)
    assert crc == zlib.crc32(record[4 : 20 + len(payload)])
    assert record[20 : 20 + len(payload)] == payload and not any(record[20 + len(payload) :])


@given(
    sequence=st.integers(0, 2**64 - 1),
    created=st.integers(0, 2**64 - 1),
    writer_id=st.binary(min_size=16, max_size=16),
    index=st.integers(0, 2**32 - 1),
    name=st.text(max_size=40),
)
def test_a_header_round_trips(sequence: int, created: int, writer_id: bytes, index: int, name: str) -> None:
    header = SegmentHeader(sequence, created, writer_id, index, name)
    data = encode_header(header)
    assert len(data) % 8 == 0
    assert decode_header(data) == header


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda data: data.replace(b"\r\n", b"\n", 1), "text mode"),
        (lambda data: bytes([data[0] & 0x7F]) + data[1:], "7-bit"),
        (lambda data: b"PK\x03\x04" + data[4:], "not a segment"),
        (lambda data: data[:8] + struct.pack("<H", 2) + data[10:], "format version 2"),
        (lambda data: data[:40] + bytes([data[40] ^ 1]) + data[41:], "header is damaged"),
        (lambda data: data[:10], "at least"),
    ],
    ids=["newline conversion", "7-bit channel", "zip file", "newer version", "flipped bit", "truncated"],
)
def test_a_bad_header_is_refused_with_the_reason(tmp_path: Path, mangle: object, message: str) -> None:
    assert callable(mangle)
    path = tmp_path / segment_file_name(3)
    path.write_bytes(mangle(GOLDEN.read_bytes()))
    with pytest.raises(StreamFormatError, match=message) as raised:
        SegmentReader(path)
    assert str(path) in str(raised.value)


def test_segment_names() -> None:
    assert segment_file_name(0) == "stream_000000.adlog"
    assert segment_file_name(1_234_567) == "stream_1234567.adlog"
    assert parse_segment_file_name("stream_000042.adlog") == 42
    assert parse_segment_file_name("stream_1234567.adlog") == 1_234_567
    for name in ("stream_42.adlog", "stream_0000042.adlog", "stream_000042.adlog.tmp", ".stream_000042.adlog"):
        assert parse_segment_file_name(name) is None, name


def test_header_fields_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="4096"):
        encode_header(SegmentHeader(0, 0, bytes(16), 0, "x" * 5000))
    with pytest.raises(ValueError, match="16 bytes"):
        encode_header(SegmentHeader(0, 0, bytes(8), 0, ""))
    assert MAGIC == b"\x89ADL\r\n\x1a\n"
