"""The phase of ``rate``'s filter (``-M`` minimum, ``-I`` intermediate, ``-p PHASE``): a correction applied
at the input rate before the linear-phase resampler.

The resampler's filter ``H`` is zero-phase. :func:`~._fir.fir_to_phase` turns the same prototype low-pass
into the filter ``P`` of equal magnitude and the asked phase (its peak undelayed, as SoX aligns it), and
the correction is ``P / H`` over the band ``H`` passes; ``H`` times it is ``P``. The division is
regularised (``P conj(H) / (|H|^2 + eps^2)``, ``eps`` -80 dB), so where ``H`` has stopped the correction
fades out smoothly instead of dividing by nothing, and its impulse response stays short. A minimum-phase
filter is the same whether built in one stage or in SoX's several, since its phase follows from the
magnitude alone; so is each intermediate phase, a fixed blend of the linear and the minimum one.

For upsampling the prototype is designed at the output rate and the correction keeps the part of its
spectrum below the input's Nyquist frequency (where ``H`` passes anything at all).

Example:
    >>> from tympan.plugins.sox.functional._rate import rate_design
    >>> taps, start = phase_correction(44100, 16000, rate_design("h"), 0.0)
    >>> taps.shape[0] > start > 0
    True
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.sox.functional._fir import convolve_fft, fir_to_phase, kaiser_lowpass
from tympan.plugins.sox.functional._rate import RateDesign, rational_ratio

__all__ = ["apply_phase_correction", "phase_correction"]

#: Where the zero-phase response is below this, the correction fades out instead of dividing by it.
_FLOOR = 1e-4


def _zero_delay_spectrum(taps: torch.Tensor, peak: int, size: int) -> torch.Tensor:
    """The response of ``taps`` with tap ``peak`` moved to time 0, on a ``size``-point grid."""
    padded = torch.nn.functional.pad(taps, [0, size - taps.shape[0]])
    spectrum: torch.Tensor = torch.fft.rfft(torch.roll(padded, -peak))
    return spectrum


def phase_correction(in_rate: float, out_rate: float, design: RateDesign, phase: float) -> tuple[torch.Tensor, int]:
    """The correction's taps (float64, at the input rate) and the index of its time 0, for resampling
    ``in_rate`` to ``out_rate`` with ``design`` at ``phase`` (0 minimum, 50 linear, 100 maximum).

    Example:
        >>> from tympan.plugins.sox.functional._rate import rate_design
        >>> taps, start = phase_correction(16000, 48000, rate_design("h"), 25.0)
        >>> taps.dtype, start == taps.shape[0] // 2
        (torch.float64, True)
    """
    orig, new = rational_ratio(in_rate, out_rate)
    fraction = design.rolloff * min(orig, new) / max(orig, new)  # cutoff at the design rate (the higher one)
    half = math.ceil(design.lowpass_filter_width / fraction)
    linear = kaiser_lowpass(2 * half + 1, fraction, design.beta)
    shaped, post_peak = fir_to_phase(linear, phase)
    reach = 4 * (linear.shape[0] + shaped.shape[0])
    if new > orig:  # a grid at the output rate whose bins are also the input rate's
        size = 2 * new * math.ceil(reach / (2 * new))
        in_size = size * orig // new
    else:
        size = in_size = 1 << math.ceil(math.log2(reach))
    zero_phase = _zero_delay_spectrum(linear, half, size)
    target = _zero_delay_spectrum(shaped, shaped.shape[0] - 1 - post_peak, size)
    floor = _FLOOR * float(zero_phase.abs().max())
    correction = target * zero_phase.conj() / (zero_phase.abs() ** 2 + floor**2)
    taps = torch.fft.irfft(correction[: in_size // 2 + 1], n=in_size)
    return torch.roll(taps, in_size // 2), in_size // 2


def apply_phase_correction(waveform: torch.Tensor, taps: torch.Tensor, start: int) -> torch.Tensor:
    """``waveform`` (``(..., time)``) filtered by the correction ``taps`` whose time 0 is tap ``start``,
    as long as the input, in float64.

    Example:
        >>> apply_phase_correction(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0, 0.0]), 1).round().tolist()
        [1.0, 2.0, 3.0]
    """
    length = waveform.shape[-1]
    full = convolve_fft(waveform.double(), taps.double())
    return full[..., start : start + length]
