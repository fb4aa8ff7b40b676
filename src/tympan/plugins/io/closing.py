"""Iterators over an open source that release it when exhausted, on an error, or on ``close()``, even a
``close()`` before the first item (which a generator's own cleanup would skip).

Example:
    >>> released = []
    >>> chunks = ClosingIterator(iter([1, 2]), lambda: released.append(True))
    >>> chunks.close(), released
    (None, [True])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["ClosingIterator"]

T = TypeVar("T")


class ClosingIterator(Iterator[T]):
    """Yield ``items``; run ``release`` once, when they end, when one raises, or on :meth:`close`.

    Example:
        >>> released = []
        >>> list(ClosingIterator(iter("ab"), lambda: released.append("done"))), released
        (['a', 'b'], ['done'])
    """

    def __init__(self, items: Iterator[T], release: Callable[[], None]) -> None:
        self._items = items
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> ClosingIterator[T]:
        return self

    def __next__(self) -> T:
        try:
            return next(self._items)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop: close the underlying iterator (if it can be) and release the source, once."""
        release, self._release = self._release, None
        if release is None:
            return
        try:
            closer = getattr(self._items, "close", None)
            if callable(closer):
                closer()
        finally:
            release()

    def __del__(self) -> None:
        self.close()
