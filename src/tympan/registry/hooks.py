"""The typed facade over the pluggy hooks; internal code calls these functions, never ``pm.hook``.

Hook modules come from the ``tympan.hooks`` entry-point group and are imported on the first hook call,
each in isolation: a module that fails to import, or an implementation that raises (``SystemExit``
included), is recorded (see ``tympan plugins``) and skipped; every other plugin keeps working. So is an
answer that makes no sense: a backend name no installed backend has (the next implementation decides), a
doctor's answer that is not a list of checks, a command that would replace a built-in one. With
``TYMPAN_STRICT_PLUGINS=1`` a failure raises :class:`~tympan.core.errors.PluginLoadError` instead.

Example:
    >>> select_backend("speech.flac", None, "r")
    'io:soundfile'
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

from tympan.core.errors import PluginLoadError
from tympan.core.kinds import check_kind
from tympan.registry._entries import PLUGIN_FAILURES, Entry
from tympan.registry._names import is_qualified_name
from tympan.registry.hookspecs import PROJECT, HookSpecs

if TYPE_CHECKING:
    from tympan.core.diagnostics import Check
    from tympan.registry._discovery import HookModule
    from tympan.registry._registry import Registry

__all__ = [
    "Registrar",
    "add_commands",
    "doctor",
    "generated_entries",
    "hook_load_errors",
    "plugin_manager",
    "reset_hooks",
    "select_backend",
]

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_providers: dict[str, HookModule | None] = {}
_errors: dict[HookModule, str] = {}


def _default_registry() -> Registry:
    from tympan.registry import default_registry

    return default_registry()


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, with the built-in hooks and every selected hook module loaded.

    Example:
        >>> any(name == "tympan-builtin" for name, _ in plugin_manager().list_name_plugin())
        True
    """
    global _manager
    manager = _manager
    if manager is not None:
        return manager
    with _lock:
        if _manager is None:
            _manager = _load_manager(_default_registry())
        return _manager


def _load_manager(registry: Registry) -> pluggy.PluginManager:
    from tympan.registry import _builtin_hooks

    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(HookSpecs)
    for module in registry.hook_modules:
        plugin_name = f"{module.distribution}:{module.name}"
        try:
            manager.register(importlib.import_module(module.module), name=plugin_name)
            _providers[plugin_name] = module
        except PLUGIN_FAILURES as exc:  # a broken hook module breaks only itself
            _fail(module, exc)
    # registered last, so called first (pluggy calls in reverse order), except where marked ``trylast``
    manager.register(_builtin_hooks, name="tympan-builtin")
    _providers["tympan-builtin"] = None
    return manager


def _fail(module: HookModule | None, exc: BaseException) -> None:
    if module is None:
        raise exc
    error = PluginLoadError(f"hooks:{module.name}", module.distribution, module.version, exc)
    if _default_registry().strict:
        raise error from exc
    _errors[module] = f"{type(exc).__name__}: {exc}"
    warnings.warn(str(error), RuntimeWarning, stacklevel=3)


def _reject(module: HookModule | None, hook_name: str, problem: str) -> None:
    """Record and warn about an answer of ``module``'s ``hook_name`` that is ignored."""
    if module is None:
        raise PluginLoadError(hook_name, "tympan", None, problem)
    message = f"{hook_name} {problem}; ignored"
    if _default_registry().strict:
        raise PluginLoadError(f"hooks:{module.name}", module.distribution, module.version, message)
    _errors[module] = message
    warnings.warn(f"plugin {module.provider}: {message}", RuntimeWarning, stacklevel=4)


def hook_load_errors() -> dict[HookModule, str]:
    """The hook modules that failed to import or whose implementations raised, with the cause.

    Example:
        >>> isinstance(hook_load_errors(), dict)
        True
    """
    plugin_manager()
    return dict(_errors)


def reset_hooks() -> None:
    """Forget the loaded hook modules, so the next hook call loads them again (for tests).

    Example:
        >>> reset_hooks()
    """
    global _manager
    with _lock:
        _manager = None
        _providers.clear()
        _errors.clear()


def _call(
    hook_name: str, firstresult: bool = False, inspect: Callable[[Any], str | None] | None = None, **kwargs: Any
) -> list[Any]:
    """Call every implementation in pluggy's order, isolating failures per plugin; ``inspect(result)`` says
    why an answer is ignored (or ``None`` to take it)."""
    manager = plugin_manager()
    caller = getattr(manager.hook, hook_name)
    results = []
    for impl in reversed(caller.get_hookimpls()):
        try:
            result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except PLUGIN_FAILURES as exc:
            _fail(_providers.get(impl.plugin_name), exc)
            continue
        problem = inspect(result) if inspect is not None else None
        if problem:
            _reject(_providers.get(impl.plugin_name), hook_name, problem)
            continue
        if result is not None:
            results.append(result)
            if firstresult:
                break
    return results


def _not_a_backend(answer: Any) -> str | None:
    """Why ``answer`` of ``tympan_select_backend`` names no usable backend, or ``None``."""
    if answer is None:
        return None
    if not isinstance(answer, str):
        return f"answered {type(answer).__name__} {answer!r:.60}, not a backend name"
    from tympan.core.errors import TympanError
    from tympan.registry import backend

    try:
        backend(answer)
    except (TympanError, KeyError) as exc:
        return f"chose {answer!r:.80}, which is not a usable backend ({exc})"
    return None


def _not_checks(answer: Any) -> str | None:
    from tympan.core.diagnostics import Check

    if isinstance(answer, (list, tuple)) and all(isinstance(check, Check) for check in answer):
        return None
    return f"returned {type(answer).__name__} {answer!r:.60}, not a list of Check"


def select_backend(source: Any, format: str | None, mode: str, encoding: str | None = None) -> str | None:
    """The backend name the hooks choose for ``source`` (``mode`` ``"r"`` or ``"w"``), or ``None``.

    Example:
        >>> select_backend("out.wav", "wav", "w")
        'io:soundfile'
    """
    results = _call(
        "tympan_select_backend",
        firstresult=True,
        inspect=_not_a_backend,
        source=source,
        format=format,
        mode=mode,
        encoding=encoding,
    )
    return str(results[0]) if results else None


def doctor() -> list[Check]:
    """Every plugin's environment checks, built-in ones first.

    Example:
        >>> any(check.name == "torch" for check in doctor())
        True
    """
    checks: list[Check] = []
    for result in _call("tympan_doctor", inspect=_not_checks):
        checks.extend(result)
    return checks


def add_commands(cli: Any) -> None:
    """Let plugins add subcommands to the ``tympan`` click group; the commands it already has (the
    built-in ones) cannot be replaced or removed: a plugin that tries is reported and the built-in kept.

    Example:
        >>> import click
        >>> add_commands(click.Group("tympan"))
    """
    builtin = dict(cli.commands)

    def keep_builtins(result: Any) -> str | None:
        changed = sorted(name for name, command in builtin.items() if cli.commands.get(name) is not command)
        cli.commands.update(builtin)
        return f"replaced or removed the built-in command(s) {', '.join(changed)}" if changed else None

    _call("tympan_add_commands", inspect=keep_builtins, cli=cli)


class Registrar:
    """What ``tympan_register`` implementations receive: ``add`` registers one generated component.

    Example:
        >>> registrar = Registrar("acme", "1.0")
        >>> registrar.add("model", "acme:tiny", lambda: dict)
        >>> registrar.entries[0].name
        'acme:tiny'
    """

    def __init__(self, distribution: str | None, version: str | None) -> None:
        self.distribution = distribution
        self.version = version
        self.entries: list[Entry] = []

    def add(self, kind: str, name: str, loader: Callable[[], Any]) -> None:
        """Register ``loader()``'s result as ``kind`` ``name`` (called on first use of the name)."""
        check_kind(kind)
        if not is_qualified_name(name):
            raise ValueError(f"generated name {name!r} is not a qualified 'namespace:name'")
        self.entries.append(Entry.from_loader(kind, name, loader, self.distribution, self.version))


def generated_entries(registry: Registry) -> list[Entry]:
    """Entries that ``tympan_register`` implementations add, each tagged with its distribution.

    Example:
        >>> from tympan import registry
        >>> isinstance(generated_entries(registry.default_registry()), list)
        True
    """
    manager = plugin_manager()
    entries: list[Entry] = []
    for impl in reversed(manager.hook.tympan_register.get_hookimpls()):
        module = _providers.get(impl.plugin_name)
        registrar = Registrar(module.distribution if module else "tympan", module.version if module else None)
        try:
            impl.function(registrar=registrar)
        except PLUGIN_FAILURES as exc:
            _fail(module, exc)
            continue
        entries.extend(registrar.entries)
    return entries
