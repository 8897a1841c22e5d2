"""The demo's settings: a YamlConfig the user can edit by hand and pass back with `--config`."""

from dataclasses import dataclass, field

from ataraxis_yamlconfig import YamlConfig

SEQUENCE_BYTES = 8
"""Every payload starts with its sequence number (uint64, little-endian), so a payload can be at least this long."""


@dataclass
class SourceSettings:
    """One simulated data source: a producer process that logs messages at a steady rate."""

    name: str
    """A label for the summary table, e.g. "camera"."""
    source_id: int
    """The id the source's entries are logged under (0 to 255, unique per run)."""
    rate_hz: float
    """How many times per second the source sends (a message, or a burst of them)."""
    payload_bytes: int
    """The size of each message in bytes (at least 8: each message starts with its sequence number)."""
    burst_size: int = 1
    """How many messages the source sends back to back each time (1: a steady stream; more: bursts of events)."""


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
    """How often the live progress display refreshes, in seconds."""
    verify_integrity: bool = True
    """Whether compression reads every archive back and checks every byte before it deletes the source files."""
    sources: list[SourceSettings] = field(default_factory=_default_sources)
    """The simulated sources; each runs in its own process."""

    def __post_init__(self) -> None:
        """Checks that the settings describe a run that can happen.

        Raises:
            ValueError: If a duration, rate or size is out of range, or two sources share an id.
        """
        if not self.duration_s > 0:
            raise ValueError(f"duration_s must be a positive number of seconds, got {self.duration_s!r}")
        if not self.display_interval_s > 0:
            raise ValueError(
                f"display_interval_s must be a positive number of seconds, got {self.display_interval_s!r}"
            )
        if not self.sources:
            raise ValueError("sources is empty: the run needs at least one source")
        seen: dict[int, str] = {}
        for source in self.sources:
            if not 0 <= source.source_id <= 255:
                raise ValueError(f"source {source.name!r}: source_id must be 0 to 255, got {source.source_id!r}")
            if source.source_id in seen:
                raise ValueError(
                    f"sources {seen[source.source_id]!r} and {source.name!r} share source_id {source.source_id}"
                )
            seen[source.source_id] = source.name
            if not source.rate_hz > 0:
                raise ValueError(f"source {source.name!r}: rate_hz must be positive, got {source.rate_hz!r}")
            if source.payload_bytes < SEQUENCE_BYTES:
                raise ValueError(
                    f"source {source.name!r}: payload_bytes must be at least {SEQUENCE_BYTES}, "
                    f"got {source.payload_bytes!r}"
                )
            if source.burst_size < 1:
                raise ValueError(f"source {source.name!r}: burst_size must be at least 1, got {source.burst_size!r}")
