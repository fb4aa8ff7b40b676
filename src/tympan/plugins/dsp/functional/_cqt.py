"""Constant-Q and variable-Q transforms, computed octave by octave (the inverse is :mod:`._icqt`'s, importable here).

The transform runs from the top octave down. Each octave is one short-time Fourier transform (rectangular
window of ``n_fft`` samples, the octave's hop, frames centred) multiplied by that octave's kernels from
:mod:`._cqt_kernels`; then, while the hop is even, the signal is low-passed and decimated by two and the hop
halved, so every octave sees the same kernels relative to its rate and every FFT stays short. When the top
filters lie far below Nyquist, the signal is first decimated by the largest power of two that keeps them
within the lower half-band and divides the hop as often as the octaves need (at most 2 ** k with
``k <= log2(nyquist / cutoff) - 2``). The decimations are done in the frequency domain by
:mod:`._cqt_multirate`, with a low-pass fitted to the soxr resampler librosa uses (flat to 0.9 of the new
Nyquist frequency); each is one real FFT of the current signal and one inverse FFT of half (or
``1 / 2 ** k``) its size, which suits GPUs and costs less than a long polyphase filter.

Parameters and scaling are librosa's (``librosa.cqt``, ``librosa.vqt``, ``librosa.icqt`` with
``tuning=0`` unless given): with ``scale`` every bin is divided by the square root of its filter length
, which makes the transform of white noise flat across bins;
``norm`` normalises each filter. The names follow torchaudio where it has one: ``sample_rate`` is librosa's
``sr``, ``f_min`` its ``fmin``, ``window`` a window name or factory. With an odd hop neither decimates and the
results agree to round-off; otherwise the two decimators agree to about 1e-4 of each bin's magnitude on
a chirp and white noise, up to 2e-3 in the first and last frames (see the tests and ``benchmarks``).

Example:
    >>> import torch
    >>> wave = torch.randn(2, 22050)
    >>> cqt(wave, 22050).shape, cqt(wave, 22050).dtype
    (torch.Size([2, 84, 44]), torch.complex64)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as nnf

from tympan.plugins.dsp.functional._cqt_kernels import (
    C1_HZ,
    check_plan,
    cqt_frequencies,
    cutoff_frequency,
    filter_lengths,
    frequency_kernels,
    pack_kernels,
    resolve_gamma,
    resolve_window,
)
from tympan.plugins.dsp.functional._cqt_multirate import decimated
from tympan.plugins.dsp.functional._icqt import (
    InverseConstantQPlan,
    icqt,
    inverse_constant_q_core,
    inverse_constant_q_plan,
)
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._stft import stft_features

__all__ = [
    "C1_HZ",
    "ConstantQPlan",
    "InverseConstantQPlan",
    "constant_q_plan",
    "inverse_constant_q_plan",
    "constant_q_core",
    "inverse_constant_q_core",
    "cqt",
    "vqt",
    "icqt",
]


class ConstantQPlan(NamedTuple):
    """Everything :func:`constant_q_core` needs, octave by octave from the top.

    ``kernels`` ``(octaves, max_bins, max_width)`` complex holds each octave's kernels (bins ascending,
    zero-padded), the scaling of the decimations and of ``scale`` folded in; octave ``o`` has
    ``octave_bins[o]`` bins and reads FFT bins ``first[o] ... first[o] + widths[o] - 1`` of ``n_ffts[o]``-point
    frames taken every ``hops[o]`` samples of the signal decimated by ``2 ** levels[o]``.

    Example:
        >>> plan = constant_q_plan(22050.0, 512, C1_HZ, 84, 12, 0.0, 1.0, 1.0, 0.01, torch.hann_window, True, 0.0,
        ...                        torch.float64, torch.device("cpu"))
        >>> plan.levels, plan.hops
        ([0, 1, 2, 3, 4, 5, 6], [512, 256, 128, 64, 32, 16, 8])
    """

    kernels: torch.Tensor
    octave_bins: list[int]
    n_ffts: list[int]
    first: list[int]
    widths: list[int]
    hops: list[int]
    levels: list[int]


def _early_decimation(sample_rate: float, cutoff: float, hop_length: int, n_octaves: int) -> int:
    """The first decimation factor: ``2 ** k`` with ``k`` bounded by the band's headroom and the hop's twos."""
    headroom = max(0, math.ceil(math.log2(sample_rate / 2 / cutoff)) - 2)
    twos = (hop_length & -hop_length).bit_length() - 1
    return 1 << min(headroom, max(0, twos - n_octaves + 1))


def _octaves_from_top(n_bins: int, bins_per_octave: int) -> list[tuple[int, int]]:
    """``(first bin, bins)`` of each octave, the top one first; the lowest may be partial."""
    groups = []
    stop = n_bins
    while stop > 0:
        start = max(0, stop - bins_per_octave)
        groups.append((start, stop - start))
        stop = start
    return groups


@functools.lru_cache(maxsize=32)
def constant_q_plan(
    sample_rate: float,
    hop_length: int,
    f_min: float,
    n_bins: int,
    bins_per_octave: int,
    gamma: float | None,
    filter_scale: float,
    norm: float | None,
    sparsity: float,
    window_fn: Callable[..., torch.Tensor],
    scale: bool,
    tuning: float,
    dtype: torch.dtype,
    device: torch.device,
) -> ConstantQPlan:
    """The octave kernels and decimation filters of a constant- or variable-Q transform (cached).

    ``dtype`` is the real working dtype; the kernels are its complex counterpart. See :func:`vqt`.

    Example:
        >>> plan = constant_q_plan(16000.0, 256, 110.0, 36, 12, None, 1.0, 1.0, 0.01, torch.hann_window, True,
        ...                        0.0, torch.float32, torch.device("cpu"))
        >>> tuple(plan.kernels.shape[:2]), plan.kernels.dtype
        ((3, 12), torch.complex64)
    """
    check_plan(
        sample_rate, hop_length, f_min, n_bins, bins_per_octave, filter_scale, gamma, tuning, window_fn, sparsity
    )
    offset = resolve_gamma(gamma, bins_per_octave)
    freqs = cqt_frequencies(n_bins, f_min, bins_per_octave, tuning)
    groups = _octaves_from_top(n_bins, bins_per_octave)
    cutoff = cutoff_frequency(freqs, bins_per_octave, filter_scale, offset, window_fn)
    early = _early_decimation(sample_rate, cutoff, hop_length, len(groups))
    rate, hop = sample_rate / early, hop_length // early
    # The result is defined at the rate after the early decimation (as librosa's): each decimation keeps
    # the signal's amplitude, so octave kernels built at rate ``rate / 2**m`` are scaled by ``2**m`` (and the
    # early factor) to sum like kernels at ``rate``; ``scale`` divides by sqrt(filter length at ``rate``).
    gain = math.sqrt(early) if scale else float(early)
    lengths = filter_lengths(freqs, rate, bins_per_octave, filter_scale, offset)
    blocks, n_ffts, first, widths, hops, levels = [], [], [], [], [], []
    halvings = 0
    for start, count in groups:
        band = slice(start, start + count)
        kernels, n_fft, low = frequency_kernels(
            freqs[band], rate / 2**halvings, bins_per_octave, filter_scale, offset, window_fn, norm, sparsity
        )
        weight = torch.full((count,), gain * 2.0**halvings, dtype=torch.float64)
        if scale:
            weight = weight / lengths[band].sqrt()
        blocks.append(kernels * weight.unsqueeze(1))
        n_ffts.append(n_fft)
        first.append(low)
        widths.append(kernels.shape[1])
        hops.append(hop)
        levels.append(early.bit_length() - 1 + halvings)
        if hop % 2 == 0:
            hop //= 2
            halvings += 1
    return ConstantQPlan(
        pack_kernels(blocks, dtype, device),
        [count for _, count in groups],
        n_ffts,
        first,
        widths,
        hops,
        levels,
    )


def constant_q_core(
    signals: torch.Tensor,
    kernels: torch.Tensor,
    octave_bins: list[int],
    n_ffts: list[int],
    first: list[int],
    widths: list[int],
    hops: list[int],
    levels: list[int],
    pad_mode: str,
) -> torch.Tensor:
    """``(signals, time)`` real to ``(signals, n_bins, frames)`` complex, with a :class:`ConstantQPlan`'s parts.

    Example:
        >>> plan = constant_q_plan(8000.0, 64, 100.0, 24, 12, 0.0, 1.0, 1.0, 0.01, torch.hann_window, True, 0.0,
        ...                        torch.float32, torch.device("cpu"))
        >>> constant_q_core(torch.randn(3, 4000), *plan, "constant").shape
        torch.Size([3, 24, 63])
    """
    rates = decimated(signals, levels)
    responses: list[torch.Tensor] = []
    for octave in range(len(octave_bins)):
        rectangle = torch.ones(n_ffts[octave], dtype=signals.dtype, device=signals.device)
        spectrum = stft_features(rates[octave], rectangle, hops[octave], 0, None, True, pad_mode, True, None)
        band = spectrum[:, first[octave] : first[octave] + widths[octave]]
        response = torch.matmul(kernels[octave, : octave_bins[octave], : widths[octave]].to(band.dtype), band)
        responses.append(response)
    # The octaves' frame counts never decrease with the level (a length rounded up to a multiple of 2 ** level
    # only grows), so the first octave's is the smallest; the others are cropped to it by a negative pad,
    # which leaves export no comparison of lengths to prove.
    frames = responses[0].shape[-1]
    ordered = [nnf.pad(responses[i], [0, frames - responses[i].shape[-1]]) for i in range(len(responses) - 1, -1, -1)]
    return torch.cat(ordered, dim=-2)


def magnitude_power(spectrum: torch.Tensor, power: float | None) -> torch.Tensor:
    """``spectrum`` itself (``power`` None) or ``|spectrum| ** power``.

    Example:
        >>> magnitude_power(torch.tensor([3 + 4j]), 2.0).tolist()
        [25.0]
    """
    if power is None:
        return spectrum
    if power == 1.0:
        return spectrum.abs()
    if power == 2.0:
        return spectrum.real.square() + spectrum.imag.square()
    return spectrum.abs().pow(power)


def vqt(
    waveform: torch.Tensor,
    sample_rate: float,
    hop_length: int = 512,
    f_min: float = C1_HZ,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    gamma: float | None = None,
    filter_scale: float = 1.0,
    norm: float | None = 1.0,
    sparsity: float = 0.01,
    window: str | Callable[..., torch.Tensor] = "hann",
    scale: bool = True,
    pad_mode: str = "constant",
    tuning: float = 0.0,
    power: float | None = None,
) -> torch.Tensor:
    """Variable-Q transform of ``(..., time)``: complex ``(..., n_bins, 1 + time // hop_length)``.

    Equals ``librosa.vqt(y, sr=sample_rate, hop_length=hop_length, fmin=f_min, n_bins=n_bins,
    bins_per_octave=bins_per_octave, gamma=gamma, filter_scale=filter_scale, norm=norm, sparsity=sparsity,
    window=window, scale=scale, pad_mode=pad_mode, tuning=tuning)`` up to the decimation filters (exactly
    when ``hop_length`` is odd, as neither then decimates). ``gamma`` is the bandwidth offset in Hz (0: the
    constant-Q transform; None: proportional to the ERB); ``norm`` the p-norm each filter is normalised to
    (``math.inf``: peak; None: none); ``sparsity`` the fraction of each kernel's magnitude dropped;
    ``pad_mode`` how frames beyond the ends are padded (``constant``, ``reflect``, ``replicate`` or
    ``circular``); ``tuning`` shifts every bin by that fraction of a bin. ``power`` None returns the complex
    transform, otherwise ``|.| ** power``. Half-precision input is computed in float32.

    Example:
        >>> x = torch.randn(22050)
        >>> vqt(x, 22050, n_bins=48, f_min=65.4).shape
        torch.Size([48, 44])
    """
    dtype = working_dtype(waveform.dtype)
    plan = constant_q_plan(
        float(sample_rate),
        int(hop_length),
        float(f_min),
        int(n_bins),
        int(bins_per_octave),
        None if gamma is None else float(gamma),
        float(filter_scale),
        None if norm is None else float(norm),
        float(sparsity),
        resolve_window(window),
        bool(scale),
        float(tuning),
        dtype,
        waveform.device,
    )
    shape = waveform.shape
    result = constant_q_core(waveform.reshape(-1, shape[-1]).to(dtype), *plan, pad_mode)
    result = magnitude_power(result, power).reshape(shape[:-1] + result.shape[-2:])
    return as_dtype(result, waveform.dtype)


def cqt(
    waveform: torch.Tensor,
    sample_rate: float,
    hop_length: int = 512,
    f_min: float = C1_HZ,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    gamma: float = 0.0,
    filter_scale: float = 1.0,
    norm: float | None = 1.0,
    sparsity: float = 0.01,
    window: str | Callable[..., torch.Tensor] = "hann",
    scale: bool = True,
    pad_mode: str = "constant",
    tuning: float = 0.0,
    power: float | None = None,
) -> torch.Tensor:
    """Constant-Q transform of ``(..., time)``: complex ``(..., n_bins, 1 + time // hop_length)``.

    :func:`vqt` with ``gamma`` 0 by default; equals ``librosa.cqt`` with the same options (``sr`` is
    ``sample_rate``, ``fmin`` is ``f_min``, the default ``f_min`` is C1 = 32.70 Hz).

    Example:
        >>> t = torch.arange(22050) / 22050
        >>> spectrum = cqt(torch.sin(2 * torch.pi * 440.0 * t), 22050, power=1.0)
        >>> int(spectrum[:, 20].argmax())  # A4 is 45 semitones above C1
        45
    """
    return vqt(
        waveform,
        sample_rate,
        hop_length,
        f_min,
        n_bins,
        bins_per_octave,
        gamma,
        filter_scale,
        norm,
        sparsity,
        window,
        scale,
        pad_mode,
        tuning,
        power,
    )
