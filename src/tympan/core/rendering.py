"""Bounded renderings of values for messages: however large or deeply shared a value is, what an error
shows of it stays short.

Example:
    >>> nested = [[0] * 1000] * 1000
    >>> len(abbreviated(nested)) <= 120
    True
"""

from __future__ import annotations

import reprlib

__all__ = ["abbreviated", "cut"]


def _bounded_repr() -> reprlib.Repr:
    shortened = reprlib.Repr()
    shortened.maxlevel = 3
    shortened.maxstring = shortened.maxother = shortened.maxlong = 80
    shortened.maxlist = shortened.maxtuple = shortened.maxdict = shortened.maxset = 6
    return shortened


_REPR = _bounded_repr()


def abbreviated(value: object, limit: int = 120) -> str:
    """A ``repr`` of ``value`` of at most ``limit`` characters, however large or deeply shared ``value`` is:
    containers show their first items and nesting levels, long strings and numbers their ends.

    Example:
        >>> abbreviated(list(range(1000)))
        '[0, 1, 2, 3, 4, 5, ...]'
        >>> abbreviated("x" * 10_000, 20)
        "'xxxxxxxxxxxxxxxx..."
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a value whose own repr fails is named by its type
        text = f"<{type(value).__name__}>"
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, ending in ``...`` when something was cut.

    Example:
        >>> cut("abcdefgh", 6)
        'abc...'
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."
