"""Code written for ataraxis-data-structures 3.x keeps running: its DataLogger keywords and its `name` property."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from ataraxis_datalogger import DataLogger, LogPackage, read_logs

LEGACY_KEYWORDS = {
    "process_count": (2, "one logger process"),
    "thread_count": (10, "one logger process"),
    "sleep_timer": (0, "waits for entries"),
    "poll_interval": (5, "waits for entries"),
    "exist_ok": (True, "unique name"),
}


@pytest.mark.parametrize("keyword", sorted(LEGACY_KEYWORDS))
def test_each_3x_keyword_is_accepted_with_a_deprecation_warning_naming_its_replacement(
    keyword: str, tmp_path: Path
) -> None:
    value, replacement = LEGACY_KEYWORDS[keyword]
    with pytest.warns(DeprecationWarning, match=rf"`{keyword}` .*{replacement}") as caught:
        logger = DataLogger(output_directory=tmp_path, instance_name="legacy", **{keyword: value})
    assert len(caught) == 1
    # The warning points at the caller's line, not at the library.
    assert caught[0].filename == __file__
    assert logger.instance_name == "legacy"


def test_a_3x_logger_with_every_old_keyword_logs_as_before(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        logger = DataLogger(
            output_directory=tmp_path, process_count=3, thread_count=10, sleep_timer=1000, exist_ok=True
        )
    # One warning naming every keyword, so a long call is fixed in one go.
    assert len(caught) == 1
    message = str(caught[0].message)
    assert all(f"`{keyword}`" in message for keyword in ("process_count", "thread_count", "sleep_timer", "exist_ok"))
    assert logger.output_directory == tmp_path / "data_logger_data_log"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger.start()
        for offset in range(5):
            logger.input_queue.put(LogPackage(np.uint16(1), np.uint64(1_234_567_890 + offset), b"\x01\x02"))
        logger.stop()
    with read_logs(logger.output_directory)[1] as reader:
        assert reader.timestamps.tolist() == [1_234_567_890 + offset for offset in range(5)]


def test_an_unknown_keyword_is_still_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'proces_count'"):
        DataLogger(tmp_path, proces_count=2)
    assert not (tmp_path / "data_logger_data_log").exists()


def test_name_is_the_instance_name(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "rig")
    assert logger.name == logger.instance_name == "rig"
    assert DataLogger(tmp_path).name == "data_logger"
