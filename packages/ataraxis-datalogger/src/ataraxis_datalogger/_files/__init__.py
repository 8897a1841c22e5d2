"""Reading and writing the files of a log directory: entry files, the directory listing, an opened archive file.

Imports only `_format` (and `exceptions`).
"""
