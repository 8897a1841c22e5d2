"""Reading segments: torn tails recovered, damage detected and skipped, never returned as data."""

import itertools
import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ataraxis_datalogger import DamagedLogFilesWarning, StreamFormatError
from ataraxis_datalogger._files.stream_reader import CHUNK_BYTES, SegmentReader, SegmentState
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.stream import SEGMENT_END_SIZE, encode_record, record_size

Entry = tuple[int, int, bytes]


def write_segment(directory: Path, written: list[Entry]) -> tuple[Path, list[int]]:
    """Writes one closed segment; returns it and the offset of every record."""
    records = [encode_record(*entry) for entry in written]
    with StreamSegmentWriter(directory, segment_bytes=1 << 30, sync="none") as writer:
        if records:
            writer.write(records, len(records))
    path = writer.segments[0]
    if not records:
        return path, []
    start = path.stat().st_size - SEGMENT_END_SIZE - sum(len(record) for record in records)
    offsets = list(itertools.accumulate((len(record) for record in records[:-1]), initial=start))
    return path, offsets


def read(path: Path, on_damage: str = "collect") -> tuple[list[Entry], SegmentReader]:
    with SegmentReader(path, on_damage=on_damage) as reader:  # type: ignore[arg-type]
        found = [(source_id, time_stamp, bytes(payload)) for _, source_id, time_stamp, payload in reader.records()]
    return found, reader


def entries(count: int) -> list[Entry]:
    return [(index % 3, 1_000 + index, bytes([index]) * (index * 7 % 61)) for index in range(count)]


def test_a_torn_tail_is_read_up_to_its_last_whole_record_and_named(tmp_path: Path) -> None:
    written = entries(20)
    path, offsets = write_segment(tmp_path, written)
    data = path.read_bytes()
    last = offsets[-1]
    covered = last + 20 + len(written[-1][2])  # the padding after it is not covered by its checksum
    assert covered < len(data) - SEGMENT_END_SIZE
    for cut in range(last + 1, covered):
        path.write_bytes(data[:cut])
        with pytest.warns(DamagedLogFilesWarning, match=rf"{path}: torn tail at offset {last} \({cut - last} bytes"):
            found, reader = read(path, "warn")
        assert found == written[:-1]
        assert reader.state is SegmentState.UNCLOSED
    # Cut in the padding: the record is whole.
    for cut in range(covered, len(data) - SEGMENT_END_SIZE + 1):
        path.write_bytes(data[:cut])
        found, reader = read(path, "raise")
        assert found == written and reader.state is SegmentState.UNCLOSED
    # Cut inside the segment end (before its 4 bytes of padding): every entry is whole, the segment end is torn.
    for cut in range(len(data) - SEGMENT_END_SIZE + 1, len(data) - 4):
        path.write_bytes(data[:cut])
        found, reader = read(path)
        assert found == written
        assert [(damage.offset, damage.torn_tail) for damage in reader.damage] == [(len(data) - SEGMENT_END_SIZE, True)]


def test_raise_stops_at_the_torn_tail_after_the_whole_records(tmp_path: Path) -> None:
    written = entries(10)
    path, offsets = write_segment(tmp_path, written)
    path.write_bytes(path.read_bytes()[: offsets[-1] + 5])
    found = []
    with SegmentReader(path, on_damage="raise") as reader:
        with pytest.raises(StreamFormatError, match=rf"{path}: torn tail at offset {offsets[-1]}"):
            found.extend(record[2] for record in reader.records())
    assert found == [time_stamp for _, time_stamp, _ in written[:-1]]


def test_zeros_left_by_a_power_cut_are_a_torn_tail(tmp_path: Path) -> None:
    written = entries(10)
    path, _ = write_segment(tmp_path, written)
    data = path.read_bytes()[:-SEGMENT_END_SIZE]
    path.write_bytes(data + bytes(4096))
    found, reader = read(path)
    assert found == written
    assert [(damage.offset, damage.length, damage.torn_tail) for damage in reader.damage] == [(len(data), 4096, True)]


def test_a_flipped_payload_byte_loses_only_its_record(tmp_path: Path) -> None:
    written = entries(30)
    path, offsets = write_segment(tmp_path, written)
    data = bytearray(path.read_bytes())
    data[offsets[12] + 21] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.warns(
        DamagedLogFilesWarning, match=rf"damaged bytes at offset {offsets[12]} \({offsets[13] - offsets[12]}"
    ):
        found, reader = read(path, "warn")
    assert found == written[:12] + written[13:]
    assert reader.state is SegmentState.CLOSED


def test_a_damaged_length_is_resynchronised_by_scanning(tmp_path: Path) -> None:
    written = entries(30)
    path, offsets = write_segment(tmp_path, written)
    data = bytearray(path.read_bytes())
    data[offsets[5] + 6] ^= 0x01  # the length grows by 65,536 bytes: past the end of the file
    path.write_bytes(bytes(data))
    found, reader = read(path)
    assert found == written[:5] + written[6:]
    assert [(damage.offset, damage.length, damage.torn_tail) for damage in reader.damage] == [
        (offsets[5], offsets[6] - offsets[5], False)
    ]


def test_a_long_zeroed_range_in_the_middle_is_skipped(tmp_path: Path) -> None:
    written = entries(40)
    path, offsets = write_segment(tmp_path, written)
    data = path.read_bytes()
    zeros = 3 << 20  # more than one scan window
    path.write_bytes(data[: offsets[20]] + bytes(zeros) + data[offsets[20] :])
    found, reader = read(path)
    assert found == written
    first = reader.damage[0]
    assert (first.offset, first.length, first.torn_tail) == (offsets[20], zeros, False)


def test_unknown_kinds_and_bytes_after_the_end_are_damage(tmp_path: Path) -> None:
    path, _ = write_segment(tmp_path, entries(3))
    data = path.read_bytes()
    control = encode_record(1, 5, b"a transport control record", kind=1)
    path.write_bytes(data[:-SEGMENT_END_SIZE] + control + data[-SEGMENT_END_SIZE:] + b"trailing")
    found, reader = read(path)
    assert found == entries(3)
    reasons = [damage.reason for damage in reader.damage]
    assert len(reasons) == 3
    assert "kind 1" in reasons[0] and "says it is at" in reasons[1]
    assert "bytes after the segment end" in reasons[-1]


def test_a_segment_end_that_disagrees_with_the_records_is_damage(tmp_path: Path) -> None:
    path, offsets = write_segment(tmp_path, entries(4))
    data = path.read_bytes()
    # Remove a whole record: every checksum still verifies, but the segment end counts four and sits elsewhere.
    path.write_bytes(data[: offsets[1]] + data[offsets[2] :])
    _, reader = read(path)
    assert len(reader.damage) == 1 and "says it is at" in reader.damage[0].reason


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(1, 25),
    position=st.integers(0, 10**6),
    flip=st.integers(1, 255),
)
def test_a_corrupted_byte_is_never_returned_as_data(count: int, position: int, flip: int) -> None:
    written = entries(count)
    with tempfile.TemporaryDirectory() as directory:
        path, offsets = write_segment(Path(directory), written)
        data = bytearray(path.read_bytes())
        position = offsets[0] + position % (len(data) - offsets[0])
        data[position] ^= flip
        path.write_bytes(bytes(data))
        found, reader = read(path)
    # What is read is the written entries, in order, with some left out: never a changed or an invented one.
    remaining = iter(written)
    assert all(any(entry == candidate for candidate in remaining) for entry in found)
    starts = [*offsets, len(data) - SEGMENT_END_SIZE]
    record = max(index for index, start in enumerate(starts) if start <= position)
    in_padding = record < count and position >= starts[record] + 20 + len(written[record][2])
    in_end_padding = record == count and position >= starts[record] + 44
    if in_padding or in_end_padding:
        assert found == written and not reader.damage
    else:
        assert reader.damage
        if record < count:
            assert written[record] not in found


def test_a_record_larger_than_a_chunk(tmp_path: Path) -> None:
    big = bytes(range(256)) * (CHUNK_BYTES // 256 + 1000)
    written = [(1, 1, b"small"), (2, 2, big), (3, 3, b"after")]
    path, _ = write_segment(tmp_path, written)
    found, reader = read(path, "raise")
    assert found == written and reader.state is SegmentState.CLOSED


def test_a_segment_truncated_while_it_is_read_is_reported_not_fatal(fast_directory: Path) -> None:
    written = [(1, index, bytes([index % 256]) * 1000) for index in range(12_000)]  # 12 MB: two chunks
    path, offsets = write_segment(fast_directory, written)
    found = []
    with SegmentReader(path, on_damage="collect") as reader:
        for record in reader.records():
            if not found:
                os.truncate(path, offsets[100])
            found.append(record[2])
    # The first chunk was read before the truncation; what the file no longer holds is reported.
    assert found == list(range(len(found))) and 100 <= len(found) < len(written)
    assert reader.damage and reader.damage[-1].torn_tail and "truncated" in reader.damage[-1].reason


def test_special_files_and_folders_named_like_segments_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "stream_000001.adlog"
    os.mkfifo(fifo)
    with pytest.raises(StreamFormatError, match="not a regular file"):
        SegmentReader(fifo)
    folder = tmp_path / "stream_000002.adlog"
    folder.mkdir()
    with pytest.raises(StreamFormatError, match="not a regular file"):
        SegmentReader(folder)


def test_a_link_named_like_a_segment_is_not_followed(tmp_path: Path) -> None:
    # A log folder's records are its own files': a link to a segment elsewhere is not read as one of them.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target, _ = write_segment(elsewhere, [(1, 5, b"not this folder's")])
    log = tmp_path / "log"
    log.mkdir()
    own, _ = write_segment(log, [(1, 7, b"this folder's")])
    link = log / "stream_000009.adlog"
    link.symlink_to(target)

    with pytest.raises(StreamFormatError, match="not a regular file: it is a symbolic link"):
        SegmentReader(link)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedLogFilesWarning)
        from ataraxis_datalogger import read_logs

        with read_logs(log) as readers:
            entries = [(stamp, bytes(payload)) for reader in readers.values() for stamp, payload in reader]
    assert entries == [(7, b"this folder's")]
    assert link.is_symlink() and target.exists() and own.exists()


def test_an_empty_segment_reads_as_closed(tmp_path: Path) -> None:
    path, _ = write_segment(tmp_path, [])
    found, reader = read(path, "raise")
    assert found == [] and reader.state is SegmentState.CLOSED and reader.end is not None
    assert reader.end.entry_records == 0 and record_size(0) == 24


def test_on_damage_is_checked(tmp_path: Path) -> None:
    path, _ = write_segment(tmp_path, [])
    with pytest.raises(ValueError, match="on_damage must be"):
        SegmentReader(path, on_damage="ignore")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read(path, "warn")


def test_an_iteration_stopped_early_resumes_after_its_last_record(tmp_path: Path) -> None:
    written = entries(50)
    path, _ = write_segment(tmp_path, written)
    with SegmentReader(path, on_damage="raise") as reader:
        first = []
        records = reader.records()
        for record in records:
            first.append(record[2])
            if len(first) == 10:
                break
        records.close()
        rest = [record[2] for record in reader.records()]
        assert reader.entry_records == len(written) and reader.state is SegmentState.CLOSED
    assert first + rest == [time_stamp for _, time_stamp, _ in written]
