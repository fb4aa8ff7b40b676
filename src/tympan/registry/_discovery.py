"""Discovery: one scan of installed distributions' entry-point metadata, importing no plugin code.

The scan honours three environment switches:

- ``TYMPAN_DISABLE_PLUGINS=a,b``: ignore these distributions.
- ``TYMPAN_LOAD_PLUGINS=a,b``: load only these third-party distributions (empty: first-party only).
- ``TYMPAN_STRICT_PLUGINS=1``: import every entry now and raise on the first failure or conflict.

Example:
    >>> selection = Selection.from_environment({"TYMPAN_LOAD_PLUGINS": ""})
    >>> selection.allows("tympan"), selection.allows("tympan-example-plugin")
    (True, False)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata

from tympan.core.kinds import GROUPS, HOOKS_GROUP, kind_of_group
from tympan.registry._entries import Entry
from tympan.registry._names import FIRST_PARTY_DISTRIBUTION, is_qualified_name, normalize_distribution

__all__ = ["Selection", "HookModule", "Discovery", "discover", "strict_from_environment"]

_TRUE = {"1", "true", "yes", "on"}


def _split_list(value: str) -> frozenset[str]:
    return frozenset(normalize_distribution(part.strip()) for part in value.split(",") if part.strip())


def strict_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``TYMPAN_STRICT_PLUGINS`` asks for strict discovery.

    Example:
        >>> strict_from_environment({"TYMPAN_STRICT_PLUGINS": "1"})
        True
    """
    env = os.environ if environ is None else environ
    return env.get("TYMPAN_STRICT_PLUGINS", "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Selection:
    """Which distributions discovery takes, from ``TYMPAN_DISABLE_PLUGINS`` / ``TYMPAN_LOAD_PLUGINS``.

    Example:
        >>> Selection(disabled=frozenset({"acme"})).allows("ACME")
        False
    """

    disabled: frozenset[str] = frozenset()
    allowed: frozenset[str] | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Selection:
        """Read the switches from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        allowed = env.get("TYMPAN_LOAD_PLUGINS")
        return cls(
            disabled=_split_list(env.get("TYMPAN_DISABLE_PLUGINS", "")),
            allowed=None if allowed is None else _split_list(allowed),
        )

    def allows(self, distribution: str) -> bool:
        """Whether entries of ``distribution`` are taken."""
        normal = normalize_distribution(distribution)
        if normal in self.disabled:
            return False
        if self.allowed is None or normal == FIRST_PARTY_DISTRIBUTION:
            return True
        return normal in self.allowed


@dataclass(frozen=True)
class HookModule:
    """A module declared in the ``tympan.hooks`` group: imported on the first hook call.

    Example:
        >>> HookModule("acme", "acme.hooks", "acme", "1.0").provider
        'acme 1.0'
    """

    name: str
    module: str
    distribution: str
    version: str

    @property
    def provider(self) -> str:
        """``"distribution version"``, for messages."""
        return f"{self.distribution} {self.version}"


@dataclass
class Discovery:
    """What one scan found: component entries, hook modules, and per-distribution problems.

    Example:
        >>> Discovery().entries
        []
    """

    entries: list[Entry] = field(default_factory=list)
    hook_modules: list[HookModule] = field(default_factory=list)
    distributions: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, distribution: str, message: str) -> None:
        """Record a problem of ``distribution`` (shown by ``tympan plugins``)."""
        self.problems.setdefault(distribution, []).append(message)


_GROUPS = frozenset(GROUPS.values()) | {HOOKS_GROUP}


def discover(
    selection: Selection | None = None, distributions: Iterable[metadata.Distribution] | None = None
) -> Discovery:
    """Scan entry-point metadata of the installed (or given) distributions; import no plugin code.

    Example:
        >>> found = discover()
        >>> any(entry.name == "dsp:mfcc" for entry in found.entries)
        True
    """
    selection = selection or Selection.from_environment()
    found = Discovery()
    pool = metadata.distributions() if distributions is None else distributions
    seen: set[str] = set()
    for dist in pool:
        relevant = [ep for ep in dist.entry_points if ep.group in _GROUPS]
        if not relevant:
            continue
        name = dist.metadata["Name"]
        normal = normalize_distribution(name)
        if normal in seen:  # the first on sys.path wins, as importlib.metadata.entry_points() does
            continue
        seen.add(normal)
        if not selection.allows(name):
            continue
        version = dist.version
        found.distributions[name] = version
        first_party = normal == FIRST_PARTY_DISTRIBUTION
        for ep in relevant:
            if ep.group == HOOKS_GROUP:
                found.hook_modules.append(HookModule(ep.name, ep.value, name, version))
                continue
            if not is_qualified_name(ep.name):
                found.problem(
                    name, f"entry point {ep.name!r} in {ep.group} is not a qualified 'namespace:name'; ignored"
                )
                continue
            kind = kind_of_group(ep.group)
            if kind is not None:
                found.entries.append(Entry.from_entry_point(kind, ep, name, version, first_party))
    return found
