"""Linear convolution of signals along the last dimension, direct or by FFT, and speed change by resampling.

The operands have the same number of dimensions and their leading dimensions broadcast (a ``ValueError``
otherwise, as torchaudio). ``mode`` crops the full result as ``scipy.signal.convolve`` does: ``"full"``
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

from tympan.core.errors import InvalidInputError
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._resample import resample

__all__ = ["convolve", "fftconvolve", "speed", "MODES"]

MODES = ("full", "valid", "same")


def _check_mode(mode: str) -> None:
    if mode != "full" and mode != "valid" and mode != "same":
        raise ValueError(f"Unrecognized mode value {mode}: expected one of full, valid, same")


def _crop(full: torch.Tensor, x_length: int, y_length: int, mode: str) -> torch.Tensor:
    """The part of the full convolution ``mode`` keeps, centred as scipy centres it."""
    if mode == "full":
        return full
    target = max(x_length, y_length) - min(x_length, y_length) + 1 if mode == "valid" else x_length
    start = (full.shape[-1] - target) // 2
    return full[..., start : start + target]


def _broadcast(function: str, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """``x`` and ``y`` with their leading dimensions broadcast, and those dimensions; ``ValueError`` when the
    operands differ in rank or their leading dimensions do not broadcast."""
    if x.dim() != y.dim():
        raise InvalidInputError(
            function, [f"x, y: The operands must be the same dimension (got {x.dim()} and {y.dim()} dimensions)"]
        )
    batch: list[int] = []
    for dim in range(x.dim() - 1):
        x_size, y_size = x.shape[dim], y.shape[dim]
        if x_size != y_size and x_size != 1 and y_size != 1:
            raise InvalidInputError(
                function,
                [f"x, y: Leading dimensions of x and y are not broadcastable ({list(x.shape)} and {list(y.shape)})"],
            )
        batch.append(max(x_size, y_size))
    x_shape, y_shape = list(batch), list(batch)
    x_shape.append(x.shape[-1])
    y_shape.append(y.shape[-1])
    return x.expand(x_shape), y.expand(y_shape), batch


def convolve(x: torch.Tensor, y: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Direct linear convolution of ``(..., N)`` and ``(..., M)``, as ``torchaudio.functional.convolve``.

    Computed as one grouped ``conv1d`` (half-precision input in float32: some CPUs' half-precision grouped
    convolutions are far slower than the float32 one); prefer :func:`fftconvolve` when both signals are long.

    Example:
        >>> convolve(torch.ones(2, 4), torch.tensor([[1.0, -1.0]]), mode="valid").tolist()
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    _check_mode(mode)
    x_length, y_length = x.shape[-1], y.shape[-1]
    x, y, batch = _broadcast("convolve", x, y)
    signal, kernel = (x, y) if x_length >= y_length else (y, x)
    work = working_dtype(signal.dtype)
    signals = signal.reshape(1, -1, signal.shape[-1]).to(work)
    kernels = kernel.reshape(-1, 1, kernel.shape[-1]).flip(-1).to(work)
    full = torch.nn.functional.conv1d(signals, kernels, padding=kernels.shape[-1] - 1, groups=kernels.shape[0])
    batch.append(x_length + y_length - 1)
    return as_dtype(_crop(full.reshape(batch), x_length, y_length, mode), signal.dtype)


def fftconvolve(x: torch.Tensor, y: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Linear convolution of ``(..., N)`` and ``(..., M)`` by real FFTs of ``N + M - 1`` points, as
    ``torchaudio.functional.fftconvolve``.

    Example:
        >>> fftconvolve(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 1.0, 1.0])).round().tolist()
        [1.0, 3.0, 3.0, 2.0]
    """
    _check_mode(mode)
    x_length, y_length = x.shape[-1], y.shape[-1]
    _broadcast("fftconvolve", x, y)  # checks only: the spectra broadcast as they are multiplied
    n = x_length + y_length - 1
    work = working_dtype(x.dtype)
    spectrum = torch.fft.rfft(x.to(work), n=n) * torch.fft.rfft(y.to(work), n=n)
    return as_dtype(_crop(torch.fft.irfft(spectrum, n=n), x_length, y_length, mode), x.dtype)


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
    if lengths is None:
        return resample(waveform, source, target), None
    return resample(waveform, source, target), torch.ceil(lengths * target / source).to(lengths.dtype)
