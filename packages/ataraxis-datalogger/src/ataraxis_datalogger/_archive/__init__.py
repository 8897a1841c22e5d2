"""Archiving a source: examining its loose entry files, writing and verifying its archive, reporting what was done.

Imports `_files`, `_format` and `exceptions`; never `_runtime`.
"""
