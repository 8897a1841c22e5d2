"""The three members together: the demo's shape, shortened.

Producers configured by a YamlConfig file count their messages in a SharedMemoryArray and log them through one
DataLogger; the archives read back must match the counts, message by message.

Producers are started with each of Linux's start methods, since the array and the logger's queue must both reach
processes started by `fork`, `forkserver` and `spawn`.
"""

import multiprocessing
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from integration_workers import ProducerSettings, payload, produce

from ataraxis_data_structures import DataLogger, SharedMemoryArray, read_logs

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("shared_memory_in_use")]


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_producers_configured_by_yaml_log_through_one_logger_and_count_in_shared_memory(
    tmp_path: Path, start_method: str
) -> None:
    producers = 3
    settings_path = tmp_path / "producers.yaml"
    ProducerSettings().to_yaml(file_path=settings_path)
    settings = ProducerSettings.from_yaml(file_path=settings_path)
    counters = SharedMemoryArray.create_array(
        name=f"ads_it_{os.getpid()}_{uuid.uuid4().hex[:8]}", prototype=np.zeros(producers, dtype=np.uint64)
    )
    context = multiprocessing.get_context(start_method)
    try:
        with DataLogger(output_directory=tmp_path, instance_name="integration") as logger:
            processes = [
                context.Process(target=produce, args=(index, settings_path, counters, logger.input_queue))
                for index in range(producers)
            ]
            for process in processes:
                process.start()
            for process in processes:
                process.join(timeout=120)
            assert [process.exitcode for process in processes] == [0] * producers
        sent = counters.read_data(index=(0,), convert_output=True)
    finally:
        counters.disconnect()
        counters.destroy()

    assert sent == [settings.messages] * producers
    logger.compress_logs(remove_sources=True, verify_integrity=True)
    readers = read_logs(logger.output_directory)
    try:
        assert sorted(readers) == [index + 1 for index in range(producers)]
        for index in range(producers):
            entries = [(int(time_stamp), data.tobytes()) for time_stamp, data in readers[index + 1]]
            assert [data for _, data in entries] == [
                payload(index, sequence, settings.payload_bytes) for sequence in range(settings.messages)
            ]
            assert [time_stamp for time_stamp, _ in entries] == sorted(time_stamp for time_stamp, _ in entries)
    finally:
        for reader in readers.values():
            reader.close()
