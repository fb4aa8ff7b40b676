"""The windowed sinc both resampling paths build their low-pass filter from.

Example:
    >>> import torch
    >>> windowed_sinc(torch.tensor([0.0, 0.5, 6.0]), 6, "sinc_interp_hann", None).tolist()[0]
    1.0
"""

from __future__ import annotations

import math

import torch

__all__ = ["DEFAULT_KAISER_BETA", "windowed_sinc"]

#: torchaudio's default Kaiser ``beta`` for ``sinc_interp_kaiser``.
DEFAULT_KAISER_BETA = 14.769656459379492


def windowed_sinc(crossings: torch.Tensor, lowpass_filter_width: int, method: str, beta: float | None) -> torch.Tensor:
    """``sinc(crossings)`` tapered over ``lowpass_filter_width`` zero crossings each side, zero beyond.

    ``crossings`` is the distance from the output instant in zero crossings of the sinc (float64);
    ``method`` ``"sinc_interp_hann"`` tapers with ``cos**2``, anything else with a Kaiser window of ``beta``
    (``None``: :data:`DEFAULT_KAISER_BETA`).

    Example:
        >>> import torch
        >>> windowed_sinc(torch.tensor([7.0]), 6, "sinc_interp_kaiser", None).tolist()
        [0.0]
    """
    scaled = (crossings / lowpass_filter_width).clamp(-1.0, 1.0)
    if method == "sinc_interp_hann":
        window = torch.cos(scaled * (math.pi / 2)).square()
    else:
        kaiser_beta = torch.tensor(DEFAULT_KAISER_BETA if beta is None else float(beta), dtype=torch.float64)
        window = torch.i0(kaiser_beta * (1 - scaled.square()).clamp(min=0).sqrt()) / torch.i0(kaiser_beta)
    taps = torch.sinc(crossings) * window
    return torch.where(crossings.abs() <= lowpass_filter_width, taps, torch.zeros_like(taps))
