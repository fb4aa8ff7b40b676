"""``apply_effects`` and ``apply_effects_file``: a SoX chain applied to a tensor or to an audio file.

Example:
    >>> import torch
    >>> out, rate = apply_effects(torch.zeros(2, 44100), 44100, "gain -3 rate 16k trim 0 0.5")
    >>> out.shape, rate
    (torch.Size([2, 8000]), 16000)
"""

from __future__ import annotations

import os
from typing import Any

import torch

from tympan.plugins.sox._chain import EffectChain, EffectsSpec
from tympan.plugins.sox.errors import SoxEffectError

__all__ = ["apply_effects", "apply_effects_file"]


def apply_effects(
    waveform: torch.Tensor, sample_rate: int, effects: EffectsSpec, channels_first: bool = True
) -> tuple[torch.Tensor, int]:
    """Apply a SoX effect chain to ``waveform`` ``(channels, time)`` (leading dimensions are a batch;
    ``(time, channels)`` with ``channels_first=False``); returns the output and its sample rate.

    ``effects`` is SoX's command-line text (``"gain -n speed 0.8 rate 16k pad 0 1.5 trim 0 2"``) or
    argv-style lists (``[["gain", "-n"], ["speed", "0.8"]]``), as for :class:`EffectChain`. Every option
    and the signal itself (channels, positions within the audio) are checked before any audio is processed;
    problems raise :class:`~tympan.plugins.sox.errors.SoxEffectError` naming the effect and the option.

    Example:
        >>> import torch
        >>> out, rate = apply_effects(torch.zeros(100, 2), 8000, [["pad", "0", "10s"]], channels_first=False)
        >>> out.shape, rate
        (torch.Size([110, 2]), 8000)
    """
    if not isinstance(waveform, torch.Tensor) or waveform.dim() < 2 or not waveform.is_floating_point():
        shape = tuple(waveform.shape) if isinstance(waveform, torch.Tensor) else type(waveform).__name__
        raise SoxEffectError(None, f"expected a floating-point waveform (..., channels, time), got {shape}")
    x = waveform if channels_first else waveform.transpose(-1, -2)
    chain = EffectChain(effects, int(sample_rate), channels=int(x.shape[-2]))
    chain.check(int(x.shape[-2]), int(x.shape[-1]))
    out = chain(x)
    return (out if channels_first else out.transpose(-1, -2)), int(chain.output_sample_rate or sample_rate)


def apply_effects_file(
    path: str | os.PathLike[str], effects: EffectsSpec, channels_first: bool = True, **load_options: Any
) -> tuple[torch.Tensor, int]:
    """Load ``path`` with :func:`tympan.load` (``load_options`` passed on) and apply the SoX chain ``effects``.

    Example:
        >>> import tympan
        >>> out, rate = apply_effects_file(tympan.assets.path("speech"), "trim 0 0.5 rate 8k")
        >>> out.shape, rate
        (torch.Size([1, 4000]), 8000)
    """
    import tympan

    waveform, sample_rate = tympan.load(path, **load_options)
    out, rate = apply_effects(waveform, sample_rate, effects)
    return (out if channels_first else out.transpose(-1, -2)), rate
