"""The on-disk formats as bytes and names: what an entry file, an archive and an export hold. No file I/O here.

Imports nothing of the package but `exceptions`; every other layer may import it.
"""
