"""Pitch detection by normalised cross-correlation, as ``torchaudio.functional.detect_pitch_frequency``.

The signal is cut into frames of ``ceil(sample_rate * frame_time)`` samples. For every lag from 1 to
``ceil(sample_rate / freq_low)`` the frame is correlated with the signal that many samples later, and the
correlation divided by the product of the two segments' energies (torchaudio's normalisation). The best
lag is the highest peak at or above ``ceil(sample_rate / freq_high)``, except that a peak in the first half
of the lag range within 1 % of it wins (which guards against picking a multiple of the period). The lags
are median-filtered over ``win_length`` frames and turned into frequencies ``sample_rate / lag``.

All lags of all frames come from one FFT per frame (a correlation of the frame with the frame plus its
lags) and cumulative energies, without a loop over lags.

Example:
    >>> import torch
    >>> tone = torch.sin(2 * torch.pi * 200 * torch.arange(16000) / 16000)
    >>> detect_pitch_frequency(tone, 16000)[10:13].tolist()
    [200.0, 200.0, 200.0]
"""

from __future__ import annotations

import math

import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype

__all__ = ["detect_pitch_frequency", "pitch_geometry", "pitch_from_lags"]

#: The most samples one frame and its longest lag may span.
_MAX_SPAN = 1 << 22


def pitch_geometry(sample_rate: int, frame_time: float, freq_low: float, freq_high: float) -> tuple[int, int, int]:
    """``(frame_size, max_lag, min_lag)`` in samples, checking the parameters (``ValueError`` names the bad one).

    Example:
        >>> pitch_geometry(16000, 0.01, 85, 3400)
        (160, 189, 5)
    """
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not frame_time > 0:
        raise ValueError(f"frame_time must be positive, got {frame_time}")
    if not 0 < freq_low < freq_high:
        raise ValueError(f"freq_low ({freq_low}) must be positive and below freq_high ({freq_high})")
    if sample_rate * frame_time + sample_rate / freq_low > 1 << 22:  # _MAX_SPAN, a literal for TorchScript
        raise ValueError(
            f"frame_time ({frame_time}) and freq_low ({freq_low}) make each frame span "
            f"{round(sample_rate * frame_time + sample_rate / freq_low)} samples (at most 4194304)"
        )
    frame_size = math.ceil(sample_rate * frame_time)
    max_lag = math.ceil(sample_rate / freq_low)
    min_lag = math.ceil(sample_rate / freq_high)
    if min_lag >= max_lag:
        raise ValueError(f"freq_low ({freq_low}) and freq_high ({freq_high}) leave no lag to search")
    return frame_size, max_lag, min_lag


def _nccf(signals: torch.Tensor, frame_size: int, max_lag: int) -> torch.Tensor:
    """``(batch, frames, max_lag)``: the normalised correlation of each frame at lags ``1..max_lag``."""
    length = signals.shape[-1]
    n_frames = -(-length // frame_size)
    padded = torch.nn.functional.pad(signals, [0, n_frames * frame_size + max_lag - length])
    spans = padded.unfold(-1, frame_size + max_lag, frame_size)[:, :n_frames]
    heads = spans[..., :frame_size]
    n_fft = 1
    while n_fft < frame_size + max_lag:
        n_fft *= 2
    cross = torch.fft.irfft(torch.fft.rfft(spans, n=n_fft) * torch.fft.rfft(heads, n=n_fft).conj(), n=n_fft)[
        ..., 1 : max_lag + 1
    ]
    energy = torch.nn.functional.pad(spans.square().cumsum(-1), [1, 0])
    lagged = (energy[..., frame_size + 1 :] - energy[..., 1 : max_lag + 1]).clamp(min=0.0)
    head = heads.square().sum(-1, keepdim=True)
    epsilon = 1e-9
    return cross / (epsilon + head.sqrt()).square() / (epsilon + lagged.sqrt()).square()


def _median_smoothing(lags: torch.Tensor, win_length: int) -> torch.Tensor:
    """Running lower median over ``win_length`` frames after repeating the first frame ``(win_length - 1) // 2``
    times in front; ``frames - win_length // 2`` values come out, as torchaudio's."""
    pad = (win_length - 1) // 2
    padded = torch.cat([lags[..., :1].expand(lags.shape[0], pad), lags], dim=-1)
    if padded.shape[-1] < win_length:
        needs = f"win_length ({win_length}) needs at least {win_length - pad} frames, got {lags.shape[-1]}"
        raise InvalidParameterError("detect_pitch_frequency", ["waveform: " + needs])
    return padded.unfold(-1, win_length, 1).median(dim=-1).values


def pitch_from_lags(
    waveform: torch.Tensor, sample_rate: int, frame_size: int, max_lag: int, min_lag: int, win_length: int
) -> torch.Tensor:
    """:func:`detect_pitch_frequency` with the lag geometry resolved (see :func:`pitch_geometry`).

    Example:
        >>> pitch_from_lags(torch.zeros(2, 4000), 16000, 160, 189, 5, 3).shape
        torch.Size([2, 24])
    """
    dtype = waveform.dtype
    length = waveform.shape[-1]
    signals = waveform.reshape(-1, length).to(working_dtype(dtype))
    nccf = _nccf(signals, frame_size, max_lag)
    best_value, best = nccf[..., min_lag:].max(dim=-1)
    half = max_lag // 2
    if half > min_lag:
        early_value, early = nccf[..., min_lag:half].max(dim=-1)
        best = torch.where(early_value > 0.99 * best_value, early, best)
    # Index i of the searched range is lag min_lag + i + 1.
    lags = _median_smoothing(best + min_lag + 1, win_length)
    freq = sample_rate / (1e-9 + lags.to(signals.dtype))
    return as_dtype(freq.reshape(waveform.shape[:-1] + freq.shape[-1:]), dtype)


def detect_pitch_frequency(
    waveform: torch.Tensor,
    sample_rate: int,
    frame_time: float = 10**-2,
    win_length: int = 30,
    freq_low: int = 85,
    freq_high: int = 3400,
) -> torch.Tensor:
    """The pitch of ``(..., time)`` in Hz per frame, ``(..., frames)``, as torchaudio's ``detect_pitch_frequency``.

    Frames are ``ceil(sample_rate * frame_time)`` samples (the last one zero-padded); the result holds
    ``ceil(time / frame_size) - win_length // 2`` values, each ``sample_rate / lag`` for an integer lag in
    ``[ceil(sample_rate / freq_high) + 1, ceil(sample_rate / freq_low)]``. Silence gives the highest of these
    frequencies. Raises ``ValueError`` for bad parameters or fewer frames than the median window needs.

    Example:
        >>> import torch
        >>> t = torch.arange(8000) / 8000
        >>> voice = sum(torch.sin(2 * torch.pi * 125 * k * t) / k for k in range(1, 6))
        >>> detect_pitch_frequency(voice, 8000).median().item()
        125.0
    """
    if not win_length >= 1:
        raise ValueError(f"win_length must be at least 1, got {win_length}")
    frame_size, max_lag, min_lag = pitch_geometry(sample_rate, frame_time, float(freq_low), float(freq_high))
    return pitch_from_lags(waveform, sample_rate, frame_size, max_lag, min_lag, win_length)
