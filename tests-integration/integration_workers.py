"""Code that the integration tests run in child processes.

It lives in a plain module that `conftest.py` puts on `sys.path`, because processes started with `spawn` or
`forkserver` import the functions they run by module name, and test modules are not importable that way.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures import LogPackage, SharedMemoryArray, YamlConfig


@dataclass
class ProducerSettings(YamlConfig):
    """What every producer of the test does."""

    messages: int = 400
    """Messages each producer logs."""
    payload_bytes: int = 24
    """Size of each message (the first 4 bytes hold its sequence number)."""


def payload(producer: int, sequence: int, size: int) -> bytes:
    """The message `sequence` of `producer`: its sequence number, then a byte pattern both depend on."""
    body = bytes((producer * 31 + sequence + offset) % 256 for offset in range(size - 4))
    return sequence.to_bytes(4, "little") + body


def produce(producer: int, settings_path: Path, counters: SharedMemoryArray, queue: Any) -> None:
    """A producer process: reads its settings, logs its messages and counts them in shared memory."""
    settings = ProducerSettings.from_yaml(file_path=settings_path)
    counters.connect()
    try:
        for sequence in range(settings.messages):
            data = np.frombuffer(payload(producer, sequence, settings.payload_bytes), dtype=np.uint8)
            queue.put(LogPackage(np.uint8(producer + 1), np.uint64(time.perf_counter_ns()), data))
            counters.write_data(index=producer, data=sequence + 1)
    finally:
        counters.disconnect()
