"""The package reports through `logging`: loggers under `ataraxis_datalogger`, no handlers of its own."""

import logging
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from ataraxis_datalogger import DataLogger, DataLoggerError, LogPackage, compress_npy_logs, inspect_logs


def test_compression_logs_what_it_did_and_the_package_installs_no_handler(
    write_entry: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_entry(tmp_path, 3, 10, b"x")
    (tmp_path / ".3_log.npz.12345.tmp").write_bytes(b"left by an interrupted compression")
    with caplog.at_level(logging.INFO, logger="ataraxis_datalogger"):
        compress_npy_logs(tmp_path, remove_sources=True)
        inspect_logs(tmp_path)
    messages = [(record.name, record.levelno, record.getMessage()) for record in caplog.records]
    assert messages == [
        (
            "ataraxis_datalogger.compression",
            logging.INFO,
            f"removed {tmp_path / '.3_log.npz.12345.tmp'}, the unfinished archive of an interrupted compression",
        ),
        (
            "ataraxis_datalogger.compression",
            logging.INFO,
            f"source 3: 1 entries archived now, 1 in {tmp_path / '3_log.npz'}; 1 entry files removed",
        ),
    ]
    package_logger = logging.getLogger("ataraxis_datalogger")
    assert package_logger.handlers == []
    assert package_logger.propagate


def test_a_failing_on_failure_callback_is_logged_with_its_traceback(
    tmp_path: Path, helpers: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    def on_failure(error: DataLoggerError) -> None:
        raise RuntimeError("the callback itself is broken")

    logger = DataLogger(tmp_path, "broken_callback", on_failure=on_failure)
    logger.start()
    logger.input_queue.put(LogPackage(1, 1, b"kept"))
    helpers.wait_for(lambda: logger.statistics.written == 1)
    shutil.rmtree(logger.output_directory)
    logger.output_directory.write_bytes(b"a file where the log folder was")
    logger.input_queue.put(LogPackage(1, 2, b"cannot be written"))
    helpers.wait_for(lambda: logger.statistics.failed == 1)
    with pytest.raises(DataLoggerError, match="1 of 2 entries could not be written"):
        logger.stop()
    (record,) = [record for record in caplog.records if record.name.startswith("ataraxis_datalogger")]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "DataLogger 'broken_callback': the on_failure callback raised"
    assert record.exc_info is not None and str(record.exc_info[1]) == "the callback itself is broken"


def test_problems_of_a_stop_at_exit_go_where_the_application_sends_its_log(tmp_path: Path) -> None:
    program = tmp_path / "forgets_to_stop.py"
    program.write_text(
        textwrap.dedent(
            """
            import logging, sys
            from pathlib import Path
            from ataraxis_datalogger import DataLogger

            if __name__ == "__main__":
                logging.basicConfig(filename=sys.argv[2], format="%(name)s %(levelname)s %(message)s")
                logger = DataLogger(Path(sys.argv[1]), "forgotten")
                logger.start()
                logger.input_queue.put("not a log package")
            """
        )
    )
    log_file = tmp_path / "application.log"
    completed = subprocess.run(
        [sys.executable, str(program), str(tmp_path), str(log_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert log_file.read_text().startswith(
        "ataraxis_datalogger.data_logger WARNING DataLogger 'forgotten' stopped at exit: DataLogger 'forgotten' "
        "skipped 1 objects that were not log packages"
    )
