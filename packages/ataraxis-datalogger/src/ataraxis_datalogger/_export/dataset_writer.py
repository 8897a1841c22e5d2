"""Writing one source's record batches into its partition of a Parquet or Feather dataset.

A dataset is one folder per source, named hive style (`source_id=7/`), holding numbered part files. The files hold
the columns `timestamp` and `payload`; `source_id` is in the folder name, where dataset readers (pyarrow, Dask,
DuckDB, Spark, polars) find it as a partition column. Batches are gathered into row groups of about
`row_group_bytes` of payload (or `ROW_GROUP_ROWS` entries), a size that lets an engine split a scan across workers
while each group is large enough to read efficiently; a part file is closed once it holds `file_bytes`.

Each file's schema metadata holds, under the key `METADATA_KEY`, a JSON object saying where it came from (the
exporting library, the log directory, the session and the source id).

Memory stays bounded by one row group: the batches come from `iter_batches`, and each group is written as soon as
it is complete.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._format.export import FILE_COLUMNS, METADATA_KEY, part_file_name, partition_folder_name

ROW_GROUP_ROWS: Final = 1 << 20
"""Entries of one row group (or Feather record batch group), at most."""

DatasetFormat = Literal["parquet", "feather"]


class _PartFile(Protocol):
    def write_group(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class _ParquetPart:
    """One Parquet part file: each group is one row group."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(
            path,
            schema,
            compression="zstd",
            compression_level=1,
            # Payloads are opaque bytes: a dictionary of them costs time and rarely saves space.
            use_dictionary=False,
            # Minimum and maximum per row group let engines skip groups by timestamp; of payloads they are noise.
            write_statistics=["timestamp"],
            sorting_columns=[pq.SortingColumn(0)],
        )

    def write_group(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def close(self) -> None:
        self._writer.close()


class _FeatherPart:
    """One Feather (Arrow IPC file) part file, uncompressed so that readers can memory-map it."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_file(self._sink, schema)

    def write_group(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        self._sink.close()


@dataclass
class WrittenSource:
    """What was written for one source."""

    entries: int = 0
    """Entries written."""
    payload_bytes: int = 0
    """Payload bytes written."""
    files: list[Path] = field(default_factory=list)
    """The part files written, in order."""


class _Partition:
    """The part files of one source's partition folder, opened one after the other as each fills up."""

    def __init__(self, folder: Path, file_format: DatasetFormat, file_bytes: int, metadata: bytes) -> None:
        self._folder, self._format, self._file_bytes = folder, file_format, file_bytes
        self._metadata = {METADATA_KEY: metadata}
        self._part: _PartFile | None = None
        self._part_bytes = 0
        self.written = WrittenSource()

    def write(self, group: list[pa.RecordBatch], rows: int, payload_bytes: int) -> None:
        table = pa.Table.from_batches(group).select(FILE_COLUMNS).replace_schema_metadata(self._metadata)
        if self._part is None:
            self._folder.mkdir(parents=True, exist_ok=True)
            path = self._folder / part_file_name(len(self.written.files), self._format)
            self._part = (_ParquetPart if self._format == "parquet" else _FeatherPart)(path, table.schema)
            self.written.files.append(path)
        self._part.write_group(table)
        self.written.entries += rows
        self.written.payload_bytes += payload_bytes
        self._part_bytes += payload_bytes
        if self._part_bytes >= self._file_bytes:
            self.close()

    def close(self) -> None:
        if self._part is not None:
            part, self._part, self._part_bytes = self._part, None, 0
            part.close()


def write_partition(
    folder: Path,
    batches: Iterable[pa.RecordBatch],
    *,
    file_format: DatasetFormat,
    row_group_bytes: int,
    file_bytes: int,
    metadata: bytes,
    advance: Callable[[int], object],
) -> WrittenSource:
    """Writes one source's batches into part files `part-00000{suffix}`, ... of a partition folder.

    Args:
        folder: The partition folder (created here; nothing is written for a source without entries).
        batches: The source's entries, with the columns of `arrow_batches.SCHEMA`.
        file_format: "parquet" or "feather".
        row_group_bytes: The payload bytes of one row group, at most (unless one batch is larger).
        file_bytes: The payload bytes of one part file, about (a file closes once it reaches them).
        metadata: The schema metadata value of every part file (`METADATA_KEY`).
        advance: Called with the number of entries of each group once it is written (the progress bar).
    """
    partition = _Partition(folder, file_format, file_bytes, metadata)
    group: list[pa.RecordBatch] = []
    rows = payload_bytes = 0
    try:
        for batch in batches:
            batch_bytes = _payload_bytes(batch)
            # A group closes before the batch that would take it past a limit, so groups stay within them unless
            # a single batch (a single entry, for bytes) is larger.
            if group and (rows + batch.num_rows > ROW_GROUP_ROWS or payload_bytes + batch_bytes > row_group_bytes):
                partition.write(group, rows, payload_bytes)
                advance(rows)
                group, rows, payload_bytes = [], 0, 0
            group.append(batch)
            rows += batch.num_rows
            payload_bytes += batch_bytes
        if group:
            partition.write(group, rows, payload_bytes)
            advance(rows)
    finally:
        partition.close()
    return partition.written


def _payload_bytes(batch: pa.RecordBatch) -> int:
    """Returns the payload bytes of a batch."""
    total = pc.sum(pc.binary_length(cast(pa.LargeBinaryArray, batch.column(2)))).as_py()
    return 0 if total is None else int(total)


def write_dataset(
    folder: Path,
    sources: Mapping[int, Iterable[pa.RecordBatch]],
    *,
    file_format: DatasetFormat,
    row_group_bytes: int,
    file_bytes: int,
    metadata: Mapping[str, str],
    advance: Callable[[int], object],
) -> dict[int, WrittenSource]:
    """Writes each source into its partition folder, `source_id={source_id}`, of a dataset folder.

    Args:
        folder: The dataset folder.
        sources: Each source's record batches, by source id.
        file_format: "parquet" or "feather".
        row_group_bytes: See `write_partition`.
        file_bytes: See `write_partition`.
        metadata: What every file's schema metadata says of the export; each partition adds its `source_id`.
        advance: See `write_partition`.

    Returns:
        What was written, per source.
    """
    return {
        source_id: write_partition(
            folder / partition_folder_name(source_id),
            batches,
            file_format=file_format,
            row_group_bytes=row_group_bytes,
            file_bytes=file_bytes,
            metadata=json.dumps({**metadata, "source_id": str(source_id)}).encode(),
            advance=advance,
        )
        for source_id, batches in sorted(sources.items())
    }
