"""``Registry``: name lookup over an immutable snapshot of discovered and registered entries.

Reads are lock-free: they use the current snapshot (replaced whole on every write) and a cache of
resolved names. Writes (discovery, ``register``) take a lock. Discovery runs once, on first use.

Name rules:

- A qualified name ``namespace:name`` names one entry of a kind; ``kind=`` narrows a lookup when kinds
  share a name.
- A bare name resolves when it is unique; when several namespaces share it, a first-party one wins;
  otherwise :class:`~tympan.core.errors.AmbiguousNameError` lists the qualified candidates.
- Two providers of one qualified name of one kind: a first-party entry wins (installing a package never
  changes what a working name means) and the clash is reported; between third parties, the name raises
  :class:`~tympan.core.errors.DuplicateNameError` naming both.

Example:
    >>> import torch
    >>> reg = Registry(entries=[])
    >>> @reg.register("transform", "acme:double")
    ... class Double(torch.nn.Module):
    ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
    ...         return 2 * x
    >>> reg.get("double") is Double, reg.names()
    (True, ['acme:double'])
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tympan.core.errors import (
    AmbiguousNameError,
    DuplicateNameError,
    InvalidParameterError,
    PluginLoadError,
    TympanError,
    UnknownNameError,
)
from tympan.core.kinds import KINDS, check_kind
from tympan.registry._discovery import Discovery, HookModule, Selection, discover, strict_from_environment
from tympan.registry._entries import PLUGIN_FAILURES, Entry
from tympan.registry._names import first_party_rank, is_qualified_name, split_name

__all__ = ["Registry", "ComponentInfo", "DistributionInfo"]

T = TypeVar("T")


@dataclass(frozen=True)
class ComponentInfo:
    """What ``registry.info`` reports about one component.

    Example:
        >>> ComponentInfo("acme:x", "transform", "Does x.", {}, None, None, "loaded", "m:X").kind
        'transform'
    """

    name: str
    kind: str
    summary: str
    params_schema: dict[str, Any]
    distribution: str | None
    version: str | None
    status: str
    target: str | None
    error: str | None = None


@dataclass
class DistributionInfo:
    """What ``tympan plugins`` reports about one distribution.

    Example:
        >>> DistributionInfo("acme", "1.0").status
        'ok'
    """

    name: str
    version: str | None
    components: list[Entry] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``"ok"``, or ``"error"`` when a component failed to load or a problem was found."""
        failed = any(entry.status == "failed" for entry in self.components)
        return "error" if failed or self.problems else "ok"


@dataclass(frozen=True)
class _Snapshot:
    """An immutable view of every entry, indexed for the lookups the registry does."""

    by_key: Mapping[tuple[str, str], Entry]
    by_qualified: Mapping[str, tuple[Entry, ...]]
    by_bare: Mapping[str, tuple[Entry, ...]]
    clashes: Mapping[tuple[str, str], DuplicateNameError]

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> tuple[_Snapshot, list[DuplicateNameError]]:
        by_key: dict[tuple[str, str], Entry] = {}
        clashes: dict[tuple[str, str], DuplicateNameError] = {}
        reported: list[DuplicateNameError] = []
        for entry in entries:
            key = (entry.kind, entry.name)
            other = by_key.get(key)
            if other is None:
                by_key[key] = entry
                continue
            if other is entry:
                continue
            clash = DuplicateNameError(entry.kind, entry.name, [other.provider, entry.provider])
            reported.append(clash)
            if other.first_party != entry.first_party:
                by_key[key] = other if other.first_party else entry
            else:
                clashes[key] = clash
        for key in clashes:
            by_key.pop(key, None)
        by_qualified: dict[str, list[Entry]] = {}
        by_bare: dict[str, list[Entry]] = {}
        for entry in by_key.values():
            by_qualified.setdefault(entry.name, []).append(entry)
            by_bare.setdefault(entry.bare_name, []).append(entry)
        snapshot = cls(
            by_key=by_key,
            by_qualified={k: tuple(v) for k, v in by_qualified.items()},
            by_bare={k: tuple(v) for k, v in by_bare.items()},
            clashes=clashes,
        )
        return snapshot, reported


class Registry:
    """Every component of every kind, by name; discovery from entry points on first use.

    ``entries`` replaces discovery (for tests and isolated registries); ``selection`` and ``strict``
    default to the ``TYMPAN_*`` environment switches.

    Example:
        >>> reg = Registry(entries=[])
        >>> reg.register("loss", "acme:l1", lambda: None) is not None
        True
        >>> reg.names("loss")
        ['acme:l1']
    """

    def __init__(
        self,
        entries: Iterable[Entry] | None = None,
        selection: Selection | None = None,
        strict: bool | None = None,
    ) -> None:
        self._given = None if entries is None else list(entries)
        self._selection = selection
        self._strict = strict
        self._write_lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._discovery = Discovery()
        self._runtime: list[Entry] = []
        self._generated: list[Entry] | None = None
        self._clashes: list[DuplicateNameError] = []
        self._objects: dict[tuple[str, str | None], Any] = {}

    # -- snapshot -----------------------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        return snapshot if snapshot is not None else self._discover()

    def _discover(self) -> _Snapshot:
        with self._write_lock:
            if self._snapshot is not None:
                return self._snapshot
            if self._given is None:
                self._discovery = discover(self._selection)
            else:
                self._discovery = Discovery(entries=list(self._given))
            self._rebuild()
            snapshot = self._rebuild()
            if self.strict:
                try:
                    self._check_strict(snapshot)
                except Exception:
                    self._snapshot = None  # every later lookup raises again
                    raise
        return snapshot

    def _rebuild(self) -> _Snapshot:
        entries = [*self._discovery.entries, *(self._generated or ()), *self._runtime]
        snapshot, self._clashes = _Snapshot.build(entries)
        self._objects = {}
        self._snapshot = snapshot
        return snapshot

    def _check_strict(self, snapshot: _Snapshot) -> None:
        if self._clashes:
            raise self._clashes[0]
        for distribution, problems in self._discovery.problems.items():
            version = self._discovery.distributions.get(distribution)
            raise PluginLoadError("<discovery>", distribution, version, problems[0])
        for entry in snapshot.by_key.values():
            entry.load()

    @property
    def strict(self) -> bool:
        """Whether load failures are raised at discovery (``TYMPAN_STRICT_PLUGINS=1``)."""
        return strict_from_environment() if self._strict is None else self._strict

    @property
    def hook_modules(self) -> list[HookModule]:
        """The modules declared in the ``tympan.hooks`` group of the selected distributions."""
        self._current()
        return list(self._discovery.hook_modules)

    # -- lookup ---------------------------------------------------------------------------------------

    def resolve(self, name: str, kind: str | None = None, load_generated: bool = True) -> Entry:
        """The entry ``name`` denotes (qualified or bare, narrowed by ``kind``), importing no component.

        When ``name`` is not found and ``load_generated`` is true, the ``tympan_register`` hooks run
        once (importing the hook modules) and the lookup is retried.

        Example:
            >>> reg = Registry(entries=[])
            >>> _ = reg.register("effect", "acme:mute", object)
            >>> reg.resolve("mute").name
            'acme:mute'
        """
        check_kind(kind)
        entry = self._find(name, kind)
        if entry is None and load_generated and self._load_generated():
            entry = self._find(name, kind)
        if entry is None:
            raise UnknownNameError(name, kind, self._suggest(name, kind))
        return entry

    def _find(self, name: str, kind: str | None) -> Entry | None:
        snapshot = self._current()
        if is_qualified_name(name):
            candidates = snapshot.by_qualified.get(name, ())
            clash = [c for key, c in snapshot.clashes.items() if key[1] == name and kind in (None, key[0])]
            if clash and not candidates:
                raise clash[0]
        else:
            candidates = snapshot.by_bare.get(name, ())
        if kind is not None:
            candidates = tuple(c for c in candidates if c.kind == kind)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        first_party = sorted((c for c in candidates if c.first_party), key=lambda c: first_party_rank(c.name))
        if not is_qualified_name(name) and first_party:
            ranks = [first_party_rank(c.name) for c in first_party]
            if len(ranks) == 1 or ranks[0] < ranks[1]:
                return first_party[0]
        raise AmbiguousNameError(name, sorted(f"{c.kind} {c.name}" for c in candidates))

    def _suggest(self, name: str, kind: str | None) -> list[str]:
        snapshot = self._current()
        pool = [e for e in snapshot.by_key.values() if kind is None or e.kind == kind]
        qualified = sorted({e.name for e in pool})
        bare: dict[str, list[Entry]] = {}
        for e in pool:
            bare.setdefault(e.bare_name, []).append(e)
        wanted = split_name(name)[1]
        matches = difflib.get_close_matches(name, qualified, n=5, cutoff=0.6)
        for close in difflib.get_close_matches(wanted, sorted(bare), n=5, cutoff=0.6):
            matches += [e.name for e in sorted(bare[close], key=lambda e: (not e.first_party, e.name))]
        return list(dict.fromkeys(matches))[:5]

    def get(self, name: str, kind: str | None = None) -> Any:
        """The component ``name`` denotes (a class or factory), importing its plugin on first use.

        Example:
            >>> from tympan import registry
            >>> registry.get("mfcc").__name__
            'MFCC'
        """
        try:
            return self._objects[(name, kind)]
        except KeyError:
            pass
        obj = self.resolve(name, kind).load()
        self._objects[(name, kind)] = obj
        return obj

    def create(self, name: str, kind: str | None = None, **params: Any) -> Any:
        """Validate ``params`` with the component's ``Params`` and construct it.

        Raises :class:`~tympan.core.errors.InvalidParameterError` naming the component, field and bound; a
        ``ValueError`` or arithmetic error the constructor raises on validated values (a file it cannot read,
        a combination its ``Params`` cannot express) is one too, naming the component and what it said.

        Example:
            >>> from tympan import registry
            >>> registry.create("mfcc", sample_rate=16000, n_mfcc=13).n_mfcc
            13
            >>> registry.create("sox:remix", outputs=["x"])
            Traceback (most recent call last):
            ...
            tympan.core.errors.InvalidParameterError: invalid parameters for sox:remix:
              remix: bad output channel specification 'x'
        """
        from tympan.core.params import validate_params

        entry = self.resolve(name, kind)
        component = self.get(entry.name, entry.kind)
        validated = validate_params(component, params, name=entry.name)
        try:
            return component(**validated.kwargs())
        except TympanError:
            raise
        except (ValueError, ArithmeticError) as exc:  # the constructor's refusal of its validated arguments
            raise InvalidParameterError(entry.name, [str(exc)[:500] or type(exc).__name__]) from exc

    def names(self, kind: str | None = None, pattern: str = "*") -> list[str]:
        """Sorted qualified names of ``kind`` (all kinds by default) matching the fnmatch ``pattern``.

        The pattern matches the qualified or the bare name. Imports no plugin code.

        Example:
            >>> from tympan import registry
            >>> registry.names("transform", "*cc")
            ['dsp:lfcc', 'dsp:mfcc', 'kaldi:mfcc']
        """
        check_kind(kind)
        return sorted({e.name for e in self.entries(kind) if _matches(e, pattern)})

    def entries(self, kind: str | None = None) -> list[Entry]:
        """Every entry of ``kind`` (all kinds by default), sorted by kind then name. Imports nothing.

        Example:
            >>> reg = Registry(entries=[])
            >>> reg.entries()
            []
        """
        check_kind(kind)
        values = self._current().by_key.values()
        chosen = [e for e in values if kind is None or e.kind == kind]
        return sorted(chosen, key=lambda e: (KINDS.index(e.kind), e.name))

    def info(self, name: str, kind: str | None = None) -> ComponentInfo:
        """Summary, parameter JSON Schema, provider and load status of a component (imports it).

        Example:
            >>> from tympan import registry
            >>> registry.info("mfcc").params_schema["properties"]["n_mfcc"]["default"]
            40
        """
        from tympan.core.params import params_of

        entry = self.resolve(name, kind)
        try:
            component = entry.load()
        except PluginLoadError as err:
            return ComponentInfo(
                entry.name, entry.kind, "", {}, entry.distribution, entry.version, entry.status, entry.target, str(err)
            )
        doc = (getattr(component, "__doc__", None) or "").strip()
        summary = doc.splitlines()[0] if isinstance(doc, str) and doc else ""
        try:
            schema = params_of(component).model_json_schema()
        except PLUGIN_FAILURES as exc:  # a plugin whose Params fail is reported, not raised
            error = f"its parameters have no schema: {type(exc).__name__}: {exc}"
            return ComponentInfo(
                entry.name, entry.kind, summary, {}, entry.distribution, entry.version, "failed", entry.target, error
            )
        return ComponentInfo(
            entry.name, entry.kind, summary, schema, entry.distribution, entry.version, entry.status, entry.target
        )

    # -- registration --------------------------------------------------------------------------------

    def register(self, kind: str, name: str, obj: Any = None) -> Any:
        """Register ``obj`` as ``kind`` under the qualified ``name``; without ``obj``, a class decorator.

        Re-registering the same object is a no-op; another object under a taken name raises
        :class:`~tympan.core.errors.DuplicateNameError`.

        Example:
            >>> reg = Registry(entries=[])
            >>> @reg.register("effect", "acme:nothing")
            ... def nothing(): ...
            >>> reg.get("acme:nothing") is nothing
            True
        """
        check_kind(kind)
        if kind is None or not is_qualified_name(name):
            raise ValueError(f"register needs a kind and a qualified 'namespace:name', got {kind!r}, {name!r}")
        if obj is None:

            def decorator(target: T) -> T:
                self.register(kind, name, target)
                return target

            return decorator
        with self._write_lock:
            existing = self._current().by_key.get((kind, name))
            if existing is not None:
                if existing.status == "loaded" and existing.load() is obj:
                    return obj
                raise DuplicateNameError(kind, name, [existing.provider, "<runtime>"])
            self._runtime.append(Entry.from_object(kind, name, obj))
            self._rebuild()
        return obj

    def unregister(self, kind: str, name: str) -> None:
        """Remove a runtime registration (for tests and notebooks).

        Example:
            >>> reg = Registry(entries=[])
            >>> _ = reg.register("effect", "acme:x", object)
            >>> reg.unregister("effect", "acme:x"); reg.names()
            []
        """
        with self._write_lock:
            self._runtime = [e for e in self._runtime if (e.kind, e.name) != (kind, name)]
            self._rebuild()

    def _load_generated(self) -> bool:
        """Run the ``tympan_register`` hooks once; return whether they added anything."""
        if self._generated is not None or self._given is not None:
            return False
        from tympan.registry.hooks import generated_entries

        with self._write_lock:
            if self._generated is not None:
                return False
            self._generated = generated_entries(self)
            self._rebuild()
        return bool(self._generated)

    def load_generated(self) -> None:
        """Run the ``tympan_register`` hooks now, so their generated names are listed.

        Example:
            >>> Registry(entries=[]).load_generated()
        """
        self._load_generated()

    # -- reporting -------------------------------------------------------------------------------------

    def distributions(self, load: bool = True) -> list[DistributionInfo]:
        """Per distribution: version, components, hook modules, problems (and load errors if ``load``).

        Example:
            >>> from tympan import registry
            >>> [d.name for d in registry.distributions(load=False)][:1]
            ['tympan']
        """
        snapshot = self._current()
        by_name: dict[str, DistributionInfo] = {}

        def info_of(name: str | None, version: str | None) -> DistributionInfo:
            key = name or "<runtime>"
            if key not in by_name:
                by_name[key] = DistributionInfo(key, version)
            return by_name[key]

        for name, version in self._discovery.distributions.items():
            info_of(name, version)
        for entry in snapshot.by_key.values():
            if load:
                with contextlib.suppress(PluginLoadError):
                    entry.load()
            info_of(entry.distribution, entry.version).components.append(entry)
        for hook in self._discovery.hook_modules:
            info_of(hook.distribution, hook.version).hooks.append(f"{hook.name} ({hook.module})")
        for distribution, problems in self._discovery.problems.items():
            info_of(distribution, None).problems.extend(problems)
        for clash in self._clashes:
            for provider in clash.providers:
                info_of(provider.split(" ")[0], None).problems.append(str(clash))
        if load:
            from tympan.registry.hooks import hook_load_errors

            for module, error in hook_load_errors().items():
                info_of(module.distribution, module.version).problems.append(f"hook module {module.module}: {error}")
        first = sorted(by_name.values(), key=lambda d: (d.name != "tympan", d.name.lower()))
        for dist in first:
            dist.components.sort(key=lambda e: (KINDS.index(e.kind), e.name))
        return first


def _matches(entry: Entry, pattern: str) -> bool:
    return fnmatch.fnmatchcase(entry.name, pattern) or fnmatch.fnmatchcase(entry.bare_name, pattern)
