"""Helpers of the export tests: entries as plain tuples, from read_logs and from Arrow tables."""

from pathlib import Path

import pyarrow as pa

from ataraxis_datalogger import read_logs

Row = tuple[int, int, bytes]
"""One entry as (source id, timestamp, payload bytes)."""


def rows(table: pa.Table | pa.RecordBatch) -> list[Row]:
    """Returns the rows of a table with the columns source_id, timestamp and payload, in order."""
    columns = table.to_pydict()
    return list(zip(columns["source_id"], columns["timestamp"], columns["payload"], strict=True))


def expected_rows(directory: Path) -> list[Row]:
    """Returns every entry of a log directory as read_logs iterates it, source after source."""
    with read_logs(directory) as readers:
        return [
            (source_id, stamp, payload.tobytes()) for source_id, reader in readers.items() for stamp, payload in reader
        ]
