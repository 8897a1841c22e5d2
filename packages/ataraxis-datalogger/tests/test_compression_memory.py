"""A large entry compresses in about its own size of memory: the compression runs under an address-space limit.

The child process imports everything first, then limits its address space (`RLIMIT_AS`) to what it already uses
plus `HEADROOM`, less than twice the entry: a compression that held the entry a second time, deflated, before
writing it (as zipfile does with what it is handed at once) fails with a MemoryError.
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ataraxis_datalogger import read_logs

pytestmark = pytest.mark.slow

ENTRY_BYTES = 96 << 20
HEADROOM = 160 << 20

CHILD = """
import json, resource, sys
from ataraxis_datalogger import compress_npy_logs


def address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024


limit = address_space() + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    report = compress_npy_logs(sys.argv[1], remove_sources=True, max_workers=1, compress=True)
except MemoryError as error:
    print(json.dumps({"memory_error": repr(error)}))
else:
    print(json.dumps({"clean": report.clean}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="measures the address space through /proc")
def test_a_large_entry_is_deflated_without_a_second_copy_in_memory(
    tmp_path: Path, write_entry: Callable[..., Path]
) -> None:
    payload = os.urandom(ENTRY_BYTES)  # incompressible: its deflated form is as large
    write_entry(tmp_path, 1, 1, payload)
    write_entry(tmp_path, 1, 2, b"small")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), str(HEADROOM)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"clean": True}
    with read_logs(tmp_path) as readers:
        assert [(stamp, bytes(data) == payload) for stamp, data in readers[1]][:1] == [(1, True)]
        assert len(readers[1]) == 2
