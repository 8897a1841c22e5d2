"""Writes the 3.x golden log folders of the datalogger tests with the real ataraxis-data-structures 3.1.1 release.

Run it with an interpreter in which `ataraxis-data-structures==3.1.1` is installed from the package index (not this
workspace, whose meta-package has the same import name):

    uv venv --python 3.11 /tmp/adl-3x
    VIRTUAL_ENV=/tmp/adl-3x uv pip install ataraxis-data-structures==3.1.1
    /tmp/adl-3x/bin/python scripts/make_3x_golden_archives.py packages/ataraxis-datalogger/tests/golden

It logs the entries of `ENTRIES` through 3.1.1's own `DataLogger` and archives them with its own
`compress_npy_logs`, once per folder below, and refuses to overwrite a folder that exists (golden files are never
rebuilt). `packages/ataraxis-datalogger/tests/golden/README.md` describes what each folder holds.
"""

import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np

from ataraxis_data_structures import DataLogger, LogPackage, compress_npy_logs

RELEASE = "3.1.1"

ENTRIES: dict[int, list[tuple[int, bytes]]] = {
    1: [(0, b""), (5, b"first at 5"), (7, b"seven"), (9, bytes(range(256)) * 12), (2**64 - 1, b"last")],
    2: [(3, b"source two")],
}
"""Per source id, the (timestamp, payload) pairs logged, each with a `np.uint8` source id as 3.x documents."""

WIDE_SOURCE_ID_ENTRY = (3, 11, b"wide id")
"""One entry logged with a `np.uint16` source id, which 3.x wrote as two bytes, shifting the timestamp."""

FOLDERS = {
    "archive_3x_deflated": {"compress": True, "remove_sources": True},
    "archive_3x_stored": {"compress": False, "remove_sources": False},
    "archive_3x_wide_source_id": {"compress": True, "remove_sources": True},
}
"""Each golden folder and the `compress_npy_logs` arguments it was archived with."""


def log_and_archive(folder: Path, *, wide_source_id: bool, compress: bool, remove_sources: bool) -> None:
    """Logs entries with 3.1.1's DataLogger in a scratch folder, archives them there, and copies the result.

    Args:
        folder: The golden folder to create.
        wide_source_id: Log only `WIDE_SOURCE_ID_ENTRY`, with a `np.uint16` source id; otherwise log `ENTRIES`.
        compress: Passed to `compress_npy_logs`.
        remove_sources: Passed to `compress_npy_logs`.
    """
    with tempfile.TemporaryDirectory() as scratch:
        logger = DataLogger(output_directory=Path(scratch), instance_name="legacy", process_count=1, thread_count=1)
        logger.start()
        if wide_source_id:
            source_id, time_stamp, payload = WIDE_SOURCE_ID_ENTRY
            data = np.frombuffer(payload, dtype=np.uint8)
            logger.input_queue.put(LogPackage(np.uint16(source_id), np.uint64(time_stamp), data))
        else:
            for source_id, entries in ENTRIES.items():
                for time_stamp, payload in entries:
                    data = np.frombuffer(payload, dtype=np.uint8)
                    logger.input_queue.put(LogPackage(np.uint8(source_id), np.uint64(time_stamp), data))
        logger.stop()
        # 3.1.1's default of cpu_count() - 2 workers fails on machines with two CPUs.
        compress_npy_logs(
            log_directory=logger.output_directory, compress=compress, remove_sources=remove_sources, max_workers=1
        )
        shutil.copytree(logger.output_directory, folder)


def main() -> None:
    """Writes every golden folder that does not exist yet."""
    if version("ataraxis-data-structures") != RELEASE:
        sys.exit(f"run this with ataraxis-data-structures=={RELEASE} installed (see the module description)")
    golden = Path(sys.argv[1])
    for name, arguments in FOLDERS.items():
        folder = golden / name
        if folder.exists():
            print(f"{folder} exists: golden files are never rebuilt")
            continue
        log_and_archive(folder, wide_source_id=name.endswith("wide_source_id"), **arguments)
        print(f"wrote {folder}: {sorted(path.name for path in folder.iterdir())}")


if __name__ == "__main__":
    main()
