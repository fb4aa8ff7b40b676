"""Chroma filterbanks: the energy of a spectrogram folded onto the ``n_chroma`` pitch classes of an octave.

Frequency bin ``k`` (``k * sample_rate / n_fft`` Hz) sits at ``n_chroma * log2(f / (A0))`` chroma steps,
with ``A0 = 440 * 2 ** (tuning / n_chroma) / 16`` Hz (the DC bin is placed 1.5 octaves below bin 1). Each
chroma ``c`` takes from bin ``k`` a Gaussian weight ``exp(-0.5 * (2 * d / w_k) ** 2)`` of the circular
distance ``d`` (in chroma steps, wrapped to ``[-n_chroma / 2, n_chroma / 2)``) between ``c`` and the bin's
position, ``w_k`` being the bin's width in chroma steps (at least 1). The weights of each bin are
normalised to unit ``norm`` over the chroma, then, with ``octwidth``, multiplied by a Gaussian in octaves
centred on octave ``ctroct``; ``base_c`` makes chroma 0 the pitch class C (else A). These are the
conventions of ``librosa.filters.chroma`` (and ``torchaudio.prototype.functional.chroma_filterbank``).

Example:
    >>> fb = chroma_filterbank(16000, 201)
    >>> fb.shape, bool((fb >= 0).all())
    (torch.Size([201, 12]), True)
"""

from __future__ import annotations

import math

import torch

__all__ = ["chroma_weights", "chroma_filterbank"]

_A0_HZ = 440.0 / 16  # A0 in Hz, the origin of the octave numbering


def _normalise_columns(weights: torch.Tensor, norm: float | None) -> torch.Tensor:
    """Divide each column (frequency bin) by its ``norm``-norm over the chroma; tiny columns are kept."""
    if norm is None:
        return weights
    magnitude = weights.abs()
    peak = magnitude.amax(0)
    if math.isinf(norm):
        size = peak
    else:  # (sum |x| ** p) ** (1 / p) as peak * (sum (|x| / peak) ** p) ** (1 / p): no overflow for any p
        relative = magnitude / peak.clamp(min=torch.finfo(weights.dtype).tiny)
        size = peak * relative.pow(norm).sum(0).pow(1.0 / norm)
    tiny = torch.finfo(weights.dtype).tiny
    return torch.where(size > tiny, weights / size.clamp(min=tiny), weights)


def chroma_weights(
    sample_rate: float,
    n_fft: int,
    n_chroma: int = 12,
    tuning: float = 0.0,
    ctroct: float = 5.0,
    octwidth: float | None = 2.0,
    norm: float | None = 2.0,
    base_c: bool = True,
) -> torch.Tensor:
    """Chroma weights ``(n_fft // 2 + 1, n_chroma)`` in float64 for the bins of an ``n_fft``-point spectrum.

    Equals ``librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, ...).T``.

    Example:
        >>> chroma_weights(22050, 2048).shape
        torch.Size([1025, 12])
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if n_fft < 2:
        raise ValueError(f"n_fft must be at least 2, got {n_fft}")
    if n_chroma < 1:
        raise ValueError(f"n_chroma must be positive, got {n_chroma}")
    if octwidth is not None and octwidth <= 0:
        raise ValueError(f"octwidth must be positive or None, got {octwidth}")
    if norm is not None and norm <= 0:
        raise ValueError(f"norm must be positive or None, got {norm}")
    kept = n_fft // 2 + 1
    # Bins 1 .. kept (one past the last kept one, when it exists, sets the last kept bin's width).
    count = min(n_fft - 1, kept)
    freqs = torch.arange(1, count + 1, dtype=torch.float64) * (sample_rate / n_fft)
    reference = _A0_HZ * 2.0 ** (tuning / n_chroma)
    positions = n_chroma * torch.log2(freqs / reference)
    positions = torch.cat([(positions[:1] - 1.5 * n_chroma), positions])
    widths = torch.cat([positions.diff().clamp(min=1.0), torch.ones(1, dtype=torch.float64)])
    half = float(round(n_chroma / 2))
    chroma = torch.arange(n_chroma, dtype=torch.float64).unsqueeze(1)
    distance = torch.remainder(positions - chroma + half + 10 * n_chroma, n_chroma) - half
    weights = _normalise_columns(torch.exp(-0.5 * (2 * distance / widths).square()), norm)
    if octwidth is not None:
        weights = weights * torch.exp(-0.5 * ((positions / n_chroma - ctroct) / octwidth).square())
    if base_c:
        weights = torch.roll(weights, -3 * (n_chroma // 12), dims=0)
    return weights[:, :kept].T.contiguous()


def chroma_filterbank(
    sample_rate: int,
    n_freqs: int,
    n_chroma: int = 12,
    *,
    tuning: float = 0.0,
    ctroct: float = 5.0,
    octwidth: float | None = 2.0,
    norm: float | None = 2,
    base_c: bool = True,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Chroma filterbank ``(n_freqs, n_chroma)`` for a onesided spectrogram of ``n_freqs`` bins
    (``n_fft = 2 * (n_freqs - 1)``), as ``torchaudio.prototype.functional.chroma_filterbank``.

    Multiply a spectrogram ``(..., n_freqs, time)`` by ``fb.mT`` on the left to get
    ``(..., n_chroma, time)``. ``tuning`` is in fractions of a chroma bin, ``ctroct`` and ``octwidth`` (None:
    no octave weighting) in octaves, ``norm`` the p-norm (``math.inf``: peak) of each frequency's weights.

    Example:
        >>> fb = chroma_filterbank(22050, 1025)
        >>> fb.shape, int(fb[41].argmax())  # bin 41 is 441 Hz: pitch class A (9) with base_c
        (torch.Size([1025, 12]), 9)
    """
    if n_freqs < 2:
        raise ValueError(f"n_freqs must be at least 2, got {n_freqs}")
    weights = chroma_weights(sample_rate, 2 * (n_freqs - 1), n_chroma, tuning, ctroct, octwidth, norm, base_c)
    return weights.to(dtype)
