"""Lazy module attributes (PEP 562): a module names what it exports and imports each on first access.

- :func:`lazy_attributes`: each attribute from a named module (``tympan``, ``tympan.core``).
- :class:`LazyFacade`: public names gathered from several modules' ``__all__`` (``tympan.functional``,
  ``tympan.transforms``); a source that is not installed is skipped.

Both return the ``(__getattr__, __dir__)`` pair a module assigns at its top level; a resolved attribute is
stored in the module's namespace, so later accesses cost nothing.

Example:
    >>> namespace = {}
    >>> getattr_, dir_ = lazy_attributes("demo", {"AudioInfo": "tympan.core.audio"}, namespace)
    >>> getattr_("AudioInfo").__name__, "AudioInfo" in namespace, dir_()
    ('AudioInfo', True, ['AudioInfo'])
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["LazyFacade", "lazy_attributes"]

ModuleHooks = tuple[Callable[[str], Any], Callable[[], list[str]]]


def lazy_attributes(module: str, table: Mapping[str, str], namespace: dict[str, Any]) -> ModuleHooks:
    """PEP 562 hooks for ``module`` loading each attribute of ``table`` (name -> module path) on first access.

    A name that maps to the path of a submodule (``{"assets": "tympan.assets"}``) loads the module itself.

    Example:
        >>> getattr_, _ = lazy_attributes("demo", {"errors": "tympan.core.errors"}, {})
        >>> getattr_("errors").__name__
        'tympan.core.errors'
    """

    def module_getattr(name: str) -> Any:
        source = table.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        loaded = importlib.import_module(source)
        value = loaded if source.rpartition(".")[2] == name else getattr(loaded, name)
        namespace[name] = value
        return value

    def module_dir() -> list[str]:
        return sorted(table)

    return module_getattr, module_dir


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

    def hooks(self, namespace: dict[str, Any]) -> ModuleHooks:
        """The module's ``(__getattr__, __dir__)``, storing each resolved name in ``namespace``.

        Example:
            >>> getattr_, dir_ = LazyFacade("demo", ["tympan.core.audio"]).hooks({})
            >>> getattr_("ENCODINGS")[0], "AudioInfo" in dir_()
            ('PCM_S', True)
        """

        def module_getattr(name: str) -> Any:
            value = self.resolve(name)
            namespace[name] = value
            return value

        return module_getattr, self.names
