"""What the demo shows: a live status while the run goes, the summary table, and one-line messages.

Everything goes through rich, which knows when it writes to a terminal: there the status redraws in place and the
tables are coloured; written to a file or a pipe, the same information comes out as plain lines, with no cursor or
colour codes (rich also honours `NO_COLOR`, `FORCE_COLOR` and `TERM=dumb`). Every duration and timestamp is printed
with its unit. Output to a terminal that went away (after a hang-up) or a closed pipe is dropped silently, so the
demo can still stop cleanly.
"""

import contextlib
import io
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from types import TracebackType
from typing import TextIO, cast

from rich import box
from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .control import ProducerStatus
from .settings import DemoSettings
from .verification import SourceVerdict

PLAIN_WIDTH = 120
"""The line width of output that does not go to a terminal (rich would otherwise assume 80 columns)."""
PLAIN_STATUS_INTERVAL_S = 1.0
"""How often a run whose output does not go to a terminal prints a status line."""
_RATE_WINDOW_S = 1.0
"""Rates are measured over about this much of the most recent time."""
_STALLED_MS = 1000.0
"""A heartbeat older than this is shown as a warning: the producer is late."""


class SafeStream(io.TextIOBase):
    """A text stream that drops what it cannot write once its terminal or pipe is gone, instead of raising.

    After the first failed write the stream's file descriptor is pointed at the null device, so that the
    interpreter's own final flush is silent too.

    Args:
        stream: The stream to write to (`sys.stdout` or `sys.stderr`).
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._broken = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The encoding of the wrapped stream."""
        return self._stream.encoding or "utf-8"

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal."""
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        """The wrapped stream's file descriptor."""
        return self._stream.fileno()

    def write(self, text: str) -> int:
        """Writes text; once the stream is gone, drops it."""
        if not self._broken:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self._break()
        return len(text)

    def flush(self) -> None:
        """Flushes the wrapped stream; once it is gone, does nothing."""
        if not self._broken:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._break()

    def _break(self) -> None:
        self._broken = True
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)


def _console(stream: TextIO) -> Console:
    # A text stream in all but its declared type (typeshed's IO[str] is a protocol io.TextIOBase does not declare).
    file = cast(TextIO, SafeStream(stream))
    console = Console(file=file, markup=False, emoji=False, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, PLAIN_WIDTH)
    return console


class Output:
    """The demo's stdout (progress and results) and stderr (interruptions and problems)."""

    def __init__(self) -> None:
        self.out = _console(sys.stdout)
        """Progress and results."""
        self.err = _console(sys.stderr)
        """Interruptions and problems."""

    @property
    def live(self) -> bool:
        """Whether stdout is a terminal that can redraw a status in place."""
        return self.out.is_terminal and not self.out.is_dumb_terminal

    def line(self, text: str | Text) -> None:
        """Prints one line on stdout (never wrapped, so that it stays one line in a log)."""
        self.out.print(text, soft_wrap=True)

    def problem(self, text: str) -> None:
        """Prints one line on stderr (never wrapped)."""
        self.err.print(text, soft_wrap=True, style="bold red" if self.err.is_terminal else None)

    def show(self, renderable: RenderableType) -> None:
        """Prints a table or another rich renderable on stdout."""
        self.out.print(renderable)

    @contextlib.contextmanager
    def activity(self, description: str) -> Iterator[None]:
        """Shows a spinner while a step without a known length runs (a plain line when not on a terminal).

        Args:
            description: What the step does.
        """
        if not self.live:
            self.line(f"{description} ...")
            yield
            return
        with self.out.status(description):
            yield


class RateMeter:
    """Measures one producer's sending rate over its most recent second."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, now_s: float, sent: int) -> float | None:
        """Records a count and returns the rate in messages per second (None until two samples are apart)."""
        self._samples.append((now_s, sent))
        while len(self._samples) > 2 and now_s - self._samples[1][0] >= _RATE_WINDOW_S:
            self._samples.popleft()
        first_s, first_sent = self._samples[0]
        return (sent - first_sent) / (now_s - first_s) if now_s > first_s else None


def _heartbeat_age_ms(status: ProducerStatus, now_ns: int) -> float | None:
    return (now_ns - status.heartbeat_ns) / 1e6 if status.heartbeat_ns else None


def _age_text(age_ms: float | None) -> str:
    if age_ms is None:
        return "starting"
    return f"{age_ms:,.0f} ms ago" if age_ms < 10_000 else f"{age_ms / 1000:,.1f} s ago"


class StatusView:
    """The live status of a run: per source, messages sent, rate, payload and heartbeat age.

    On a terminal it is a table redrawn in place (the last one stays on screen); otherwise a plain line is printed
    every second.

    Args:
        output: Where to show it.
        settings: The run's settings.
    """

    def __init__(self, output: Output, settings: DemoSettings) -> None:
        self._output = output
        self._settings = settings
        self._meters = [RateMeter() for _ in settings.sources]
        self._live: Live | None = None
        self._last_line_s = -PLAIN_STATUS_INTERVAL_S

    def __enter__(self) -> "StatusView":
        """Starts the live display on a terminal."""
        if self._output.live:
            self._live = Live(
                console=self._output.out, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
            )
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stops the live display, leaving its last state on screen."""
        if self._live is not None:
            self._live.stop()

    def update(self, elapsed_s: float | None, statuses: list[ProducerStatus]) -> None:
        """Shows the producers' latest reports.

        Args:
            elapsed_s: Seconds since the run's clock started, or None while producers are still starting.
            statuses: The producers' reports, in the order of the settings' sources.
        """
        now_s, now_ns = time.monotonic(), time.monotonic_ns()
        rates = [meter.update(now_s, status.sent) for meter, status in zip(self._meters, statuses, strict=True)]
        clock = self._clock(elapsed_s)
        if self._live is not None:
            self._live.update(self._table(clock, statuses, rates, now_ns), refresh=True)
        elif now_s - self._last_line_s >= PLAIN_STATUS_INTERVAL_S:
            self._last_line_s = now_s
            self._output.line(self._line(clock, statuses, rates, now_ns))

    def _clock(self, elapsed_s: float | None) -> str:
        duration = f"{self._settings.duration_s:,.1f} s"
        return (
            f"starting the producers (run of {duration})" if elapsed_s is None else f"{elapsed_s:,.1f} s of {duration}"
        )

    def _line(self, clock: str, statuses: list[ProducerStatus], rates: list[float | None], now_ns: int) -> str:
        parts = [clock]
        for source, status, rate in zip(self._settings.sources, statuses, rates, strict=True):
            rate_text = "-" if rate is None else f"{rate:,.0f}"
            age = _age_text(_heartbeat_age_ms(status, now_ns))
            heartbeat = age if age == "starting" else f"heartbeat {age}"
            parts.append(
                f"{source.name} {status.sent:,} sent, {rate_text} msg/s, {status.payload_bytes / 2**20:,.1f} MiB, "
                f"{heartbeat}"
            )
        return " | ".join(parts)

    def _table(self, clock: str, statuses: list[ProducerStatus], rates: list[float | None], now_ns: int) -> Table:
        table = Table(title=f"run: {clock}", box=box.ROUNDED, title_justify="left")
        for header in ("source", "sent", "rate", "payload", "heartbeat"):
            table.add_column(header, justify="left" if header == "source" else "right")
        for source, status, rate in zip(self._settings.sources, statuses, rates, strict=True):
            age_ms = _heartbeat_age_ms(status, now_ns)
            stalled = age_ms is not None and age_ms > _STALLED_MS
            table.add_row(
                source.name,
                f"{status.sent:,}",
                "-" if rate is None else f"{rate:,.0f} msg/s",
                f"{status.payload_bytes / 2**20:,.1f} MiB",
                Text(_age_text(age_ms), style="bold red" if stalled else ""),
            )
        return table


def _after_start(time_stamp_ns: int, run_start_ns: int) -> str:
    return f"+{(time_stamp_ns - run_start_ns) / 1e9:,.3f} s"


def summary_table(verdicts: list[SourceVerdict], run_start_ns: int) -> Table:
    """Returns the summary table: one row per source, what was sent, logged, lost and damaged, with units.

    Args:
        verdicts: The verdict on each source's logs.
        run_start_ns: `time.monotonic_ns()` when the producers were started; first and last entry are shown in
            seconds after it.

    Returns:
        The table.
    """
    table = Table(title="logs read back and checked", box=box.ROUNDED, title_justify="left")
    for header in ("source", "id", "sent", "logged", "lost", "damaged", "payload", "rate", "first entry", "last entry"):
        table.add_column(header, justify="left" if header == "source" else "right")
    for verdict in verdicts:
        bad = verdict.lost or verdict.damaged
        table.add_row(
            verdict.source.name,
            str(verdict.source.source_id),
            f"{verdict.sent:,}",
            f"{verdict.logged:,}",
            Text(f"{verdict.lost:,}", style="bold red" if verdict.lost else ""),
            Text(f"{verdict.damaged:,}", style="bold red" if verdict.damaged else ""),
            f"{verdict.payload_bytes / 2**20:,.2f} MiB",
            f"{verdict.logged / verdict.span_s:,.0f} msg/s" if verdict.span_s > 0 else "-",
            _after_start(verdict.first_ns, run_start_ns) if verdict.logged else "-",
            _after_start(verdict.last_ns, run_start_ns) if verdict.logged else "-",
            style="red" if bad else None,
        )
    return table


def timestamp_note(run_start_ns: int) -> str:
    """Returns the line that says what the timestamps are and in which unit."""
    return (
        f"timestamps are time.monotonic_ns() values: the producers were started at {run_start_ns:,} ns; first and "
        "last entry are shown in seconds after that"
    )
