"""`Closeable`: the context-manager behaviour of every object that holds files until it is closed."""

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Closeable(ABC):
    """An object that holds files (or other resources) until `close()`; as a context manager, it closes on exit."""

    @abstractmethod
    def close(self) -> None:
        """Releases what the object holds."""

    def __enter__(self) -> Self:
        """Returns the object itself."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Closes the object."""
        self.close()
