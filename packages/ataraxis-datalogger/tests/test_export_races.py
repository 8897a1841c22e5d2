"""Exports racing for one destination: neither replaces the other unless asked to, and a reader sees one whole export.

An export checks its destination when it starts and renames its temporary into place when it ends. Another export
to the same destination may put its own in place in between: without `overwrite` the second must then refuse, as it
would have had it started later, rather than replace the first.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from mcap.reader import make_reader

from ataraxis_datalogger import ExportError, compress_npy_logs, export_logs
from ataraxis_datalogger._files import renaming

_TIMEOUT = 120.0

_EXPORT_SCRIPT = """
import sys
from ataraxis_datalogger import export_logs
from ataraxis_datalogger.exceptions import ExportError
try:
    export_logs(sys.argv[1], sys.argv[2], sys.argv[3], overwrite=sys.argv[4] == "overwrite")
except ExportError as error:
    print(error, file=sys.stderr)
    sys.exit(7)
"""


def _log(directory: Path, write_entry: Callable[..., Path], source_id: int, count: int) -> Path:
    directory.mkdir()
    for stamp in range(count):
        write_entry(directory, source_id, stamp, stamp.to_bytes(4, "little") * 64)
    compress_npy_logs(directory, remove_sources=True)
    return directory


def _start_export(log: Path, destination: Path, file_format: str, overwrite: bool) -> subprocess.Popen[str]:
    arguments = [str(log), str(destination), file_format, "overwrite" if overwrite else "refuse"]
    return subprocess.Popen(
        [sys.executable, "-c", _EXPORT_SCRIPT, *arguments], stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )


def _stop_once_staged(process: subprocess.Popen[str], folder: Path) -> bool:
    """Stops `process` (SIGSTOP) as soon as its temporary export appears in `folder`; False if it finished first."""
    prefix = f".{process.pid}."
    deadline = time.monotonic() + _TIMEOUT
    while time.monotonic() < deadline:
        if any(prefix in name and name.endswith(".export") for name in os.listdir(folder)):
            process.send_signal(signal.SIGSTOP)
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.0005)
    raise AssertionError("the export never staged its temporary")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _sources_of(destination: Path, file_format: str) -> set[int]:
    if file_format == "mcap":
        with destination.open("rb") as stream:
            summary = make_reader(stream).get_summary()
        assert summary is not None
        return {int(channel.topic.rsplit("/", 1)[1]) for channel in summary.channels.values()}
    table = ds.dataset(destination, format=file_format, partitioning="hive").to_table()
    return set(table.column("source_id").to_pylist())


@pytest.mark.parametrize(("file_format", "name"), [("parquet", "dataset"), ("mcap", "log.mcap")])
def test_an_export_that_finds_its_destination_taken_when_it_ends_refuses_and_keeps_the_other(
    tmp_path: Path, write_entry: Callable[..., Path], file_format: str, name: str
) -> None:
    slow_log = _log(tmp_path / "slow", write_entry, 1, 40_000)
    quick_log = _log(tmp_path / "quick", write_entry, 2, 10)
    destination = tmp_path / name
    for _attempt in range(5):
        slow = _start_export(slow_log, destination, file_format, overwrite=False)
        if _stop_once_staged(slow, tmp_path):
            break
        slow.wait(_TIMEOUT)
        _remove(destination)  # it finished before it could be stopped: try again
    else:
        pytest.skip("the slow export finished before it could be stopped, five times")
    try:
        # The slow export checked the destination (free) and is writing its temporary: the quick one takes it.
        export_logs(quick_log, destination, file_format)  # type: ignore[arg-type]
    finally:
        slow.send_signal(signal.SIGCONT)
    _, error = slow.communicate(timeout=_TIMEOUT)
    assert slow.returncode == 7, error
    assert f"the destination {destination} exists" in error
    assert _sources_of(destination, file_format) == {2}
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_exports_racing_with_overwrite_leave_one_whole_export(tmp_path: Path, write_entry: Callable[..., Path]) -> None:
    logs = [_log(tmp_path / f"log{source}", write_entry, source, 2_000) for source in (1, 2, 3)]
    destination = tmp_path / "dataset"
    export_logs(logs[0], destination)
    processes = [_start_export(log, destination, "parquet", overwrite=True) for log in logs for _ in range(2)]
    seen: list[tuple[int, int]] = []
    while any(process.poll() is None for process in processes):
        # A reader meanwhile sees one whole export, or (while one is set aside for another) none.
        try:
            table = ds.dataset(destination, format="parquet", partitioning="hive").to_table()
        except FileNotFoundError:
            continue
        seen.append((table.num_rows, len(set(table.column("source_id").to_pylist()))))
    for process in processes:
        _, error = process.communicate(timeout=_TIMEOUT)
        assert process.returncode == 0, error
    assert seen and set(seen) == {(2_000, 1)}, set(seen)
    assert len(_sources_of(destination, "parquet")) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dataset", "log1", "log2", "log3"]


def test_threads_exporting_to_one_destination_leave_one_whole_export_and_refuse_the_others(
    tmp_path: Path, write_entry: Callable[..., Path]
) -> None:
    # Threads of one process share its process id: their temporaries must not be each other's.
    logs = [_log(tmp_path / f"log{source}", write_entry, source, 3_000) for source in (1, 2, 3, 4)]
    destination = tmp_path / "dataset"
    outcomes: list[object] = []
    start = threading.Barrier(len(logs))

    def export(log: Path) -> None:
        start.wait()
        try:
            export_logs(log, destination)
            outcomes.append("written")
        except ExportError as error:
            outcomes.append(error)
        except BaseException as error:  # reported below, with the others
            outcomes.append(error)

    threads = [threading.Thread(target=export, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_TIMEOUT)
    assert outcomes.count("written") == 1, outcomes
    assert all(isinstance(outcome, ExportError) for outcome in outcomes if outcome != "written"), outcomes
    assert len(_sources_of(destination, "parquet")) == 1
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


@pytest.mark.parametrize("portable", [False, True], ids=["renameat2", "portable"])
def test_renaming_without_replacing_refuses_an_existing_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, portable: bool
) -> None:
    if portable:
        monkeypatch.setattr(renaming, "_RENAMEAT2", None)
    elif renaming._RENAMEAT2 is None:
        pytest.skip("renameat2 is not available here")
    (tmp_path / "file").write_bytes(b"new")
    (tmp_path / "taken").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        renaming.rename_no_replace(tmp_path / "file", tmp_path / "taken")
    assert (tmp_path / "taken").read_bytes() == b"old" and (tmp_path / "file").read_bytes() == b"new"
    renaming.rename_no_replace(tmp_path / "file", tmp_path / "free")
    assert (tmp_path / "free").read_bytes() == b"new" and not (tmp_path / "file").exists()

    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "part").write_bytes(b"new")
    for taken in (tmp_path / "empty", tmp_path / "full"):
        taken.mkdir()
    (tmp_path / "full" / "part").write_bytes(b"old")
    for taken in (tmp_path / "empty", tmp_path / "full", tmp_path / "taken"):
        with pytest.raises(FileExistsError):
            renaming.rename_no_replace(tmp_path / "folder", taken)
    assert (tmp_path / "full" / "part").read_bytes() == b"old" and not list((tmp_path / "empty").iterdir())
    renaming.rename_no_replace(tmp_path / "folder", tmp_path / "moved")
    assert (tmp_path / "moved" / "part").read_bytes() == b"new" and not (tmp_path / "folder").exists()


@pytest.mark.parametrize("file_format", ["parquet", "mcap"])
def test_a_log_directory_whose_name_is_not_utf8_is_exported_with_valid_utf8_metadata(
    tmp_path: Path, write_entry: Callable[..., Path], file_format: str
) -> None:
    # A folder name of bytes that are not UTF-8 (Linux allows any): MCAP refused the metadata record with a bare
    # UnicodeEncodeError, Parquet stored JSON with lone surrogates that strict readers refuse.
    log = tmp_path / os.fsdecode(b"log\xff\xfe")
    log.mkdir()
    write_entry(log, 1, 5, b"entry")
    destination = tmp_path / ("log.mcap" if file_format == "mcap" else "dataset")
    export_logs(log, destination, file_format)  # type: ignore[arg-type]
    if file_format == "mcap":
        with destination.open("rb") as stream:
            metadata = next(iter(make_reader(stream).iter_metadata())).metadata
        recorded = metadata["log_directory"]
    else:
        raw = next(iter(pq.read_schema(next(destination.rglob("*.parquet"))).metadata.values()))
        recorded = json.loads(raw.decode("utf-8"))["log_directory"]
    recorded.encode("utf-8")  # no lone surrogates
    assert recorded == str(tmp_path / "log") + "\\xff\\xfe"


@pytest.mark.skipif(renaming._RENAMEAT2 is None, reason="swapping two names in one step needs Linux's renameat2")
def test_an_export_replacing_a_folder_never_leaves_the_destination_missing(
    tmp_path: Path, write_entry: Callable[..., Path]
) -> None:
    logs = [_log(tmp_path / f"log{source}", write_entry, source, 500) for source in (1, 2)]
    destination = tmp_path / "dataset"
    export_logs(logs[0], destination)
    processes = [_start_export(logs[index % 2], destination, "parquet", overwrite=True) for index in range(6)]
    missing = 0
    while any(process.poll() is None for process in processes):
        missing += not os.path.lexists(destination)
    for process in processes:
        _, error = process.communicate(timeout=_TIMEOUT)
        assert process.returncode == 0, error
    assert missing == 0
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_an_export_set_aside_by_a_killed_export_is_put_back_by_the_next(
    tmp_path: Path, write_entry: Callable[..., Path]
) -> None:
    # Where names cannot be swapped, an export with overwrite sets the old one aside, then renames its own into
    # place; killed in between, it leaves the destination missing and the old export under a hidden name.
    old_log, new_log = _log(tmp_path / "old", write_entry, 1, 20), _log(tmp_path / "new", write_entry, 2, 20)
    destination = tmp_path / "dataset"
    export_logs(old_log, destination)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(_TIMEOUT)
    destination.rename(tmp_path / f".dataset.{dead.pid}.0123456789abcdef.0.replaced")
    with pytest.raises(ExportError, match="exists; remove it"):  # refused when it starts, not once written
        export_logs(new_log, destination)
    assert _sources_of(destination, "parquet") == {1}
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]
