"""The hook specifications: where many plugins take part in one decision (never name lookup).

A hook module (declared in the ``tympan.hooks`` entry-point group) implements any of these with
:data:`hookimpl`::

    from tympan.registry.hookspecs import hookimpl

    @hookimpl
    def tympan_doctor():
        return [Check("acme licence", ok=True, detail="found")]

Example:
    >>> sorted(name for name in dir(HookSpecs) if name.startswith("tympan_"))
    ['tympan_add_commands', 'tympan_doctor', 'tympan_register', 'tympan_select_backend']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from tympan.core.diagnostics import Check

__all__ = ["PROJECT", "HookSpecs", "hookimpl", "hookspec"]

PROJECT = "tympan"

#: Marks a hook specification (used by tympan itself).
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a hook implementation in a plugin's hook module.
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookSpecs:
    """The hooks tympan calls, with their arguments and results.

    Example:
        >>> HookSpecs.tympan_select_backend.tympan_spec["firstresult"]
        True
    """

    @hookspec(firstresult=True)
    def tympan_select_backend(  # type: ignore[empty-body]
        self, source: Any, format: str | None, mode: str, encoding: str | None
    ) -> str | None:
        """The qualified name of the backend to read (``mode="r"``) or write (``mode="w"``) ``source``.

        ``format`` is the explicit format (``None``: from the name or contents); ``encoding`` the requested
        sample encoding of a write (``None`` for reads and default encodings). Implementations may accept
        any subset of these arguments.

        Return ``None`` to let the next implementation decide; the built-in one (``trylast``) picks the
        highest-priority backend whose ``can_read`` / ``can_write`` accepts.
        """

    @hookspec
    def tympan_register(self, registrar: Any) -> None:
        """Register generated families (a model zoo) that entry points cannot list:
        ``registrar.add(kind, "ns:name", loader)`` where ``loader()`` returns the component."""

    @hookspec
    def tympan_add_commands(self, cli: Any) -> None:
        """Add subcommands to the ``tympan`` click group ``cli`` (``cli.add_command(...)``)."""

    @hookspec
    def tympan_doctor(self) -> list[Check]:  # type: ignore[empty-body]
        """Environment checks this plugin cares about (binaries, GPUs, codecs)."""
