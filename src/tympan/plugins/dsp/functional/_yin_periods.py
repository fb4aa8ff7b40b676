"""The YIN difference function: framing, cumulative-mean-normalised difference, troughs and the period pick.

Each (centred) frame's difference function ``d(k) = 2 (r(0) - r(k)) - sum_{m<k} x[m]^2`` (``r`` the
autocorrelation, from one FFT; as in librosa nothing is subtracted at ``k = 1``) is divided by its running
mean over ``1..k``; :func:`yin_pick` takes the first local minimum below a threshold (the global minimum when
there is none), refined by parabolic interpolation. :mod:`._yin` builds ``yin`` and ``pyin`` on these.

Example:
    >>> import torch
    >>> lo, hi = check_yin_params(16000, 100.0, 1000.0, 1024)
    >>> hop = resolve_hop(1024, None)
    >>> cmnd, shifts, troughs = yin_periods(torch.randn(3, 16000), 1024, hop, lo, hi, True, "constant")
    >>> yin_pick(cmnd, shifts, troughs, lo, 0.1).shape
    torch.Size([3, 63])
"""

from __future__ import annotations

import math
import warnings

import torch

from tympan.plugins.dsp.functional._precision import working_dtype
from tympan.plugins.dsp.functional._stft import _center

__all__ = ["check_yin_params", "resolve_hop", "tiny_normal", "yin_periods", "yin_pick"]


def check_yin_params(sample_rate: float, f_min: float, f_max: float, frame_length: int) -> tuple[int, int]:
    """``(min_period, max_period)`` in samples after librosa's feasibility checks (``ValueError`` names the
    parameter); warns when fewer than two periods of ``f_min`` fit in a frame.

    Example:
        >>> check_yin_params(22050, 65.0, 2093.0, 2048)
        (10, 340)
    """
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not frame_length >= 3:
        raise ValueError(f"frame_length must be at least 3, got {frame_length}")
    if not f_min > 0:
        raise ValueError(f"f_min must be positive, got {f_min}")
    if not f_min < f_max:
        raise ValueError(f"f_min ({f_min}) must be below f_max ({f_max})")
    if f_max > sample_rate / 2:
        raise ValueError(f"f_max ({f_max}) must not exceed sample_rate / 2 ({sample_rate / 2})")
    if sample_rate / f_min >= frame_length - 1:
        period = sample_rate / f_min  # infinite when f_min is a denormal
        longer = f"frame_length >= {math.ceil(period) + 2}" if math.isfinite(period) else "a larger f_min"
        raise ValueError(
            f"f_min ({f_min}) is too low for frame_length {frame_length}: a period must fit in a frame; "
            f"use f_min > {sample_rate / (frame_length - 1):.3f} or {longer}"
        )
    if sample_rate / f_min >= frame_length // 2:
        warnings.warn(
            f"fewer than two periods of f_min ({f_min} Hz) fit in frame_length {frame_length}; "
            "the estimate may be inaccurate",
            stacklevel=3,
        )
    return math.floor(sample_rate / f_max), min(math.ceil(sample_rate / f_min), frame_length - 1)


def resolve_hop(frame_length: int, hop_length: int | None) -> int:
    """``hop_length``, or ``frame_length // 4`` when it is None; ``ValueError`` unless it is positive.

    Example:
        >>> resolve_hop(2048, None), resolve_hop(2048, 100)
        (512, 100)
    """
    hop = frame_length // 4 if hop_length is None else hop_length
    if not hop >= 1:
        raise ValueError(f"hop_length must be positive, got {hop_length}")
    return hop


def _framed(waveform: torch.Tensor, frame_length: int, hop_length: int, center: bool, pad_mode: str) -> torch.Tensor:
    """``(batch, frames, frame_length)`` from ``(..., time)``, centred with ``pad_mode`` when ``center``."""
    signals = waveform.reshape(-1, waveform.shape[-1])
    if center:
        mode = "replicate" if pad_mode == "edge" else "circular" if pad_mode == "wrap" else pad_mode
        signals = _center(signals, frame_length, mode)
    if signals.shape[-1] < frame_length:
        raise ValueError(f"the signal is shorter than frame_length ({frame_length})")
    return signals.unfold(-1, frame_length, hop_length)


def tiny_normal(dtype: torch.dtype) -> float:
    """The smallest normal number of ``dtype`` (float64 or float32), as ``numpy.finfo(dtype).tiny``.

    Example:
        >>> tiny_normal(torch.float32)
        1.1754943508222875e-38
    """
    return 2.2250738585072014e-308 if dtype == torch.float64 else 1.1754943508222875e-38


def _cmnd(frames: torch.Tensor, min_period: int, max_period: int) -> torch.Tensor:
    """The cumulative-mean-normalised difference at periods ``min_period..max_period``, ``(..., periods)``."""
    n_fft = 1
    while n_fft < 2 * frames.shape[-1] - 1:
        n_fft *= 2
    spectrum = torch.fft.rfft(frames, n=n_fft)
    acf = torch.fft.irfft(spectrum.real.square() + spectrum.imag.square(), n=n_fft)[..., : max_period + 1]
    # sum_{m<k} x[m]^2 for k >= 2; librosa subtracts nothing at k = 1, and so does this.
    energy = frames.square().cumsum(-1)[..., :max_period]
    energy = torch.cat([torch.zeros_like(energy[..., :1]), energy[..., 1:]], dim=-1)
    difference = 2 * (acf[..., :1] - acf[..., 1:]) - energy
    steps = torch.arange(1, max_period + 1, dtype=frames.dtype, device=frames.device)
    running_mean = difference.cumsum(-1) / steps
    tiny = tiny_normal(frames.dtype)
    return difference[..., min_period - 1 :] / (running_mean[..., min_period - 1 :] + tiny)


def _parabolic_shifts(x: torch.Tensor) -> torch.Tensor:
    """Offset of the parabola through each point and its neighbours (0 at the edges and when the vertex is
    more than one step away)."""
    left, mid, right = x[..., :-2], x[..., 1:-1], x[..., 2:]
    curvature = right + left - 2 * mid
    slope = (right - left) / 2
    flat = slope.abs() >= curvature.abs()
    shift = torch.where(flat, torch.zeros_like(mid), -slope / torch.where(flat, torch.ones_like(mid), curvature))
    return torch.nn.functional.pad(shift, [1, 1])


def _troughs(x: torch.Tensor) -> torch.Tensor:
    """Local minima: ``x[i] < x[i - 1]`` and ``x[i] <= x[i + 1]``; the ends compare with their one neighbour."""
    inner = (x[..., 1:-1] < x[..., :-2]) & (x[..., 1:-1] <= x[..., 2:])
    return torch.cat([x[..., :1] < x[..., 1:2], inner, x[..., -1:] < x[..., -2:-1]], dim=-1)


def yin_periods(
    waveform: torch.Tensor,
    frame_length: int,
    hop_length: int,
    min_period: int,
    max_period: int,
    center: bool,
    pad_mode: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(cmnd, shifts, troughs)``, each ``(batch, frames, periods)``, for periods ``min_period..max_period``;
    half-precision input is computed in float32.

    Example:
        >>> cmnd, shifts, troughs = yin_periods(torch.randn(2, 4096), 2048, 512, 10, 340, True, "constant")
        >>> cmnd.shape, troughs.dtype
        (torch.Size([2, 9, 331]), torch.bool)
    """
    frames = _framed(waveform.to(working_dtype(waveform.dtype)), frame_length, hop_length, center, pad_mode)
    cmnd = _cmnd(frames, min_period, max_period)
    return cmnd, _parabolic_shifts(cmnd), _troughs(cmnd)


def yin_pick(
    cmnd: torch.Tensor, shifts: torch.Tensor, troughs: torch.Tensor, min_period: int, trough_threshold: float
) -> torch.Tensor:
    """The YIN period per frame: the first trough below ``trough_threshold`` (else the global minimum), refined.

    Example:
        >>> x = torch.tensor([[[0.9, 0.5, 0.05, 0.3, 0.01, 0.2]]])
        >>> yin_pick(x, torch.zeros_like(x), _troughs(x), 10, 0.1).tolist()
        [[12.0]]
    """
    below = troughs & (cmnd < trough_threshold)
    first = below.to(torch.uint8).argmax(dim=-1)
    index = torch.where(below.any(dim=-1), first, cmnd.argmin(dim=-1))
    return min_period + index.to(cmnd.dtype) + shifts.gather(-1, index.unsqueeze(-1)).squeeze(-1)
