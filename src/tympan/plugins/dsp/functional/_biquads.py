"""The biquad filter family as functions, with torchaudio's names, parameters and defaults.

Each function designs its coefficients (see :mod:`._biquad_design`) and filters with :func:`biquad`, which
clamps the output to ``[-1, 1]`` as torchaudio's does. Leading dimensions are batch, the last is time.
Frequencies, ``Q`` and ``gain`` may be tensors: the output is differentiable with respect to them.

Example:
    >>> import torch
    >>> y = lowpass_biquad(torch.zeros(2, 100), 16000, 1000.0)
    >>> y.shape, bool(y.abs().max() == 0)
    (torch.Size([2, 100]), True)
"""

from __future__ import annotations

import torch

from tympan.plugins.dsp.functional import _biquad_design as design
from tympan.plugins.dsp.functional._biquad_design import Number
from tympan.plugins.dsp.functional._iir import lfilter

__all__ = [
    "biquad",
    "lowpass_biquad",
    "highpass_biquad",
    "allpass_biquad",
    "bandpass_biquad",
    "bandreject_biquad",
    "band_biquad",
    "bass_biquad",
    "treble_biquad",
    "equalizer_biquad",
    "deemph_biquad",
    "riaa_biquad",
    "apply_coefficients",
]


def apply_coefficients(waveform: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """Filter by ``[b0, b1, b2, a0, a1, a2]``, clamping to ``[-1, 1]``.

    Example:
        >>> apply_coefficients(torch.tensor([0.5, 0.0]), torch.tensor([1.0, 0, 0, 1, -0.5, 0])).tolist()
        [0.5, 0.25]
    """
    coefficients = coefficients.to(waveform.device)
    return lfilter(waveform, coefficients[3:], coefficients[:3], clamp=True)


def biquad(
    waveform: torch.Tensor, b0: Number, b1: Number, b2: Number, a0: Number, a1: Number, a2: Number
) -> torch.Tensor:
    """Filter by one second-order section ``(b0 + b1 z^-1 + b2 z^-2) / (a0 + a1 z^-1 + a2 z^-2)``.

    Example:
        >>> biquad(torch.tensor([0.5, 0.0, 0.0]), 1.0, 0.0, 0.0, 1.0, -0.5, 0.0).tolist()
        [0.5, 0.25, 0.125]
    """
    return apply_coefficients(waveform, design.coefficient_row(b0, b1, b2, a0, a1, a2))


def lowpass_biquad(waveform: torch.Tensor, sample_rate: int, cutoff_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """Two-pole low-pass at ``cutoff_freq`` Hz (SoX ``lowpass``).

    Example:
        >>> lowpass_biquad(torch.ones(1, 4000), 8000, 500.0)[0, -1].item() > 0.999
        True
    """
    return apply_coefficients(waveform, design.lowpass_coefficients(sample_rate, cutoff_freq, Q))


def highpass_biquad(waveform: torch.Tensor, sample_rate: int, cutoff_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """Two-pole high-pass at ``cutoff_freq`` Hz (SoX ``highpass``).

    Example:
        >>> abs(highpass_biquad(torch.ones(1, 4000), 8000, 500.0)[0, -1].item()) < 1e-6
        True
    """
    return apply_coefficients(waveform, design.highpass_coefficients(sample_rate, cutoff_freq, Q))


def allpass_biquad(waveform: torch.Tensor, sample_rate: int, central_freq: Number, Q: Number = 0.707) -> torch.Tensor:
    """Two-pole all-pass centred at ``central_freq`` Hz (SoX ``allpass``).

    Example:
        >>> allpass_biquad(torch.randn(2, 800) * 0.1, 8000, 1000.0).shape
        torch.Size([2, 800])
    """
    return apply_coefficients(waveform, design.allpass_coefficients(sample_rate, central_freq, Q))


def bandpass_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    central_freq: Number,
    Q: Number = 0.707,
    const_skirt_gain: bool = False,
) -> torch.Tensor:
    """Two-pole band-pass at ``central_freq`` Hz (SoX ``bandpass``, ``-c`` for ``const_skirt_gain``).

    Example:
        >>> bandpass_biquad(torch.randn(800) * 0.1, 8000, 1000.0, Q=2.0).shape
        torch.Size([800])
    """
    coefficients = design.bandpass_coefficients(sample_rate, central_freq, Q, const_skirt_gain)
    return apply_coefficients(waveform, coefficients)


def bandreject_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    central_freq: Number,
    Q: Number = 0.707,
) -> torch.Tensor:
    """Two-pole band-reject (notch) at ``central_freq`` Hz (SoX ``bandreject``).

    Example:
        >>> bandreject_biquad(torch.randn(800) * 0.1, 8000, 1000.0).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.bandreject_coefficients(sample_rate, central_freq, Q))


def band_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    central_freq: Number,
    Q: Number = 0.707,
    noise: bool = False,
) -> torch.Tensor:
    """Two-pole resonator at ``central_freq`` Hz (SoX ``band``, ``-n`` for ``noise``).

    Example:
        >>> band_biquad(torch.randn(800) * 0.1, 8000, 1000.0).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.band_coefficients(sample_rate, central_freq, Q, noise))


def bass_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    gain: Number,
    central_freq: Number = 100.0,
    Q: Number = 0.707,
) -> torch.Tensor:
    """Low-shelf boost or cut of ``gain`` dB below ``central_freq`` Hz (SoX ``bass``).

    Example:
        >>> bass_biquad(torch.randn(800) * 0.1, 8000, -6.0).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.bass_coefficients(sample_rate, gain, central_freq, Q))


def treble_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    gain: Number,
    central_freq: Number = 3000.0,
    Q: Number = 0.707,
) -> torch.Tensor:
    """High-shelf boost or cut of ``gain`` dB above ``central_freq`` Hz (SoX ``treble``).

    Example:
        >>> treble_biquad(torch.randn(800) * 0.1, 8000, -6.0, central_freq=2000).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.treble_coefficients(sample_rate, gain, central_freq, Q))


def equalizer_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    center_freq: Number,
    gain: Number,
    Q: Number = 0.707,
) -> torch.Tensor:
    """Peaking equaliser: ``gain`` dB at ``center_freq`` Hz (SoX ``equalizer``).

    Example:
        >>> equalizer_biquad(torch.randn(800) * 0.1, 8000, 1000.0, 3.0).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.equalizer_coefficients(sample_rate, center_freq, gain, Q))


def deemph_biquad(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """CD de-emphasis (SoX ``deemph``); ``sample_rate`` is 44100 or 48000.

    Example:
        >>> deemph_biquad(torch.randn(800) * 0.1, 44100).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.deemph_coefficients(sample_rate))


def riaa_biquad(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """RIAA vinyl playback equalisation (SoX ``riaa``); ``sample_rate`` is 44100, 48000, 88200 or 96000.

    Example:
        >>> riaa_biquad(torch.randn(800) * 0.1, 44100).shape
        torch.Size([800])
    """
    return apply_coefficients(waveform, design.riaa_coefficients(sample_rate))
