"""Mel filterbanks and the DCT matrix, built in float64 and returned in the requested dtype.

Example:
    >>> fb = melscale_fbanks(201, 0.0, 8000.0, 40, 16000)
    >>> fb.shape, create_dct(13, 40, "ortho").shape
    (torch.Size([201, 40]), torch.Size([40, 13]))
"""

from __future__ import annotations

import math

import torch

__all__ = ["melscale_fbanks", "create_dct", "hz_to_mel", "mel_to_hz", "triangular_filters"]

_SLANEY_LINEAR_STEP = 200.0 / 3.0  # Hz per mel below 1 kHz
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_LINEAR_STEP
_SLANEY_LOG_STEP = math.log(6.4) / 27.0  # log-Hz per mel above 1 kHz


def hz_to_mel(freq: torch.Tensor, mel_scale: str = "htk") -> torch.Tensor:
    """Frequencies in Hz to mels on the ``"htk"`` (O'Shaughnessy) or ``"slaney"`` (Auditory Toolbox) scale.

    Example:
        >>> hz_to_mel(torch.tensor([0.0, 1000.0]), "slaney").tolist()
        [0.0, 15.0]
    """
    if mel_scale == "htk":
        return 2595.0 * torch.log10(1.0 + freq / 700.0)
    linear = freq / _SLANEY_LINEAR_STEP
    logarithmic = _SLANEY_BREAK_MEL + torch.log(freq.clamp(min=_SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    return torch.where(freq >= _SLANEY_BREAK_HZ, logarithmic, linear)


def mel_to_hz(mels: torch.Tensor, mel_scale: str = "htk") -> torch.Tensor:
    """Mels back to Hz; the inverse of :func:`hz_to_mel`.

    Example:
        >>> round(mel_to_hz(hz_to_mel(torch.tensor([440.0], dtype=torch.float64))).item(), 6)
        440.0
    """
    if mel_scale == "htk":
        return 700.0 * (torch.pow(10.0, mels / 2595.0) - 1.0)
    linear = mels * _SLANEY_LINEAR_STEP
    logarithmic = _SLANEY_BREAK_HZ * torch.exp(_SLANEY_LOG_STEP * (mels - _SLANEY_BREAK_MEL))
    return torch.where(mels >= _SLANEY_BREAK_MEL, logarithmic, linear)


def _check_choice(name: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def triangular_filters(bins: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Triangles ``(len(bins), len(edges) - 2)`` rising from ``edges[j]`` to 1 at ``edges[j + 1]`` and falling
    to 0 at ``edges[j + 2]``, sampled at the frequencies ``bins``.

    Example:
        >>> points = torch.tensor([0.0, 1.0, 2.0, 3.0])
        >>> torch.equal(triangular_filters(points, points).T, torch.tensor([[0.0, 1, 0, 0], [0, 0, 1, 0]]))
        True
    """
    widths = edges.diff()
    offsets = edges.unsqueeze(0) - bins.unsqueeze(1)  # (n_freqs, n_filters + 2)
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Triangular mel filters, ``(n_freqs, n_mels)``, for a onesided spectrogram of ``n_freqs`` bins.

    The filters' edges are ``n_mels + 2`` points evenly spaced in mels between ``f_min`` and ``f_max``;
    ``norm="slaney"`` scales each triangle to unit area (constant energy per band). The bins are
    ``linspace(0, sample_rate / 2, n_freqs)``. Multiply a spectrogram ``(..., n_freqs, time)`` by
    ``fb.mT`` on the left to get ``(..., n_mels, time)``.

    Example:
        >>> fb = melscale_fbanks(5, 0.0, 4000.0, 2, 8000)
        >>> fb.shape, bool((fb >= 0).all())
        (torch.Size([5, 2]), True)
    """
    _check_choice("norm", norm, (None, "slaney"))
    _check_choice("mel_scale", mel_scale, ("htk", "slaney"))
    if not 0.0 <= f_min < f_max:
        raise ValueError(f"need 0 <= f_min < f_max, got f_min={f_min}, f_max={f_max}")
    bins = torch.linspace(0.0, sample_rate / 2.0, n_freqs, dtype=torch.float64)
    mel_edges = torch.linspace(
        hz_to_mel(torch.tensor(float(f_min), dtype=torch.float64), mel_scale).item(),
        hz_to_mel(torch.tensor(float(f_max), dtype=torch.float64), mel_scale).item(),
        n_mels + 2,
        dtype=torch.float64,
    )
    edges = mel_to_hz(mel_edges, mel_scale)
    fb = triangular_filters(bins, edges)
    if norm == "slaney":
        fb = fb * (2.0 / (edges[2:] - edges[:-2]))
    return fb.to(dtype)


def create_dct(n_mfcc: int, n_mels: int, norm: str | None, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """DCT-II matrix ``(n_mels, n_mfcc)``: ``x @ dct`` transforms the last dimension of ``x``.

    ``norm="ortho"`` gives the orthonormal DCT (as ``scipy.fft.dct(norm="ortho")``); ``None`` gives the
    unnormalised ``2 * sum(x[n] * cos(pi * k * (2n + 1) / (2 * n_mels)))``.

    Example:
        >>> dct = create_dct(4, 4, "ortho", dtype=torch.float64)
        >>> torch.allclose(dct.T @ dct, torch.eye(4, dtype=torch.float64))
        True
    """
    _check_choice("norm", norm, (None, "ortho"))
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)  # (n_mfcc, n_mels)
    if norm is None:
        dct = dct * 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct = dct * math.sqrt(2.0 / n_mels)
    return dct.T.contiguous().to(dtype)
