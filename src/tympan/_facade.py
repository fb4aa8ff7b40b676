"""Lazy re-export of public names from several plugin modules (``tympan.functional``, ``tympan.transforms``).

Each source module declares ``__all__``; a name is imported from the first source that exports it, on
first access. Listing (``dir``) imports the sources.

Example:
    >>> facade = LazyFacade("demo", ["tympan.core.audio"])
    >>> facade.resolve("AudioInfo").__name__
    'AudioInfo'
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

__all__ = ["LazyFacade"]


class LazyFacade:
    """Resolves public names across ``sources`` (module paths), importing them only when needed.

    A source that is not installed (an optional first-party subpackage) is skipped.

    Example:
        >>> LazyFacade("demo", ["tympan.core.errors"]).names()[:1]
        ['AmbiguousNameError']
    """

    def __init__(self, name: str, sources: Sequence[str]) -> None:
        self.name = name
        self.sources = list(sources)

    def _modules(self) -> list[Any]:
        present = [s for s in self.sources if importlib.util.find_spec(s) is not None]
        return [importlib.import_module(source) for source in present]

    def names(self) -> list[str]:
        """Every public name of every installed source, sorted."""
        found: set[str] = set()
        for module in self._modules():
            found.update(getattr(module, "__all__", ()))
        return sorted(found)

    def resolve(self, attribute: str) -> Any:
        """The object ``attribute`` names in the first installed source that exports it."""
        for module in self._modules():
            if attribute in getattr(module, "__all__", ()):
                return getattr(module, attribute)
        raise AttributeError(f"module {self.name!r} has no attribute {attribute!r}")
