"""Waveforms back from spectra: the inverse STFT by weighted overlap-add, and Griffin-Lim phase recovery.

The inverse transforms every frame at once, windows it and overlap-adds with ``fold``, then divides by the
summed squared window wherever that sum is not negligible (so ``center=False`` edges, where a Hann window's
envelope is zero, stay finite). A window scaled by ``c`` scales the result by ``1 / c``, so passing the
analysis window with its normalisation folded in (as :func:`frame_window` returns it) undoes that
normalisation exactly.

Example:
    >>> import torch
    >>> x = torch.randn(2, 4000, dtype=torch.float64)
    >>> window = torch.hann_window(400, dtype=torch.float64)
    >>> spec = torch.stft(x, 400, 100, 400, window, return_complex=True)
    >>> torch.allclose(inverse_spectrogram(spec, 4000, 0, window, 400, 100, 400, False), x)
    True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._spectral import normalization_flags
from tympan.plugins.dsp.functional._stft import frame_window, stft_features

__all__ = ["inverse_spectrogram", "griffinlim"]


def overlap_add_istft(
    spectrum: torch.Tensor,
    framed_window: torch.Tensor,
    hop_length: int,
    center: bool,
    length: int | None,
    onesided: bool,
) -> torch.Tensor:
    """``(..., bins, frames)`` complex to ``(..., time)`` real: the least-squares inverse of the STFT.

    ``framed_window`` has ``n_fft`` samples; ``center`` drops the ``n_fft // 2`` samples the analysis padded
    at each end; ``length`` trims or zero-pads the result to that many samples.

    Example:
        >>> x = torch.randn(3, 1000, dtype=torch.float64)
        >>> w = torch.hann_window(256, dtype=torch.float64)
        >>> spec = stft_features(x, w, 64, 0, None, True, "reflect", True, None)
        >>> torch.allclose(overlap_add_istft(spec, w, 64, True, 1000, True), x)
        True
    """
    n_fft = framed_window.shape[0]
    expected_bins = n_fft // 2 + 1 if onesided else n_fft
    if not spectrum.is_complex() or spectrum.dim() < 2 or spectrum.shape[-2] != expected_bins:
        raise ValueError(
            f"expected a complex spectrum (..., {expected_bins}, frames) for n_fft = {n_fft}, "
            f"got {spectrum.dtype} {list(spectrum.shape)}"
        )
    shape = spectrum.shape
    frames = spectrum.reshape(-1, shape[-2], shape[-1]).to(working_dtype(spectrum.dtype)).mT  # (signals, frames, bins)
    segments = torch.fft.irfft(frames, n=n_fft) if onesided else torch.fft.ifft(frames, n=n_fft).real
    window = framed_window.to(dtype=segments.dtype, device=segments.device)
    n_frames = shape[-1]
    total = n_fft + hop_length * (n_frames - 1)
    summed = F.fold(
        (segments * window).mT, output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop_length)
    ).flatten(1)
    squares = window.square().unsqueeze(1).expand(n_fft, n_frames).unsqueeze(0)
    envelope = F.fold(squares, output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop_length)).flatten()
    floor = 1e-30  # samples no window covers (summed squared window at most this) are left undivided
    signals = torch.where(envelope > floor, summed / envelope.clamp(min=floor), summed)
    start = n_fft // 2 if center else 0
    if length is not None:
        # zero-padded by ``length`` whatever the sizes, then cut: one form that export can trace
        signals = F.pad(signals, [0, length])[:, start : start + length]
    elif center:
        signals = signals[:, start : total - n_fft // 2]
    return signals.reshape(shape[:-2] + signals.shape[-1:])


def inverse_spectrogram(
    spectrogram: torch.Tensor,
    length: int | None,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
) -> torch.Tensor:
    """Waveform ``(..., time)`` of a complex spectrogram ``(..., freq, frames)``; inverts :func:`spectrogram`.

    ``normalized`` must match the forward transform's and is undone. ``pad`` samples are removed from both
    ends; ``length`` is the length before that padding was added (the original signal's length). ``pad_mode``
    is accepted for symmetry with :func:`spectrogram` and unused. Equals ``librosa.istft`` for the same
    options.

    Example:
        >>> x = torch.randn(2, 3000, dtype=torch.float64)
        >>> w = torch.hann_window(512, dtype=torch.float64)
        >>> from tympan.plugins.dsp.functional import spectrogram
        >>> spec = spectrogram(x, 0, w, 512, 128, 512, None, True)
        >>> torch.allclose(inverse_spectrogram(spec, 3000, 0, w, 512, 128, 512, True), x)
        True
    """
    framed = frame_window(window, n_fft, win_length, *normalization_flags(normalized))
    full = length + 2 * pad if length is not None else None
    waveform = overlap_add_istft(spectrogram, framed, hop_length, center, full, onesided)
    if pad > 0:
        waveform = waveform[..., pad : waveform.shape[-1] - pad]
    return waveform


def spectrogram_magnitude(specgram: torch.Tensor, power: float) -> torch.Tensor:
    """``specgram ** (1 / power)``, the magnitude of a power (or magnitude) spectrogram, with a zero gradient
    at silent bins (a root's derivative is infinite at 0).

    Example:
        >>> x = torch.tensor([0.0, 4.0], requires_grad=True)
        >>> y = spectrogram_magnitude(x, 2.0)
        >>> y.sum().backward()
        >>> [round(v, 6) for v in y.tolist()], x.grad.tolist()
        ([0.0, 2.0], [0.0, 0.25])
    """
    if power == 1.0:
        return specgram
    return specgram.clamp(min=1e-30).pow(1.0 / power)


def griffinlim_core(
    magnitude: torch.Tensor,
    angles: torch.Tensor,
    framed_window: torch.Tensor,
    hop_length: int,
    n_iter: int,
    momentum: float,
    length: int | None,
) -> torch.Tensor:
    """Fast Griffin-Lim from a magnitude ``(..., freq, frames)`` and initial unit phases ``angles``.

    Each iteration inverts the current estimate, re-analyses it (centred, reflect padding) and keeps only the
    phase; ``momentum`` extrapolates from the previous re-analysis (Perraudin et al., 2013).

    Example:
        >>> w = torch.hann_window(64, dtype=torch.float64)
        >>> mag = torch.rand(33, 20, dtype=torch.float64)
        >>> griffinlim_core(mag, torch.ones_like(mag, dtype=torch.complex128), w, 16, 4, 0.99, None).shape
        torch.Size([304])
    """
    previous = torch.zeros_like(angles)
    rebuilt = angles
    for _ in range(n_iter):
        estimate = overlap_add_istft(magnitude * angles, framed_window, hop_length, True, length, True)
        rebuilt = stft_features(estimate, framed_window, hop_length, 0, None, True, "reflect", True, None)
        if rebuilt.shape != magnitude.shape:
            raise ValueError(
                f"length {length} gives {rebuilt.shape[-1]} frames on re-analysis, the spectrogram has "
                f"{magnitude.shape[-1]}"
            )
        angles = rebuilt - previous * (momentum / (1.0 + momentum)) if momentum > 0.0 else rebuilt
        angles = angles / (angles.abs() + 1e-16)  # the offset keeps silent bins finite
        previous = rebuilt
    return overlap_add_istft(magnitude * angles, framed_window, hop_length, True, length, True)


def griffinlim(
    specgram: torch.Tensor,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    n_iter: int,
    momentum: float,
    length: int | None,
    rand_init: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Waveform ``(..., time)`` whose spectrogram approximates ``specgram`` ``(..., freq, frames)``, a
    (power) magnitude spectrogram ``|STFT| ** power``.

    The phase starts at zero, or uniformly random (drawn from ``generator``) when ``rand_init``, and is
    refined for ``n_iter`` iterations of fast Griffin-Lim with ``momentum`` in ``[0, 1)``. With
    ``rand_init=False`` this equals ``librosa.griffinlim(S, init=None, pad_mode="reflect")``.

    Example:
        >>> x = torch.sin(torch.arange(4000) * 0.3)
        >>> w = torch.hann_window(256)
        >>> spec = torch.stft(x, 256, 64, 256, w, return_complex=True).abs().square()
        >>> griffinlim(spec, w, 256, 64, 256, 2.0, 16, 0.99, 4000, False).shape
        torch.Size([4000])
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if n_iter < 0:
        raise ValueError(f"n_iter must not be negative, got {n_iter}")
    dtype = working_dtype(specgram.dtype)
    magnitude = spectrogram_magnitude(specgram.to(dtype), power)
    if rand_init:
        turns = torch.rand(magnitude.shape, generator=generator, dtype=dtype, device=magnitude.device)
    else:
        turns = torch.zeros_like(magnitude)
    angles = torch.polar(torch.ones_like(turns), turns * (2.0 * math.pi))
    framed = frame_window(window.to(dtype), n_fft, win_length, False, False)
    waveform = griffinlim_core(magnitude, angles, framed, hop_length, n_iter, momentum, length)
    return as_dtype(waveform, specgram.dtype)
