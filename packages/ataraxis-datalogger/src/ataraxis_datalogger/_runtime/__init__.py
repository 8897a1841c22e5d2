"""The logger runtime: a run's shared state machine, its queue, the logger process's loop, the watchdog, the run.

Imports `_files`, `_format`, `log_package` and `exceptions`; never `_archive`.
"""
