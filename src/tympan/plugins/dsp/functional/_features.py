"""Mel spectrograms and MFCCs, as functions with the transforms' parameters.

The windows, filterbanks and DCT matrices these functions need are built once per set of parameters,
dtype and device and cached, so calling them in a loop costs no more than the matching transform.

Example:
    >>> import torch
    >>> mfcc(torch.randn(2, 16000), sample_rate=16000, n_mfcc=13).shape
    torch.Size([2, 13, 81])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import torch

from tympan.core.threads import intra_op_threads
from tympan.plugins.dsp.functional._filterbanks import create_dct, melscale_fbanks
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._spectral import floored_log10, normalization_flags
from tympan.plugins.dsp.functional._stft import frame_window, stft_features

__all__ = ["mel_spectrogram", "mfcc"]

#: The ``top_db`` MFCC applies to its decibel mel spectrogram (torchaudio's and librosa's choice).
MFCC_TOP_DB = 80.0


def apply_filterbank(spec: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """``(..., n_freqs, time)`` through filters ``(n_freqs, n_out)`` to ``(..., n_out, time)`` in one matmul.

    Example:
        >>> apply_filterbank(torch.ones(2, 5, 7), torch.ones(5, 3)).shape
        torch.Size([2, 3, 7])
    """
    return torch.matmul(spec.mT, fb.to(spec.dtype)).mT


def mfcc_from_mel(mel: torch.Tensor, dct_mat: torch.Tensor, log_mels: bool, top_db: float) -> torch.Tensor:
    """MFCCs ``(..., n_mfcc, time)`` of a power mel spectrogram ``(..., n_mels, time)``.

    The log is ``log(mel + 1e-6)`` when ``log_mels``, else decibels clipped ``top_db`` below the peak.

    Example:
        >>> mfcc_from_mel(torch.ones(4, 10), create_dct(2, 4, "ortho"), False, 80.0).shape
        torch.Size([2, 10])
    """
    # The logarithm runs over (..., time, n_mels), the spectrogram's own memory layout (it is a transposed view
    # of it), so that a compiler reads and writes it contiguously too, as eager kernels do with any layout.
    by_frame = mel.mT
    if log_mels:
        return apply_filterbank(torch.log(by_frame + 1e-6).mT, dct_mat)
    # 10 * log10 of the power, with the factor 10 applied to the (small) DCT matrix instead of every bin.
    return apply_filterbank(floored_log10(by_frame, 10.0, 1e-10, top_db).mT, dct_mat * 10.0)


@functools.lru_cache(maxsize=32)
def _cached_window(
    window_fn: Callable[..., torch.Tensor],
    n_fft: int,
    win_length: int,
    wkwargs: tuple[tuple[str, Any], ...],
    normalized: bool | str,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    window = window_fn(win_length, **dict(wkwargs)).to(dtype=dtype, device=device)
    return frame_window(window, n_fft, win_length, *normalization_flags(normalized))


@functools.lru_cache(maxsize=32)
def _cached_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None,
    mel_scale: str,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    return melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale, dtype=dtype).to(device)


@functools.lru_cache(maxsize=32)
def _cached_dct(n_mfcc: int, n_mels: int, norm: str | None, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return create_dct(n_mfcc, n_mels, norm, dtype=dtype).to(device)


def mel_spectrogram(
    waveform: torch.Tensor,
    sample_rate: int = 16000,
    n_fft: int = 400,
    win_length: int | None = None,
    hop_length: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
    pad: int = 0,
    n_mels: int = 128,
    window_fn: Callable[..., torch.Tensor] = torch.hann_window,
    power: float = 2.0,
    normalized: bool | str = False,
    wkwargs: Mapping[str, Any] | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    norm: str | None = None,
    mel_scale: str = "htk",
) -> torch.Tensor:
    """Mel spectrogram of ``(..., time)``: ``(..., n_mels, frames)``, parameters as ``MelSpectrogram``.

    ``win_length`` defaults to ``n_fft``, ``hop_length`` to ``win_length // 2``, ``f_max`` to
    ``sample_rate / 2``. Equals ``librosa.feature.melspectrogram`` with the same options
    (``htk=mel_scale == "htk"``, ``norm``, ``pad_mode``).

    Example:
        >>> mel_spectrogram(torch.randn(16000), n_fft=512, hop_length=256, n_mels=40).shape
        torch.Size([40, 63])
    """
    win_length = win_length if win_length is not None else n_fft
    hop_length = hop_length if hop_length is not None else win_length // 2
    f_max = f_max if f_max is not None else sample_rate / 2.0
    dtype = working_dtype(waveform.dtype)
    options = tuple(sorted((wkwargs or {}).items()))
    window = _cached_window(window_fn, n_fft, win_length, options, normalized, dtype, waveform.device)
    fb = _cached_fbanks(n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate, norm, mel_scale, dtype, waveform.device)
    with intra_op_threads(waveform):
        mel = stft_features(waveform, window, hop_length, pad, power, center, pad_mode, True, fb)
    return as_dtype(mel, waveform.dtype)


def mfcc(
    waveform: torch.Tensor,
    sample_rate: int = 16000,
    n_mfcc: int = 40,
    dct_type: int = 2,
    norm: str | None = "ortho",
    log_mels: bool = False,
    melkwargs: Mapping[str, Any] | None = None,
) -> torch.Tensor:
    """Mel-frequency cepstral coefficients of ``(..., time)``: ``(..., n_mfcc, frames)``.

    The DCT-II of the decibel (``top_db`` 80, or ``log(mel + 1e-6)`` when ``log_mels``) mel power
    spectrogram; ``melkwargs`` are :func:`mel_spectrogram`'s parameters (128 mels by default).

    Example:
        >>> mfcc(torch.randn(1, 8000), n_mfcc=20, melkwargs={"n_mels": 40}).shape
        torch.Size([1, 20, 41])
    """
    if dct_type != 2:
        raise ValueError(f"only DCT type 2 is supported, got dct_type={dct_type}")
    with intra_op_threads(waveform):
        mel = mel_spectrogram(waveform.to(working_dtype(waveform.dtype)), sample_rate, **(melkwargs or {}))
        if n_mfcc > mel.shape[-2]:
            raise ValueError(f"n_mfcc ({n_mfcc}) must not exceed n_mels ({mel.shape[-2]})")
        dct_mat = _cached_dct(n_mfcc, mel.shape[-2], norm, mel.dtype, mel.device)
        return as_dtype(mfcc_from_mel(mel, dct_mat, log_mels, MFCC_TOP_DB), waveform.dtype)
