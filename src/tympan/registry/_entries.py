"""``Entry``: one registered component, loaded lazily on first use.

An entry knows where its code is (an entry point, a runtime object, or a loader a hook supplied) and who
provides it. :meth:`Entry.load` imports the code once; a failure (an exception, or ``SystemExit`` raised at
import) is remembered and re-raised as a :class:`~tympan.core.errors.PluginLoadError` for this entry
only; ``KeyboardInterrupt`` still stops the program.

Example:
    >>> entry = Entry.from_object("transform", "acme:identity", object)
    >>> entry.load() is object, entry.status
    (True, 'loaded')
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from typing import Any

from tympan.core.errors import PluginLoadError
from tympan.registry._names import split_name

__all__ = ["PLUGIN_FAILURES", "Entry", "install_hint"]

_UNLOADED = object()

#: What a plugin raising is its own failure: any exception, and ``SystemExit`` (a plugin cannot end the
#: program); ``KeyboardInterrupt`` still stops it.
PLUGIN_FAILURES = (Exception, SystemExit)


def install_hint(distribution: str | None, version: str | None, extras: tuple[str, ...]) -> str | None:
    """The ``pip install`` command most likely to repair a distribution whose code failed to import.

    Example:
        >>> install_hint("acme", "1.0", ("fast",))
        "pip install 'acme[fast]'"
        >>> install_hint("acme", "1.0", ())
        "pip install --force-reinstall 'acme==1.0'"
    """
    if not distribution:
        return None
    if extras:
        return f"pip install '{distribution}[{','.join(extras)}]'"
    pinned = f"{distribution}=={version}" if version else distribution
    return f"pip install --force-reinstall '{pinned}'"


@dataclass(eq=False)
class Entry:
    """A component of one kind under one qualified name, with its provider and lazy loading.

    ``origin`` is ``"entry point"``, ``"runtime"`` (``registry.register``) or ``"hook"`` (``tympan_register``).

    Example:
        >>> Entry.from_object("effect", "acme:mute", len).bare_name
        'mute'
    """

    kind: str
    name: str
    distribution: str | None = None
    version: str | None = None
    target: str | None = None
    extras: tuple[str, ...] = ()
    origin: str = "entry point"
    first_party: bool = False
    _loader: Callable[[], Any] | None = field(default=None, repr=False)
    _object: Any = field(default=_UNLOADED, repr=False)
    _error: PluginLoadError | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_entry_point(
        cls, kind: str, entry_point: EntryPoint, distribution: str, version: str, first_party: bool
    ) -> Entry:
        """An entry for an entry point of ``distribution`` (its code imported only on :meth:`load`)."""
        return cls(
            kind=kind,
            name=entry_point.name,
            distribution=distribution,
            version=version,
            target=entry_point.value.split("[")[0].strip(),
            extras=tuple(entry_point.extras),
            first_party=first_party,
            _loader=entry_point.load,
        )

    @classmethod
    def from_object(
        cls, kind: str, name: str, obj: Any, origin: str = "runtime", distribution: str | None = None
    ) -> Entry:
        """An entry for an object that already exists (runtime registration)."""
        target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"
        return cls(kind=kind, name=name, distribution=distribution, target=target, origin=origin, _object=obj)

    @classmethod
    def from_loader(
        cls, kind: str, name: str, loader: Callable[[], Any], distribution: str | None, version: str | None
    ) -> Entry:
        """An entry whose object a hook's ``loader`` callable produces on first use."""
        return cls(kind=kind, name=name, distribution=distribution, version=version, origin="hook", _loader=loader)

    @property
    def bare_name(self) -> str:
        """The name without its namespace."""
        return split_name(self.name)[1]

    @property
    def namespace(self) -> str:
        """The namespace of the qualified name."""
        return split_name(self.name)[0] or ""

    @property
    def provider(self) -> str:
        """Who provides this entry, for messages: ``"distribution version"`` or ``"<runtime>"``."""
        if self.distribution:
            return f"{self.distribution} {self.version}" if self.version else self.distribution
        return "<runtime>"

    @property
    def status(self) -> str:
        """``"loaded"``, ``"not loaded"`` or ``"failed"``."""
        if self._error is not None:
            return "failed"
        return "not loaded" if self._object is _UNLOADED else "loaded"

    @property
    def error(self) -> PluginLoadError | None:
        """The load failure, once :meth:`load` has failed."""
        return self._error

    def load(self) -> Any:
        """Import and return the component; raise ``PluginLoadError`` (every time) if its code fails."""
        obj = self._object
        if obj is not _UNLOADED:
            return obj
        if self._error is not None:
            raise self._error
        with self._lock:
            if self._object is _UNLOADED and self._error is None:
                self._import()
        if self._error is not None:
            raise self._error
        return self._object

    def _import(self) -> None:
        try:
            if self._loader is None:
                raise LookupError("entry has neither an object nor a loader")
            self._object = self._loader()
        except PLUGIN_FAILURES as exc:  # a broken plugin breaks only itself, even one that exits
            self._error = PluginLoadError(
                self.name,
                self.distribution,
                self.version,
                exc,
                install_hint(self.distribution, self.version, self.extras),
            )
            self._error.__cause__ = exc
