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

__all__ = ["DEFAULT_KAISER_BETA", "empty_resampled", "resampled_length", "tapered_sinc", "windowed_sinc"]

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
    kaiser_beta = 14.769656459379492 if beta is None else float(beta)  # DEFAULT_KAISER_BETA (TorchScript)
    return tapered_sinc(crossings, lowpass_filter_width, method == "sinc_interp_hann", kaiser_beta)


def tapered_sinc(crossings: torch.Tensor, lowpass_filter_width: int, hann: bool, beta: float) -> torch.Tensor:
    """:func:`windowed_sinc` with the window chosen (``hann``, else Kaiser of ``beta``); TorchScript compiles it.

    Example:
        >>> import torch
        >>> tapered_sinc(torch.tensor([0.0]), 6, True, 0.0).tolist()
        [1.0]
    """
    scaled = (crossings / lowpass_filter_width).clamp(-1.0, 1.0)
    if hann:
        window = torch.cos(scaled * (math.pi / 2)).square()
    else:
        kaiser = torch.tensor(beta, dtype=torch.float64, device=crossings.device)
        window = torch.i0(kaiser * (1 - scaled.square()).clamp(min=0).sqrt()) / torch.i0(kaiser)
    taps = torch.sinc(crossings) * window
    return torch.where(crossings.abs() <= lowpass_filter_width, taps, torch.zeros_like(taps))


def resampled_length(length: int, orig: int, new: int) -> int:
    """``ceil(length * new / orig)``: how many samples resampling ``length`` samples gives.

    Example:
        >>> resampled_length(10, 3, 2)
        7
    """
    return (new * length + orig - 1) // orig


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
