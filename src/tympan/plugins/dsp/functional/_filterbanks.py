"""Mel filterbanks and the DCT matrix, built in float64 and returned in the requested dtype.

Example:
    >>> fb = melscale_fbanks(201, 0.0, 8000.0, 40, 16000)
    >>> fb.shape, create_dct(13, 40, "ortho").shape
    (torch.Size([201, 40]), torch.Size([40, 13]))
"""

from __future__ import annotations

import math
import warnings

import torch

__all__ = ["melscale_fbanks", "create_dct", "hz_to_mel", "mel_to_hz", "triangular_filters"]

# The Slaney scale is linear below 1 kHz (200 / 3 Hz per mel, so 1 kHz is mel 15) and logarithmic above it
# (log(6.4) / 27 log-Hz per mel). The numbers are written where they are used: TorchScript compiles these
# functions and reads no module constants.


def hz_to_mel(freq: torch.Tensor, mel_scale: str = "htk") -> torch.Tensor:
    """Frequencies in Hz to mels on the ``"htk"`` (O'Shaughnessy) or ``"slaney"`` (Auditory Toolbox) scale.

    Example:
        >>> hz_to_mel(torch.tensor([0.0, 1000.0]), "slaney").tolist()
        [0.0, 15.0]
    """
    if mel_scale == "htk":
        return 2595.0 * torch.log10(1.0 + freq / 700.0)
    linear = freq * (3.0 / 200.0)
    logarithmic = 15.0 + torch.log(freq.clamp(min=1000.0) / 1000.0) * (27.0 / math.log(6.4))
    return torch.where(freq >= 1000.0, logarithmic, linear)


def mel_to_hz(mels: torch.Tensor, mel_scale: str = "htk") -> torch.Tensor:
    """Mels back to Hz; the inverse of :func:`hz_to_mel`.

    Example:
        >>> round(mel_to_hz(hz_to_mel(torch.tensor([440.0], dtype=torch.float64))).item(), 6)
        440.0
    """
    if mel_scale == "htk":
        return 700.0 * (torch.pow(10.0, mels / 2595.0) - 1.0)
    linear = mels * (200.0 / 3.0)
    logarithmic = 1000.0 * torch.exp((math.log(6.4) / 27.0) * (mels - 15.0))
    return torch.where(mels >= 15.0, logarithmic, linear)


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
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Triangular mel filters, ``(n_freqs, n_mels)``, for a onesided spectrogram of ``n_freqs`` bins.

    The filters' edges are ``n_mels + 2`` points evenly spaced in mels between ``f_min`` and ``f_max``;
    ``norm="slaney"`` scales each triangle to unit area (constant energy per band). The bins are
    ``linspace(0, sample_rate / 2, n_freqs)``. Multiply a spectrogram ``(..., n_freqs, time)`` by
    ``fb.mT`` on the left to get ``(..., n_mels, time)``. As torchaudio and librosa, ``f_min > f_max`` is
    allowed (the triangles are then built on the reversed edges, and most are zero); a filter that weights no
    bin at all raises a ``UserWarning``.

    Example:
        >>> fb = melscale_fbanks(5, 0.0, 4000.0, 2, 8000)
        >>> fb.shape, bool((fb >= 0).all())
        (torch.Size([5, 2]), True)
    """
    if norm is not None and norm != "slaney":
        raise ValueError(f"norm must be None or 'slaney', got '{norm}'")
    if mel_scale != "htk" and mel_scale != "slaney":
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got '{mel_scale}'")
    bins = torch.linspace(0.0, sample_rate / 2.0, n_freqs, dtype=torch.float64)
    mel_edges = torch.linspace(
        hz_to_mel(torch.scalar_tensor(float(f_min), dtype=torch.float64), mel_scale).item(),
        hz_to_mel(torch.scalar_tensor(float(f_max), dtype=torch.float64), mel_scale).item(),
        n_mels + 2,
        dtype=torch.float64,
    )
    edges = mel_to_hz(mel_edges, mel_scale)
    fb = triangular_filters(bins, edges)
    if norm is not None and norm == "slaney":
        fb = fb * (2.0 / (edges[2:] - edges[:-2]))
    if bool((fb.amax(0) == 0.0).any()):
        warnings.warn(
            f"At least one mel filter is all zero: n_mels ({n_mels}) may be too high for n_freqs ({n_freqs}), "
            f"or the band from f_min ({f_min}) to f_max ({f_max}) too narrow.",
            stacklevel=2,
        )
    return fb.to(dtype)


def create_dct(n_mfcc: int, n_mels: int, norm: str | None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """DCT-II matrix ``(n_mels, n_mfcc)``: ``x @ dct`` transforms the last dimension of ``x``.

    ``norm="ortho"`` gives the orthonormal DCT (as ``scipy.fft.dct(norm="ortho")``); ``None`` gives the
    unnormalised ``2 * sum(x[n] * cos(pi * k * (2n + 1) / (2 * n_mels)))``.

    Example:
        >>> dct = create_dct(4, 4, "ortho", dtype=torch.float64)
        >>> torch.allclose(dct.T @ dct, torch.eye(4, dtype=torch.float64))
        True
    """
    if norm is not None and norm != "ortho":
        raise ValueError(f"norm must be None or 'ortho', got '{norm}'")
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)  # (n_mfcc, n_mels)
    if norm is None:
        dct = dct * 2.0
    else:
        first = torch.arange(n_mfcc).unsqueeze(1) == 0
        dct = torch.where(first, dct * math.sqrt(1.0 / n_mels), dct * math.sqrt(2.0 / n_mels))
    return dct.T.contiguous().to(dtype)
