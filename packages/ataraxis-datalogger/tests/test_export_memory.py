"""A log larger than the memory a process may use still exports: each export runs under an address-space limit.

The child process imports everything first, then limits its address space (`RLIMIT_AS`) to what it already uses
plus `HEADROOM`, half the size of the log: any export that held the log, or a sizeable part of it, in memory
would fail with a MemoryError. The log is half a deflated archive (read through a decompressing stream) and half
loose entry files, the two ways of reading that cannot lean on a memory map. A control run shows that the limit
bites: reading the same log into one table under it fails.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import compress_npy_logs

pytestmark = pytest.mark.slow

LOG_BYTES = 256 << 20
"""The payload bytes of the log."""
HEADROOM = 128 << 20
"""The address space the child may add to what it uses once its imports are done."""
ENTRY_BYTES = 1 << 20

CHILD = """
import json, resource, sys
from pathlib import Path

import mcap.writer
import pyarrow
import pyarrow.parquet

from ataraxis_datalogger import export_logs, read_logs


def address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024


log, destination, file_format, headroom = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with read_logs(log):
    pass
limit = address_space() + headroom
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
if file_format == "table":
    try:
        with read_logs(log) as readers:
            table = readers.to_arrow()
    except (MemoryError, pyarrow.ArrowMemoryError) as error:
        print(json.dumps({"memory_error": type(error).__name__}))
    else:
        print(json.dumps({"rows": table.num_rows}))
else:
    report = export_logs(log, destination, file_format, row_group_bytes=4 << 20)
    print(json.dumps({"entries": report.entries, "payload_bytes": report.payload_bytes}))
"""


@pytest.fixture(scope="module")
def large_log(tmp_path_factory: pytest.TempPathFactory, write_entry: Callable[..., Path]) -> Path:
    """256 MiB of payloads: source 1 in a deflated archive, source 2 in loose entry files of 1 MiB each."""
    directory = tmp_path_factory.mktemp("large_log")
    block = np.random.default_rng(0).integers(0, 16, ENTRY_BYTES, dtype=np.uint8).tobytes()
    count = LOG_BYTES // ENTRY_BYTES // 2
    for index in range(count):
        write_entry(directory, 1, index, block[index:] + block[:index])
    compress_npy_logs(directory, remove_sources=True)
    for index in range(count):
        write_entry(directory, 2, index, block[-index:] + block[:-index])
    return directory


def run_child(large_log: Path, destination: Path, file_format: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(large_log), str(destination), file_format, str(HEADROOM)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize(
    ("file_format", "name"), [("parquet", "dataset"), ("feather", "dataset"), ("mcap", "log.mcap")]
)
def test_a_log_twice_the_memory_limit_exports(large_log: Path, tmp_path: Path, file_format: str, name: str) -> None:
    found = run_child(large_log, tmp_path / name, file_format)
    assert found == {"entries": LOG_BYTES // ENTRY_BYTES, "payload_bytes": LOG_BYTES}
    assert (tmp_path / name).exists()


def test_the_limit_is_too_small_to_hold_the_log(large_log: Path, tmp_path: Path) -> None:
    assert run_child(large_log, tmp_path / "unused", "table").keys() == {"memory_error"}
