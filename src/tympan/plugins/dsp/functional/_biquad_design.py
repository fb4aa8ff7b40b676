"""Second-order filter design from the RBJ audio-EQ cookbook and SoX's formulas (the ones torchaudio uses).

Each ``*_coefficients`` function returns ``[b0, b1, b2, a0, a1, a2]`` as a float64 tensor, differentiable in
tensor arguments. ``w0 = 2 pi f / sample_rate`` and ``alpha = sin(w0) / (2 Q)`` throughout.

Example:
    >>> (lowpass_coefficients(8000, 2000.0, 0.5).round(decimals=6) + 0).tolist()
    [0.5, 1.0, 0.5, 2.0, 0.0, 0.0]
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "Number",
    "DEEMPH_RATES",
    "RIAA_RATES",
    "allpass_coefficients",
    "band_coefficients",
    "bandpass_coefficients",
    "bandreject_coefficients",
    "bass_coefficients",
    "deemph_coefficients",
    "equalizer_coefficients",
    "highpass_coefficients",
    "lowpass_coefficients",
    "riaa_coefficients",
    "treble_coefficients",
    "coefficient_row",
]

Number = float | torch.Tensor

#: Sample rates the RIAA playback curve is defined at (SoX's published zeros and poles).
RIAA_RATES = (44100, 48000, 88200, 96000)
#: Sample rates the CD de-emphasis shelf is defined at.
DEEMPH_RATES = (44100, 48000)


def _t(value: Number) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(torch.float64)
    return torch.scalar_tensor(value, dtype=torch.float64)  # (TorchScript's torch.tensor rounds to float32)


def _angle(sample_rate: int, freq: Number) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    w0 = 2 * math.pi * _t(freq) / sample_rate
    return w0, torch.cos(w0), torch.sin(w0)


def coefficient_row(b0: Number, b1: Number, b2: Number, a0: Number, a1: Number, a2: Number) -> torch.Tensor:
    """The six coefficients (floats or 0-d tensors) as one float64 tensor ``[b0, b1, b2, a0, a1, a2]``.

    Example:
        >>> coefficient_row(1.0, torch.tensor(0.5), 0.0, 1.0, 0.0, 0.0).tolist()
        [1.0, 0.5, 0.0, 1.0, 0.0, 0.0]
    """
    return torch.stack([_t(b0), _t(b1), _t(b2), _t(a0), _t(a1), _t(a2)])


def lowpass_coefficients(sample_rate: int, cutoff_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """Low-pass: ``b = (1 - cos) / 2 * [1, 2, 1]``, ``a = [1 + alpha, -2 cos, 1 - alpha]``.

    Example:
        >>> (lowpass_coefficients(8000, 2000.0, 0.5).round(decimals=6) + 0).tolist()
        [0.5, 1.0, 0.5, 2.0, 0.0, 0.0]
    """
    _, cos, sin = _angle(sample_rate, cutoff_freq)
    alpha = sin / 2 / _t(Q)
    return coefficient_row((1 - cos) / 2, 1 - cos, (1 - cos) / 2, 1 + alpha, -2 * cos, 1 - alpha)


def highpass_coefficients(sample_rate: int, cutoff_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """High-pass: ``b = (1 + cos) / 2 * [1, -2, 1]``, same poles as the low-pass.

    Example:
        >>> (highpass_coefficients(8000, 2000.0, 0.5).round(decimals=6) + 0).tolist()
        [0.5, -1.0, 0.5, 2.0, 0.0, 0.0]
    """
    _, cos, sin = _angle(sample_rate, cutoff_freq)
    alpha = sin / 2 / _t(Q)
    return coefficient_row((1 + cos) / 2, -1 - cos, (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha)


def allpass_coefficients(sample_rate: int, central_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """All-pass: the denominator reversed as numerator, unit gain at every frequency.

    Example:
        >>> (allpass_coefficients(8000, 2000.0, 0.5).round(decimals=6) + 0).tolist()
        [0.0, 0.0, 2.0, 2.0, 0.0, 0.0]
    """
    _, cos, sin = _angle(sample_rate, central_freq)
    alpha = sin / 2 / _t(Q)
    return coefficient_row(1 - alpha, -2 * cos, 1 + alpha, 1 + alpha, -2 * cos, 1 - alpha)


def bandpass_coefficients(
    sample_rate: int,
    central_freq: Number,
    Q: Number = 0.707,
    const_skirt_gain: bool = False,
) -> torch.Tensor:
    """Band-pass: peak gain 1 (``b0 = alpha``), or skirt gain ``Q`` with ``const_skirt_gain`` (``b0 = sin / 2``).

    Example:
        >>> (bandpass_coefficients(8000, 2000.0, 0.5).round(decimals=6) + 0).tolist()
        [1.0, 0.0, -1.0, 2.0, 0.0, 0.0]
    """
    _, cos, sin = _angle(sample_rate, central_freq)
    alpha = sin / 2 / _t(Q)
    gain = sin / 2 if const_skirt_gain else alpha
    return coefficient_row(gain, 0.0, -gain, 1 + alpha, -2 * cos, 1 - alpha)


def bandreject_coefficients(sample_rate: int, central_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """Band-reject (notch): zeros on the unit circle at ``central_freq``.

    Example:
        >>> (bandreject_coefficients(8000, 2000.0, 0.5).round(decimals=6) + 0).tolist()
        [1.0, 0.0, 1.0, 2.0, 0.0, 0.0]
    """
    _, cos, sin = _angle(sample_rate, central_freq)
    alpha = sin / 2 / _t(Q)
    return coefficient_row(1.0, -2 * cos, 1.0, 1 + alpha, -2 * cos, 1 - alpha)


def band_coefficients(
    sample_rate: int,
    central_freq: Number,
    Q: Number = 0.707,
    noise: bool = False,
) -> torch.Tensor:
    """SoX's ``band``: a two-pole resonator of bandwidth ``central_freq / Q`` Hz, peak gain 1.

    The poles have radius ``sqrt(a2)`` with ``a2 = exp(-2 pi bandwidth / sample_rate)``; with ``noise`` the
    gain is set for unit noise power instead (for unpitched audio).

    Example:
        >>> [round(c, 4) for c in band_coefficients(8000, 2000.0, 4.0).tolist()]
        [0.3248, 0.0, 0.0, 1.0, -0.0, 0.6752]
    """
    _, cos, _ = _angle(sample_rate, central_freq)
    a2 = torch.exp(-2 * math.pi * (_t(central_freq) / _t(Q)) / sample_rate)
    a1 = -4 * a2 / (1 + a2) * cos
    b0 = torch.sqrt(1 - a1 * a1 / (4 * a2)) * (1 - a2)
    if noise:
        b0 = torch.sqrt(((1 + a2) * (1 + a2) - a1 * a1) * (1 - a2) / (1 + a2))
    return coefficient_row(b0, 0.0, 0.0, 1.0, a1, a2)


def _shelf(
    sample_rate: int,
    freq: Number,
    gain: Number,
    alpha_of: torch.Tensor | None,
    Q: Number,
    high: bool,
) -> torch.Tensor:
    """The RBJ shelving filter; ``alpha_of`` overrides ``alpha`` (a slope-defined shelf)."""
    _, cos, sin = _angle(sample_rate, freq)
    amp = torch.pow(10.0, _t(gain) / 40)
    alpha = sin / 2 / _t(Q) if alpha_of is None else alpha_of
    root = 2 * torch.sqrt(amp) * alpha
    minus, plus = (amp - 1) * cos, (amp + 1) * cos
    sign = 1.0 if high else -1.0
    return coefficient_row(
        amp * ((amp + 1) + sign * minus + root),
        -2 * sign * amp * ((amp - 1) + sign * plus),
        amp * ((amp + 1) + sign * minus - root),
        (amp + 1) - sign * minus + root,
        2 * sign * ((amp - 1) - sign * plus),
        (amp + 1) - sign * minus - root,
    )


def bass_coefficients(
    sample_rate: int,
    gain: Number,
    central_freq: Number = 100.0,
    Q: Number = 0.707,
) -> torch.Tensor:
    """Low shelf: ``gain`` dB below ``central_freq``.

    Example:
        >>> [round(c, 4) for c in bass_coefficients(8000, 0.0, 100.0).tolist()[:3]]
        [2.111, -3.9877, 1.889]
    """
    return _shelf(sample_rate, central_freq, gain, None, Q, high=False)


def treble_coefficients(
    sample_rate: int,
    gain: Number,
    central_freq: Number = 3000.0,
    Q: Number = 0.707,
) -> torch.Tensor:
    """High shelf: ``gain`` dB above ``central_freq``.

    Example:
        >>> c = treble_coefficients(8000, 0.0, 2000.0)
        >>> torch.allclose(c[:3], c[3:])
        True
    """
    return _shelf(sample_rate, central_freq, gain, None, Q, high=True)


def equalizer_coefficients(
    sample_rate: int,
    center_freq: Number,
    gain: Number,
    Q: Number = 0.707,
) -> torch.Tensor:
    """Peaking equaliser: ``gain`` dB at ``center_freq``, bandwidth set by ``Q``.

    Example:
        >>> (equalizer_coefficients(8000, 2000.0, 0.0, 0.5).round(decimals=6) + 0).tolist()
        [2.0, 0.0, 0.0, 2.0, 0.0, 0.0]
    """
    _, cos, sin = _angle(sample_rate, center_freq)
    alpha = sin / 2 / _t(Q)
    amp = torch.pow(10.0, _t(gain) / 40)
    return coefficient_row(1 + alpha * amp, -2 * cos, 1 - alpha * amp, 1 + alpha / amp, -2 * cos, 1 - alpha / amp)


def _deemph_shelf(sample_rate: int) -> tuple[float, float, float]:
    """The CD de-emphasis shelf at ``sample_rate``: ``(centre Hz, shelf slope, gain dB)``."""
    if sample_rate == 44100:
        return 5283.0, 0.4845, -9.477
    if sample_rate == 48000:
        return 5356.0, 0.479, -9.62
    raise ValueError(f"sample_rate must be 44100 or 48000 for de-emphasis, got {sample_rate}")


def deemph_coefficients(sample_rate: int) -> torch.Tensor:
    """CD de-emphasis (a ``-9.5`` dB treble shelf near 5.3 kHz); ``sample_rate`` is 44100 or 48000.

    Example:
        >>> deemph_coefficients(44100).shape
        torch.Size([6])
    """
    freq, slope, gain = _deemph_shelf(sample_rate)
    _, _, sin = _angle(sample_rate, freq)
    amp = 10.0 ** (gain / 40)
    alpha = sin / 2 * math.sqrt((amp + 1 / amp) * (1 / slope - 1) + 2)
    return _shelf(sample_rate, freq, gain, alpha, 1.0, high=True)


def _riaa_zeros_poles(sample_rate: int) -> tuple[float, float, float, float]:
    """The RIAA curve's two zeros and two poles at ``sample_rate`` (SoX's published values)."""
    if sample_rate == 44100:
        return -0.2014898, 0.9233820, 0.7083149, 0.9924091
    if sample_rate == 48000:
        return -0.1766069, 0.9321590, 0.7396325, 0.9931330
    if sample_rate == 88200:
        return -0.1168735, 0.9648312, 0.8590646, 0.9964002
    if sample_rate == 96000:
        return -0.1141486, 0.9676817, 0.8699137, 0.9966946
    raise ValueError(f"sample_rate must be 44100, 48000, 88200 or 96000 for RIAA, got {sample_rate}")


def riaa_coefficients(sample_rate: int) -> torch.Tensor:
    """RIAA vinyl playback equalisation, 0 dB at 1 kHz; ``sample_rate`` is 44100, 48000, 88200 or 96000.

    Example:
        >>> riaa_coefficients(44100)[3].item()
        1.0
    """
    z0, z1, p0, p1 = _riaa_zeros_poles(sample_rate)
    b = coefficient_row(1.0, -(z0 + z1), z0 * z1, 0.0, 0.0, 0.0)[:3]
    a = coefficient_row(1.0, -(p0 + p1), p0 * p1, 0.0, 0.0, 0.0)[:3]
    # the response at 1 kHz: sum_k c[k] exp(-i w k), real and imaginary parts
    angles = 2 * math.pi * 1000 / sample_rate * torch.arange(3, dtype=torch.float64)
    cos, sin = torch.cos(angles), torch.sin(angles)
    a_response = torch.sqrt((a * cos).sum() ** 2 + (a * sin).sum() ** 2)
    b_response = torch.sqrt((b * cos).sum() ** 2 + (b * sin).sum() ** 2)
    return torch.cat([b * (a_response / b_response), a])
