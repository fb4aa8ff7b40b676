"""The registry: every component of every kind, by name, from entry points and runtime registration.

Module-level functions act on the process's default :class:`Registry`::

    from tympan import registry
    MFCC = registry.get("mfcc")                                  # the class, imported on first use
    mfcc = registry.create("mfcc", sample_rate=16000, n_mfcc=13)  # validated parameters -> module
    registry.names("transform", "*cc")                            # listing imports no plugin code

Example:
    >>> from tympan import registry
    >>> registry.resolve("mfcc").name
    'dsp:mfcc'
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tympan.registry._discovery import HookModule, Selection
from tympan.registry._entries import Entry
from tympan.registry._names import is_qualified_name, split_name
from tympan.registry._registry import ComponentInfo, DistributionInfo, Registry

if TYPE_CHECKING:
    from tympan.core.backend import Backend

__all__ = [
    "ComponentInfo",
    "DistributionInfo",
    "Entry",
    "HookModule",
    "Registry",
    "Selection",
    "backend",
    "backends_by_priority",
    "create",
    "default_registry",
    "distributions",
    "entries",
    "get",
    "info",
    "is_qualified_name",
    "names",
    "register",
    "resolve",
    "set_default_registry",
    "split_name",
    "unregister",
]

_default = Registry()
_backends: dict[str, Backend] = {}
_backends_lock = threading.Lock()
# backends_by_priority's answer and the registry snapshot it was computed from (snapshots are immutable and
# replaced on every change, so identity says whether it still holds).
_by_priority: tuple[object, list[tuple[str, Backend]]] | None = None


def default_registry() -> Registry:
    """The process's registry, which the module-level functions use.

    Example:
        >>> isinstance(default_registry(), Registry)
        True
    """
    return _default


def set_default_registry(registry: Registry) -> Registry:
    """Replace the process's registry (tests use this); return the previous one.

    Example:
        >>> previous = set_default_registry(Registry(entries=[]))
        >>> _ = set_default_registry(previous)
    """
    global _default, _by_priority
    previous, _default = _default, registry
    _backends.clear()
    _by_priority = None
    return previous


def get(name: str, kind: str | None = None) -> Any:
    """The component class or factory ``name`` denotes; see :meth:`Registry.get`.

    Example:
        >>> get("dsp:mfcc").__name__
        'MFCC'
    """
    return _default.get(name, kind)


def create(name: str, kind: str | None = None, **params: Any) -> Any:
    """Validate ``params`` and construct the component; see :meth:`Registry.create`.

    Example:
        >>> create("amplitude_to_db", stype="power").stype
        'power'
    """
    return _default.create(name, kind, **params)


def names(kind: str | None = None, pattern: str = "*") -> list[str]:
    """Qualified names matching ``pattern``, importing no plugin code; see :meth:`Registry.names`.

    Example:
        >>> "io:soundfile" in names("backend")
        True
    """
    return _default.names(kind, pattern)


def entries(kind: str | None = None) -> list[Entry]:
    """Every entry of ``kind``, importing nothing; see :meth:`Registry.entries`.

    Example:
        >>> all(e.kind == "backend" for e in entries("backend"))
        True
    """
    return _default.entries(kind)


def resolve(name: str, kind: str | None = None) -> Entry:
    """The entry ``name`` denotes, importing nothing; see :meth:`Registry.resolve`.

    Example:
        >>> resolve("mel_spectrogram").kind
        'transform'
    """
    return _default.resolve(name, kind)


def info(name: str, kind: str | None = None) -> ComponentInfo:
    """Summary, parameter schema, provider and status; see :meth:`Registry.info`.

    Example:
        >>> info("mfcc").distribution
        'tympan'
    """
    return _default.info(name, kind)


def register(kind: str, name: str, obj: Any = None) -> Any:
    """Register a component at runtime (a decorator without ``obj``); see :meth:`Registry.register`.

    Example:
        >>> import torch
        >>> @register("transform", "notebook:negate")
        ... class Negate(torch.nn.Module):
        ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
        ...         return -x
        >>> get("negate") is Negate
        True
        >>> unregister("transform", "notebook:negate")
    """
    return _default.register(kind, name, obj)


def unregister(kind: str, name: str) -> None:
    """Remove a runtime registration; see :meth:`Registry.unregister`.

    Example:
        >>> unregister("transform", "notebook:never-registered")
    """
    global _by_priority
    _default.unregister(kind, name)
    _backends.pop(name, None)
    _by_priority = None


def distributions(load: bool = True) -> list[DistributionInfo]:
    """Per distribution: version, components, hooks, status; see :meth:`Registry.distributions`.

    Example:
        >>> distributions(load=False)[0].name
        'tympan'
    """
    return _default.distributions(load)


def backend(name: str) -> Backend:
    """The process's one instance of the backend ``name``; a backend whose class fails to import or to
    construct raises :class:`~tympan.core.errors.PluginLoadError`.

    Example:
        >>> backend("io:soundfile").priority > 0
        True
    """
    entry = _default.resolve(name, "backend")
    instance = _backends.get(entry.name)
    if instance is None:
        with _backends_lock:
            instance = _backends.get(entry.name)
            if instance is None:
                instance = _backends[entry.name] = _construct_backend(entry)
    return instance


def _construct_backend(entry: Entry) -> Backend:
    """Build a backend; its constructor failing (or exiting) is that plugin's load failure."""
    from tympan.core.errors import PluginLoadError
    from tympan.registry._entries import PLUGIN_FAILURES, install_hint

    cls = entry.load()
    try:
        return cls()  # type: ignore[no-any-return]
    except PLUGIN_FAILURES as exc:
        hint = install_hint(entry.distribution, entry.version, entry.extras)
        raise PluginLoadError(entry.name, entry.distribution, entry.version, exc, hint) from exc


def backends_by_priority() -> list[tuple[str, Backend]]:
    """Every backend that loads, highest ``priority`` first (ties by name); broken ones are skipped.

    Computed once per state of the registry (every load and save asks).

    Example:
        >>> backends_by_priority()[0][0].startswith("io:")
        True
    """
    from tympan.core.errors import PluginLoadError

    global _by_priority
    snapshot = _default._current()
    cached = _by_priority
    if cached is not None and cached[0] is snapshot:
        return list(cached[1])
    loaded = []
    for entry in _default.entries("backend"):
        try:
            loaded.append((entry.name, backend(entry.name)))
        except PluginLoadError:
            continue
    ordered = sorted(loaded, key=lambda pair: (-pair[1].priority, pair[0]))
    _by_priority = (snapshot, ordered)
    return list(ordered)
