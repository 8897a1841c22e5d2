"""export_logs and `ataraxis-datalogger export`: Parquet and Feather datasets and MCAP files, read back in full."""

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from export_helpers import Row, expected_rows
from mcap.reader import make_reader

from ataraxis_datalogger import (
    ArchiveFormatError,
    DamagedLogFilesWarning,
    ExportError,
    ExportReport,
    compress_npy_logs,
    export_logs,
)
from ataraxis_datalogger.cli import main

SUFFIX = {"parquet": ".parquet", "feather": ".feather"}


def partition_rows(folder: Path, file_format: str) -> list[Row]:
    """Reads a dataset's partitions file after file, in order, as rows (source id from the folder name)."""
    found: list[Row] = []
    for partition in sorted(folder.glob("source_id=*"), key=lambda path: int(path.name.partition("=")[2])):
        source_id = int(partition.name.partition("=")[2])
        for part in sorted(partition.iterdir()):
            table = pq.read_table(part) if file_format == "parquet" else feather.read_table(part)
            assert table.column_names == ["timestamp", "payload"]
            found += [(source_id, stamp, payload) for stamp, payload in zip(*table.to_pydict().values(), strict=True)]
    return found


def mcap_rows(path: Path) -> list[Row]:
    with path.open("rb") as stream:
        return [
            (int(channel.metadata["source_id"]), message.log_time, message.data)
            for _, channel, message in make_reader(stream).iter_messages(log_time_order=False)
        ]


@pytest.mark.parametrize("file_format", ["parquet", "feather"])
def test_a_dataset_holds_every_entry_in_reading_order(mixed_log: Path, tmp_path: Path, file_format: str) -> None:
    destination = tmp_path / "dataset"
    report = export_logs(mixed_log, destination, file_format)  # type: ignore[arg-type]
    assert isinstance(report, ExportReport)
    assert (report.destination, report.format, report.session) == (destination, file_format, None)
    expected = expected_rows(mixed_log)
    assert partition_rows(destination, file_format) == expected
    assert report.entries == len(expected) == sum(source.entries for source in report.sources.values())
    assert report.payload_bytes == sum(len(row[2]) for row in expected)
    assert sorted(report.sources) == [1, 2, 3, 4]
    assert report.files == tuple(
        destination / f"source_id={source_id}" / f"part-00000{SUFFIX[file_format]}" for source_id in (1, 2, 3, 4)
    )
    for source_id, source in report.sources.items():
        for path in source.files:
            schema = pq.read_schema(path) if file_format == "parquet" else feather.read_table(path).schema
            origin = json.loads(schema.metadata[b"ataraxis-datalogger"])
            assert origin["log_directory"] == str(mixed_log.resolve())
            assert (origin["source_id"], origin["session"], origin["export_layout"]) == (str(source_id), "", "1")
            assert origin["exported_by"].startswith("ataraxis-datalogger ")
    # One table for a dataset reader, with the source id from the folder names.
    dataset = ds.dataset(destination, format=file_format, partitioning="hive")
    table = dataset.to_table()
    assert sorted(table.column_names) == ["payload", "source_id", "timestamp"]
    assert table.num_rows == len(expected)
    columns = table.select(["source_id", "timestamp", "payload"]).to_pydict().values()
    assert sorted(zip(*columns, strict=True)) == sorted(expected)
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_row_groups_and_part_files_stay_within_their_sizes(mixed_log: Path, tmp_path: Path) -> None:
    report = export_logs(mixed_log, tmp_path / "small", row_group_bytes=100, file_bytes=400)
    files = report.sources[1].files
    assert [path.name for path in files] == [f"part-{index:05d}.parquet" for index in range(len(files))]
    assert len(files) > 1
    for source in report.sources.values():
        for index, path in enumerate(source.files):
            parquet = pq.ParquetFile(path)
            group_bytes = []
            for group in range(parquet.metadata.num_row_groups):
                table = parquet.read_row_group(group)
                group_bytes.append(sum(len(payload) for payload in table.column("payload").to_pylist()))
                assert group_bytes[-1] <= 100 or table.num_rows == 1
                statistics = parquet.metadata.row_group(group).column(0).statistics
                stamps = table.column("timestamp").to_pylist()
                assert statistics.has_min_max
                assert (statistics.min, statistics.max) == (stamps[0], stamps[-1])
            # A part file closes once it holds 400 payload bytes: not before, and not a group later.
            assert sum(group_bytes[:-1]) < 400
            assert sum(group_bytes) >= 400 or index == len(source.files) - 1
    assert partition_rows(tmp_path / "small", "parquet") == expected_rows(mixed_log)


def test_sessions_side_by_side_read_as_one_dataset_with_a_session_column(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    root = tmp_path / "all_sessions"
    names = ["2024-05-01_mouse7", "2024-05-02_mouse7"]
    for index, name in enumerate(names):
        log = tmp_path / name
        log.mkdir()
        for stamp in range(10 + index):
            write_entry(log, 1, stamp, b"a" * index)
            write_entry(log, 9, 100 + stamp, b"bb")
        report = export_logs(log, root, session=name)
        assert report.destination == root / f"session={name}"
        # The temporary of a session export lives beside the dataset folder, never inside it.
        assert sorted(path.name for path in root.iterdir()) == sorted(f"session={done}" for done in names[: index + 1])
    table = ds.dataset(root, partitioning="hive").to_table()
    counts = table.group_by(["session", "source_id"]).aggregate([("timestamp", "count"), ("timestamp", "max")])
    found = counts.select(["session", "source_id", "timestamp_count", "timestamp_max"]).to_pydict().values()
    assert sorted(zip(*found, strict=True)) == [
        ("2024-05-01_mouse7", 1, 10, 9),
        ("2024-05-01_mouse7", 9, 10, 109),
        ("2024-05-02_mouse7", 1, 11, 10),
        ("2024-05-02_mouse7", 9, 11, 110),
    ]


def test_an_mcap_file_holds_every_entry_on_a_channel_per_source_in_time_order(mixed_log: Path, tmp_path: Path) -> None:
    path = tmp_path / "log.mcap"
    report = export_logs(mixed_log, path, "mcap", session="rig-3")
    assert report.destination == path
    assert report.files == (path,)
    found = mcap_rows(path)
    expected = expected_rows(mixed_log)
    # The file's order is the timestamp order of all sources, ties by source id, each source in reading order.
    assert found == sorted(expected, key=lambda row: (row[1], row[0]))
    with path.open("rb") as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        assert summary is not None
        topics = {channel.topic: channel for channel in summary.channels.values()}
        assert sorted(topics) == ["/source/1", "/source/2", "/source/3", "/source/4"]
        assert {channel.message_encoding for channel in topics.values()} == {"application/octet-stream"}
        assert summary.statistics is not None
        assert summary.statistics.message_count == len(expected)
        [metadata] = list(reader.iter_metadata())
        assert metadata.name == "ataraxis-datalogger"
        assert metadata.metadata["session"] == "rig-3"
        assert metadata.metadata["export_layout"] == "1"
        assert metadata.metadata["log_directory"] == str(mixed_log.resolve())
        sequences = [
            message.sequence for _, channel, message in reader.iter_messages(topics=["/source/2"], log_time_order=True)
        ]
        assert sequences == list(range(202))
        indexed = [(message.log_time, message.data) for _, _, message in reader.iter_messages(topics=["/source/3"])]
        assert indexed == [(7, b""), (7, b"second at 7")]


def test_timestamps_and_payloads_at_their_limits_survive_every_format(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    log.mkdir()
    write_entry(log, 0, 0, b"")
    write_entry(log, 255, 2**64 - 1, bytes(range(256)) * 4096)
    expected = expected_rows(log)
    for file_format in ("parquet", "feather"):
        export_logs(log, tmp_path / file_format, file_format)  # type: ignore[arg-type]
        assert partition_rows(tmp_path / file_format, file_format) == expected
    export_logs(log, tmp_path / "log.mcap", "mcap")
    assert mcap_rows(tmp_path / "log.mcap") == expected


def test_an_export_shows_progress_when_verbose(
    mixed_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export_logs(mixed_log, tmp_path / "quiet")
    assert capsys.readouterr().err == ""
    export_logs(mixed_log, tmp_path / "verbose", verbose=True)
    # Off a terminal the display writes a plain status line: "export parquet: N of N entries, T s" once done.
    assert re.search(r"export parquet: ([\d,]+) of \1 entries", capsys.readouterr().err)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"format": "csv"}, "format must be one of parquet, feather, mcap, got 'csv'"),
        ({"session": "../up"}, "session must be 1 to 128 letters"),
        ({"session": "a=b"}, "session must be 1 to 128 letters"),
        ({"session": ""}, "session must be 1 to 128 letters"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    mixed_log: Path, tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        export_logs(mixed_log, tmp_path / "out", **arguments)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_relative_destinations_are_made_absolute(
    mixed_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = export_logs(mixed_log, "out/../dataset", session="s1")
    assert report.destination == tmp_path / "dataset" / "session=s1"
    assert partition_rows(report.destination, "parquet") == expected_rows(mixed_log)
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    with pytest.raises(ExportError, match="exists"):
        export_logs(mixed_log, ".")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dataset", "empty"]


def test_destinations_that_overlap_the_log_directory_are_refused(mixed_log: Path) -> None:
    before = sorted(mixed_log.iterdir())
    for destination in (mixed_log, mixed_log / "export", mixed_log.parent):
        with pytest.raises(ExportError, match="must lie outside the log directory"):
            export_logs(mixed_log, destination, overwrite=True)
    with pytest.raises(ExportError, match="the destination is an empty string"):
        export_logs(mixed_log, "")
    assert sorted(mixed_log.iterdir()) == before


def test_an_existing_destination_is_replaced_only_when_asked_and_only_if_it_is_an_export(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    log.mkdir()
    write_entry(log, 1, 1, b"first")
    destination = tmp_path / "dataset"
    export_logs(log, destination)
    write_entry(log, 1, 2, b"second")
    with pytest.raises(ExportError, match="exists; remove it or pass overwrite=True"):
        export_logs(log, destination)
    assert partition_rows(destination, "parquet") == [(1, 1, b"first")]
    export_logs(log, destination, overwrite=True)
    assert partition_rows(destination, "parquet") == [(1, 1, b"first"), (1, 2, b"second")]

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("four years")
    with pytest.raises(ExportError, match="is not an export folder"):
        export_logs(log, precious, overwrite=True)
    assert (precious / "thesis.txt").read_text() == "four years"
    (destination / "source_id=1" / "notes.txt").write_text("added by hand")
    with pytest.raises(ExportError, match="is not an export folder"):
        export_logs(log, destination, overwrite=True)
    assert (destination / "source_id=1" / "notes.txt").exists()

    mcap_path = tmp_path / "log.mcap"
    export_logs(log, mcap_path, "mcap")
    with pytest.raises(ExportError, match="exists"):
        export_logs(log, mcap_path, "mcap")
    export_logs(log, mcap_path, "mcap", overwrite=True)
    with pytest.raises(ExportError, match="is not a regular file"):
        export_logs(log, precious, "mcap", overwrite=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dataset", "log", "log.mcap", "precious"]


def test_a_failed_export_leaves_neither_a_destination_nor_a_temporary(
    write_entry: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    log.mkdir()
    for stamp in range(2000):
        write_entry(log, 1, stamp, stamp.to_bytes(2, "little") * 50)
    write_entry(log, 2, 0, b"fine")
    compress_npy_logs(log, remove_sources=True)
    archive = log / "1_log.npz"
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("payloads.npy")
    data = bytearray(archive.read_bytes())
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)
    archive.write_bytes(bytes(data))
    for file_format, destination in (("parquet", tmp_path / "dataset"), ("mcap", tmp_path / "log.mcap")):
        with pytest.raises(ArchiveFormatError):
            export_logs(log, destination, file_format, on_damage="raise")  # type: ignore[arg-type]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["log"]
    # By default the damaged entries are left out, with a warning naming the archive, and the rest is exported.
    with pytest.warns(DamagedLogFilesWarning, match="1_log.npz"):
        report = export_logs(log, tmp_path / "dataset")
    assert 0 < report.sources[1].entries < 2000
    assert report.sources[2].entries == 1
    exported = partition_rows(tmp_path / "dataset", "parquet")
    assert all(payload == stamp.to_bytes(2, "little") * 50 for source, stamp, payload in exported if source == 1)


def test_temporaries_of_a_killed_export_are_removed_by_the_next_one(mixed_log: Path, tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = int(finished.stdout)
    leftovers = [tmp_path / f".dataset.{dead}.export", tmp_path / f".dataset.{dead}.replaced"]
    for leftover in leftovers:
        (leftover / "source_id=1").mkdir(parents=True)
    alive = tmp_path / f".dataset.{os.getppid()}.export"  # a running process: perhaps an export still at work
    alive.mkdir()
    # An export is in place: the one set aside is not put back (see test_export_races for when it is).
    (tmp_path / "dataset").mkdir()
    export_logs(mixed_log, tmp_path / "dataset", overwrite=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["dataset", alive.name])


def test_the_export_command(mixed_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dataset"
    assert main(["export", str(mixed_log), "--output", str(out), "--session", "s1"]) == 0
    printed = capsys.readouterr()
    payload_bytes = sum(len(row[2]) for row in expected_rows(mixed_log))
    assert f"exported 704 entries ({payload_bytes:,} payload bytes)" in printed.out
    assert "export parquet" in printed.err
    assert partition_rows(out / "session=s1", "parquet") == expected_rows(mixed_log)

    assert main(["export", str(mixed_log), "-o", str(tmp_path / "log.mcap"), "--format", "mcap", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert len(mcap_rows(tmp_path / "log.mcap")) == 704

    assert main(["export", str(mixed_log), "-o", str(tmp_path / "log.mcap"), "--format", "mcap"]) == 2
    assert "exists; remove it or pass overwrite=True" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "-o", str(tmp_path / "x")]) == 2
    assert "missing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "", "-o", str(tmp_path / "x")])
    assert "an unset variable" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(mixed_log), "-o", ""])
    assert "the output is an empty string" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(mixed_log), "-o", str(out), "--format", "csv"])


MISSING_EXTRAS = """
import sys
sys.modules["pyarrow"] = None  # what a missing module looks like to `import`
sys.modules["mcap"] = None
import ataraxis_datalogger
from ataraxis_datalogger import OptionalDependencyError, export_logs, read_logs
from ataraxis_datalogger.cli import main

log, out = sys.argv[1], sys.argv[2]
with read_logs(log) as readers:
    assert sorted(readers) == [1, 2, 3, 4]
    for call in (readers[1].to_arrow, readers[1].iter_batches, readers.to_arrow):
        try:
            call()
        except OptionalDependencyError as error:
            assert "pip install 'ataraxis-datalogger[arrow]'" in str(error), error
            assert isinstance(error, ImportError) and error.name == "pyarrow"
        else:
            sys.exit(f"{call} worked without pyarrow")
for file_format, extra in (("parquet", "arrow"), ("feather", "arrow"), ("mcap", "mcap")):
    try:
        export_logs(log, out, file_format)
    except OptionalDependencyError as error:
        assert f"pip install 'ataraxis-datalogger[{extra}]'" in str(error), error
    else:
        sys.exit(f"{file_format} export worked without its extra")
assert main(["export", log, "-o", out, "--format", "mcap"]) == 2
import os
assert not os.path.exists(out)
print("ok")
"""


def test_missing_extras_are_named_in_the_error(mixed_log: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", MISSING_EXTRAS, str(mixed_log), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "needs mcap, which is not installed" in result.stderr
    assert result.stdout == "ok\n"


def test_the_export_command_lists_damaged_entries_left_out(
    write_entry: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log"
    log.mkdir()
    for stamp in range(5):
        write_entry(log, 1, stamp, b"fine")
    damaged = log / "001_00000000000000000009.npy"
    damaged.write_bytes(b"not an entry")
    assert main(["export", str(log), "-o", str(tmp_path / "dataset"), "--quiet"]) == 1
    printed = capsys.readouterr().out
    assert "1 damaged part(s) of the log, left out of the export:" in printed
    assert str(damaged) in printed
    assert partition_rows(tmp_path / "dataset", "parquet") == [(1, stamp, b"fine") for stamp in range(5)]
