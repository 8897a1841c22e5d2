"""The on-disk formats as bytes and names: what an entry file and an archive hold. No file I/O happens here.

Imports nothing of the package but `exceptions`; every other layer may import it.
"""
