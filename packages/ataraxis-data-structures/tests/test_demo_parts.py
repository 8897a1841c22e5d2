"""The demo's parts that decide its verdict: the settings checks and the verification of logs read back."""

import io
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from ataraxis_data_structures import ConfigValidationError
from ataraxis_data_structures.demo.control import ProducerStatus
from ataraxis_data_structures.demo.display import Output, RateMeter, StatusView, summary_table
from ataraxis_data_structures.demo.producers import PayloadPattern
from ataraxis_data_structures.demo.settings import DemoSettings, SourceSettings
from ataraxis_data_structures.demo.verification import verify_source

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
    ("make", "path", "message"),
    [
        (lambda: DemoSettings(duration_s=0.0), "duration_s", "must be a positive, finite number of seconds, got 0.0"),
        (lambda: DemoSettings(duration_s=math.inf), "duration_s", "must be a positive, finite number of seconds"),
        (lambda: DemoSettings(display_interval_s=-1.0), "display_interval_s", "must be a positive, finite number"),
        (lambda: DemoSettings(sources=[]), "sources", "holds no source"),
        (
            lambda: DemoSettings(sources=[SENSOR, SourceSettings("again", 2, 5.0, 16)]),
            "sources[1].source_id",
            "2 is already the id of source 'sensor'",
        ),
        (lambda: SourceSettings("big", 256, 5.0, 16), "source_id", "must be 0 to 255, got 256"),
        (
            lambda: SourceSettings("slow", 1, 0.0, 16),
            "rate_hz",
            "must be a positive rate in Hz (sends per second), got 0.0",
        ),
        (lambda: SourceSettings("tiny", 1, 5.0, 4), "payload_bytes", "must be at least 8"),
        (lambda: SourceSettings("none", 1, 5.0, 16, burst_size=0), "burst_size", "must be at least 1, got 0"),
    ],
)
def test_settings_that_cannot_run_are_refused_naming_the_field_and_value(
    make: Callable[[], object], path: str, message: str
) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        make()
    assert caught.value.field_path == path
    assert message in caught.value.problem


def test_a_refused_source_in_a_file_is_reported_at_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "demo_settings.yaml"
    DemoSettings().to_yaml(file_path=path)
    lines = path.read_text().splitlines()
    rate_line = next(number for number, line in enumerate(lines, 1) if "rate_hz: 1000.0" in line)
    lines[rate_line - 1] = lines[rate_line - 1].replace("1000.0", "-5.0")
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(ConfigValidationError) as caught:
        DemoSettings.from_yaml(file_path=path)
    assert (caught.value.line, caught.value.field_path) == (rate_line, "sources[1].rate_hz")


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


def test_the_summary_table_has_a_row_per_source_with_units() -> None:
    verdict = verify_source(SENSOR, 2, _entries(SENSOR, [0, 1]))
    console = Console(file=io.StringIO(), width=200)
    console.print(summary_table([verdict], run_start_ns=500))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text
    row = next(line for line in text.splitlines() if "sensor" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["sensor", "2", "2", "2", "0", "0", "0.00 MiB", "2,000,000,000 msg/s", "+0.000 s", "+0.000 s"]


def test_rates_are_measured_over_the_last_second() -> None:
    meter = RateMeter()
    assert meter.update(0.0, 0) is None
    assert meter.update(0.5, 50) == 100.0
    assert meter.update(1.0, 100) == 100.0
    assert meter.update(2.0, 400) == pytest.approx(300.0)


def _terminal_output() -> tuple[Output, io.StringIO]:
    """An `Output` whose stdout is a terminal that writes into a string."""
    output, screen = Output(), io.StringIO()
    output.out = Console(file=screen, force_terminal=True, width=120, markup=False, emoji=False, highlight=False)
    return output, screen


def test_on_a_terminal_the_status_is_a_table_redrawn_in_place() -> None:
    output, screen = _terminal_output()
    settings = DemoSettings(sources=[SENSOR])
    now_ns = time.monotonic_ns()
    with StatusView(output, settings) as view:
        view.update(None, [ProducerStatus(0, 0, 0)])
        view.update(1.5, [ProducerStatus(1500, 24_000, now_ns - 3_000_000)])
        view.update(2.0, [ProducerStatus(1500, 24_000, now_ns - 12_000_000_000)])
    with output.activity("compressing"):
        pass
    text = screen.getvalue()
    assert "\x1b[" in text  # cursor movement and styles: the table is redrawn in place
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert "starting the producers (run of 10.0 s)" in plain and "run: 2.0 s of 10.0 s" in plain
    assert "1,500" in plain and "12.0 s ago" in plain


def test_off_a_terminal_the_status_is_a_plain_line_with_units() -> None:
    output = Output()
    screen = io.StringIO()
    output.out = Console(file=screen, width=200, markup=False, emoji=False, highlight=False)
    now_ns = time.monotonic_ns()
    with StatusView(output, DemoSettings(sources=[SENSOR])) as view:
        view.update(1.0, [ProducerStatus(1000, 16_000, now_ns - 2_000_000)])
    with output.activity("compressing"):
        pass
    assert screen.getvalue().splitlines() == [
        "1.0 s of 10.0 s | sensor 1,000 sent, - msg/s, 0.0 MiB, heartbeat 2 ms ago",
        "compressing ...",
    ]
