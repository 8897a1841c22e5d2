"""StreamSegmentWriter: records appended whole, rotation, never an overwritten segment, failed writes undone."""

import itertools
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ataraxis_datalogger._files.stream_reader import SegmentReader, SegmentState
from ataraxis_datalogger._files.stream_writer import MIN_SEGMENT_BYTES, StreamSegmentWriter
from ataraxis_datalogger._format.stream import (
    EndReason,
    encode_record,
    parse_segment_file_name,
    segment_file_name,
)

Entry = tuple[int, int, bytes]


def entries(count: int, start: int = 0, payload: int = 40) -> list[Entry]:
    return [(index % 5, start + index, bytes([index % 256]) * (index % payload)) for index in range(count)]


def write_in_batches(writer: StreamSegmentWriter, written: list[Entry], batch: int = 7) -> None:
    """Writes entries in batches, each batch split in two pieces at an odd byte (inside a record)."""
    for first in range(0, len(written), batch):
        part = written[first : first + batch]
        data = b"".join(encode_record(*entry) for entry in part)
        cut = min(len(data), 13)
        writer.write([memoryview(data)[:cut], memoryview(data)[cut:]], len(part))


def read_folder(directory: Path) -> tuple[list[Entry], list[SegmentReader]]:
    """Reads every segment of a folder in sequence order (closing each)."""
    found: list[Entry] = []
    readers = []
    paths = sorted(directory.glob("*.adlog"), key=lambda path: parse_segment_file_name(path.name) or 0)
    for path in paths:
        with SegmentReader(path, on_damage="raise") as reader:
            found.extend(
                (source_id, time_stamp, bytes(payload)) for _, source_id, time_stamp, payload in reader.records()
            )
        readers.append(reader)
    return found, readers


def test_records_round_trip_across_rotations(tmp_path: Path) -> None:
    written = entries(2_000)
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none", instance_name="rig") as writer:
        write_in_batches(writer, written)
    assert writer.records_written == len(written)
    found, readers = read_folder(tmp_path)
    assert found == written
    assert len(readers) == len(writer.segments) > 10
    for index, reader in enumerate(readers):
        assert reader.state is SegmentState.CLOSED and reader.end is not None
        assert reader.end.reason is (EndReason.CLOSED if index == len(readers) - 1 else EndReason.ROTATED)
        assert reader.end.entry_records == reader.entry_records
        assert (reader.header.writer_id, reader.header.writer_index) == (writer.writer_id, index)
        assert reader.header.instance_name == "rig"
        assert reader.path.stat().st_size <= MIN_SEGMENT_BYTES


def test_a_write_larger_than_the_limit_gets_a_segment_of_its_own(tmp_path: Path) -> None:
    small = encode_record(1, 1, b"small")
    large = encode_record(1, 2, bytes(3 * MIN_SEGMENT_BYTES))
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="rotate") as writer:
        writer.write([small], 1)
        writer.write([large], 1)
        writer.write([small], 1)
    sizes = [path.stat().st_size for path in writer.segments]
    assert len(sizes) == 3
    assert sizes[1] > MIN_SEGMENT_BYTES
    assert sizes[0] <= MIN_SEGMENT_BYTES and sizes[2] <= MIN_SEGMENT_BYTES
    found, _ = read_folder(tmp_path)
    assert [time_stamp for _, time_stamp, _ in found] == [1, 2, 1]


@settings(max_examples=30, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_records_may_span_any_pieces(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[bytes], cuts: list[int]
) -> None:
    directory = tmp_path_factory.mktemp("pieces")
    data = b"".join(encode_record(7, index, payload) for index, payload in enumerate(payloads))
    bounds = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    pieces = [memoryview(data)[start:stop] for start, stop in itertools.pairwise(bounds)]
    with StreamSegmentWriter(directory, segment_bytes=1 << 20, sync="none") as writer:
        writer.write(pieces, len(payloads))
    found, _ = read_folder(directory)
    assert found == [(7, index, payload) for index, payload in enumerate(payloads)]


def test_a_second_writer_never_overwrites_a_segment(tmp_path: Path) -> None:
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") as first:
        write_in_batches(first, entries(300))
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") as second:
        write_in_batches(second, entries(300, start=10_000))
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.name in before} == before
    numbers = [parse_segment_file_name(path.name) for path in second.segments]
    assert min(number or 0 for number in numbers) > max(parse_segment_file_name(name) or 0 for name in before)
    found, _ = read_folder(tmp_path)
    assert found == entries(300) + entries(300, start=10_000)


def test_a_name_taken_meanwhile_is_skipped_not_replaced(tmp_path: Path) -> None:
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") as writer:
        taken = [tmp_path / segment_file_name(number) for number in (1, 2)]
        for path in taken:
            path.write_bytes(b"someone else's file")
        write_in_batches(writer, entries(300))
    assert all(path.read_bytes() == b"someone else's file" for path in taken)
    assert parse_segment_file_name(writer.segments[1].name) == 3
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_two_writers_rotating_in_one_folder_keep_every_record(tmp_path: Path) -> None:
    writers = [StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="none") for _ in range(2)]
    data = [entries(3_000, start=100_000 * index) for index in range(2)]
    threads = [
        threading.Thread(target=write_in_batches, args=(writer, part))
        for writer, part in zip(writers, data, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for writer in writers:
        writer.close()
    names = [path.name for writer in writers for path in writer.segments]
    assert len(names) == len(set(names)) == len(list(tmp_path.glob("*.adlog")))
    for writer, part in zip(writers, data, strict=True):
        found: list[Entry] = []
        for path in writer.segments:
            with SegmentReader(path, on_damage="raise") as reader:
                assert reader.header.writer_id == writer.writer_id
                found.extend(
                    (source_id, time_stamp, bytes(payload)) for _, source_id, time_stamp, payload in reader.records()
                )
        assert found == part


def test_the_temporary_name_fallback_leaves_nothing_behind(tmp_path: Path) -> None:
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync="rotate") as writer:
        writer._anonymous = False  # the path taken where O_TMPFILE is missing
        (tmp_path / segment_file_name(2)).write_bytes(b"taken")
        write_in_batches(writer, entries(500))
    assert len(writer.segments) > 3
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []
    assert (tmp_path / segment_file_name(2)).read_bytes() == b"taken"
    found: list[Entry] = []
    for path in writer.segments:
        with SegmentReader(path, on_damage="raise") as reader:
            found.extend(
                (source_id, time_stamp, bytes(payload)) for _, source_id, time_stamp, payload in reader.records()
            )
            assert reader.state is SegmentState.CLOSED
    assert found == entries(500)


def test_a_record_being_appended_is_not_damage(tmp_path: Path) -> None:
    # A record split over two write() calls stands for one the kernel has copied only in part; callers never do it
    # (it could be split by a rotation): write() takes whole records.
    record = encode_record(3, 9, b"x" * 30)
    with StreamSegmentWriter(tmp_path, segment_bytes=1 << 20, sync="none") as writer:
        writer.write([encode_record(3, 8, b"before")], 1)
        writer.write([record[:24]], 0)
        reader = SegmentReader(writer.segments[0], on_damage="raise")
        assert [record[2] for record in reader.records()] == [8]
        assert reader.state is SegmentState.WRITING and not reader.damage
        writer.write([record[24:]], 1)
        assert [(time_stamp, bytes(payload)) for _, _, time_stamp, payload in reader.records()] == [(9, b"x" * 30)]
    assert list(reader.records()) == []
    assert reader.state is SegmentState.CLOSED and reader.end is not None and reader.end.entry_records == 2
    reader.close()


WRITE_THEN_WAIT = """
import sys, time
from pathlib import Path
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.stream import encode_record
writer = StreamSegmentWriter(Path(sys.argv[1]), segment_bytes=1 << 20, sync="none")
writer.write([encode_record(1, stamp, b"payload %d" % stamp) for stamp in range(100)], 100)
print("written", flush=True)
time.sleep(60)
"""


def test_a_killed_writer_leaves_an_unclosed_segment_with_every_record(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITE_THEN_WAIT, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"written\n"
        (path,) = tmp_path.glob("*.adlog")
        with SegmentReader(path, on_damage="raise") as reader:
            assert len(list(reader.records())) == 100
            assert reader.state is SegmentState.WRITING
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        process.kill()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()
    with SegmentReader(path, on_damage="raise") as reader:
        assert [record[2] for record in reader.records()] == list(range(100))
        assert reader.state is SegmentState.UNCLOSED and reader.end is None and not reader.damage


FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.stream import encode_record
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, writes fail with EFBIG instead of killing
writer = StreamSegmentWriter(Path(sys.argv[1]), segment_bytes=1 << 20, sync="none")
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
stamp = 0
while True:
    batch = [encode_record(1, stamp + index, bytes(100)) for index in range(8)]
    try:
        writer.write([b"".join(batch)], len(batch))
    except OSError as error:
        print("failed", stamp, error.errno, flush=True)
        break
    stamp += len(batch)
try:
    writer.close()
    print("closed", flush=True)
except OSError as error:
    print("close failed", error.errno, flush=True)
"""


@pytest.mark.parametrize(
    ("limit", "closes"),
    # The header takes 56 bytes and each batch 960: the seventh batch is cut at the limit. With 6,000 bytes the
    # segment end (48 bytes) still fits after the sixth batch; with 5,836 it is cut too.
    [(6_000, True), (5_836, False)],
)
def test_a_failed_write_leaves_no_partial_record(tmp_path: Path, limit: int, closes: bool) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, str(tmp_path), str(limit)], capture_output=True, timeout=60, check=True
    )
    lines = result.stdout.decode().splitlines()
    failed_at = int(lines[0].split()[1])
    assert failed_at == 48 and lines[0].endswith(str(27))  # EFBIG
    assert lines[1] == ("closed" if closes else "close failed 27")
    (path,) = tmp_path.glob("*.adlog")
    with SegmentReader(path, on_damage="raise") as reader:
        assert [record[2] for record in reader.records()] == list(range(failed_at))
        # The partly written batch (and segment end) was cut off again: no byte of either is left.
        assert not reader.damage
        assert reader.state is (SegmentState.CLOSED if closes else SegmentState.UNCLOSED)
        if closes:
            assert reader.end is not None and reader.end.entry_records == failed_at
    assert path.stat().st_size == 56 + 6 * 960 + (48 if closes else 0)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"segment_bytes": 100}, ValueError, "at least 4096, got 100"),
        ({"segment_bytes": 4096.0}, TypeError, "must be an integer, got 4096.0"),
        ({"sync": "always"}, ValueError, "got 'always'"),
        ({"sync": 0}, ValueError, "got 0"),
        ({"sync": float("nan")}, ValueError, "got nan"),
        ({"sync": True}, TypeError, "got True"),
        ({"instance_name": 3}, TypeError, "got 3"),
    ],
)
def test_bad_arguments_are_refused(
    tmp_path: Path, arguments: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        StreamSegmentWriter(tmp_path, **arguments)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_bad_writes_are_refused_and_write_nothing(tmp_path: Path) -> None:
    with StreamSegmentWriter(tmp_path, segment_bytes=MIN_SEGMENT_BYTES, sync=0.5) as writer:
        with pytest.raises(ValueError, match="multiples of 8"):
            writer.write([b"12345"], 1)
        with pytest.raises(ValueError, match="negative"):
            writer.write([encode_record(1, 1, b"")], -1)
        writer.write([encode_record(1, 1, b"kept")], 1)
        writer.sync()
        writer.sync_if_due()
    with pytest.raises(ValueError, match="closed"):
        writer.write([encode_record(1, 2, b"")], 1)
    writer.close()
    found, _ = read_folder(tmp_path)
    assert found == [(1, 1, b"kept")]


def test_a_removed_folder_fails_the_write_rather_than_writing_elsewhere(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    writer = StreamSegmentWriter(folder, segment_bytes=MIN_SEGMENT_BYTES, sync="none")
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    with pytest.raises(OSError):
        for stamp in range(1_000):
            writer.write([encode_record(1, stamp, bytes(64))], 1)
    writer.close()
    assert not folder.exists() and list(tmp_path.iterdir()) == []
