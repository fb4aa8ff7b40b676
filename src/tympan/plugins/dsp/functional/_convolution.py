"""Linear convolution of signals along the last dimension, direct or by FFT, and speed change by resampling.

Leading dimensions broadcast. ``mode`` crops the full result as ``scipy.signal.convolve`` does: ``"full"``
keeps all ``N + M - 1`` samples, ``"valid"`` the ``max(N, M) - min(N, M) + 1`` where the signals overlap
completely, ``"same"`` the ``N`` samples centred on the full result.

Example:
    >>> import torch
    >>> x, y = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0, 0.5])
    >>> convolve(x, y).tolist(), fftconvolve(x, y, mode="same").tolist()
    ([0.0, 1.0, 2.5, 4.0, 1.5], [1.0, 2.5, 4.0])
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.dsp.functional._resample import resample

__all__ = ["convolve", "fftconvolve", "speed", "MODES"]

MODES = ("full", "valid", "same")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def _crop(full: torch.Tensor, x_length: int, y_length: int, mode: str) -> torch.Tensor:
    """The part of the full convolution ``mode`` keeps, centred as scipy centres it."""
    if mode == "full":
        return full
    target = max(x_length, y_length) - min(x_length, y_length) + 1 if mode == "valid" else x_length
    start = (full.shape[-1] - target) // 2
    return full[..., start : start + target]


def _broadcast(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """``x`` and ``y`` with broadcast leading dimensions, and those dimensions."""
    batch = list(torch.broadcast_shapes(x.shape[:-1], y.shape[:-1]))
    return x.expand([*batch, x.shape[-1]]), y.expand([*batch, y.shape[-1]]), batch


def convolve(x: torch.Tensor, y: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Direct linear convolution of ``(..., N)`` and ``(..., M)`` (leading dimensions broadcast).

    Computed as one grouped ``conv1d``; prefer :func:`fftconvolve` when both signals are long.

    Example:
        >>> convolve(torch.ones(2, 4), torch.tensor([1.0, -1.0]), mode="valid").tolist()
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    _check_mode(mode)
    x_length, y_length = x.shape[-1], y.shape[-1]
    x, y, batch = _broadcast(x, y)
    signal, kernel = (x, y) if x_length >= y_length else (y, x)
    signals = signal.reshape(1, -1, signal.shape[-1])
    kernels = kernel.reshape(-1, 1, kernel.shape[-1]).flip(-1)
    full = torch.nn.functional.conv1d(signals, kernels, padding=kernels.shape[-1] - 1, groups=kernels.shape[0])
    return _crop(full.reshape([*batch, x_length + y_length - 1]), x_length, y_length, mode)


def fftconvolve(x: torch.Tensor, y: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Linear convolution of ``(..., N)`` and ``(..., M)`` by real FFTs of ``N + M - 1`` points.

    Example:
        >>> fftconvolve(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 1.0, 1.0])).round().tolist()
        [1.0, 3.0, 3.0, 2.0]
    """
    _check_mode(mode)
    x_length, y_length = x.shape[-1], y.shape[-1]
    n = x_length + y_length - 1
    spectrum = torch.fft.rfft(x, n=n) * torch.fft.rfft(y, n=n)
    return _crop(torch.fft.irfft(spectrum, n=n), x_length, y_length, mode)


def speed_ratio(orig_freq: int, factor: float) -> tuple[int, int]:
    """``(source, target)`` rates, reduced: resampling ``source -> target`` plays ``factor`` times faster.

    Example:
        >>> speed_ratio(16000, 1.1)
        (11, 10)
    """
    source, target = int(factor * orig_freq), int(orig_freq)
    if source <= 0:
        raise ValueError(f"factor * orig_freq must be at least 1, got {factor} * {orig_freq}")
    common = math.gcd(source, target)
    return source // common, target // common


def speed(
    waveform: torch.Tensor, orig_freq: int, factor: float, lengths: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Play ``(..., time)`` ``factor`` times faster at the same rate ``orig_freq`` (pitch moves with it).

    Resamples from ``int(factor * orig_freq)`` to ``orig_freq`` Hz, so ``ceil(time / factor)`` samples
    (after reducing the ratio) come out; ``lengths``, the valid samples of each signal, are mapped the
    same way and returned beside the waveform (None when not given).

    Example:
        >>> y, n = speed(torch.randn(2, 16000), 16000, 2.0, torch.tensor([16000, 9999]))
        >>> y.shape, n.tolist()
        (torch.Size([2, 8000]), [8000, 5000])
    """
    source, target = speed_ratio(orig_freq, factor)
    out_lengths = None
    if lengths is not None:
        out_lengths = torch.ceil(lengths * target / source).to(lengths.dtype)
    return resample(waveform, source, target), out_lengths
