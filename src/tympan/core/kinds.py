"""The kinds of component and their entry-point groups.

Example:
    >>> GROUPS["transform"]
    'tympan.transforms'
    >>> kind_of_group("tympan.losses")
    'loss'

This module imports nothing heavy: the registry and the CLI use it before any plugin is loaded.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["KINDS", "GROUPS", "HOOKS_GROUP", "Kind", "kind_of_group", "check_kind"]

Kind = Literal["backend", "transform", "effect", "dataset", "model", "loss", "decoder"]

KINDS: tuple[str, ...] = ("backend", "transform", "effect", "dataset", "model", "loss", "decoder")

GROUPS: dict[str, str] = {
    "backend": "tympan.backends",
    "transform": "tympan.transforms",
    "effect": "tympan.effects",
    "dataset": "tympan.datasets",
    "model": "tympan.models",
    "loss": "tympan.losses",
    "decoder": "tympan.decoders",
}

HOOKS_GROUP = "tympan.hooks"

_KIND_OF_GROUP = {group: kind for kind, group in GROUPS.items()}


def kind_of_group(group: str) -> str | None:
    """The kind whose entry-point group is ``group``, or ``None``.

    Example:
        >>> kind_of_group("tympan.effects")
        'effect'
    """
    return _KIND_OF_GROUP.get(group)


def check_kind(kind: str | None) -> str | None:
    """Return ``kind`` unchanged if it is one of :data:`KINDS` (or ``None``); raise ``ValueError`` otherwise.

    Example:
        >>> check_kind("loss")
        'loss'
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of: {', '.join(KINDS)}")
    return kind
