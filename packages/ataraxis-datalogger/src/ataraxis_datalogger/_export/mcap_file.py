"""Writing a log as one MCAP file: one channel per source, one message per entry, in timestamp order.

Each source is a channel with the topic `/source/{source_id}` (its metadata holds `source_id`), the message encoding
`MESSAGE_ENCODING` and no schema: a payload is the bytes the producer logged, which only the lab's own code can
decode. A message's `log_time` and `publish_time` are the entry's timestamp, and its `sequence` counts the
entries of its source (modulo 2**32). The sources are merged into one timestamp order (ties: lower source id
first, then reading order), so a viewer that plays the file from start to end, such as Foxglove, reads chunks that
follow one another in time. Chunks are zstd-compressed and indexed; a metadata record named `METADATA_NAME` says
where the file came from.
"""

import heapq
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final

import numpy as np
from mcap.writer import CompressionType, Writer
from numpy.typing import NDArray

from .._format.export import MESSAGE_ENCODING, METADATA_NAME, topic_of

CHUNK_BYTES: Final = 4 << 20
"""The uncompressed size of one MCAP chunk, about."""
_PROGRESS_STEP: Final = 4096

Entry = tuple[int, NDArray[np.uint8]]


def write_mcap(
    path: Path,
    sources: Mapping[int, Iterable[Entry]],
    *,
    library: str,
    metadata: Mapping[str, str],
    advance: Callable[[int], object],
) -> dict[int, tuple[int, int]]:
    """Writes every entry of every source into one MCAP file and makes it durable.

    Args:
        path: The file to write (created or truncated).
        sources: Each source's entries in reading order, by source id.
        library: The writing library and its version, recorded in the file's header.
        metadata: The key-value pairs of the metadata record `METADATA_NAME`.
        advance: Called with the number of entries written, every few thousand entries (the progress bar).

    Returns:
        The number of entries and of payload bytes written, per source.
    """
    counts = dict.fromkeys(sources, 0)
    payload_bytes = dict.fromkeys(sources, 0)
    with path.open("wb") as stream:
        writer = Writer(stream, chunk_size=CHUNK_BYTES, compression=CompressionType.ZSTD)
        writer.start(profile="", library=library)
        channels = {
            source_id: writer.register_channel(
                topic=topic_of(source_id),
                message_encoding=MESSAGE_ENCODING,
                schema_id=0,
                metadata={"source_id": str(source_id)},
            )
            for source_id in sorted(sources)
        }
        pending = 0
        for time_stamp, source_id, payload in heapq.merge(*(_tagged(key, sources[key]) for key in sorted(sources))):
            writer.add_message(
                channel_id=channels[source_id],
                log_time=time_stamp,
                data=payload.tobytes(),
                publish_time=time_stamp,
                sequence=counts[source_id] & 0xFFFFFFFF,
            )
            counts[source_id] += 1
            payload_bytes[source_id] += payload.size
            pending += 1
            if pending == _PROGRESS_STEP:
                advance(pending)
                pending = 0
        writer.add_metadata(METADATA_NAME, dict(metadata))
        writer.finish()  # type: ignore[no-untyped-call]  # mcap leaves this one method unannotated
        stream.flush()
        os.fsync(stream.fileno())
    advance(pending)
    return {source_id: (counts[source_id], payload_bytes[source_id]) for source_id in sources}


def _tagged(source_id: int, entries: Iterable[Entry]) -> Iterator[tuple[int, int, NDArray[np.uint8]]]:
    """Yields a source's entries as `(timestamp, source id, payload)`: the merge orders by the first two."""
    for time_stamp, payload in entries:
        yield time_stamp, source_id, payload
