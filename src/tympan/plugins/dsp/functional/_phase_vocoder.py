"""The phase vocoder, and the waveform time stretch and pitch shift built on it.

:func:`phase_vocoder` resamples a complex STFT along time by ``rate`` without moving its frequencies. Output
frame ``t`` reads the input at the fractional position ``s = t * rate``: its magnitude interpolates linearly
between frames ``floor(s)`` and ``floor(s) + 1``, and its phase is the first frame's phase plus the phase
increments measured between those frame pairs at every earlier output step. Each increment is the bin's
expected advance over one hop plus the deviation from it, wrapped to ``[-pi, pi]``. All frames are handled at
once: the increments are gathered with one index and accumulated with ``cumsum`` (in float64, then reduced
modulo ``2 pi``, so float32 phases stay accurate over long signals).

Example:
    >>> import torch
    >>> spec = torch.randn(2, 201, 100, dtype=torch.complex64)
    >>> phase_vocoder(spec, 1.3, phase_advance(201, 100)).shape
    torch.Size([2, 201, 77])
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F

from tympan.plugins.dsp.functional._inverse import overlap_add_istft
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._resample import resample
from tympan.plugins.dsp.functional._stft import frame_window, stft_features

__all__ = ["phase_vocoder", "pitch_shift"]

#: The most octaves a pitch shift may move.
_MAX_OCTAVES = 20


def phase_advance(
    n_freq: int, hop_length: int, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    """``(n_freq, 1)``: the phase each of ``n_freq`` one-sided bins advances over ``hop_length`` samples.

    Bin ``k`` of an ``n_fft = 2 (n_freq - 1)`` point transform turns ``2 pi k hop_length / n_fft`` radians
    per hop, i.e. ``linspace(0, pi * hop_length, n_freq)``; the values are reduced modulo ``2 pi`` in float64
    before the cast to ``dtype``, which changes nothing in :func:`phase_vocoder` but keeps float32 exact.

    Example:
        >>> [round(v, 4) for v in phase_advance(4, 3, torch.float64).squeeze(1).tolist()]
        [0.0, 3.1416, 0.0, 3.1416]
    """
    turns = torch.linspace(0.0, math.pi * hop_length, n_freq, dtype=torch.float64, device=device)
    return turns.remainder(2.0 * math.pi).to(dtype).unsqueeze(1)


def phase_vocoder(
    complex_specgrams: torch.Tensor, rate: float, phase_advance: torch.Tensor, out_frames: int | None = None
) -> torch.Tensor:
    """Speed up the complex spectrogram ``(..., freq, frames)`` by ``rate`` without changing its pitch.

    Returns ``(..., freq, ceil(frames / rate))`` (stored frame by frame, as this package's STFT output);
    ``rate > 1`` shortens, ``rate < 1`` lengthens. ``phase_advance`` is the expected phase advance of each
    bin per hop, ``(freq, 1)`` (see :func:`phase_advance`). As ``torchaudio.functional.phase_vocoder``;
    equals ``librosa.phase_vocoder`` with the same hop (both start from the first frame's phase).
    Half-precision complex input is computed in complex64 and returned as complex32. ``out_frames``, when
    given, is ``ceil(frames / rate)`` computed by the caller (as an integer formula of the size, for export).

    Example:
        >>> import math
        >>> bins = torch.arange(5.0).unsqueeze(1)
        >>> spec = torch.polar(torch.ones(5, 8), bins * torch.arange(8.0) * math.pi / 2)  # a steady tone per bin
        >>> out = phase_vocoder(spec, 2.0, bins * math.pi / 2)
        >>> out.shape, bool(out.abs().allclose(torch.ones(5, 4)))
        (torch.Size([5, 4]), True)
    """
    if not complex_specgrams.is_complex() or complex_specgrams.dim() < 2:
        raise ValueError(
            f"phase_vocoder expects a complex spectrogram (..., freq, frames), got {complex_specgrams.dtype} "
            f"{list(complex_specgrams.shape)}"
        )
    if not rate > 0.0 or math.isinf(rate):
        raise ValueError(f"rate must be positive and finite, got {rate}")
    dtype = complex_specgrams.dtype
    spec = complex_specgrams.to(torch.complex64) if dtype == torch.complex32 else complex_specgrams
    real = spec.real.dtype
    frames = spec.transpose(-1, -2)  # (..., frames, freq): rows are frames, as the STFT lays them out
    if out_frames is None:
        steps = torch.arange(0, frames.shape[-2], rate, dtype=torch.float64, device=spec.device)
    else:  # the same values, start + i * rate
        steps = torch.arange(out_frames, dtype=torch.float64, device=spec.device) * rate
    index = steps.floor().to(torch.int64)
    alphas = (steps - index.to(torch.float64)).to(real).unsqueeze(-1)
    padded = F.pad(frames, [0, 0, 0, 1])  # the frame after the last one is silent
    magnitudes = padded.abs()
    magnitude = torch.lerp(magnitudes.index_select(-2, index), magnitudes.index_select(-2, index + 1), alphas)
    # Output frame t's phase: the first frame's, plus the increments measured at every step before t.
    angles = padded.angle()
    pairs = index[:-1]
    advance = phase_advance.to(device=spec.device).transpose(-1, -2)
    deviation = angles.index_select(-2, pairs + 1) - angles.index_select(-2, pairs) - advance.to(real)
    two_pi = 2.0 * math.pi
    deviation = deviation - two_pi * torch.round(deviation / two_pi)
    increments = deviation.to(torch.float64) + advance.to(torch.float64)
    phase = torch.cat([angles[..., :1, :].to(torch.float64), increments], dim=-2).cumsum(-2)
    result = torch.polar(magnitude, phase.remainder(two_pi).to(real)).transpose(-1, -2)
    return result.to(dtype) if dtype == torch.complex32 else result


def stretch_waveform(
    waveform: torch.Tensor,
    rate: float,
    framed_window: torch.Tensor,
    hop_length: int,
    advance: torch.Tensor,
    length: int,
    out_frames: int | None = None,
) -> torch.Tensor:
    """``(..., time)`` played ``rate`` times faster at the same pitch, ``length`` samples long.

    A centred, reflect-padded STFT with ``framed_window`` (``n_fft`` samples) and ``hop_length``, the
    :func:`phase_vocoder` with ``advance`` (and ``out_frames``), and the least-squares inverse STFT trimmed or
    padded to ``length``. Runs in the input's dtype.

    Example:
        >>> window = torch.hann_window(256)
        >>> stretch_waveform(torch.randn(2, 4000), 2.0, window, 64, phase_advance(129, 64), 2000).shape
        torch.Size([2, 2000])
    """
    spec = stft_features(waveform, framed_window, hop_length, 0, None, True, "reflect", True, None)
    stretched = phase_vocoder(spec, rate, advance, out_frames)
    return overlap_add_istft(stretched, framed_window, hop_length, True, length, True)


def fit_length(waveform: torch.Tensor, length: int) -> torch.Tensor:
    """``(..., time)`` cut to ``length`` samples, or padded with zeros at the end to reach it.

    Example:
        >>> fit_length(torch.ones(1, 3), 5).tolist(), fit_length(torch.ones(1, 3), 2).tolist()
        ([[1.0, 1.0, 1.0, 0.0, 0.0]], [[1.0, 1.0]])
    """
    # Padded by ``length`` whatever its size, then cut: one form for every length, which export can trace.
    return F.pad(waveform, [0, length])[..., :length]


def stretch_fraction(rate: float) -> tuple[int, int]:
    """``(num, den)``, the fraction closest to ``1 / rate`` with ``den <= 2 ** 24``.

    With it :func:`stretched_length` computes ``round(length / rate)`` in integers.

    Example:
        >>> stretch_fraction(0.5), stretch_fraction(2.0), stretch_fraction(0.75)
        ((2, 1), (1, 2), (4, 3))
    """
    inverse = 1 / Fraction(rate)
    approximation = inverse.limit_denominator(1 << 24)
    return approximation.numerator, approximation.denominator


def stretched_frames(length: int, hop_length: int, num: int, den: int) -> int:
    """``ceil(frames / rate)`` for the ``length // hop_length + 1`` frames of a centred STFT, with ``num / den``
    standing for ``1 / rate`` (see :func:`stretch_fraction`), in integer arithmetic only.

    Example:
        >>> stretched_frames(1000, 100, 4, 3)  # 11 frames at rate 0.75
        15
    """
    return ((length // hop_length + 1) * num + den - 1) // den


def stretched_length(length: int, num: int, den: int) -> int:
    """``length * num / den`` rounded to the nearest integer, halves to even (as Python's ``round``), in integer
    arithmetic only, so that a traced length stays a formula of the input's size.

    Example:
        >>> [stretched_length(n, 1, 2) for n in (4, 5, 7)], stretched_length(10, 4, 3)
        ([2, 2, 4], 13)
    """
    total = length * num
    if den % 2 == 1:  # no exact halves: one rounding up of halves says the same, in a simpler form
        return (2 * total + den) // (2 * den)
    # Halves round up, except when the quotient below is even: exactly when total - den / 2 is a multiple of
    # 2 * den, which the last term (1 unless so) detects.
    half = den // 2
    return (total + half) // den - 1 + ((total - half) % (2 * den) + 2 * den - 1) // (2 * den)


def shift_rates(sample_rate: int, n_steps: float, bins_per_octave: int) -> tuple[float, int]:
    """``(rate, source_rate)`` of a pitch shift by ``n_steps`` steps of ``1 / bins_per_octave`` octave.

    The waveform is stretched by ``rate = 2 ** (-n_steps / bins_per_octave)`` (slowed down to raise the
    pitch), then resampled from ``source_rate = int(sample_rate / rate)`` to ``sample_rate`` Hz.

    Example:
        >>> shift_rates(16000, 12, 12)
        (0.5, 32000)
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if bins_per_octave <= 0:
        raise ValueError(f"bins_per_octave must be positive, got {bins_per_octave}")
    octaves = float(n_steps) / bins_per_octave
    if not abs(octaves) <= 20:  # _MAX_OCTAVES, a literal for TorchScript
        raise ValueError(f"n_steps = {n_steps} shifts by {octaves} octaves (at most 20)")
    rate = 2.0 ** (-octaves)
    source = int(sample_rate / rate)
    if source < 1:
        raise ValueError(f"n_steps = {n_steps} lowers the pitch too far for sample_rate = {sample_rate}")
    return rate, source


def pitch_shift(
    waveform: torch.Tensor,
    sample_rate: int,
    n_steps: float,
    bins_per_octave: int = 12,
    n_fft: int = 512,
    win_length: int | None = None,
    hop_length: int | None = None,
    window: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shift the pitch of ``(..., time)`` by ``n_steps`` steps of ``1 / bins_per_octave`` octave.

    As ``torchaudio.functional.pitch_shift``: the waveform is time-stretched by
    ``rate = 2 ** (-n_steps / bins_per_octave)`` with the phase vocoder (centred STFT with reflect padding,
    ``n_fft``, ``win_length`` (default ``n_fft``), ``hop_length`` (default ``n_fft // 4``), ``window``
    (default Hann)), resampled from ``int(sample_rate / rate)`` to ``sample_rate`` Hz, and cut or zero-padded
    to the input's length. The same steps as ``librosa.effects.pitch_shift`` except that librosa resamples by
    the exact (non-integer) ratio. Half-precision input is computed in float32.

    Example:
        >>> t = torch.arange(16000) / 16000
        >>> up = pitch_shift(torch.sin(2 * torch.pi * 440 * t), 16000, 12)  # one octave up
        >>> up.shape, int(torch.fft.rfft(up).abs().argmax())  # 880 Hz over 1 s is bin 880
        (torch.Size([16000]), 880)
    """
    if n_fft < 1:
        raise ValueError(f"n_fft must be positive, got {n_fft}")
    win_length = win_length if win_length is not None else n_fft
    hop_length = hop_length if hop_length is not None else n_fft // 4
    if hop_length < 1:
        raise ValueError(f"hop_length must be positive, got {hop_length}")
    rate, source = shift_rates(sample_rate, n_steps, bins_per_octave)
    dtype = working_dtype(waveform.dtype)
    window = window if window is not None else torch.hann_window(win_length, dtype=dtype, device=waveform.device)
    framed = frame_window(window.to(dtype=dtype, device=waveform.device), n_fft, win_length, False, False)
    length = waveform.shape[-1]
    advance = phase_advance(n_fft // 2 + 1, hop_length, torch.float64, waveform.device)
    stretched = stretch_waveform(waveform.to(dtype), rate, framed, hop_length, advance, int(round(length / rate)))  # noqa: RUF046 (TorchScript rounds to float)
    shifted = resample(stretched, source, sample_rate)
    return as_dtype(fit_length(shifted, length), waveform.dtype)
