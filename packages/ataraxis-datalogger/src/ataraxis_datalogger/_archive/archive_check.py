"""Opening an existing archive of a log directory and checking it, for a compression or an inspection."""

from pathlib import Path

from .._files.archive_file import ArchiveFile, open_source_archive


def open_checked_archive(path: Path, source_id: int, *, verify: bool) -> ArchiveFile:
    """Opens a source's archive and checks it: every metadata member, and with `verify` every payload byte.

    Args:
        path: The archive, found in the log directory (a symbolic link is not followed).
        source_id: The source its name says it holds.
        verify: Also read and check every payload byte.

    Returns:
        The opened archive (the caller closes it).

    Raises:
        ArchiveFormatError: If it is damaged, not a regular file, or holds another source.
        OSError: If it cannot be opened.
    """
    archive = open_source_archive(path, source_id)
    try:
        if verify:
            archive.verify()
        else:
            archive.file_records()
    except BaseException:
        archive.close()
        raise
    return archive
