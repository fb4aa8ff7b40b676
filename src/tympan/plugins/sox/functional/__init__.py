"""Every SoX effect as a function: ``functional.gain(waveform, gain_db=-3)``,
``functional.lowpass(waveform, 16000, frequency=1000)``.

Each function builds the effect module of the same name with the arguments after ``waveform`` (the
module's parameters, ``sample_rate`` first where it takes one) and applies it: the parameters, their
bounds and their descriptions are declared once, on the module (see :mod:`tympan.plugins.sox.effects`).
Build the module yourself to apply the same effect to many batches.

Example:
    >>> import torch
    >>> from tympan.plugins.sox import functional as F
    >>> F.gain(torch.full((1, 4), 0.25), gain_db=6.0).tolist()[0][0] > 0.49
    True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from tympan.plugins.sox.effects import EFFECTS, SoxEffect

__all__ = sorted(EFFECTS)


def _functional(cls: type[SoxEffect]) -> Callable[..., Any]:
    def apply(waveform: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return cls(*args, **kwargs)(waveform)

    name = cls.sox_name
    arguments = ", " + cls.example_arguments if cls.example_arguments else ""
    apply.__name__ = apply.__qualname__ = name
    apply.__module__ = __name__
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    waveform = inspect.Parameter("waveform", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="torch.Tensor")
    apply.__signature__ = inspect.Signature([waveform, *parameters])  # type: ignore[attr-defined]
    apply.__doc__ = (
        f"SoX ``{name}`` applied to ``waveform`` ``(..., channels, time)``: "
        f"``{cls.__name__}(*args, **kwargs)(waveform)``.\n\n"
        f"    The parameters are those of :class:`~tympan.plugins.sox.effects.{cls.__name__}`.\n\n"
        "    Example:\n"
        "        >>> import torch\n"
        "        >>> from tympan.plugins.sox import functional as F\n"
        f"        >>> type(F.{name}(torch.zeros(2, 4410){arguments})).__name__\n"
        "        'Tensor'\n"
    )
    return apply


globals().update({name: _functional(cls) for name, cls in EFFECTS.items()})
