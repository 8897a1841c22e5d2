"""The layout of an export, version `EXPORT_LAYOUT`: folder and file names, columns, metadata, MCAP channels.

Specified for users on the "Export layout" page of the documentation:

- A Parquet or Feather dataset is a folder of hive-style partitions, `source_id={source_id}/`, each holding part
  files `part-{index:05d}.parquet` (or `.feather`) with the columns `FILE_COLUMNS`. A session export is the folder
  `session={name}/` of the dataset folder. Each file's schema metadata holds, under `METADATA_KEY`, a JSON object
  with `export_layout`, `exported_by`, `log_directory`, `session` and `source_id`.
- An MCAP file has one channel per source, topic `/source/{source_id}`, message encoding `MESSAGE_ENCODING`, no
  schema, channel metadata `source_id`; a message per entry with `log_time` = `publish_time` = the timestamp; and
  one metadata record named `METADATA_NAME` with the same keys as a dataset file's (without `source_id`).
"""

import re
from typing import Final

EXPORT_LAYOUT: Final = 1
"""The version of the export layout this library writes."""

FILE_COLUMNS: Final = ("timestamp", "payload")
"""The columns stored in each part file of a dataset (the source id, and the session, are folder names)."""
PARTITION_COLUMN: Final = "source_id"
"""The name of the partition column, and of the folders, that hold each source."""
SESSION_COLUMN: Final = "session"
"""The name of the partition column, and of the folders, that hold each session of a session export."""
METADATA_KEY: Final = b"ataraxis-datalogger"
"""The key of a part file's schema metadata that says where the file came from."""
MESSAGE_ENCODING: Final = "application/octet-stream"
"""The message encoding of every MCAP channel: the payload bytes as logged."""
METADATA_NAME: Final = "ataraxis-datalogger"
"""The name of the MCAP metadata record that says where the file came from."""
DATASET_SUFFIXES: Final = {"parquet": ".parquet", "feather": ".feather"}
"""The file name suffix of the part files of each dataset format."""

_SESSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PARTITION_NAME = re.compile(r"^source_id=(0|[1-9]\d{0,2})$")
_PART_NAME = re.compile(r"^part-\d{5}\.(parquet|feather)$")


def partition_folder_name(source_id: int) -> str:
    """Returns the name of a source's partition folder: `source_id={source_id}`.

    Args:
        source_id: The source, 0 to 255.
    """
    return f"{PARTITION_COLUMN}={source_id}"


def session_folder_name(session: str) -> str:
    """Returns the name of a session's folder in a dataset folder: `session={session}`.

    Args:
        session: A session name that `is_session_name` accepts.
    """
    return f"{SESSION_COLUMN}={session}"


def part_file_name(index: int, file_format: str) -> str:
    """Returns the name of a part file: `part-{index:05d}.parquet` or `.feather`.

    Args:
        index: The part's number within its partition, from 0.
        file_format: "parquet" or "feather".
    """
    return f"part-{index:05d}{DATASET_SUFFIXES[file_format]}"


def topic_of(source_id: int) -> str:
    """Returns the topic of a source's MCAP channel: `/source/{source_id}`.

    Args:
        source_id: The source, 0 to 255.
    """
    return f"/source/{source_id}"


def is_session_name(name: str) -> bool:
    """Returns True if a name can name a session: 1 to 128 letters, digits, `.`, `_`, `-`, the first a letter or digit.

    Such a name is a plain folder name that no engine skips as hidden (`.`, `_`) or reads as a path (`/`) or as a
    second partition (`=`).

    Args:
        name: The candidate name.
    """
    return _SESSION_NAME.match(name) is not None


def is_partition_folder_name(name: str) -> bool:
    """Returns True if a name is a source's partition folder name.

    Args:
        name: A folder name.
    """
    match = _PARTITION_NAME.match(name)
    return match is not None and int(match[1]) <= 255


def is_part_file_name(name: str) -> bool:
    """Returns True if a name is a part file's name.

    Args:
        name: A file name.
    """
    return _PART_NAME.match(name) is not None
