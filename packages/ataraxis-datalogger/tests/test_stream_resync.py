"""Resuming after damage in a closed segment: records inside a payload are never taken for real ones.

A payload may itself hold bytes in the record format (a producer logging part of a segment, or a hostile one). When a
damaged record's length field no longer says where it ends, the reader looks for the next record: it must not stop in
that payload. In a closed segment the segment end anchors the search: the true next record is the first one from
which valid records lead exactly to the segment end, no more of them than it counts.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ataraxis_datalogger._files.stream_reader import SegmentState
from ataraxis_datalogger._format.stream import SEGMENT_END_SIZE, encode_record

from .test_stream_reader import Entry, read, write_segment

_FAKES: list[Entry] = [(9, 7_000 + index, b"not a real entry %d" % index) for index in range(3)]


def _carrier_payload(*, merges: bool) -> bytes:
    """Four bytes, then records (which then start 8-aligned in the file), then (unless `merges`) a tail.

    With `merges`, the carrier ends where its last embedded record ends: a chain of records from the first one leads
    on into the real records after the carrier.
    """
    records = b"".join(encode_record(*fake) for fake in _FAKES)
    return b"\0" * 4 + records + (b"" if merges else b"tail")


def _segment(directory: Path, *, merges: bool) -> tuple[Path, list[int], list[Entry]]:
    written: list[Entry] = [(1, 100 + index, bytes([index]) * (index * 5 % 37)) for index in range(12)]
    written.insert(6, (2, 106, _carrier_payload(merges=merges)))
    path, offsets = write_segment(directory, written)
    return path, offsets, written


# The carrier's length field is bytes [4, 8) of its record.
_LENGTH_DAMAGE = {
    "length points into its own payload": (4, (4).to_bytes(4, "little")),
    "length points past the end of the file": (6, b"\x7f"),
    "length one byte short": (4, None),
    "checksum flipped": (0, b"\xff"),
}


@pytest.mark.parametrize("merges", [True, False], ids=["records-to-its-end", "records-then-tail"])
@pytest.mark.parametrize("damage", list(_LENGTH_DAMAGE), ids=lambda name: name.replace(" ", "-"))
def test_records_inside_a_damaged_payload_are_not_taken_for_real_ones(
    tmp_path: Path, merges: bool, damage: str
) -> None:
    path, offsets, written = _segment(tmp_path, merges=merges)
    carrier = offsets[6]
    data = bytearray(path.read_bytes())
    where, replacement = _LENGTH_DAMAGE[damage]
    if replacement is None:
        length = int.from_bytes(data[carrier + 4 : carrier + 8], "little")
        replacement = (length - 1).to_bytes(4, "little")
    data[carrier + where : carrier + where + len(replacement)] = replacement
    path.write_bytes(bytes(data))
    found, reader = read(path)
    assert not set(found) & set(_FAKES)
    assert found == written[:6] + written[7:]
    assert [(item.offset, item.length) for item in reader.damage] == [(carrier, offsets[7] - carrier)]
    assert reader.state is SegmentState.CLOSED


def test_a_damaged_last_record_resumes_at_the_segment_end(tmp_path: Path) -> None:
    written: list[Entry] = [(1, 1, b"first"), (1, 2, _carrier_payload(merges=True))]
    path, offsets = write_segment(tmp_path, written)
    data = bytearray(path.read_bytes())
    data[offsets[1] + 4 : offsets[1] + 8] = (4).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    found, reader = read(path)
    assert found == written[:1]
    assert [(item.offset, item.length) for item in reader.damage] == [
        (offsets[1], len(data) - SEGMENT_END_SIZE - offsets[1])
    ]
    assert reader.state is SegmentState.CLOSED and reader.end is not None


def test_records_too_many_for_the_segment_end_are_reported_when_no_chain_reaches_it(tmp_path: Path) -> None:
    # A second damaged record breaks every chain to the segment end: without an anchor the reader resumes at the
    # first confirmed record, the embedded ones (the gap the "Stream segments" page describes); the segment end's
    # count gives them away once it is read.
    path, offsets, _ = _segment(tmp_path, merges=True)
    data = bytearray(path.read_bytes())
    for damaged in (offsets[6], offsets[10]):
        data[damaged + 4 : damaged + 8] = (4).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    found, reader = read(path)
    assert set(_FAKES) <= set(found)
    assert "may not be real ones" in reader.damage[-1].reason, reader.damage
    assert "counts 13 entry records, but 14 were read besides 2 damaged range(s)" in reader.damage[-1].reason


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(2, 12),
    carrier=st.integers(0, 11),
    byte=st.integers(0, 10**6),
    flip=st.integers(1, 255),
    merges=st.booleans(),
)
def test_any_damaged_byte_of_one_record_loses_that_record_only(
    tmp_path_factory: pytest.TempPathFactory, count: int, carrier: int, byte: int, flip: int, merges: bool
) -> None:
    written: list[Entry] = [(1, index, bytes([index]) * (index * 3 % 29)) for index in range(count)]
    carrier %= count
    written[carrier] = (2, carrier, _carrier_payload(merges=merges))
    path, offsets = write_segment(tmp_path_factory.mktemp("segment"), written)
    data = bytearray(path.read_bytes())
    covered = 20 + len(written[carrier][2])  # the padding after the payload is not checked
    data[offsets[carrier] + byte % covered] ^= flip
    path.write_bytes(bytes(data))
    found, reader = read(path)
    assert found == written[:carrier] + written[carrier + 1 :]
    assert len(reader.damage) == 1 and reader.state is SegmentState.CLOSED
