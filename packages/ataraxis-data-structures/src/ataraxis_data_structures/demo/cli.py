"""The demo's command line: its arguments and its settings file, refused in one line when they cannot be used.

A refused command line or settings file is a usage error: one line on stderr naming the argument or the file, the
line and what is wrong, and exit status 2 (argparse's convention). Paths are taken relative to the working directory
the demo was started from.
"""

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ataraxis_yamlconfig import YamlConfigError

from .settings import DemoSettings

SETTINGS_FILE_NAME = "demo_settings.yaml"
"""The name of the settings file the demo writes into its output folder."""
USAGE_ERROR_STATUS = 2
"""The exit status of a usage error (argparse's)."""


class UsageError(Exception):
    """The command line or the settings file cannot be used; the message says which and why, in one line."""


@dataclass(frozen=True)
class Arguments:
    """The demo's command-line arguments."""

    duration_s: float | None
    """`--duration`: how long the producers run, overriding the settings file."""
    output: Path | None
    """`--output`: where the settings and the logs go, as an absolute path; None for a new temporary folder."""
    config: Path | None
    """`--config`: the settings file to use, as an absolute path; None to write the defaults to the output."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds, got {text!r}")
    return value


def _absolute(text: str) -> Path:
    # Absolute, not resolved: the path the user typed, anchored where they typed it (symbolic links kept).
    return Path(os.path.abspath(os.path.expanduser(text)))


def parse_arguments(argv: list[str] | None) -> Arguments:
    """Parses the command line (`--help` prints the help and exits 0).

    Args:
        argv: The arguments; None reads `sys.argv`.

    Returns:
        The parsed arguments, paths made absolute against the current working directory.

    Raises:
        UsageError: An argument is unknown, missing its value, or out of range.
    """
    parser = _Parser(
        prog="python -m ataraxis_data_structures.demo",
        description=(
            "A simulated acquisition run: producer processes (a camera, a sensor, an event stream) share control "
            "state through a SharedMemoryArray, read their settings from a YamlConfig file and log every message "
            "through one DataLogger; afterwards the logs are compressed, read back and verified message by message. "
            "Ctrl-C ends the run early (exit status 130); SIGTERM and SIGHUP stop it and skip the compression "
            "(143, 129)."
        ),
    )
    parser.add_argument(
        "--duration", type=_positive_seconds, metavar="SECONDS", help="how long the producers run (default: 10)"
    )
    parser.add_argument(
        "--output",
        type=_absolute,
        metavar="DIR",
        help="where the settings and logs go, a folder without logs of an earlier run (default: a new temporary one)",
    )
    parser.add_argument(
        "--config",
        type=_absolute,
        metavar="PATH",
        help=f"a settings file to use instead of writing the defaults to DIR/{SETTINGS_FILE_NAME}",
    )
    namespace = parser.parse_args(argv)
    return Arguments(duration_s=namespace.duration, output=namespace.output, config=namespace.config)


def load_settings(path: Path) -> DemoSettings:
    """Loads the settings file.

    Args:
        path: The file.

    Returns:
        The settings.

    Raises:
        UsageError: The file does not exist or cannot be read, is not YAML, or holds a value the demo refuses (the
            message names the file, the line and the field).
    """
    try:
        return DemoSettings.from_yaml(file_path=path)
    except FileNotFoundError:
        raise UsageError(f"--config: no settings file at {path}") from None
    except YamlConfigError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:  # the file name does not end with .yaml or .yml
        raise UsageError(f"--config: {error}") from None
    except OSError as error:
        raise UsageError(f"--config: cannot read {path}: {error.strerror or error}") from None
