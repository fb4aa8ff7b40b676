"""The inverse constant-Q transform, octave by octave from the bottom.

Each octave's bins are mapped back to its short-time Fourier transform by the conjugates of the octave's
kernels (from :mod:`._cqt_kernels`, normalised so that a bin's analysis then synthesis passes its centre
frequency with unit gain), inverted by overlap-add with a rectangular window, interpolated to the output
rate by :mod:`._cqt_multirate` and summed. Parameters and scaling are ``librosa.icqt``'s; see
:mod:`._cqt` for the forward transform.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.functional._cqt import cqt
    >>> icqt(cqt(torch.randn(2, 22050), 22050), 22050).shape
    torch.Size([2, 22016])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from tympan.plugins.dsp.functional._cqt_kernels import (
    C1_HZ,
    check_plan,
    cqt_frequencies,
    filter_lengths,
    frequency_kernels,
    pack_kernels,
    resolve_window,
)
from tympan.plugins.dsp.functional._cqt_multirate import interpolated_sum
from tympan.plugins.dsp.functional._inverse import overlap_add_istft

__all__ = ["InverseConstantQPlan", "inverse_constant_q_plan", "inverse_constant_q_core", "icqt"]


class InverseConstantQPlan(NamedTuple):
    """Everything :func:`inverse_constant_q_core` needs, octave by octave from the bottom.

    ``kernels`` ``(octaves, max_width, max_bins)`` complex maps octave ``o``'s ``octave_bins[o]`` bins back to
    FFT bins ``first[o] ... first[o] + widths[o] - 1`` of ``n_ffts[o]``-point frames, overlap-added every
    ``hops[o]`` samples at the output rate divided by ``2 ** levels[o]``. ``longest`` is the longest filter,
    in samples at the output rate.

    Example:
        >>> plan = inverse_constant_q_plan(22050.0, 512, C1_HZ, 84, 12, 1.0, 1.0, 0.01, torch.hann_window, True,
        ...                                0.0, torch.float64, torch.device("cpu"))
        >>> plan.hops, plan.levels
        ([8, 16, 32, 64, 128, 256, 512], [6, 5, 4, 3, 2, 1, 0])
    """

    kernels: torch.Tensor
    octave_bins: list[int]
    n_ffts: list[int]
    first: list[int]
    widths: list[int]
    hops: list[int]
    levels: list[int]
    longest: float


@functools.lru_cache(maxsize=32)
def inverse_constant_q_plan(
    sample_rate: float,
    hop_length: int,
    f_min: float,
    n_bins: int,
    bins_per_octave: int,
    filter_scale: float,
    norm: float | None,
    sparsity: float,
    window_fn: Callable[..., torch.Tensor],
    scale: bool,
    tuning: float,
    dtype: torch.dtype,
    device: torch.device,
) -> InverseConstantQPlan:
    """The octave synthesis kernels and interpolation filter of the inverse constant-Q transform (cached).

    Example:
        >>> plan = inverse_constant_q_plan(16000.0, 256, 110.0, 36, 12, 1.0, 1.0, 0.01, torch.hann_window,
        ...                                True, 0.0, torch.float32, torch.device("cpu"))
        >>> plan.octave_bins, plan.kernels.dtype
        ([12, 12, 12], torch.complex64)
    """
    check_plan(sample_rate, hop_length, f_min, n_bins, bins_per_octave, filter_scale, 0.0, tuning, window_fn, sparsity)
    freqs = cqt_frequencies(n_bins, f_min, bins_per_octave, tuning)
    lengths = filter_lengths(freqs, sample_rate, bins_per_octave, filter_scale, 0.0)
    n_octaves = math.ceil(n_bins / bins_per_octave)
    # Rates from the top down: halve while the hop stays even.
    hops, halvings = [hop_length], [0]
    for _ in range(n_octaves - 1):
        even = hops[0] % 2 == 0
        hops.insert(0, hops[0] // 2 if even else hops[0])
        halvings.insert(0, halvings[0] + 1 if even else halvings[0])
    blocks, n_ffts, first, widths = [], [], [], []
    for octave in range(n_octaves):
        band = slice(bins_per_octave * octave, min(n_bins, bins_per_octave * (octave + 1)))
        rate = sample_rate / 2 ** halvings[octave]
        kernels, n_fft, low = frequency_kernels(
            freqs[band], rate, bins_per_octave, filter_scale, 0.0, window_fn, norm, sparsity
        )
        # Each bin's synthesis is its kernel's conjugate divided by the kernel's energy, so a bin's analysis
        # then synthesis passes its centre frequency with unit gain.
        weight = n_fft / lengths[band] / kernels.abs().square().sum(-1)
        if scale:
            weight = weight * lengths[band].sqrt()
        blocks.append((kernels.conj() * weight.unsqueeze(1)).T)
        n_ffts.append(n_fft)
        first.append(low)
        widths.append(kernels.shape[1])
    return InverseConstantQPlan(
        pack_kernels(blocks, dtype, device),
        [block.shape[1] for block in blocks],
        n_ffts,
        first,
        widths,
        hops,
        halvings,
        float(lengths.max()),
    )


def inverse_constant_q_core(
    spectrum: torch.Tensor,
    kernels: torch.Tensor,
    octave_bins: list[int],
    n_ffts: list[int],
    first: list[int],
    widths: list[int],
    hops: list[int],
    levels: list[int],
    longest: float,
    length: int | None,
) -> torch.Tensor:
    """``(signals, n_bins, frames)`` complex to ``(signals, time)``, with an :class:`InverseConstantQPlan`'s parts.

    Example:
        >>> plan = inverse_constant_q_plan(8000.0, 64, 100.0, 24, 12, 1.0, 1.0, 0.01, torch.hann_window, True,
        ...                                0.0, torch.float32, torch.device("cpu"))
        >>> inverse_constant_q_core(torch.randn(3, 24, 63, dtype=torch.complex64), *plan, None).shape
        torch.Size([3, 3968])
    """
    if length is not None:
        spectrum = spectrum[..., : math.ceil((length + longest) / hops[-1])]
    parts: list[torch.Tensor] = []
    start = 0
    for octave in range(len(octave_bins)):
        bins = octave_bins[octave]
        synthesis = kernels[octave, : widths[octave], :bins].to(spectrum.dtype)
        band = torch.matmul(synthesis, spectrum[:, start : start + bins])
        start += bins
        n_fft = n_ffts[octave]
        full = torch.nn.functional.pad(band, [0, 0, first[octave], n_fft // 2 + 1 - first[octave] - widths[octave]])
        rectangle = torch.ones(n_fft, dtype=full.real.dtype, device=full.device)
        parts.append(overlap_add_istft(full, rectangle, hops[octave], True, None, True))
    signals = interpolated_sum(parts, levels, hops[-1] * (spectrum.shape[-1] - 1))
    if length is not None:
        signals = signals[:, :length]
        if signals.shape[-1] < length:
            signals = torch.nn.functional.pad(signals, [0, length - signals.shape[-1]])
    return signals


def icqt(
    cqt_spectrum: torch.Tensor,
    sample_rate: float,
    hop_length: int = 512,
    f_min: float = C1_HZ,
    bins_per_octave: int = 12,
    filter_scale: float = 1.0,
    norm: float | None = 1.0,
    sparsity: float = 0.01,
    window: str | Callable[..., torch.Tensor] = "hann",
    scale: bool = True,
    length: int | None = None,
    tuning: float = 0.0,
) -> torch.Tensor:
    """Waveform ``(..., time)`` of a constant-Q transform ``(..., n_bins, frames)``, as ``librosa.icqt``.

    Each octave's bins are mapped back to an STFT by their kernels' conjugates (normalised so a bin's analysis
    and synthesis pass its centre frequency unchanged), inverted by overlap-add, interpolated to the output
    rate and summed. The parameters must be those of the forward :func:`cqt`; ``length`` trims or zero-pads
    the result (otherwise ``hop_length * (frames - 1)`` samples). Not an exact inverse: the constant-Q filters
    are not a tight frame, so a round trip keeps the signal to about 20-30 dB within the analysed band.

    Example:
        >>> from tympan.plugins.dsp.functional._cqt import cqt
        >>> x = torch.randn(22050, dtype=torch.float64)
        >>> icqt(cqt(x, 22050), 22050, length=22050).shape
        torch.Size([22050])
    """
    if not cqt_spectrum.is_complex() or cqt_spectrum.dim() < 2:
        raise ValueError(f"expected a complex constant-Q transform (..., n_bins, frames), got {cqt_spectrum.dtype}")
    if length is not None and length < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    real_dtype = torch.float64 if cqt_spectrum.dtype == torch.complex128 else torch.float32
    shape = cqt_spectrum.shape
    plan = inverse_constant_q_plan(
        float(sample_rate),
        int(hop_length),
        float(f_min),
        int(shape[-2]),
        int(bins_per_octave),
        float(filter_scale),
        None if norm is None else float(norm),
        float(sparsity),
        resolve_window(window),
        bool(scale),
        float(tuning),
        real_dtype,
        cqt_spectrum.device,
    )
    signals = inverse_constant_q_core(cqt_spectrum.reshape(-1, shape[-2], shape[-1]), *plan, length)
    return signals.reshape(shape[:-2] + signals.shape[-1:])
