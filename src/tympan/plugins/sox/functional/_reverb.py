"""SoX's ``reverb`` (Freeverb): eight damped comb filters in parallel, four all-passes in series, after a
pre-delay, mixed with the dry signal.

Everything in the wet path is linear and time-invariant, so it is one impulse response, which is computed
once from the filters' transfer functions (frequency sampling on a grid longer than the response lasts)
and applied by FFT convolution: no loop over samples, whatever the room size. Comb ``i`` of ``N`` samples,
feedback ``g`` and damping ``d`` is ``z^-N (1 - d/z) / (1 - d/z - g (1 - d) z^-N)``; all-pass ``j`` of
``M`` samples is ``(1.5 z^-M - 1) / (1 - 0.5 z^-M)``. A stereo reverb uses a second set of filters whose
lengths differ by ``depth * 12`` samples (alternately longer and shorter).

Example:
    >>> import torch
    >>> response = reverb_response(8000, 50.0, 50.0, 100.0, 0.0, 0.0)
    >>> response.shape[0] > 8000, float(response[:10].abs().max()) < 1e-12  # nothing before the shortest comb
    (True, True)
"""

from __future__ import annotations

import functools
import math

import torch

__all__ = ["filter_lengths", "reverb_gains", "reverb_response"]

_COMBS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)  # Freeverb's lengths at 44.1 kHz
_ALLPASSES = (225, 341, 441, 556)
_STEREO_SPREAD = 12
#: The response is kept until it has decayed below this (relative to its peak): -140 dB.
_FLOOR = 1e-7


def filter_lengths(sample_rate: float, room_scale: float, offset: float) -> tuple[list[int], list[int]]:
    """The comb and all-pass lengths in samples for ``room_scale`` percent and a stereo ``offset`` (0 or the
    depth as a fraction), alternating its sign filter by filter as SoX does.

    Example:
        >>> filter_lengths(44100, 100.0, 0.0)[0][:2]
        [1116, 1188]
    """
    ratio = sample_rate / 44100
    scale = room_scale / 100 * 0.9 + 0.1
    combs, allpasses, sign = [], [], 1.0
    for length in _COMBS:
        combs.append(int(scale * ratio * (length + _STEREO_SPREAD * offset * sign) + 0.5))
        sign = -sign
    for length in _ALLPASSES:
        allpasses.append(int(ratio * (length + _STEREO_SPREAD * offset * sign) + 0.5))
        sign = -sign
    return combs, allpasses


def reverb_gains(reverberance: float, hf_damping: float, wet_gain_db: float) -> tuple[float, float, float]:
    """``(feedback, damping, wet gain)`` of SoX's reverb for its percentages and gain.

    Example:
        >>> [round(v, 4) for v in reverb_gains(50.0, 50.0, 0.0)]
        [0.8817, 0.35, 0.015]
    """
    a = -1 / math.log(1 - 0.3)
    b = 100 / (math.log(1 - 0.98) * a + 1)
    feedback = 1 - math.exp((reverberance - b) / (a * b))
    damping = hf_damping / 100 * 0.3 + 0.2
    gain = 10.0 ** (wet_gain_db / 20) * 0.015
    return feedback, damping, gain


@functools.lru_cache(maxsize=16)
def reverb_response(
    sample_rate: float,
    reverberance: float,
    hf_damping: float,
    room_scale: float,
    wet_gain_db: float,
    offset: float,
) -> torch.Tensor:
    """The wet path's impulse response (float64, without the pre-delay), until it decays below 1e-7 of its
    peak; computed once per setting.

    Example:
        >>> reverb_response(8000, 0.0, 0.0, 0.0, 0.0, 0.0).shape[0] < reverb_response(8000, 100.0, 0.0, 100.0,
        ...                                                                            0.0, 0.0).shape[0]
        True
    """
    feedback, damping, gain = reverb_gains(reverberance, hf_damping, wet_gain_db)
    combs, allpasses = filter_lengths(sample_rate, room_scale, offset)
    loops = math.log(_FLOOR) / math.log(max(feedback, 1e-3)) + 2
    lasting = int(max(combs) * loops + sum(allpasses) * 30)
    size = 1 << max(math.ceil(math.log2(max(lasting, 64))), 8)
    bins = torch.arange(size // 2 + 1, dtype=torch.int64)
    lengths = torch.tensor([1, *combs, *allpasses], dtype=torch.int64)
    # z^-n on the grid, from exact integer phases: row 0 is z^-1, then each comb's and all-pass's delay
    turns = torch.remainder(lengths[:, None] * bins[None, :], size).double() * (-2 * math.pi / size)
    delays = torch.polar(torch.ones_like(turns), turns)
    z, comb_delays, allpass_delays = delays[0], delays[1 : 1 + len(combs)], delays[1 + len(combs) :]
    smoothing = 1 - damping * z
    total = (comb_delays * smoothing / (smoothing - feedback * (1 - damping) * comb_delays)).sum(0)
    total = total * ((1.5 * allpass_delays - 1) / (1 - 0.5 * allpass_delays)).prod(0)
    response = torch.fft.irfft(total * gain, n=size)
    peak = float(response.abs().max())
    audible = torch.nonzero(response.abs() > _FLOOR * peak)
    end = int(audible[-1]) + 1 if audible.numel() else 1
    return response[:end].clone()
