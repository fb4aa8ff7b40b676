"""``Tremolo``: amplitude modulation of a waveform by a sine.

Example:
    >>> import torch
    >>> effect = Tremolo(sample_rate=8000, frequency=2.0, depth=1.0)
    >>> effect(torch.ones(1, 1, 8000)).min().item() >= 0.0
    True
"""

from __future__ import annotations

import math
from typing import Any

import torch
from pydantic import Field, model_validator

from tympan.core import Effect, Params, validate_params

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

    class Params(Params):
        sample_rate: int = Field(16000, gt=0, description="Sample rate of the input, in Hz.")
        frequency: float = Field(5.0, gt=0, description="Modulation frequency, in Hz.")
        depth: float = Field(0.5, ge=0, le=1, description="Modulation depth: 0 none, 1 down to silence.")

        @model_validator(mode="after")
        def _below_nyquist(self) -> Any:
            if self.frequency >= self.sample_rate / 2:
                raise ValueError(f"frequency {self.frequency} must be below Nyquist ({self.sample_rate / 2} Hz)")
            return self

    def __init__(self, sample_rate: int = 16000, frequency: float = 5.0, depth: float = 0.5) -> None:
        super().__init__()
        validate_params(
            type(self), {"sample_rate": sample_rate, "frequency": frequency, "depth": depth}, name="example:tremolo"
        )
        self.sample_rate = sample_rate
        self.frequency = float(frequency)
        self.depth = float(depth)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Apply the tremolo to ``waveform`` of shape (..., channels, time)."""
        return tremolo(waveform, self.sample_rate, self.frequency, self.depth)
