"""Frame-wise spectral descriptors and conversions: deltas, the spectral centroid and decibels back to linear.

Example:
    >>> import torch
    >>> deltas = compute_deltas(torch.arange(10.0, dtype=torch.float64).reshape(1, 10))
    >>> [round(d, 12) for d in deltas[0, 2:8].tolist()]
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._spectral import spectrogram

__all__ = ["db_to_amplitude", "DB_to_amplitude", "compute_deltas", "spectral_centroid"]


def db_to_amplitude(x: torch.Tensor, ref: float, power: float) -> torch.Tensor:
    """Decibels back to linear: ``ref * (10 ** (x / 10)) ** power``.

    ``power=1`` inverts power decibels (``librosa.db_to_power``), ``power=0.5`` amplitude decibels
    (``librosa.db_to_amplitude``).

    Example:
        >>> db_to_amplitude(torch.tensor([0.0, 20.0]), 1.0, 1.0).tolist(), db_to_amplitude(
        ...     torch.tensor([20.0]), 2.0, 0.5).tolist()
        ([1.0, 100.0], [20.0])
    """
    x_work = x.to(working_dtype(x.dtype))
    return as_dtype(ref * torch.pow(10.0, x_work * (0.1 * power)), x.dtype)


#: torchaudio's capitalisation of :func:`db_to_amplitude`, the same function.
DB_to_amplitude = db_to_amplitude


def delta_kernel(win_length: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The regression-slope kernel ``k / sum(k ** 2)`` for ``k = -n .. n``, ``n = (win_length - 1) // 2``.

    Example:
        >>> delta_kernel(5).tolist()
        [-0.20000000298023224, -0.10000000149011612, 0.0, 0.10000000149011612, 0.20000000298023224]
    """
    if win_length < 3:
        raise ValueError(f"win_length must be at least 3, got {win_length}")
    n = (win_length - 1) // 2
    offsets = torch.arange(-n, n + 1, dtype=torch.float64)
    return (offsets / offsets.square().sum()).to(dtype)


def deltas_with_kernel(specgram: torch.Tensor, kernel: torch.Tensor, mode: str) -> torch.Tensor:
    """Deltas of ``(..., time)`` with a ``delta_kernel``: one padded 1-D convolution over all rows at once.

    Example:
        >>> deltas_with_kernel(torch.zeros(2, 3, 8), delta_kernel(5), "replicate").shape
        torch.Size([2, 3, 8])
    """
    shape = specgram.shape
    rows = specgram.reshape(-1, 1, shape[-1]).to(working_dtype(specgram.dtype))
    n = kernel.shape[0] // 2
    padded = F.pad(rows, [n, n], mode=mode)
    weights = kernel.to(dtype=rows.dtype, device=rows.device).reshape(1, 1, -1)
    return as_dtype(F.conv1d(padded, weights).reshape(shape), specgram.dtype)


def compute_deltas(specgram: torch.Tensor, win_length: int = 5, mode: str = "replicate") -> torch.Tensor:
    """Delta coefficients of ``(..., freq, time)`` along time: the least-squares slope over ``win_length``
    frames, ``sum(k * c[t + k]) / sum(k ** 2)`` for ``|k| <= (win_length - 1) // 2``.

    The edges are padded with ``mode`` (``replicate``, ``constant``, ``reflect`` or ``circular``). Equals
    ``librosa.feature.delta(width=win_length, mode="nearest")`` for the default ``replicate``.

    Example:
        >>> compute_deltas(torch.tensor([[0.0, 1.0, 4.0, 9.0, 16.0]]), win_length=3).tolist()
        [[0.5, 2.0, 4.0, 6.0, 3.5]]
    """
    if mode != "replicate" and mode != "constant" and mode != "reflect" and mode != "circular":
        raise ValueError(f"mode must be replicate, constant, reflect or circular, got '{mode}'")
    return deltas_with_kernel(specgram, delta_kernel(win_length, working_dtype(specgram.dtype)), mode)


def centroid_of(magnitude: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Centroid in Hz of each frame of a onesided magnitude spectrogram ``(..., freq, frames)``.

    A silent frame has centroid 0 (its total magnitude is clamped away from zero).

    Example:
        >>> centroid_of(torch.tensor([[0.0], [1.0], [1.0]]), 8.0).tolist()
        [3.0]
    """
    freqs = torch.linspace(0.0, sample_rate / 2.0, magnitude.shape[-2], dtype=magnitude.dtype, device=magnitude.device)
    total = magnitude.sum(dim=-2).clamp(min=1e-30)
    return torch.matmul(magnitude.transpose(-1, -2), freqs) / total


def spectral_centroid(
    waveform: torch.Tensor,
    sample_rate: int,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
) -> torch.Tensor:
    """Spectral centroid in Hz of ``(..., time)``: ``(..., frames)``, the magnitude-weighted mean frequency.

    The magnitude spectrogram is centred with reflect padding. Equals
    ``librosa.feature.spectral_centroid(pad_mode="reflect")``; silent frames give 0.

    Example:
        >>> x = torch.sin(torch.arange(8000) * (2 * torch.pi * 1000 / 8000))
        >>> c = spectral_centroid(x, 8000, 0, torch.hann_window(256), 256, 128, 256)
        >>> c.shape, round(float(c[10]))
        (torch.Size([63]), 1000)
    """
    magnitude = spectrogram(
        waveform.to(working_dtype(waveform.dtype)), pad, window, n_fft, hop_length, win_length, 1.0, False
    )
    return as_dtype(centroid_of(magnitude, float(sample_rate)), waveform.dtype)
