"""What a reader does when it meets damaged data: the `on_damage` policy every reader shares.

- `"warn"`: the damaged data (an entry file, a block of an archive's payload bytes, any record a reader cannot
  trust) is skipped, with a `DamagedLogFilesWarning` naming the file and what was skipped; reading goes on.
- `"raise"`: the first damaged data raises the package's format error (`EntryFormatError`,
  `ArchiveFormatError`, ...) naming the file.

Either way the damaged file is left as it is.
"""

import warnings
from typing import Final, Literal, TypeAlias

from ..exceptions import DamagedLogFilesWarning, DataLoggerValueError

OnDamage: TypeAlias = Literal["warn", "raise"]
"""What a reader does with damaged data: skip it with a warning, or raise."""

ON_DAMAGE_CHOICES: Final = ("warn", "raise")


def check_on_damage(value: object) -> OnDamage:
    """Returns `value` if it is an `on_damage` policy.

    Args:
        value: The argument to check.

    Raises:
        DataLoggerValueError: If it is neither "warn" nor "raise".
    """
    if not isinstance(value, str) or value not in ON_DAMAGE_CHOICES:
        raise DataLoggerValueError(f"on_damage must be 'warn' or 'raise', got {value!r}")
    return value  # type: ignore[return-value]


def handle_damage(on_damage: OnDamage, error: Exception, skipped: str) -> None:
    """Applies the policy to one piece of damaged data.

    Args:
        on_damage: The reader's policy.
        error: The package's error describing the damage (raised as is with "raise").
        skipped: What is skipped, for the warning ("the file", "3 entries (timestamps 10 to 12)").

    Raises:
        Exception: `error`, if the policy is "raise".
    """
    if on_damage == "raise":
        raise error
    # Level 3 points past this helper and the reader's generator, at the caller's loop, as far as a frame can.
    warnings.warn(f"{error}; skipped {skipped}", DamagedLogFilesWarning, stacklevel=3)
