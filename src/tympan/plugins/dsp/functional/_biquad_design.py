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

#: Zeros and poles of the RIAA playback curve per sample rate (SoX's published values).
RIAA_RATES: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {
    44100: ((-0.2014898, 0.9233820), (0.7083149, 0.9924091)),
    48000: ((-0.1766069, 0.9321590), (0.7396325, 0.9931330)),
    88200: ((-0.1168735, 0.9648312), (0.8590646, 0.9964002)),
    96000: ((-0.1141486, 0.9676817), (0.8699137, 0.9966946)),
}
#: The CD de-emphasis shelf per sample rate: ``(centre Hz, shelf slope, gain dB)``.
DEEMPH_RATES: dict[int, tuple[float, float, float]] = {44100: (5283.0, 0.4845, -9.477), 48000: (5356.0, 0.479, -9.62)}


def _t(value: Number) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64)


def _angle(sample_rate: int, freq: Number) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    w0 = 2 * math.pi * _t(freq) / sample_rate
    return w0, torch.cos(w0), torch.sin(w0)


def coefficient_row(*values: Number) -> torch.Tensor:
    """The values (floats or 0-d tensors) as one float64 tensor.

    Example:
        >>> coefficient_row(1, torch.tensor(0.5)).tolist()
        [1.0, 0.5]
    """
    return torch.stack([_t(v) for v in values])


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
    central_freq: Number = 100,
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
    central_freq: Number = 3000,
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


def deemph_coefficients(sample_rate: int) -> torch.Tensor:
    """CD de-emphasis (a ``-9.5`` dB treble shelf near 5.3 kHz); ``sample_rate`` is 44100 or 48000.

    Example:
        >>> deemph_coefficients(44100).shape
        torch.Size([6])
    """
    if sample_rate not in DEEMPH_RATES:
        raise ValueError(f"sample_rate must be one of {sorted(DEEMPH_RATES)} for de-emphasis, got {sample_rate}")
    freq, slope, gain = DEEMPH_RATES[sample_rate]
    _, _, sin = _angle(sample_rate, freq)
    amp = 10.0 ** (gain / 40)
    alpha = sin / 2 * math.sqrt((amp + 1 / amp) * (1 / slope - 1) + 2)
    return _shelf(sample_rate, freq, gain, alpha, 1.0, high=True)


def riaa_coefficients(sample_rate: int) -> torch.Tensor:
    """RIAA vinyl playback equalisation, 0 dB at 1 kHz; ``sample_rate`` is 44100, 48000, 88200 or 96000.

    Example:
        >>> riaa_coefficients(44100)[3].item()
        1.0
    """
    if sample_rate not in RIAA_RATES:
        raise ValueError(f"sample_rate must be one of {sorted(RIAA_RATES)} for RIAA, got {sample_rate}")
    (z0, z1), (p0, p1) = RIAA_RATES[sample_rate]
    b = torch.tensor([1.0, -(z0 + z1), z0 * z1], dtype=torch.float64)
    a = torch.tensor([1.0, -(p0 + p1), p0 * p1], dtype=torch.float64)
    turn = torch.exp(-1j * 2 * math.pi * 1000 / sample_rate * torch.arange(3, dtype=torch.float64))
    gain = torch.abs((a * turn).sum() / (b * turn).sum())
    return torch.cat([b * gain, a])
