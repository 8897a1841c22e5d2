"""How the demo's parent process turns SIGINT (Ctrl-C), SIGTERM and SIGHUP into a clean stop.

The handler records every stop signal. Most of the time that is all it does: the code checks what was received at
points where stopping is safe (between start-up steps, every few milliseconds while the run goes), so a signal never
cuts a library call short, and the drain of the logger always completes. Inside `StopSignals.immediate()` (reading
the settings, compressing, verifying: work that may be abandoned at any instant without losing data) the handler
raises `Interrupted` at once instead.

An interrupted demo exits with 128 plus the signal's number, as a shell reports a process killed by it: 130 for
SIGINT, 143 for SIGTERM, 129 for SIGHUP.
"""

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that stop the demo (SIGHUP does not exist on Windows)."""
TERMINAL_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGHUP") if hasattr(signal, name)
)
"""The signals a terminal sends to every process of its foreground group (Ctrl-C, hang-up). The demo's children are
created with these blocked, so that only the parent reacts and coordinates the stop."""


def describe(signal_number: int) -> str:
    """Names a signal as a person knows it: `Ctrl-C` for SIGINT, the signal's name otherwise."""
    if signal_number == signal.SIGINT:
        return "Ctrl-C"
    return signal.Signals(signal_number).name


class Interrupted(BaseException):
    """Raised in the demo's main thread when a stop signal arrives where the demo can stop at once.

    A `BaseException`, like `KeyboardInterrupt`, so that library code catching `Exception` cannot swallow it.

    Args:
        signal_number: The signal that interrupted the demo.
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number
        """The signal that interrupted the demo."""


class StopSignals:
    """Records SIGINT, SIGTERM and SIGHUP from `install()` to `restore()`; see the module docstring."""

    def __init__(self) -> None:
        self.received: list[int] = []
        """Every stop signal received so far, in order."""
        self._immediate = False
        self._immediate_sigint = True
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Makes this object the handler of the stop signals (call it from the main thread)."""
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)

    def restore(self) -> None:
        """Gives the stop signals back to the handlers they had before `install()`."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    @property
    def terminating(self) -> int | None:
        """The first SIGTERM or SIGHUP received (a request to end the whole program soon), or None."""
        return next((number for number in self.received if number != signal.SIGINT), None)

    @property
    def exit_signal(self) -> int | None:
        """The signal the demo's exit code reports: the first SIGTERM or SIGHUP, else SIGINT; None if none came."""
        return self.terminating or (self.received[0] if self.received else None)

    def check(self) -> None:
        """Raises `Interrupted` if a stop signal was received.

        Raises:
            Interrupted: With the signal that decides the exit code.
        """
        if self.exit_signal is not None:
            raise Interrupted(self.exit_signal)

    @contextlib.contextmanager
    def immediate(self, *, sigint: bool = True) -> Iterator[None]:
        """Inside the block, a stop signal raises `Interrupted` at once; a signal received before does too.

        Args:
            sigint: Whether SIGINT interrupts the block. Pass False after a first Ctrl-C already stopped the run, so
                that a second press (people press twice) does not cut the compression and verification short.

        Raises:
            Interrupted: When a stop signal arrives inside the block.
        """
        self._immediate, self._immediate_sigint = True, sigint
        try:
            pending = self.terminating or (self.received[0] if self.received and sigint else None)
            if pending is not None:
                raise Interrupted(pending)
            yield
        finally:
            self._immediate = False

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        self.received.append(signal_number)
        if self._immediate and (signal_number != signal.SIGINT or self._immediate_sigint):
            self._immediate = False  # one exception per block: the cleanup that follows must not be interrupted
            raise Interrupted(signal_number)
