"""The optional dependencies (extras) of the export features, and the error that names the missing one."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from ..exceptions import OptionalDependencyError

EXTRAS: Final = {"pyarrow": "arrow", "mcap": "mcap"}
"""The extra of ataraxis-datalogger that installs each optional top-level module."""


@contextmanager
def requires_extra(feature: str) -> Iterator[None]:
    """Turns a failed import of an optional dependency inside the block into an `OptionalDependencyError`.

    Only the modules of `EXTRAS` (and their submodules) are translated: any other import error is a bug, and
    propagates as it is.

    Args:
        feature: What the caller asked for, named in the message (for example `LogArchiveReader.to_arrow`).

    Raises:
        OptionalDependencyError: If an optional dependency is not installed (or cannot be imported).
    """
    try:
        yield
    except ImportError as error:
        module = (error.name or "").partition(".")[0]
        if module not in EXTRAS:
            raise
        raise OptionalDependencyError(
            f"{feature} needs {module}, which is not installed or cannot be imported ({error}); install it with "
            f"pip install 'ataraxis-datalogger[{EXTRAS[module]}]'",
            name=module,
        ) from error
