"""``Tremolo``: amplitude modulation of a waveform by a sine.

Example:
    >>> import torch
    >>> effect = Tremolo(sample_rate=8000, frequency=2.0, depth=1.0)
    >>> effect(torch.ones(1, 1, 8000)).min().item() >= 0.0
    True
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import torch
from pydantic import Field

from tympan.core import Effect, validated_arguments

__all__ = ["Tremolo", "tremolo"]


def tremolo(waveform: torch.Tensor, sample_rate: int, frequency: float, depth: float) -> torch.Tensor:
    """Multiply ``waveform`` (..., time) by ``1 - depth/2 * (1 - cos(2 pi f t))``, which is 1 at t = 0.

    Example:
        >>> tremolo(torch.ones(4), sample_rate=4, frequency=1.0, depth=1.0).tolist()
        [1.0, 0.5, 0.0, 0.5]
    """
    t = torch.arange(waveform.shape[-1], device=waveform.device, dtype=torch.float64) / sample_rate
    gain = 1.0 - 0.5 * depth * (1.0 - torch.cos(2.0 * math.pi * frequency * t))
    return waveform * gain.to(waveform.dtype)


class Tremolo(Effect):
    """Tremolo: a periodic gain between ``1 - depth`` and 1, ``frequency`` times a second.

    Example:
        >>> import torch
        >>> Tremolo(sample_rate=16000, frequency=5.0)(torch.zeros(2, 1, 100)).shape
        torch.Size([2, 1, 100])
    """

    def __init__(
        self,
        sample_rate: Annotated[int, Field(gt=0, le=768000, description="Sample rate of the input, in Hz.")] = 16000,
        frequency: Annotated[float, Field(gt=0, description="Modulation frequency, in Hz.")] = 5.0,
        depth: Annotated[float, Field(ge=0, le=1, description="Modulation depth: 0 none, 1 down to silence.")] = 0.5,
    ) -> None:
        super().__init__()
        params = validated_arguments(type(self), locals())
        self.sample_rate = params.sample_rate
        self.frequency = float(params.frequency)
        self.depth = float(params.depth)

    @staticmethod
    def check_params(params: Any) -> None:
        """The modulation stays below the Nyquist frequency."""
        if params.frequency >= params.sample_rate / 2:
            raise ValueError(f"frequency {params.frequency} must be below Nyquist ({params.sample_rate / 2} Hz)")

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Apply the tremolo to ``waveform`` of shape (..., channels, time)."""
        return tremolo(waveform, self.sample_rate, self.frequency, self.depth)
