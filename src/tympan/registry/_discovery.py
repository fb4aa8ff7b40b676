"""Discovery: one scan of installed distributions' entry-point metadata, importing no plugin code.

The scan honours three environment switches; a value outside what each accepts is a
:class:`~tympan.core.errors.SettingError` naming the variable:

- ``TYMPAN_DISABLE_PLUGINS=a,b``: ignore these distributions.
- ``TYMPAN_LOAD_PLUGINS=a,b``: load only these third-party distributions (empty: first-party only).
- ``TYMPAN_STRICT_PLUGINS=1``: import every entry now and raise on the first failure or conflict
  (``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``, any case; empty is off).

A distribution whose metadata cannot be read (no ``Name``, no ``METADATA``, bytes that are not UTF-8, a
malformed ``entry_points.txt`` or entry) breaks only itself: it is reported by its folder and skipped. The
first-party name is not a pass: a distribution named ``tympan`` is first-party only for entries whose code
is inside the ``tympan`` package, and an impostor's other entries are refused, naming where it is installed.

Example:
    >>> selection = Selection.from_environment({"TYMPAN_LOAD_PLUGINS": ""})
    >>> selection.allows("tympan"), selection.allows("tympan-example-plugin")
    (True, False)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata

from tympan.core.errors import SettingError
from tympan.core.kinds import GROUPS, HOOKS_GROUP, kind_of_group
from tympan.registry._entries import Entry
from tympan.registry._names import FIRST_PARTY_DISTRIBUTION, is_qualified_name, normalize_distribution

__all__ = ["Selection", "HookModule", "Discovery", "discover", "strict_from_environment"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
#: A distribution name as packaging writes it (PEP 508).
_DISTRIBUTION_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


def _split_list(variable: str, value: str) -> frozenset[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    for name in names:
        if not _DISTRIBUTION_NAME.match(name):
            raise SettingError(variable, value, "comma-separated distribution names such as acme-plugin (no patterns)")
    return frozenset(normalize_distribution(name) for name in names)


def strict_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``TYMPAN_STRICT_PLUGINS`` asks for strict discovery.

    Example:
        >>> strict_from_environment({"TYMPAN_STRICT_PLUGINS": "1"})
        True
        >>> strict_from_environment({"TYMPAN_STRICT_PLUGINS": "maybe"})
        Traceback (most recent call last):
        ...
        tympan.core.errors.SettingError: TYMPAN_STRICT_PLUGINS='maybe' is not understood; expected 1, true, ...
    """
    env = os.environ if environ is None else environ
    raw = env.get("TYMPAN_STRICT_PLUGINS", "")
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise SettingError("TYMPAN_STRICT_PLUGINS", raw, "1, true, yes, on, or 0, false, no, off (or empty)")
    return value in _TRUE


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
            disabled=_split_list("TYMPAN_DISABLE_PLUGINS", env.get("TYMPAN_DISABLE_PLUGINS", "")),
            allowed=None if allowed is None else _split_list("TYMPAN_LOAD_PLUGINS", allowed),
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
#: What reading a broken distribution's metadata raises (missing files, bad bytes, malformed entries).
_METADATA_ERRORS = (OSError, ValueError, TypeError, AttributeError, KeyError, UnicodeError, LookupError)


def _label(dist: metadata.Distribution) -> str:
    """How a distribution is named in problems: its name, else the folder of its metadata."""
    try:
        name = dist.metadata["Name"]
    except _METADATA_ERRORS:
        name = None
    if isinstance(name, str) and name.strip():
        return name
    path = getattr(dist, "_path", None)
    return f"<{path}>" if path is not None else "<a distribution without a name>"


def _relevant(dist: metadata.Distribution) -> list[metadata.EntryPoint]:
    """The distribution's entry points in tympan's groups (reading them may raise on bad metadata)."""
    return [ep for ep in dist.entry_points if ep.group in _GROUPS]


def _in_first_party_package(target: str) -> bool:
    module = target.split(":", 1)[0].split("[", 1)[0].strip()
    return module == "tympan" or module.startswith("tympan.")


def _read(dist: metadata.Distribution, found: Discovery) -> tuple[str, str, list[metadata.EntryPoint]] | None:
    """``(name, version, entry points)`` of a distribution with tympan entry points, or ``None`` (none, or
    metadata that cannot be read: then a problem is recorded for it)."""
    try:
        relevant = _relevant(dist)
    except _METADATA_ERRORS as exc:
        found.problem(_label(dist), f"cannot read its entry points: {type(exc).__name__}: {exc}; ignored")
        return None
    if not relevant:
        return None
    try:
        name, version = dist.metadata["Name"], dist.version
    except _METADATA_ERRORS as exc:
        found.problem(_label(dist), f"cannot read its metadata: {type(exc).__name__}: {exc}; ignored")
        return None
    if not isinstance(name, str) or not name.strip():
        found.problem(_label(dist), "its metadata has no Name; its entry points are ignored")
        return None
    return name, version if isinstance(version, str) else "", relevant


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
        read = _read(dist, found)
        if read is None:
            continue
        name, version, relevant = read
        normal = normalize_distribution(name)
        first_party = normal == FIRST_PARTY_DISTRIBUTION
        if normal in seen and not first_party:  # the first on sys.path wins, as entry_points() does
            continue
        seen.add(normal)
        if not selection.allows(name):
            continue
        found.distributions.setdefault(name, version)
        for ep in relevant:
            _add(found, ep, name, version, first_party, dist)
    return found


def _add(
    found: Discovery, ep: metadata.EntryPoint, name: str, version: str, first_party: bool, dist: metadata.Distribution
) -> None:
    """Record one entry point of ``name``, or the problem with it."""
    if first_party and not _in_first_party_package(ep.value):
        where = getattr(dist, "_path", "an unknown place")
        found.problem(
            name,
            f"a distribution named {name!r} at {where} declares {ep.name!r} = {ep.value!r}, outside the "
            "tympan package; refused (only tympan itself is first-party)",
        )
        return
    if ep.group == HOOKS_GROUP:
        if not (first_party and any(h.name == ep.name and h.distribution == name for h in found.hook_modules)):
            found.hook_modules.append(HookModule(ep.name, ep.value, name, version))
        return
    if not is_qualified_name(ep.name):
        found.problem(name, f"entry point {ep.name!r} in {ep.group} is not a qualified 'namespace:name'; ignored")
        return
    kind = kind_of_group(ep.group)
    if kind is None:
        return
    if first_party and any(e.first_party and (e.kind, e.name) == (kind, ep.name) for e in found.entries):
        return  # another copy of tympan's own metadata, further down sys.path: the first wins
    try:
        found.entries.append(Entry.from_entry_point(kind, ep, name, version, first_party))
    except _METADATA_ERRORS as exc:
        found.problem(name, f"entry point {ep.name!r} = {ep.value!r} is malformed ({type(exc).__name__}); ignored")
