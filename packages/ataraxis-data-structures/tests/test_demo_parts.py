"""The demo's parts that decide its verdict: the settings checks and the verification of logs read back."""

from pathlib import Path

import numpy as np
import pytest

from ataraxis_data_structures.demo.producers import PayloadPattern
from ataraxis_data_structures.demo.settings import DemoSettings, SourceSettings
from ataraxis_data_structures.demo.verification import format_summary, verify_source

SENSOR = SourceSettings(name="sensor", source_id=2, rate_hz=1000.0, payload_bytes=16)


def _entries(source: SourceSettings, sequences: list[int]) -> list[tuple[int, np.ndarray]]:
    pattern = PayloadPattern(source)
    return [(1_000 + position, pattern.make(sequence)) for position, sequence in enumerate(sequences)]


def test_default_settings_round_trip_through_their_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "demo_settings.yaml"
    DemoSettings().to_yaml(file_path=path)
    assert DemoSettings.from_yaml(file_path=path) == DemoSettings()
    assert "# How long the producers run, in seconds." in path.read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration_s": 0.0}, "duration_s must be a positive number of seconds, got 0.0"),
        ({"sources": []}, "sources is empty"),
        ({"sources": [SENSOR, SourceSettings("again", 2, 5.0, 16)]}, "'sensor' and 'again' share source_id 2"),
        ({"sources": [SourceSettings("big", 256, 5.0, 16)]}, "source_id must be 0 to 255, got 256"),
        ({"sources": [SourceSettings("slow", 1, 0.0, 16)]}, "rate_hz must be positive, got 0.0"),
        ({"sources": [SourceSettings("tiny", 1, 5.0, 4)]}, "payload_bytes must be at least 8, got 4"),
        ({"sources": [SourceSettings("none", 1, 5.0, 16, burst_size=0)]}, "burst_size must be at least 1, got 0"),
    ],
)
def test_settings_that_cannot_run_are_refused_naming_the_value(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        DemoSettings(**change)  # type: ignore[arg-type]


def test_payloads_identify_their_message_and_reveal_damage() -> None:
    pattern = PayloadPattern(SENSOR)
    payload = pattern.make(1234)
    assert payload.dtype == np.uint8 and payload.size == SENSOR.payload_bytes
    assert pattern.check(payload) == 1234
    damaged = payload.copy()
    damaged[-1] ^= 0xFF
    assert pattern.check(damaged) is None
    assert pattern.check(payload[:-1]) is None
    assert pattern.make(1).tobytes() != pattern.make(2).tobytes()


def test_complete_logs_pass() -> None:
    verdict = verify_source(SENSOR, 5, _entries(SENSOR, [0, 1, 2, 3, 4]))
    assert verdict.ok
    assert (verdict.logged, verdict.lost, verdict.damaged) == (5, 0, 0)
    assert verdict.payload_bytes == 5 * SENSOR.payload_bytes
    assert (verdict.first_ns, verdict.last_ns) == (1_000, 1_004)


@pytest.mark.parametrize(
    ("sequences", "expected"),
    [
        ([0, 1, 3, 4], {"lost": 1}),
        ([0, 1, 2, 2, 3, 4], {"duplicated": 1}),
        ([0, 2, 1, 3, 4], {"out_of_order": 1}),
        ([3, 4, 0, 1, 2], {"out_of_order": 3}),
        ([0, 1, 2, 3, 4, 5], {"unexpected": 1}),
    ],
)
def test_lost_duplicated_reordered_and_unexpected_messages_fail(sequences: list[int], expected: dict[str, int]) -> None:
    verdict = verify_source(SENSOR, 5, _entries(SENSOR, sequences))
    assert not verdict.ok
    counts = {name: getattr(verdict, name) for name in ("lost", "duplicated", "out_of_order", "unexpected")}
    assert counts == {name: expected.get(name, 0) for name in counts}


def test_a_corrupted_payload_fails() -> None:
    entries = _entries(SENSOR, [0, 1, 2])
    time_stamp, payload = entries[1]
    damaged = payload.copy()
    damaged[9] ^= 1
    entries[1] = (time_stamp, damaged)
    verdict = verify_source(SENSOR, 3, entries)
    assert (verdict.corrupted, verdict.lost, verdict.ok) == (1, 1, False)


def test_the_summary_table_has_a_row_per_source() -> None:
    table = format_summary([verify_source(SENSOR, 2, _entries(SENSOR, [0, 1]))])
    header, rule, row = table.splitlines()
    assert header.split() == ["source", "id", "sent", "logged", "MiB", "entries/s", "span", "s", "lost", "damaged"]
    assert set(rule) <= {"-", " "}
    assert row.split()[:4] == ["sensor", "2", "2", "2"]
