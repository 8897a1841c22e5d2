"""The `DataLogger` keywords of ataraxis-data-structures 3.x and 4.0, and what replaced each of them.

None of them has a meaning left in this runtime, so they are accepted (code written for those releases keeps
running) and ignored, with one `DeprecationWarning` that names each keyword given and says why it is not needed.
"""

import warnings
from collections.abc import Mapping
from typing import Final

from ..exceptions import DataLoggerTypeError

_ONE_WRITER = (
    "one logger process writes every entry; more processes or threads did not raise the rate, which the file "
    "system's file creation bounds (see the DataLogger benchmarks)"
)
_NO_POLLING = (
    "the logger process waits for entries without a fixed polling delay to tune (an entry waits about a "
    "millisecond at most)"
)

LEGACY_KEYWORDS: Final[Mapping[str, str]] = {
    "process_count": _ONE_WRITER,
    "thread_count": _ONE_WRITER,
    "sleep_timer": _NO_POLLING,
    "poll_interval": _NO_POLLING,
    "exist_ok": (
        "each run's shared memory has a unique name, so no buffer left by an earlier run can be in the way, and "
        "two loggers with the same name may run at once"
    ),
}
"""Each accepted keyword of 3.x (`process_count`, `thread_count`, `sleep_timer`, `exist_ok`) and 4.0
(`thread_count`, `poll_interval`), with why it is no longer needed."""


def accept_legacy_keywords(keywords: Mapping[str, object], *, stacklevel: int) -> None:
    """Warns once about the legacy keywords given to `DataLogger`, and refuses any other unexpected keyword.

    Args:
        keywords: The keywords `DataLogger.__init__` did not declare.
        stacklevel: The `warnings.warn` stack level of the caller's caller (the line that built the logger).

    Raises:
        DataLoggerTypeError: If a keyword is not one of `LEGACY_KEYWORDS`, as Python raises for an unexpected keyword.
    """
    unknown = [name for name in keywords if name not in LEGACY_KEYWORDS]
    if unknown:
        raise DataLoggerTypeError(f"DataLogger.__init__() got an unexpected keyword argument {unknown[0]!r}")
    if not keywords:
        return
    reasons = "; ".join(f"`{name}` is ignored: {LEGACY_KEYWORDS[name]}" for name in keywords)
    warnings.warn(
        f"DataLogger keywords of ataraxis-data-structures 3.x/4.0 have no effect and will be removed in a future "
        f"release; remove them from the call. {reasons}.",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )
