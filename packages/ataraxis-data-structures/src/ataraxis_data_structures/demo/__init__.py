"""The suite's demo: a simulated acquisition run that uses every part of the library.

Run it with `python -m ataraxis_data_structures.demo` (or `scripts/demo` from a clone of the repository):

- the run's settings are a `YamlConfig` (`DemoSettings`), written to a YAML file and loaded back;
- one producer process per simulated source (a camera, a sensor, an event stream) logs verifiable messages through
  one `DataLogger` while a `SharedMemoryArray` (`ControlBoard`) carries the run flag and each producer's counters
  and heartbeat, shown live by the parent;
- afterwards the logs are compressed, read back with `read_logs` and checked message by message against the
  producers' counters.

Ctrl-C, SIGTERM and SIGHUP stop it cleanly (exit status 128 + the signal), and producers stop by themselves if the
demo's process dies. Each module is short and meant to be read and adapted: `settings`, `control`, `producers`,
`verification`, `run`, and around them `cli`, `workspace`, `signals` and `display`.
"""

from .run import main

__all__ = ["main"]
