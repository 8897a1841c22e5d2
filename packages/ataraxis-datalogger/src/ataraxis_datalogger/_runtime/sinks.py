"""Opening the sink of a run's layout: one `.npy` file per entry (the default), or stream segments."""

from pathlib import Path

from .._files.entry_creator import EntryCreator
from .drain import Sink
from .entry_sink import EntryFileSink
from .reports import Reporter

NPY_LAYOUT = "npy"
"""One `.npy` file per entry."""


def open_sink(directory: Path, settings: dict[str, object], reporter: Reporter, *, recovering: bool) -> Sink:
    """Opens the sink the settings describe, writing into `directory`.

    Args:
        directory: The log folder.
        settings: `{"layout": "npy"}`.
        reporter: Receives descriptions of what went wrong with single entries.
        recovering: True when draining after the logger process died.

    Raises:
        OSError: If the log folder cannot be opened.
    """
    layout = settings.get("layout", NPY_LAYOUT)
    if layout == NPY_LAYOUT:
        return EntryFileSink(EntryCreator(directory), reporter, recovering=recovering)
    raise ValueError(f"unknown layout {layout!r}")
