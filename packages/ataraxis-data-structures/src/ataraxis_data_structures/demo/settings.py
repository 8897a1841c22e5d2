"""The demo's settings: a YamlConfig the user can edit by hand and pass back with `--config`."""

import math
from dataclasses import dataclass, field
from typing import NoReturn

from ataraxis_yamlconfig import ConfigValidationError, YamlConfig

SEQUENCE_BYTES = 8
"""Every payload starts with its sequence number (uint64, little-endian), so a payload can be at least this long."""
MAX_SOURCE_ID = 255
"""Source ids are one byte in the logger's entries."""


@dataclass
class SourceSettings:
    """One simulated data source: a producer process that logs messages at a steady rate."""

    name: str
    """A label for the tables, e.g. "camera"."""
    source_id: int
    """The id the source's entries are logged under (0 to 255, unique per run)."""
    rate_hz: float
    """How many times per second the source sends (a message, or a burst of them)."""
    payload_bytes: int
    """The size of each message in bytes (at least 8: each message starts with its sequence number)."""
    burst_size: int = 1
    """How many messages the source sends back to back each time (1: a steady stream; more: bursts of events)."""

    def __post_init__(self) -> None:
        """Checks that the source can run.

        Raises:
            ConfigValidationError: Naming the field whose value is out of range (a `ValueError`); loaded from a
                file, the error also names the file and the field's line.
        """
        if not 0 <= self.source_id <= MAX_SOURCE_ID:
            _reject("source_id", f"must be 0 to {MAX_SOURCE_ID}, got {self.source_id!r}")
        if not (self.rate_hz > 0 and math.isfinite(self.rate_hz)):
            _reject("rate_hz", f"must be a positive rate in Hz (sends per second), got {self.rate_hz!r}")
        if self.payload_bytes < SEQUENCE_BYTES:
            problem = f"must be at least {SEQUENCE_BYTES} (each message starts with its sequence number)"
            _reject("payload_bytes", f"{problem}, got {self.payload_bytes!r}")
        if self.burst_size < 1:
            _reject("burst_size", f"must be at least 1, got {self.burst_size!r}")


def _default_sources() -> list[SourceSettings]:
    return [
        SourceSettings(name="camera", source_id=1, rate_hz=60.0, payload_bytes=64 * 1024),
        SourceSettings(name="sensor", source_id=2, rate_hz=1000.0, payload_bytes=16),
        SourceSettings(name="events", source_id=3, rate_hz=4.0, payload_bytes=48, burst_size=250),
    ]


@dataclass
class DemoSettings(YamlConfig):
    """Settings of a simulated acquisition run."""

    duration_s: float = 10.0
    """How long the producers run, in seconds."""
    display_interval_s: float = 0.25
    """How often the live status refreshes on a terminal, in seconds (a redirected run prints a line a second)."""
    verify_integrity: bool = True
    """Whether compression reads every archive back and checks every byte before it deletes the source files."""
    sources: list[SourceSettings] = field(default_factory=_default_sources)
    """The simulated sources; each runs in its own process."""

    def __post_init__(self) -> None:
        """Checks that the settings describe a run that can happen.

        Raises:
            ConfigValidationError: Naming the field whose value is out of range, or the second of two sources that
                share an id (a `ValueError`); loaded from a file, the error also names the file and the line.
        """
        for name in ("duration_s", "display_interval_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                _reject(name, f"must be a positive, finite number of seconds, got {value!r}")
        if not self.sources:
            _reject("sources", "holds no source: the run needs at least one")
        first_with_id: dict[int, SourceSettings] = {}
        for position, source in enumerate(self.sources):
            earlier = first_with_id.setdefault(source.source_id, source)
            if earlier is not source:
                problem = f"{source.source_id} is already the id of source {earlier.name!r}: each source needs its own"
                _reject(("sources", position, "source_id"), problem)


def _reject(path: str | tuple[str | int, ...], problem: str) -> NoReturn:
    """Raises the error that names the offending field, by a path relative to the class that checks it."""
    raise ConfigValidationError(problem, path=(path,) if isinstance(path, str) else path)
