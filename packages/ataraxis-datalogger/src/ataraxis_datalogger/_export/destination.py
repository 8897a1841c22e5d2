"""Where an export is written: a hidden temporary beside its destination, renamed into place once complete.

A reader of the destination therefore sees a complete export or none, never a half-written one. The temporary is
named `.{name}.{pid}.export` (and a replaced export is set aside as `.{name}.{pid}.replaced` while the new one takes
its place): the leading dot hides both from the dataset readers of pyarrow, Dask and Spark, and the process id lets
the next export to the same place remove what a killed one left behind.

An export folder holds a marker file, `MARKER_NAME`, that says what it holds; `overwrite=True` replaces only a
folder that has one (or an empty one), never a folder of anything else.
"""

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Final

from .._files.closeable import Closeable
from ..exceptions import ExportError

MARKER_NAME: Final = "_ataraxis_export.json"
"""The file in an export folder that describes the export (engines skip names that start with `_`)."""

_SESSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LEFTOVER_SUFFIXES: Final = ("export", "replaced")


def check_session(session: str | None) -> str | None:
    """Returns a session name after checking that it can be a folder name in a `session=NAME` partition.

    Args:
        session: The name, or None.

    Raises:
        ExportError: If the name is not 1 to 128 letters, digits, `.`, `_` or `-`, starting with a letter or digit.
    """
    if session is None:
        return None
    if not isinstance(session, str) or _SESSION_NAME.match(session) is None:
        raise ExportError(
            f"session must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(it names the folder session=NAME), got {session!r}"
        )
    return session


def check_apart(log_directory: Path, destination: Path) -> None:
    """Refuses a destination that is the log directory, lies inside it, or holds it.

    Args:
        log_directory: The log directory being exported.
        destination: Where the export goes.

    Raises:
        ExportError: If the two overlap.
    """
    logs, target = log_directory.resolve(), destination.resolve()
    if target == logs or logs in target.parents or target in logs.parents:
        raise ExportError(
            f"the destination {destination} must lie outside the log directory {log_directory} and must not hold it"
        )


class StagedDestination(Closeable):
    """A temporary file or folder beside the destination, renamed over it by `commit` and removed otherwise.

    Args:
        final: The destination: the export folder, or the export file.
        directory: True for an export folder, False for an export file.
        overwrite: Replace an existing export at the destination instead of refusing it.

    Raises:
        ExportError: If the destination exists and `overwrite` is False, or it exists but is not an export of
            this kind.
        OSError: If the temporary cannot be created.
    """

    def __init__(self, final: Path, *, directory: bool, overwrite: bool) -> None:
        self.final = final
        """The destination."""
        self._directory = directory
        _check_replaceable(final, directory=directory, overwrite=overwrite)
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(final)
        self.path = final.parent / f".{final.name}.{os.getpid()}.export"
        """The temporary to write into."""
        _remove(self.path)
        if directory:
            self.path.mkdir()
        self._committed = False

    def commit(self) -> None:
        """Makes the temporary durable and renames it over the destination (an existing export is replaced)."""
        if self._directory:
            for path in self.path.rglob("*"):
                _fsync(path)
        _fsync(self.path)
        if self._directory and self.final.exists():
            aside = self.final.parent / f".{self.final.name}.{os.getpid()}.replaced"
            self.final.rename(aside)
            self.path.rename(self.final)
            shutil.rmtree(aside)
        else:
            self.path.replace(self.final)
        _fsync(self.final.parent)
        self._committed = True

    def close(self) -> None:
        """Removes the temporary unless it was committed."""
        if not self._committed:
            _remove(self.path)


def write_marker(folder: Path, description: dict[str, object]) -> None:
    """Writes the marker file that says a folder is an export and what it holds.

    Args:
        folder: The export folder (its temporary, before `commit`).
        description: What the export holds, as JSON-serialisable values.
    """
    (folder / MARKER_NAME).write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")


def _check_replaceable(final: Path, *, directory: bool, overwrite: bool) -> None:
    if not final.exists() and not final.is_symlink():
        return
    if not overwrite:
        raise ExportError(f"the destination {final} exists; remove it or pass overwrite=True to replace an export")
    if directory:
        is_export = final.is_dir() and not final.is_symlink()
        is_export = is_export and ((final / MARKER_NAME).is_file() or not any(final.iterdir()))
        if not is_export:
            raise ExportError(f"the destination {final} is not an export folder (no {MARKER_NAME}): not replaced")
    elif final.is_dir() or not final.is_file():
        raise ExportError(f"the destination {final} is not a regular file: not replaced")


def _remove_leftovers(final: Path) -> None:
    """Removes the temporaries of earlier exports to the same destination whose process no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(final.name)}\.(\d+)\.({'|'.join(_LEFTOVER_SUFFIXES)})$")
    for candidate in final.parent.iterdir():
        match = pattern.match(candidate.name)
        if match is not None and int(match[1]) != os.getpid() and not _running(int(match[1])):
            _remove(candidate)


def _running(process_id: int) -> bool:
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
