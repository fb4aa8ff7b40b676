"""SoX's ``rate``: the low-pass its quality options call for, designed as SoX designs it and applied by the
DSP plugin's resampler in one stage, and SoX's output length.

SoX's quality sets the bits of accuracy (``-q`` none, ``-l`` and ``-m`` 16, ``-h`` 20, ``-v`` 28); the
stop-band attenuation is ``(bits + 1) * 6.02`` dB, the 0 dB pass-band edge ``100 - 5 / t(rej)`` percent of
the lower Nyquist frequency (``t`` SoX's -3 dB conversion, ``rej = bits * 6.02``), or what ``-b`` (the
-3 dB point) or ``-s`` (99 %) ask; the stop band starts at the Nyquist frequency, or beyond it by what
``-a`` lets alias. The filter is a Kaiser-windowed sinc cut half-way between the two edges, its length and
``beta`` from SoX's Kaiser formulas; the DSP plugin applies it (by FFT blocks when its stop band allows),
which puts output sample ``j`` at input position ``j * in / out``, as SoX does. It filters in float64, as
SoX does (float32 FFTs would leave a -140 dB floor, above SoX's -144 dB at ``-h``). SoX splits the same
response into several stages; the single stage matches its output to 55-90 dB SNR on white noise, more
on audio with little energy near the Nyquist frequency. ``-q`` is SoX's cubic interpolation, exactly.

The output holds ``round(length * out / in)`` samples, as SoX's does.

Example:
    >>> design = rate_design("h")
    >>> round(design.rolloff, 4), design.lowpass_filter_width, round(design.beta, 2)
    (0.9568, 93, 13.04)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import torch

__all__ = [
    "QUALITY_BITS",
    "RateDesign",
    "cubic_interpolate",
    "kaiser_beta",
    "rate_design",
    "rational_ratio",
    "resampled_length",
]

#: Bits of accuracy per quality letter (``q`` quick: cubic interpolation, no filter).
QUALITY_BITS = {"q": 0, "l": 16, "m": 16, "h": 20, "v": 28}
#: The pass band of the low quality, in percent of the Nyquist frequency.
LOW_QUALITY_BANDWIDTH = 67.625
_DB_PER_BIT = 20 * math.log10(2.0)

# SoX's fit of the Kaiser beta for a stop band of ``att`` dB and a transition of ``tr_bw`` (cubics in att,
# one row per octave of tr_bw from 0.0005 up).
_BETA_FIT = (
    (-6.784957e-10, 1.02856e-05, 0.1087556, -0.8978365),
    (-6.897885e-10, 1.027433e-05, 0.10876, -0.8974658),
    (-1.000683e-09, 1.030092e-05, 0.1087677, -0.8977898),
    (-3.654474e-10, 1.040631e-05, 0.1087085, -0.8917766),
    (8.106988e-09, 6.983091e-06, 0.1091387, -0.9022048),
    (9.519571e-09, 7.272678e-06, 0.1090068, -0.8890768),
    (-5.626821e-09, 1.342186e-05, 0.1083999, -0.8565452),
    (-9.965946e-08, 5.073548e-05, 0.1040967, -0.6822778),
    (1.604808e-07, -5.856462e-05, 0.1185998, -1.24824),
    (-1.511964e-07, 6.363034e-05, 0.1064627, -0.8076665),
)


def kaiser_beta(att: float, tr_bw: float) -> float:
    """The Kaiser ``beta`` for ``att`` dB of stop band and a transition ``tr_bw`` wide (SoX's fit above 60 dB,
    Kaiser's formulas below).

    Example:
        >>> round(kaiser_beta(126.4, 0.0226), 3), round(kaiser_beta(55.0, 0.05), 3)
        (13.036, 5.102)
    """
    if att >= 60:
        realm = math.log(tr_bw / 0.0005) / math.log(2.0)
        low = _BETA_FIT[min(max(int(realm), 0), len(_BETA_FIT) - 1)]
        high = _BETA_FIT[min(max(int(realm) + 1, 0), len(_BETA_FIT) - 1)]
        b0 = ((low[0] * att + low[1]) * att + low[2]) * att + low[3]
        b1 = ((high[0] * att + high[1]) * att + high[2]) * att + high[3]
        return b0 + (b1 - b0) * (realm - int(realm))
    if att > 50:
        return 0.1102 * (att - 8.7)
    if att > 20.96:
        return 0.58417 * (att - 20.96) ** 0.4 + 0.07886 * (att - 20.96)
    return 0.0


def kaiser_taps(att: float, beta: float, tr_bw: float) -> int:
    """The taps a Kaiser filter needs for ``att`` dB over a transition ``tr_bw`` wide (SoX's estimate).

    Example:
        >>> kaiser_taps(126.4, 13.043, 0.0432)
        194
    """
    if att < 60:
        width = (att - 7.95) / (2.285 * math.pi * 2)
    else:
        width = ((0.0007528358 - 1.577737e-05 * beta) * beta + 0.6248022) * beta + 0.06186902
    return math.ceil(width / tr_bw + 1)


class RateDesign(NamedTuple):
    """A resampling filter for the DSP plugin's resampler: cutoff (fraction of the lower Nyquist frequency),
    zero crossings on each side, Kaiser ``beta``; ``cubic`` for SoX's quick quality (no filter).

    Example:
        >>> rate_design("q").cubic
        True
    """

    rolloff: float
    lowpass_filter_width: int
    beta: float
    cubic: bool = False


def _to_3db(rejection: float) -> float:
    return (1.6e-6 * rejection - 7.5e-4) * rejection + 0.646


def rate_design(
    quality: str = "h", bandwidth: float | None = None, allow_aliasing: bool = False, steep: bool = False
) -> RateDesign:
    """The filter SoX's ``rate`` options describe: ``quality`` one of ``q l m h v``, ``bandwidth`` the -3 dB
    point in percent of the lower Nyquist frequency (``-b``), ``steep`` 99 % (``-s``), ``allow_aliasing``
    lets the transition band reach beyond the Nyquist frequency, keeping the band up to the -3 dB point
    free of aliasing (``-a``).

    Example:
        >>> rate_design("h", steep=True).rolloff > rate_design("h").rolloff
        True
    """
    bits = QUALITY_BITS[quality]
    if bits == 0:
        return RateDesign(1.0, 1, 0.0, cubic=True)
    rejection = bits * _DB_PER_BIT
    if steep:
        bandwidth = 99.0
    if bandwidth is not None:
        pass_edge = 100 - (100 - bandwidth) / _to_3db(rejection)
    elif quality == "l":
        pass_edge = LOW_QUALITY_BANDWIDTH
    else:
        pass_edge = 100 - 5 / _to_3db(rejection)
    three_db = 100 - (100 - pass_edge) * _to_3db(rejection)
    free = three_db if allow_aliasing else 100.0
    att = (bits + 1) * _DB_PER_BIT
    fp, fs = pass_edge / 100, 2 - free / 100
    half_transition = 0.5 * (fs - fp)
    cutoff = fs - half_transition
    beta = kaiser_beta(att, half_transition * 0.5 / cutoff)
    taps = kaiser_taps(att, beta, half_transition)
    return RateDesign(min(cutoff, 1.0), math.ceil(taps / 2 * cutoff), beta)


def rational_ratio(in_rate: float, out_rate: float) -> tuple[int, int]:
    """Integer rates ``(orig, new)`` in the ratio of ``in_rate`` to ``out_rate`` (fractional rates, after
    ``speed``, by a close fraction).

    Example:
        >>> rational_ratio(44100, 16000), rational_ratio(39690.0, 16000)
        ((441, 160), (3969, 1600))
    """
    ratio = Fraction(in_rate) / Fraction(out_rate)
    if ratio.denominator > 100_000 or ratio.numerator > 100_000:
        ratio = Fraction(in_rate / out_rate).limit_denominator(100_000)
    return ratio.numerator, ratio.denominator


def resampled_length(length: int, in_rate: float, out_rate: float) -> int:
    """SoX's output length: ``round(length * out_rate / in_rate)``.

    Example:
        >>> resampled_length(1000, 44100, 16000)
        363
    """
    return int(length / (in_rate / out_rate) + 0.5)


def cubic_interpolate(waveform: torch.Tensor, step: float, out_length: int) -> torch.Tensor:
    """SoX's quick resampler: output ``i`` is the cubic through the four input samples around position
    ``i * step`` (one silent sample before the start, silence after the end).

    Example:
        >>> cubic_interpolate(torch.tensor([0.0, 1.0, 2.0, 3.0]), 0.5, 4).tolist()  # the silence before bends it
        [0.0, 0.4374999701976776, 1.0, 1.5]
    """
    fixed = round(step * 2**32)
    positions = torch.arange(out_length, dtype=torch.float64) * fixed
    whole = torch.div(positions, 2**32, rounding_mode="floor")
    fraction = ((positions - whole * 2**32) / 2**32).to(waveform.dtype).to(waveform.device)
    index = whole.to(torch.int64).to(waveform.device) + 1
    padded = torch.nn.functional.pad(waveform, [1, 3])
    length = padded.shape[-1]
    taps = [padded.index_select(-1, (index + offset).clamp(0, length - 1)) for offset in (-1, 0, 1, 2)]
    before, here, after, later = taps
    b = 0.5 * (after + before) - here
    a = (later - after + before - here - 4 * b) / 6
    c = after - here - a - b
    return ((a * fraction + b) * fraction + c) * fraction + here
