"""Where an export is written: a hidden temporary beside the dataset, renamed into place once complete.

A reader of the destination therefore sees a complete export or none, never a half-written one. The temporary is
named `.{label}.{pid}.{token}.export` and lives in the folder that holds the dataset folder (for a session export,
the one that holds `destination`, so that no temporary ever appears inside a dataset that other sessions' readers
glob); a replaced export is set aside as `.{label}.{pid}.{token}.replaced` while the new one takes its place. The
process id lets the next export to the same place remove what a killed one left behind; the token keeps apart the
temporaries of exports that threads of one process run at once.

The destination is checked when an export starts, but another export may put its own in place while this one is
written: the temporary is therefore renamed into place without replacing anything (`rename_no_replace`), and an
export without `overwrite` that finds the destination taken at that moment refuses, as it would have had it started
later. With `overwrite`, the export in place then is swapped with the temporary in one step where the system can
(Linux), so that readers see the old export or the new one and never neither; elsewhere it is set aside and the
rename retried. An export killed between setting one aside and putting its own in place leaves the destination
missing: the next export to the same place puts the one set aside back first.

`overwrite=True` replaces only what an export would have written: a folder holding nothing but `source_id=N`
folders of `part-NNNNN.parquet` or `.feather` files (or an empty folder), or a regular file for MCAP; never a
folder of anything else.
"""

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Final

from .._files.closeable import Closeable
from .._files.renaming import exchange, rename_no_replace
from .._format.export import is_part_file_name, is_partition_folder_name, is_session_name
from ..exceptions import DataLoggerTypeError, ExportError

_LEFTOVER_SUFFIXES: Final = ("export", "replaced")
_PLACING_ATTEMPTS: Final = 1000
"""How often an export with `overwrite` sets aside what others put in its place before it gives up: each attempt
that fails means that another export was put in place meanwhile, so only a storm of exports ever exhausts them."""


def check_session(session: str | None) -> str | None:
    """Returns a session name after checking that it can be a folder name in a `session=NAME` partition.

    Args:
        session: The name, or None.

    Raises:
        DataLoggerTypeError: If it is neither a string nor None.
        ExportError: If the name is not 1 to 128 letters, digits, `.`, `_` or `-`, starting with a letter or digit.
    """
    if session is None:
        return None
    if not isinstance(session, str):
        raise DataLoggerTypeError(f"session must be a string or None, got {session!r} ({type(session).__name__})")
    if not is_session_name(session):
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
    """A temporary file or folder in a staging folder, renamed over the destination by `commit`, else removed.

    Args:
        final: The destination: the export folder, or the export file.
        staging: The folder that holds the temporary: the destination's parent, or (for a session export) the
            parent of the dataset folder. It must be on the destination's file system.
        directory: True for an export folder, False for an export file.
        overwrite: Replace an existing export at the destination instead of refusing it.

    Raises:
        ExportError: If the destination exists and `overwrite` is False, or it exists but is not an export of
            this kind.
        OSError: If the temporary cannot be created.
    """

    def __init__(self, final: Path, *, staging: Path, directory: bool, overwrite: bool) -> None:
        self.final = final
        """The destination."""
        self._directory = directory
        self._overwrite = overwrite
        self._label = ".".join(final.relative_to(staging).parts)
        self._staging = staging
        if staging.is_dir():
            # First: an export a killed one had set aside is put back, and then checked like any other.
            _remove_leftovers(staging, self._label, final)
        _check_replaceable(final, directory=directory, overwrite=overwrite)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._prefix = f".{self._label}.{os.getpid()}.{secrets.token_hex(8)}"
        self.path = staging / f"{self._prefix}.export"
        """The temporary to write into."""
        _remove(self.path)
        if directory:
            self.path.mkdir()
        self._committed = False

    def commit(self) -> None:
        """Makes the temporary durable and renames it into place.

        Raises:
            ExportError: If the destination was put in place by someone else since the export started and
                `overwrite` is False, or what is there then is not an export of this kind; the temporary is removed
                by `close` and the destination is left as it is.
        """
        if self._directory:
            for path in self.path.rglob("*"):
                _fsync(path)
        _fsync(self.path)
        if self._overwrite and not self._directory:
            # One file replaces another in one step: a reader sees the old export or the new one.
            _check_replaceable(self.final, directory=False, overwrite=True)
            self.path.replace(self.final)
        else:
            self._place()
        _fsync(self.final.parent)
        if self._staging != self.final.parent:
            _fsync(self._staging)
        self._committed = True

    def _place(self) -> None:
        """Renames the temporary to the destination, never over anything but what `overwrite` lets it set aside."""
        set_aside: list[Path] = []
        placed = False
        try:
            for attempt in range(_PLACING_ATTEMPTS):
                try:
                    rename_no_replace(self.path, self.final)
                    placed = True
                    return
                except FileExistsError:
                    if not self._overwrite:
                        raise ExportError(
                            f"the destination {self.final} exists (another export put it in place while this one "
                            "was written); remove it or pass overwrite=True to replace an export"
                        ) from None
                _check_replaceable(self.final, directory=True, overwrite=True)
                try:
                    swapped = exchange(self.path, self.final)
                except FileNotFoundError:  # another export set it aside meanwhile: try again
                    continue
                if swapped:
                    set_aside.append(self.path)  # the replaced export now has the temporary's name
                    placed = True
                    return
                aside = self._staging / f"{self._prefix}.{attempt}.replaced"
                with contextlib.suppress(FileNotFoundError):  # another export set it aside first: try again
                    os.rename(self.final, aside)
                    set_aside.append(aside)
            raise ExportError(
                f"the destination {self.final} was replaced by other exports {_PLACING_ATTEMPTS} times while this "
                "one tried to put its own in place: not written"
            )
        finally:
            if not placed and set_aside and not os.path.lexists(self.final):
                # Failing after setting an export aside: put the last one back rather than leave nothing.
                with contextlib.suppress(OSError):
                    rename_no_replace(set_aside.pop(), self.final)
            for aside in set_aside:
                _remove(aside)

    def close(self) -> None:
        """Removes the temporary unless it was committed."""
        if not self._committed:
            _remove(self.path)


def _check_replaceable(final: Path, *, directory: bool, overwrite: bool) -> None:
    if not final.exists() and not final.is_symlink():
        return
    if not overwrite:
        raise ExportError(f"the destination {final} exists; remove it or pass overwrite=True to replace an export")
    if directory:
        if not _is_export_folder(final):
            raise ExportError(
                f"the destination {final} is not an export folder (only source_id=N folders of part files): "
                "not replaced"
            )
    elif final.is_symlink() or not final.is_file():
        raise ExportError(f"the destination {final} is not a regular file: not replaced")


def _is_export_folder(folder: Path) -> bool:
    """Returns True if a folder holds nothing but what a Parquet or Feather export writes."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    for partition in folder.iterdir():
        if not is_partition_folder_name(partition.name) or partition.is_symlink() or not partition.is_dir():
            return False
        for part in partition.iterdir():
            if not is_part_file_name(part.name) or part.is_symlink() or not part.is_file():
                return False
    return True


def _remove_leftovers(staging: Path, label: str, final: Path) -> None:
    """Removes the temporaries of earlier exports to the same destination whose process no longer runs.

    An export set aside by a process killed before it put its own in place is put back, if nothing took its place.
    """
    pattern = re.compile(rf"^\.{re.escape(label)}\.(\d+)(?:\.[0-9a-f]+)?(?:\.\d+)?\.({'|'.join(_LEFTOVER_SUFFIXES)})$")
    for candidate in staging.iterdir():
        match = pattern.match(candidate.name)
        if match is not None and int(match[1]) != os.getpid() and not _running(int(match[1])):
            if match[2] == "replaced" and not os.path.lexists(final):
                with contextlib.suppress(OSError):
                    rename_no_replace(candidate, final)
                    continue
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
