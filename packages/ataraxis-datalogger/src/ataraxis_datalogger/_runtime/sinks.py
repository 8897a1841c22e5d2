"""Opening the sink of a run's layout: one `.npy` file per entry (the default), or stream segments."""

from pathlib import Path
from typing import Final

from .._files.entry_creator import EntryCreator
from .._files.stream_writer import StreamSegmentWriter
from .drain import Sink
from .entry_sink import EntryFileSink
from .reports import Reporter
from .stream_sink import StreamSink

NPY_LAYOUT: Final = "npy"
"""One `.npy` file per entry."""
STREAM_LAYOUT: Final = "stream"
"""Stream segments (`.adlog`)."""


def open_sink(directory: Path, settings: dict[str, object], reporter: Reporter, *, recovering: bool) -> Sink:
    """Opens the sink the settings describe, writing into `directory`.

    Args:
        directory: The log folder.
        settings: `{"layout": "npy"}`, or `{"layout": "stream", "segment_bytes": ..., "sync": ...,
            "instance_name": ...}` (checked by `DataLogger`).
        reporter: Receives descriptions of what went wrong with single entries.
        recovering: True when draining after the logger process died.

    Raises:
        OSError: If the log folder cannot be opened (or its first segment cannot be created).
    """
    if settings["layout"] == STREAM_LAYOUT:
        writer = StreamSegmentWriter(
            directory,
            segment_bytes=settings["segment_bytes"],  # type: ignore[arg-type]
            sync=settings["sync"],  # type: ignore[arg-type]
            instance_name=settings["instance_name"],  # type: ignore[arg-type]
        )
        return StreamSink(writer, reporter, recovering=recovering)
    return EntryFileSink(EntryCreator(directory), reporter, recovering=recovering)
