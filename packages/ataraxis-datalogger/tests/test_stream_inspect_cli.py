"""Stream segments in inspect_logs and in the command line (inspect, compress, follow)."""

import subprocess
import sys
from pathlib import Path

import pytest

from ataraxis_datalogger import compress_npy_logs, inspect_logs
from ataraxis_datalogger._files.stream_writer import StreamSegmentWriter
from ataraxis_datalogger._format.stream import SEGMENT_END_SIZE, encode_record
from ataraxis_datalogger.cli import main

MODULE = [sys.executable, "-m", "ataraxis_datalogger.cli"]


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MODULE, *arguments], capture_output=True, text=True, timeout=120, check=False)


def closed_segment(directory: Path, source_id: int, stamps: range, name: str = "rig") -> Path:
    with StreamSegmentWriter(directory, segment_bytes=1 << 20, sync="none", instance_name=name) as writer:
        writer.write([encode_record(source_id, stamp, b"p%d" % stamp) for stamp in stamps], len(stamps))
    return writer.segments[0]


def test_inspect_counts_stream_records_and_the_state_of_each_segment(tmp_path: Path) -> None:
    closed = closed_segment(tmp_path, 1, range(10))
    unclosed = closed_segment(tmp_path, 2, range(5))
    unclosed.write_bytes(unclosed.read_bytes()[:-SEGMENT_END_SIZE])  # a writer that died between two writes
    writing = StreamSegmentWriter(tmp_path, segment_bytes=1 << 20, sync="none", instance_name="live")
    try:
        writing.write([encode_record(1, 100, b"live")], 1)
        summary = inspect_logs(tmp_path)
    finally:
        writing.close()
    assert [(segment.path, segment.state, segment.entries) for segment in summary.segments] == [
        (closed, "closed", 10),
        (unclosed, "unclosed", 5),
        (writing.segments[0], "writing", 1),
    ]
    assert summary.segments[2].instance_name == "live" and summary.clean
    assert summary.sources[1].stream_entries == 11 and summary.sources[2].stream_entries == 5
    assert (summary.sources[1].first_time_stamp, summary.sources[1].last_time_stamp) == (0, 100)
    assert summary.sources[1].payload_bytes == sum(len(b"p%d" % stamp) for stamp in range(10)) + 4


def test_inspect_tells_archived_stream_records_from_pending_ones(tmp_path: Path) -> None:
    closed_segment(tmp_path, 3, range(20))
    compress_npy_logs(tmp_path)
    closed_segment(tmp_path, 3, range(20, 25))
    source = inspect_logs(tmp_path).sources[3]
    assert (source.archived_entries, source.stream_copies, source.stream_entries) == (20, 20, 5)


def test_inspect_and_its_command_report_a_damaged_segment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    segment = closed_segment(tmp_path, 4, range(30))
    data = bytearray(segment.read_bytes())
    data[300] ^= 4
    segment.write_bytes(bytes(data))
    (tmp_path / "stream_000009.adlog").write_bytes(b"not a segment")
    summary = inspect_logs(tmp_path)
    assert not summary.clean
    assert [damaged.path.name for damaged in summary.damaged_files] == [segment.name, "stream_000009.adlog"]
    assert summary.damaged_files[0].reason.startswith("damaged bytes at offset")
    assert main(["inspect", str(tmp_path)]) == 1
    output = capsys.readouterr().out
    assert "stream segments: 1 (1 closed), 29 entries" in output
    assert f"{segment}: damaged bytes at offset" in output


def test_the_compress_command_archives_and_removes_segments(tmp_path: Path) -> None:
    closed_segment(tmp_path, 5, range(40))
    result = run("compress", str(tmp_path), "--remove-sources", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "5_log.npz" in result.stdout and "stream segments removed: 1" in result.stdout
    assert not list(tmp_path.glob("*.adlog"))


def test_the_follow_command_prints_every_entry_until_the_log_is_closed(tmp_path: Path) -> None:
    closed_segment(tmp_path, 6, range(3))
    closed_segment(tmp_path, 7, range(2))
    result = run("follow", str(tmp_path), "--poll", "0.01")
    assert result.returncode == 0, result.stderr
    assert [line.split()[:3] for line in result.stdout.splitlines()] == [
        ["6", "0", "2"],
        ["6", "1", "2"],
        ["6", "2", "2"],
        ["7", "0", "2"],
        ["7", "1", "2"],
    ]
    assert result.stdout.splitlines()[0].endswith("70 30")  # b"p0" in hex
    only = run("follow", str(tmp_path), "--source", "7", "--bytes", "0")
    assert [line.split() for line in only.stdout.splitlines()] == [["7", "0", "2"], ["7", "1", "2"]]


def test_the_follow_command_reports_damage_and_exits_1(tmp_path: Path) -> None:
    segment = closed_segment(tmp_path, 8, range(10))
    segment.write_bytes(segment.read_bytes()[: -SEGMENT_END_SIZE - 3])
    result = run("follow", str(tmp_path), "--poll", "0.01")
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 9
    assert f"{segment}: torn tail at offset" in result.stderr
