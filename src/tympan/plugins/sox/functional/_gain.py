"""SoX's gain stage: a fixed gain, normalisation to full scale, channel equalisation and balance, headroom
reclaiming, and the simple limiter, computed per signal (the leading dimensions are signals, the last two
channels and time). TorchScript-able.

SoX works on 32-bit integers, whose range is ``[-1, 1 - 2**-31]`` here: a positive peak can reach only
``1 - 2**-31``, so normalising divides a positive peak into that and a negative one into 1, and the
output is clipped to ``[-1, 1]``.

Example:
    >>> import torch
    >>> x = torch.tensor([[[0.25, -0.5]]], dtype=torch.float64)
    >>> apply_gain(x, 1.0, normalize=True, equalize=False, balance=0, reclaim=-1.0, limiter=False).tolist()
    [[[0.5, -1.0]]]
"""

from __future__ import annotations

import torch

__all__ = ["apply_gain", "channel_peaks", "limit", "full_scale_gain", "FULL_SCALE"]

#: The largest positive sample SoX holds, relative to full scale (TorchScript reads no globals: the
#: functions below write it out).
FULL_SCALE = 1.0 - 2.0**-31


def channel_peaks(waveform: torch.Tensor) -> torch.Tensor:
    """Each channel's peak relative to SoX's full scale (a positive peak against ``1 - 2**-31``).

    Example:
        >>> channel_peaks(torch.tensor([[0.5, -0.25], [0.0, -1.0]], dtype=torch.float64)).tolist()
        [[0.5000000002328306], [1.0]]
    """
    top = waveform.amax(dim=-1, keepdim=True).clamp(min=2.0**-31) / (1.0 - 2.0**-31)
    return torch.maximum(top, -waveform.amin(-1, True))


def full_scale_gain(waveform: torch.Tensor, dims: list[int]) -> torch.Tensor:
    """The gain that brings the peak of ``waveform`` over ``dims`` (kept) to full scale, as SoX computes it.

    Example:
        >>> full_scale_gain(torch.tensor([[0.5, -0.25]]), [-1]).tolist()
        [[2.0]]
    """
    top = waveform.amax(dim=dims, keepdim=True).clamp(min=2.0**-31)
    bottom = waveform.amin(dim=dims, keepdim=True).clamp(max=-(2.0**-31))
    return torch.minimum((1.0 - 2.0**-31) / top, -1.0 / bottom)


def limit(scaled: torch.Tensor, fixed_gain: float) -> torch.Tensor:
    """SoX's simple limiter on ``scaled`` (the input times its gain): ``y = d / (1 + |d| (1 - 1/g))`` for a
    gain ``g > 1``, so that full scale in stays full scale out.

    Example:
        >>> limit(torch.tensor([2.0, -2.0, 0.0]), 2.0).tolist()
        [1.0, -1.0, 0.0]
    """
    knee = (1.0 - 1.0 / fixed_gain) / (1.0 - 2.0**-31)
    return scaled / (1.0 + scaled.abs() * knee)


def apply_gain(
    waveform: torch.Tensor,
    fixed_gain: float,
    normalize: bool,
    equalize: bool,
    balance: int,
    reclaim: float,
    limiter: bool,
) -> torch.Tensor:
    """SoX ``gain`` on ``(..., channels, time)``: ``fixed_gain`` (linear) after the scan-based adjustments.

    ``normalize`` brings each signal's peak to full scale (each channel's, with ``equalize``); ``equalize``
    alone brings every channel's peak to the loudest channel's; ``balance`` 1 (SoX ``-B``) or 2 (``-b``,
    with clip protection) brings every channel's RMS to the loudest channel's; ``reclaim`` > 0 (``-r``)
    amplifies by that much at most, without clipping. ``limiter`` applies :func:`limit`.

    Example:
        >>> x = torch.tensor([[0.5, 0.0], [0.25, 0.0]])
        >>> apply_gain(x, 1.0, False, True, 0, -1.0, False).tolist()
        [[0.5, 0.0], [0.5, 0.0]]
    """
    x = waveform
    mult = torch.full([1] * x.dim(), fixed_gain, dtype=x.dtype, device=x.device)
    if balance > 0:
        rms = x.square().mean(dim=-1, keepdim=True).sqrt()
        loudest = rms.amax(dim=-2, keepdim=True)
        ratio = torch.where(rms != 0, loudest / rms, torch.ones_like(rms))
        channel_peak = channel_peaks(x)
        peak = (ratio * channel_peak).amax(dim=-2, keepdim=True)
        mult = ratio * fixed_gain
        if normalize:
            mult = mult / peak
        elif balance == 2:
            mult = mult / peak.clamp(min=1.0)
    elif equalize and not normalize:
        channel_peak = channel_peaks(x)
        mult = fixed_gain / channel_peak * channel_peak.amax(dim=-2, keepdim=True)
    elif normalize or reclaim > 0:
        available = full_scale_gain(x, [-1] if equalize else [-2, -1])
        if reclaim > 0:
            available = available.clamp(max=reclaim)
        mult = available * fixed_gain
    scaled = x * mult
    if limiter:
        return limit(scaled, fixed_gain)
    return scaled.clamp(-1.0, 1.0)
