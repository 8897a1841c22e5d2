"""Exporting logs for other engines: Arrow record batches and tables, Parquet and Feather datasets, MCAP files.

Imports `_read` (the entries of a source in reading order), `_files`, `_format` and `exceptions`. The modules that
need pyarrow or mcap import them at the top: the public modules import those modules only when a feature that
needs them is called, through `optional.requires_extra`, so the package works without its extras.
"""
