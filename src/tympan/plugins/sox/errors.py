"""The errors of the SoX plugin: a bad effect name or option, found before any audio is processed.

Example:
    >>> print(SoxEffectError("gain", "invalid option '-x'"))
    sox gain: invalid option '-x'
    >>> print(UnknownEffectError("gian", ["gain"]))
    sox: unknown effect 'gian'; did you mean: gain?
"""

from __future__ import annotations

from collections.abc import Sequence

from tympan.core.errors import TympanError

__all__ = ["SoxEffectError", "UnknownEffectError"]


class SoxEffectError(TympanError, ValueError):
    """An effect given options it cannot take, or a signal it cannot process; names the effect.

    ``effect`` is the SoX name of the effect (``None`` for the chain as a whole) and ``reason`` says what
    is wrong, naming the option.

    Example:
        >>> SoxEffectError("rate", "rate must be positive, got '0'").effect
        'rate'
    """

    def __init__(self, effect: str | None, reason: str) -> None:
        self.effect = effect
        self.reason = reason
        super().__init__(effect, reason)

    def __str__(self) -> str:
        return f"sox {self.effect}: {self.reason}" if self.effect else f"sox: {self.reason}"


class UnknownEffectError(SoxEffectError, KeyError):
    """An effect name SoX does not have (or this plugin does not provide), with close matches.

    Example:
        >>> UnknownEffectError("hipass", ["highpass"]).suggestions
        ['highpass']
    """

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        hint = f"; did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(None, f"unknown effect {name!r}{hint}")

    def __str__(self) -> str:
        return SoxEffectError.__str__(self)
