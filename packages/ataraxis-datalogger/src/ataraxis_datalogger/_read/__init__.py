"""Reading back: a source's loose entry files, and the merge of its archive and loose entries in reading order.

Imports `_archive` (to recognise loose files an archive already holds), `_files`, `_format` and `exceptions`.
"""
