"""Spectrograms and decibel conversion with torchaudio's signatures.

Half-precision input is computed in float32 and returned in the input's dtype; the ``*_core`` and helper
functions are the TorchScript-able pieces the transforms call from ``forward``.

Example:
    >>> import torch
    >>> window = torch.hann_window(400)
    >>> spectrogram(torch.randn(2, 16000), 0, window, 400, 160, 400, 2.0, False).shape
    torch.Size([2, 201, 101])
"""

from __future__ import annotations

import torch

from tympan.core.threads import intra_op_threads
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._stft import frame_window, stft_features

__all__ = ["spectrogram", "amplitude_to_db", "amplitude_to_DB"]


def normalization_flags(normalized: bool | str) -> tuple[bool, bool]:
    """``(window_norm, frame_norm)`` of torchaudio's ``normalized`` (a bool, ``"window"`` or ``"frame_length"``).

    Example:
        >>> normalization_flags("frame_length")
        (False, True)
    """
    if isinstance(normalized, bool):
        return normalized, False
    if normalized == "window":
        return True, False
    if normalized == "frame_length":
        return False, True
    raise ValueError(f"normalized must be a bool, 'window' or 'frame_length', got '{normalized}'")


def spectrogram(
    waveform: torch.Tensor,
    pad: int,
    window: torch.Tensor | None,
    n_fft: int,
    hop_length: int | None,
    win_length: int | None,
    power: float | None,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    return_complex: bool | None = None,
) -> torch.Tensor:
    """Spectrogram of ``(..., time)``: ``|STFT|**power``, or the complex STFT when ``power`` is None.

    ``normalized`` is ``True``/``"window"`` (divide by the window's L2 norm), ``"frame_length"`` (divide by
    ``sqrt(n_fft)``) or ``False``. Returns ``(..., n_fft // 2 + 1, frames)`` when ``onesided``. As in
    ``torch.stft``, ``win_length`` None means ``n_fft``, ``hop_length`` None ``n_fft // 4`` and ``window``
    None a rectangular window. ``return_complex`` is accepted for torchaudio's signature and has no effect
    (``power=None`` always gives a complex tensor).

    Example:
        >>> x = torch.sin(torch.arange(1600) * 0.5)
        >>> spec = spectrogram(x, 0, torch.hann_window(400), 400, 200, 400, 2.0, False)
        >>> spec.shape, int(spec[:, 4].argmax())  # 0.5 rad/sample is bin 400 * 0.5 / (2 pi) ~ 32
        (torch.Size([201, 9]), 32)
    """
    frame = win_length if win_length is not None else n_fft
    hop = hop_length if hop_length is not None else n_fft // 4
    if window is None:
        window = torch.ones(frame, dtype=working_dtype(waveform.dtype), device=waveform.device)
    window_norm, frame_norm = normalization_flags(normalized)
    framed = frame_window(window, n_fft, frame, window_norm, frame_norm)
    if torch.jit.is_scripting():
        result = stft_features(waveform, framed, hop, pad, power, center, pad_mode, onesided, None)
    else:
        with intra_op_threads(waveform):
            result = stft_features(waveform, framed, hop, pad, power, center, pad_mode, onesided, None)
    return as_dtype(result, waveform.dtype)


def floored_log10(x: torch.Tensor, multiplier: float, amin: float, top_db: float | None) -> torch.Tensor:
    """``log10(max(x, floor))`` in the working dtype: the decibels of ``x`` divided by ``multiplier``.

    The floor is ``amin``, raised with ``top_db`` to ``top_db`` decibels below the peak of each spectrogram
    (the last two dims). Clipping before the logarithm gives ``max(db, peak_db - top_db)`` in two passes.

    Example:
        >>> floored_log10(torch.tensor([1e-12, 1.0, 100.0]), 10.0, 1e-10, 30.0).tolist()
        [-1.0, 0.0, 2.0]
    """
    x = x.to(working_dtype(x.dtype))
    if top_db is None:
        return torch.log10(torch.clamp(x, min=amin))
    dims = [-2, -1] if x.dim() >= 2 else [-1]
    floor = torch.clamp(x.amax(dim=dims, keepdim=True) * 10.0 ** (-top_db / multiplier), min=amin)
    return torch.log10(torch.maximum(x, floor))


def amplitude_to_db_core(
    x: torch.Tensor, multiplier: float, amin: float, db_multiplier: float, top_db: float | None
) -> torch.Tensor:
    """Decibels of ``x`` in the working dtype; ``top_db`` clips each spectrogram (last two dims) below its peak.

    Example:
        >>> amplitude_to_db_core(torch.tensor([1e-12, 1.0, 100.0]), 10.0, 1e-10, 0.0, 30.0).tolist()
        [-10.0, 0.0, 20.0]
    """
    db = floored_log10(x, multiplier, amin, top_db) * multiplier
    if db_multiplier != 0.0:
        db = db - multiplier * db_multiplier
    return db


def amplitude_to_db(
    x: torch.Tensor, multiplier: float, amin: float, db_multiplier: float, top_db: float | None = None
) -> torch.Tensor:
    """Convert power (``multiplier=10``) or amplitude (``multiplier=20``) to decibels.

    Computes ``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``, where ``db_multiplier`` is
    ``log10(max(amin, ref))``. With ``top_db``, values more than ``top_db`` below the peak of their own
    spectrogram (the last two dimensions; the whole tensor when 1-D) are raised to that floor, so a batch
    gives the same result as its items one by one.

    Example:
        >>> amplitude_to_db(torch.tensor([[1.0, 10.0, 1e-6]]), 10.0, 1e-10, 0.0, top_db=40.0).tolist()
        [[0.0, 10.0, -30.0]]
    """
    return as_dtype(amplitude_to_db_core(x, multiplier, amin, db_multiplier, top_db), x.dtype)


#: torchaudio's capitalisation of :func:`amplitude_to_db`, the same function.
amplitude_to_DB = amplitude_to_db  # noqa: N816
