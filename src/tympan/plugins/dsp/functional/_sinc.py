"""What both resampling paths share: the windowed sinc their low-pass filter is built from, and the
output length.

Example:
    >>> import torch
    >>> windowed_sinc(torch.tensor([0.0, 0.5, 6.0]), 6, "sinc_interp_hann", None).tolist()[0]
    1.0
"""

from __future__ import annotations

import math

import torch

__all__ = ["windowed_sinc", "resampled_length", "empty_resampled"]


def windowed_sinc(crossings: torch.Tensor, lowpass_filter_width: int, method: str, beta: float | None) -> torch.Tensor:
    """``sinc(crossings)`` tapered over ``lowpass_filter_width`` zero crossings each side, zero beyond.

    ``crossings`` is the distance from the output instant in zero crossings of the sinc (float64);
    ``method`` ``"sinc_interp_hann"`` tapers with ``cos**2``, anything else with a Kaiser window of ``beta``
    (``None``: 14.769656459379492, torchaudio's default for ``sinc_interp_kaiser``).

    Example:
        >>> import torch
        >>> windowed_sinc(torch.tensor([7.0]), 6, "sinc_interp_kaiser", None).tolist()
        [0.0]
    """
    scaled = (crossings / lowpass_filter_width).clamp(-1.0, 1.0)
    if method == "sinc_interp_hann":
        window = torch.cos(scaled * (math.pi / 2)).square()
    else:
        kaiser_beta = torch.scalar_tensor(14.769656459379492 if beta is None else float(beta), dtype=torch.float64)
        window = torch.i0(kaiser_beta * (1 - scaled.square()).clamp(min=0).sqrt()) / torch.i0(kaiser_beta)
    taps = torch.sinc(crossings) * window
    return torch.where(crossings.abs() <= lowpass_filter_width, taps, torch.zeros_like(taps))


def resampled_length(length: int, orig: int, new: int) -> int:
    """``ceil(length * new / orig)``: how many samples resampling ``length`` samples gives.

    Example:
        >>> resampled_length(10, 3, 2)
        7
    """
    return -(-new * length // orig)


def empty_resampled(waveform: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """The (all-zero, element-free) result of resampling a ``waveform`` that holds no elements.

    Example:
        >>> import torch
        >>> empty_resampled(torch.zeros(0, 30), 3, 2).shape
        torch.Size([0, 20])
    """
    size = list(waveform.shape[:-1])
    size.append(resampled_length(waveform.shape[-1], orig, new))
    return waveform.new_zeros(size)
