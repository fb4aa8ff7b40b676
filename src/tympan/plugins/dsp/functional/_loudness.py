"""Integrated loudness in LUFS after ITU-R BS.1770-4.

Each channel is K-weighted (a +4 dB high shelf above about 1.5 kHz, then a 38 Hz high-pass; both biquads
designed for the signal's rate with the audio-EQ-cookbook bilinear formulas). The mean square of 400 ms
blocks overlapping by 75 % (100 ms hop) gives block loudness ``-0.691 + 10 log10(sum_c G_c z_c)`` with
channel weights ``G = (1, 1, 1, 1.41, 1.41)`` (L, R, C, Ls, Rs). Blocks at or below -70 LUFS are dropped
(absolute gate), then those below the loudness of the rest minus 10 LU (relative gate); the result is the
loudness of the mean block powers that remain.

Example:
    >>> import torch
    >>> t = torch.arange(48000 * 2) / 48000
    >>> tone = 0.5 * torch.sin(2 * torch.pi * 1000 * t)
    >>> round(float(loudness(tone.unsqueeze(0), 48000)), 1)  # a 1 kHz sine at -6 dBFS: about -9 LUFS
    -9.1
"""

from __future__ import annotations

import functools
import math

import torch

from tympan.plugins.dsp.functional._precision import working_dtype
from tympan.plugins.dsp.functional._recurrence import apply_biquad, biquad_poles

__all__ = ["loudness", "build_k_weighting", "k_weighting", "gated_loudness", "channel_weights", "block_geometry"]


def _shelf(sample_rate: int) -> tuple[list[float], list[float]]:
    """High shelf, +4 dB above 1500 Hz, Q 1/sqrt(2): ``(b, a)`` with ``a[0] = 1``."""
    amplitude = 10.0 ** (4.0 / 40.0)
    w0 = 2 * math.pi * 1500.0 / sample_rate
    alpha = math.sin(w0) / (2 * (1 / math.sqrt(2)))
    cos, root = math.cos(w0), 2 * math.sqrt(amplitude) * alpha
    a0 = (amplitude + 1) - (amplitude - 1) * cos + root
    b = [
        amplitude * ((amplitude + 1) + (amplitude - 1) * cos + root),
        -2 * amplitude * ((amplitude - 1) + (amplitude + 1) * cos),
        amplitude * ((amplitude + 1) + (amplitude - 1) * cos - root),
    ]
    a = [a0, 2 * ((amplitude - 1) - (amplitude + 1) * cos), (amplitude + 1) - (amplitude - 1) * cos - root]
    return [v / a0 for v in b], [v / a0 for v in a]


def _high_pass(sample_rate: int) -> tuple[list[float], list[float]]:
    """Second-order high-pass at 38 Hz, Q 0.5: ``(b, a)`` with ``a[0] = 1``."""
    w0 = 2 * math.pi * 38.0 / sample_rate
    alpha = math.sin(w0) / (2 * 0.5)
    cos = math.cos(w0)
    a0 = 1 + alpha
    b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    a = [a0, -2 * cos, 1 - alpha]
    return [v / a0 for v in b], [v / a0 for v in a]


def build_k_weighting(sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The K-weighting biquads at ``sample_rate``: numerators ``(2, 3)`` float64 and poles ``(2, 2)`` complex128.

    Row 0 is the high shelf, row 1 the high-pass. ``b, a`` of a row are ``numerators[i]`` and the monic
    polynomial with roots ``poles[i]``.

    Example:
        >>> numerators, poles = k_weighting(48000)
        >>> [round(v, 4) for v in numerators[1].tolist()], bool((poles.abs() < 1).all())
        ([0.995, -1.9901, 0.995], True)
    """
    if sample_rate <= 3000:
        raise ValueError(f"K-weighting needs a sample rate above 3000 Hz, got {sample_rate}")
    shelf_b, shelf_a = _shelf(sample_rate)
    high_b, high_a = _high_pass(sample_rate)
    # (torch.scalar_tensor: TorchScript's torch.tensor would round the floats to float32)
    numerators = [torch.scalar_tensor(v, dtype=torch.float64) for v in shelf_b + high_b]
    poles = [biquad_poles(shelf_a[1], shelf_a[2]), biquad_poles(high_a[1], high_a[2])]
    return torch.stack(numerators).reshape(2, 3), torch.stack(poles)


#: :func:`build_k_weighting`, cached (TorchScript calls the builder itself).
k_weighting = functools.lru_cache(maxsize=32)(build_k_weighting)


def block_geometry(sample_rate: int) -> tuple[int, int]:
    """``(block, hop)`` in samples: 400 ms gating blocks every 100 ms.

    Example:
        >>> block_geometry(44100)
        (17640, 4410)
    """
    return math.floor(0.4 * sample_rate + 0.5), math.floor(0.1 * sample_rate + 0.5)


def gated_loudness(
    waveform: torch.Tensor, numerators: torch.Tensor, poles: torch.Tensor, block: int, hop: int
) -> torch.Tensor:
    """Gated loudness of ``(..., channels, time)`` given the K-weighting filters and block geometry, in LUFS.

    Returns ``(...)``; -70 (the absolute gate) where no block passes it.

    Example:
        >>> numerators, poles = k_weighting(16000)
        >>> gated_loudness(torch.zeros(2, 1, 16000), numerators, poles, *block_geometry(16000)).tolist()
        [-70.0, -70.0]
    """
    absolute_gate, relative_gate, offset = -70.0, -10.0, -0.691
    if waveform.dim() < 2:
        raise ValueError("loudness expects (..., channels, time)")
    x = waveform.to(working_dtype(waveform.dtype))
    weights = channel_weights(waveform.shape[-2], x.dtype, x.device)
    filtered = apply_biquad(apply_biquad(x, numerators[0], poles[0]), numerators[1], poles[1])
    # zeros after the end give time // hop + 2 blocks for any length (at least two, so that no length-dependent
    # dimension is one; none complete in a signal shorter than one block); the blocks running past the end are
    # left out of the gates, without a branch on the length
    length = filtered.shape[-1]
    padded = torch.nn.functional.pad(filtered.square(), [0, block + hop])
    power = padded.unfold(-1, block, hop).mean(-1)  # (..., channels, blocks)
    complete = torch.arange(power.shape[-1], device=x.device) * hop + block <= length
    block_power = torch.einsum("...cb,c->...b", power, weights)
    floor = 10.0 ** ((absolute_gate - offset) / 10.0)
    audible = (block_power > floor) & complete
    relative = _mean_over(block_power, audible) * 10.0 ** (relative_gate / 10.0)
    kept = audible & (block_power > relative.unsqueeze(-1))
    mean_power = _mean_over(block_power, kept)
    result = offset + 10.0 * torch.log10(mean_power.clamp(min=floor))
    return torch.where(kept.any(-1), result, torch.full_like(result, absolute_gate))


def channel_weights(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Weights of the first ``channels`` of L, R, C, Ls, Rs: ``(1, 1, 1, 1.41, 1.41)``.

    Example:
        >>> channel_weights(4, torch.float64, torch.device("cpu")).tolist()
        [1.0, 1.0, 1.0, 1.41]
    """
    weights = [1.0, 1.0, 1.0, 1.41, 1.41]
    if channels > len(weights):
        raise ValueError(f"loudness supports up to {len(weights)} channels, got {channels}")
    return torch.tensor(weights[:channels], dtype=dtype, device=device)


def _mean_over(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` holds, along the last dimension (0 where nothing does)."""
    total = torch.where(mask, values, torch.zeros_like(values)).sum(-1)
    return total / mask.sum(-1).clamp(min=1).to(values.dtype)


def loudness(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Integrated loudness of ``(..., channels, time)`` in LUFS (ITU-R BS.1770-4), one value per item.

    Up to five channels (L, R, C, Ls, Rs; surround channels weigh 1.41). Silence, and signals shorter than
    one 400 ms block, give -70 LUFS (the absolute gate). ``sample_rate`` must exceed 3000 Hz.

    Example:
        >>> noise = torch.randn(3, 2, 48000, generator=torch.Generator().manual_seed(0)) * 0.1
        >>> loudness(noise, 48000).shape
        torch.Size([3])
    """
    if torch.jit.is_scripting():
        numerators, poles = build_k_weighting(sample_rate)
    else:
        numerators, poles = k_weighting(int(sample_rate))
    block, hop = block_geometry(sample_rate)
    return gated_loudness(waveform, numerators.to(waveform.device), poles.to(waveform.device), block, hop)
