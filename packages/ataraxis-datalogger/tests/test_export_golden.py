"""The committed golden export of layout version 1 still reads as specified, and is what export_logs still writes.

`golden/export_v1/` holds the Parquet, Feather and MCAP exports of a log directory made of the golden stored archive
of source 7 (`golden/archive_v1_stored/7_log.npz`) and three loose entries of source 3 (`SOURCE_3` below), built by
`build_golden_export` (see `golden/README.md`). Each test exports the same log again and compares everything the
"Export layout" page specifies: names of folders and files, columns, types, compression, order, rows, metadata
(all but the values that name the machine: the library version and the log directory), MCAP channels and messages.

Run this file as a script to build the golden export again (only for a new layout version: the old one stays).
"""

import json
import shutil
import sys
from pathlib import Path

import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from mcap.reader import make_reader

from ataraxis_datalogger import LogPackage, export_logs
from ataraxis_datalogger._format.entry import entry_file_name

GOLDEN = Path(__file__).parent / "golden"
EXPORT = GOLDEN / "export_v1"
SOURCE_3 = [(4, b"three at 4"), (5, b"three at 5, tied with source 7"), (2**63, b"")]
OUTPUTS = {"parquet": "parquet", "feather": "feather", "mcap": "log.mcap"}
_MACHINE_KEYS = ("exported_by", "log_directory")


def build_log(directory: Path) -> Path:
    """Builds the exported log directory: the golden stored archive of source 7 and the loose entries of source 3."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GOLDEN / "archive_v1_stored" / "7_log.npz", directory / "7_log.npz")
    for time_stamp, payload in SOURCE_3:
        (directory / entry_file_name(3, time_stamp)).write_bytes(LogPackage(3, time_stamp, payload).entry_bytes)
    return directory


def build_golden_export() -> None:
    """Writes `golden/export_v1/` (refuses to overwrite it)."""
    if EXPORT.exists():
        sys.exit(f"{EXPORT} exists: golden files are never rebuilt (a new layout version gets a new folder)")
    log = build_log(EXPORT.parent / ".export_v1_log")
    try:
        for file_format, name in OUTPUTS.items():
            export_logs(log, EXPORT / name, file_format, session=None if file_format != "mcap" else "golden")  # type: ignore[arg-type]
    finally:
        shutil.rmtree(log)


def origin(metadata: dict[bytes, bytes] | None) -> dict[str, str]:
    """The machine-independent part of a part file's `ataraxis-datalogger` schema metadata."""
    assert metadata is not None
    values: dict[str, str] = json.loads(metadata[b"ataraxis-datalogger"])
    assert values["exported_by"].startswith("ataraxis-datalogger ")
    return {key: value for key, value in values.items() if key not in _MACHINE_KEYS}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden log exported again by the current code, in every format."""
    root = tmp_path_factory.mktemp("fresh_export")
    log = build_log(root / "log")
    for file_format, name in OUTPUTS.items():
        export_logs(log, root / name, file_format, session=None if file_format != "mcap" else "golden")  # type: ignore[arg-type]
    return root


def relative_files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_the_parquet_dataset_is_as_specified(fresh: Path) -> None:
    golden, new = EXPORT / "parquet", fresh / "parquet"
    assert (
        relative_files(golden)
        == relative_files(new)
        == [
            "source_id=3/part-00000.parquet",
            "source_id=7/part-00000.parquet",
        ]
    )
    for name in relative_files(golden):
        files = pq.ParquetFile(golden / name), pq.ParquetFile(new / name)
        for file in files:
            schema = file.schema_arrow
            assert [(field.name, str(field.type), field.nullable) for field in schema] == [
                ("timestamp", "uint64", False),
                ("payload", "large_binary", False),
            ]
            column = file.metadata.row_group(0).column(0)
            assert (column.physical_type, str(file.schema.column(0).logical_type)) == (
                "INT64",
                "Int(bitWidth=64, isSigned=false)",
            )
            assert file.metadata.row_group(0).column(1).physical_type == "BYTE_ARRAY"
            assert {file.metadata.row_group(0).column(index).compression for index in (0, 1)} == {"ZSTD"}
            assert column.statistics.has_min_max
            assert not file.metadata.row_group(0).column(1).statistics
        assert origin(files[0].schema_arrow.metadata) == origin(files[1].schema_arrow.metadata)
        assert origin(files[0].schema_arrow.metadata) == {"export_layout": "1", "session": "", "source_id": name[10]}
        assert files[0].read().to_pydict() == files[1].read().to_pydict()
    rows = pq.read_table(golden / "source_id=3" / "part-00000.parquet").to_pydict()
    assert list(zip(rows["timestamp"], rows["payload"], strict=True)) == SOURCE_3


def test_the_feather_dataset_is_as_specified(fresh: Path) -> None:
    golden, new = EXPORT / "feather", fresh / "feather"
    assert (
        relative_files(golden)
        == relative_files(new)
        == [
            "source_id=3/part-00000.feather",
            "source_id=7/part-00000.feather",
        ]
    )
    for name in relative_files(golden):
        tables = feather.read_table(golden / name), feather.read_table(new / name)
        for table in tables:
            assert [(field.name, str(field.type), field.nullable) for field in table.schema] == [
                ("timestamp", "uint64", False),
                ("payload", "large_binary", False),
            ]
        assert origin(tables[0].schema.metadata) == origin(tables[1].schema.metadata)
        assert tables[0].to_pydict() == tables[1].to_pydict()
    # Uncompressed, so that readers memory-map it: the payload bytes are in the file as they are.
    assert b"three at 5, tied with source 7" in (golden / "source_id=3" / "part-00000.feather").read_bytes()


def mcap_content(path: Path) -> dict[str, object]:
    with path.open("rb") as stream:
        reader = make_reader(stream)
        header = reader.get_header()
        summary = reader.get_summary()
        assert summary is not None
        [metadata] = list(reader.iter_metadata())
        messages = [
            (channel.topic, message.log_time, message.publish_time, message.sequence, message.data)
            for _, channel, message in reader.iter_messages(log_time_order=False)
        ]
    assert header.library.startswith("ataraxis-datalogger ")
    return {
        "profile": header.profile,
        "schemas": summary.schemas,
        "channels": sorted(
            (channel.topic, channel.message_encoding, channel.schema_id, channel.metadata)
            for channel in summary.channels.values()
        ),
        "metadata": (
            metadata.name,
            {key: value for key, value in metadata.metadata.items() if key not in _MACHINE_KEYS},
        ),
        "messages": messages,
    }


def test_the_mcap_file_is_as_specified(fresh: Path) -> None:
    golden = mcap_content(EXPORT / "log.mcap")
    assert golden == mcap_content(fresh / "log.mcap")
    assert golden["profile"] == ""
    assert golden["schemas"] == {}
    assert golden["channels"] == [
        ("/source/3", "application/octet-stream", 0, {"source_id": "3"}),
        ("/source/7", "application/octet-stream", 0, {"source_id": "7"}),
    ]
    assert golden["metadata"] == ("ataraxis-datalogger", {"export_layout": "1", "session": "golden"})
    messages = golden["messages"]
    assert isinstance(messages, list)
    assert [(topic, log_time) for topic, log_time, *_ in messages] == [
        ("/source/7", 0),
        ("/source/3", 4),
        ("/source/3", 5),
        ("/source/7", 5),
        ("/source/7", 5),
        ("/source/7", 5),
        ("/source/7", 7),
        ("/source/7", 9),
        ("/source/3", 2**63),
        ("/source/7", 2**64 - 1),
    ]
    assert all(log_time == publish_time for _, log_time, publish_time, *_ in messages)
    assert [sequence for topic, _, _, sequence, _ in messages if topic == "/source/7"] == list(range(7))


if __name__ == "__main__":
    build_golden_export()
