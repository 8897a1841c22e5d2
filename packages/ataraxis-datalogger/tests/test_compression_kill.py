"""A compression killed at any instant (SIGKILL of its caller) loses nothing, and its workers die with it."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ataraxis_datalogger import compress_npy_logs, read_logs
from ataraxis_datalogger._format.entry import encode_entry_prefix, entry_file_name

COMPRESS = (
    "import sys\n"
    "from ataraxis_datalogger import compress_npy_logs\n"
    "if __name__ == '__main__':\n"
    "    compress_npy_logs(sys.argv[1], remove_sources=True, max_workers=2, compress=sys.argv[2] == 'deflate')\n"
)
_DEAD_STATES = frozenset("ZX")


def payload_of(source_id: int, time_stamp: int) -> bytes:
    return f"source {source_id} entry {time_stamp}".encode()


def write_entries(directory: Path, sources: int, time_stamps: range) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for source_id in range(sources):
            for time_stamp in time_stamps:
                payload = payload_of(source_id, time_stamp)
                name = entry_file_name(source_id, time_stamp)
                file = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=descriptor)
                os.write(file, encode_entry_prefix(source_id, time_stamp, len(payload)) + payload)
                os.close(file)
    finally:
        os.close(descriptor)


def reached(trigger: str, directory: Path, caller: int, entries: int) -> bool:
    """Tells whether a compression reached the point a round kills it at (events, not delays)."""
    if trigger == "workers started":
        return bool(descendants(caller))
    names = os.listdir(directory)
    if trigger == "archive being written":
        return any(name.endswith(".tmp") for name in names)
    return sum(name.endswith(".npy") for name in names) < entries * 0.8  # "entry files being removed"


def process_identity(pid: int) -> tuple[str, str] | None:
    """Returns (state, start time) of a live process, or None once it is gone (a zombie counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] in _DEAD_STATES:
        return None
    return fields[0], fields[19]


def descendants(pid: int) -> dict[int, str]:
    """Every live descendant of a process, with its start time (to tell a reused pid apart)."""
    found: dict[int, str] = {}
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                text = children.read_text()
            except OSError:
                continue
            for child in map(int, text.split()):
                identity = process_identity(child)
                if identity is not None and child not in found:
                    found[child] = identity[1]
                    pending.append(child)
    return found


def still_running(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, start_time in processes.items():
        identity = process_identity(pid)
        if identity is not None and identity[1] == start_time:
            alive.append(pid)
    return alive


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds worker processes through /proc")
@pytest.mark.parametrize("mode", ["deflate", "store"])
def test_killing_the_caller_at_any_point_loses_nothing(fast_directory: Path, mode: str) -> None:
    """Each round logs new entries, starts a compression and kills its caller when it reaches a random point."""
    sources, per_round, rounds = 4, 2_500, 6
    rng = random.Random(f"kill-{mode}")
    orphans: dict[int, str] = {}
    for round_number in range(rounds):
        write_entries(fast_directory, sources, range(round_number * per_round, (round_number + 1) * per_round))
        loose = sum(name.endswith(".npy") for name in os.listdir(fast_directory))
        trigger = rng.choice(["workers started", "archive being written", "entry files being removed"])
        caller = subprocess.Popen([sys.executable, "-c", COMPRESS, str(fast_directory), mode])
        while caller.poll() is None and not reached(trigger, fast_directory, caller.pid, loose):
            orphans.update(descendants(caller.pid))
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.1))
        orphans.update(descendants(caller.pid))
        caller.send_signal(signal.SIGKILL)
        caller.wait(timeout=60)
        # The next round starts at once, racing whatever the killed caller left running.
    report = compress_npy_logs(fast_directory, remove_sources=True, max_workers=2)

    assert report.clean
    assert sorted(path.name for path in fast_directory.iterdir()) == [f"{source}_log.npz" for source in range(sources)]
    readers = read_logs(fast_directory, on_damage="raise")
    try:
        for source_id in range(sources):
            found = [(time_stamp, payload.tobytes()) for time_stamp, payload in readers[source_id]]
            assert found == [(stamp, payload_of(source_id, stamp)) for stamp in range(rounds * per_round)]
    finally:
        for reader in readers.values():
            reader.close()
    # Each killed caller's workers died with it (they exit as soon as they see their caller gone).
    deadline = time.monotonic() + 60
    while still_running(orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running(orphans) == []
