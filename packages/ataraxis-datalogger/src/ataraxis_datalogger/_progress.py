"""The progress shown on stderr by `verbose=True` (compressing and inspecting a log directory).

It goes through rich, which knows when it writes to a terminal. On a terminal each step is a live bar redrawn in
place. Anywhere else (a file, a pipe, `TERM=dumb`) nothing is redrawn and no cursor or colour code is written:
a plain status line per step now and then during a long step, and one when the step ends. A step with nothing to do
shows nothing.
"""

import time
from dataclasses import dataclass, field
from typing import Final

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ._files.closeable import Closeable

PLAIN_STATUS_SECONDS: Final = 10.0
"""How often a step writes a status line when the output is not a terminal."""


@dataclass
class _Step:
    """One step's counts and, on a terminal, its bar."""

    description: str
    unit: str
    total: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    last_status: float = field(default_factory=time.monotonic)
    task: TaskID | None = None


class ProgressDisplay(Closeable):
    """Shows how far each step of a long operation is, on stderr; does nothing unless enabled.

    Args:
        enabled: Show anything at all (the caller's `verbose`).
        console: Where to show it; stderr by default.
    """

    def __init__(self, *, enabled: bool, console: Console | None = None) -> None:
        self._enabled = enabled
        self._console = console if console is not None else Console(stderr=True, highlight=False, markup=False)
        self._live = self._console.is_terminal and not self._console.is_dumb_terminal
        self._steps: dict[str, _Step] = {}
        self._bars: Progress | None = None

    def add_step(self, name: str, description: str, unit: str, total: int) -> None:
        """Adds a step; one with nothing to do (total 0) is not shown until work is added to it.

        Args:
            name: The name `advance` is called with.
            description: What the step does, as shown.
            unit: What the step counts (plural), as shown.
            total: How many units the step will handle.
        """
        self._steps[name] = _Step(description, unit, total)
        self._show(name)

    def add_work(self, name: str, count: int) -> None:
        """Adds units to a step's total (for work found as the step goes).

        Args:
            name: The step.
            count: How many more units it will handle.
        """
        step = self._steps[name]
        step.total += count
        if step.task is not None and self._bars is not None:
            self._bars.update(step.task, total=step.total)
        else:
            self._show(name)

    def advance(self, name: str, count: int) -> None:
        """Counts units a step handled.

        Args:
            name: The step ("read" or "remove" when archiving; steps not added are ignored).
            count: How many more units it handled.
        """
        step = self._steps.get(name)
        if step is None or not self._enabled:
            return
        step.done += count
        if step.task is not None and self._bars is not None:
            self._bars.advance(step.task, count)
        elif not self._live and step.total:
            now = time.monotonic()
            if now - step.last_status >= PLAIN_STATUS_SECONDS:
                step.last_status = now
                self._plain_line(step, now)

    def close(self) -> None:
        """Stops the bars (leaving their last state on screen), or writes each step's final line."""
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        elif self._enabled and not self._live:
            now = time.monotonic()
            for step in self._steps.values():
                if step.total:
                    self._plain_line(step, now)
        self._enabled = False

    def _show(self, name: str) -> None:
        """Creates the bar of a step that has work, on a terminal."""
        step = self._steps[name]
        if not (self._enabled and self._live and step.total):
            return
        if self._bars is None:
            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._bars.start()
        step.task = self._bars.add_task(step.description, total=step.total, completed=step.done, unit=step.unit)

    def _plain_line(self, step: _Step, now: float) -> None:
        self._console.print(
            f"{step.description}: {step.done:,} of {step.total:,} {step.unit}, {now - step.started:.1f} s",
            soft_wrap=True,
        )
