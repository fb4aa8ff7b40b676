"""A byte counter shown as a progress bar on a terminal, and silent elsewhere (logs, tests, pipes).

Example:
    >>> bar = ByteProgress("downloading", enabled=True)
    >>> bar.start(total=100, done=0)
    >>> bar.update(100)
    >>> bar.close()
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ByteProgress"]


class ByteProgress:
    """A progress bar over a known number of bytes, drawn on standard error when it is a terminal.

    Example:
        >>> ByteProgress("extracting", enabled=False).enabled
        False
    """

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def start(self, total: int | None, done: int = 0) -> None:
        """Show the bar for ``total`` bytes, ``done`` of them already there (nothing when ``total`` is unknown)."""
        if self.enabled and self._bar is None and total:
            import click

            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
            self._bar.update(done)

    def update(self, count: int) -> None:
        """Advance by ``count`` bytes."""
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        """Finish the bar's line."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
