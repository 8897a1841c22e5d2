"""The folder a run writes into: checked before the run, and left as it was found if the run logged nothing."""

import contextlib
import tempfile
from pathlib import Path

from .cli import SETTINGS_FILE_NAME, UsageError
from .settings import DemoSettings

LOGGER_NAME = "demo"
"""The demo's `DataLogger` instance name: its entries go to `<output>/demo_data_log/`."""
LOG_FOLDER_NAME = f"{LOGGER_NAME}_data_log"
"""The log folder the logger creates in the output folder."""
TEMPORARY_PREFIX = "ataraxis-demo-"
"""The name prefix of the temporary output folders the demo creates when no `--output` is given."""


class OutputFolder:
    """The output folder of one run, and the folders and files the run created there.

    Use `OutputFolder.prepare()`.

    Args:
        path: The output folder (it exists).
        created: The folders the demo created to make it exist, outermost first.
    """

    def __init__(self, path: Path, created: list[Path]) -> None:
        self.path = path
        """The output folder."""
        self._created = created
        self._written: list[Path] = []
        self._log_folder_existed = self.log_folder.exists()

    @classmethod
    def prepare(cls, requested: Path | None, *, writes_settings: bool) -> "OutputFolder":
        """Makes sure the output folder exists and holds nothing the run would mix with or overwrite.

        Args:
            requested: The folder given with `--output`, or None for a new temporary folder.
            writes_settings: Whether the run will write its default settings file into the folder.

        Returns:
            The output folder.

        Raises:
            UsageError: The path is a file, the folder holds the logs of an earlier run (a second run's entries
                would be verified against the first's), it holds a settings file that writing the defaults would
                overwrite, or it cannot be created.
        """
        if requested is None:
            try:
                path = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX))
            except OSError as error:
                message = (
                    f"cannot create a temporary output folder: {error.strerror or error} (choose one with --output)"
                )
                raise UsageError(message) from None
            return cls(path, [path])
        if requested.exists() and not requested.is_dir():
            raise UsageError(f"--output: {requested} exists and is not a folder")
        log_folder = requested / LOG_FOLDER_NAME
        if log_folder.is_dir() and any(log_folder.iterdir()):
            message = f"--output: {log_folder} already holds the logs of an earlier run: choose another folder"
            raise UsageError(message)
        settings_path = requested / SETTINGS_FILE_NAME
        if writes_settings and settings_path.exists():
            message = (
                f"--output: {settings_path} already exists and the demo would overwrite it with its defaults: "
                f"run with --config {settings_path} to use it, or choose another folder"
            )
            raise UsageError(message)
        created = [folder for folder in (*reversed(requested.parents), requested) if not folder.exists()]
        try:
            requested.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"--output: cannot create {requested}: {error.strerror or error}") from None
        return cls(requested, created)

    @property
    def log_folder(self) -> Path:
        """The folder the logger writes its entries to."""
        return self.path / LOG_FOLDER_NAME

    def write_default_settings(self) -> Path:
        """Writes the default settings file into the folder.

        Returns:
            The file's path.
        """
        path = self.path / SETTINGS_FILE_NAME
        DemoSettings().to_yaml(file_path=path)
        self._written.append(path)
        return path

    def logged_anything(self) -> bool:
        """Whether the log folder holds any file."""
        return self.log_folder.is_dir() and any(self.log_folder.iterdir())

    def discard_if_nothing_logged(self) -> bool:
        """Removes what the run created (files, then empty folders) if it logged nothing; keeps everything else.

        Returns:
            Whether the run's folder was removed (or was left as the run found it).
        """
        if self.logged_anything():
            return False
        for path in self._written:
            path.unlink(missing_ok=True)
        folders = [] if self._log_folder_existed else [self.log_folder]
        for folder in (*folders, *reversed(self._created)):
            with contextlib.suppress(OSError):  # not empty: something else is in it, which is not the run's to remove
                folder.rmdir()
        return True
