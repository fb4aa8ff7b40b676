"""Resampling with a long Kaiser-windowed sinc, filtered by FFT blocks and interpolated in the spectrum.

The filter is the one ``sinc_interp_kaiser`` uses (a sinc at ``rolloff`` times the lower Nyquist frequency,
Kaiser-windowed over ``lowpass_filter_width`` zero crossings on each side), sampled at the input rate. Long
filters (the 100-odd zero crossings a 130 dB stop band with a narrow transition needs) are cheap this way:

1. the signal is cut into overlapping blocks of ``block = m * orig`` input samples (``orig``, ``new``: the
   reduced rates), ``hop = block - 2 * guard`` apart, ``guard`` a multiple of ``orig`` covering half the filter;
2. each block's spectrum is multiplied by the filter's (zero-phase) frequency response, which leaves it
   band-limited below the lower Nyquist frequency up to the filter's stop-band level (the plan holds the
   response times ``new / orig``, the scale of the shorter inverse transform, so no pass rescales samples);
3. the first ``m * new // 2 + 1`` bins (zero-padded when upsampling) are inverse-transformed to
   ``m * new`` samples, which samples the same band-limited block at the output rate;
4. the ``guard * new / orig`` samples at each end, where the circular convolution wrapped, are dropped.

Output sample ``j`` sits at input position ``j * orig / new``, as for the polyphase methods, so both agree up
to the filter's stop-band level. The cost per sample is a few FFT butterflies, whatever the filter length.
Step 3 is exact only for a filter that has stopped by the lower Nyquist frequency, so a plan refuses one
that keeps more than :data:`MAX_LEAK` (-100 dB) there; short filters run as fast as ``sinc_interp_kaiser``.
Blocks are whole multiples of the reduced ``orig`` and their spectra span ``m * new // 2 + 1`` bins, so for
reduced rates in the millions they would be huge: past :data:`MAX_BLOCK` samples or bins there is no plan
(``None``) and :func:`~._resample.resample` applies the same Kaiser filter phase by phase instead.

With 96 zero crossings, the cutoff at 0.955 of the lower Nyquist frequency and Kaiser ``beta`` 14.77, the
band 0-0.91 of the lower Nyquist frequency passes within 0.01 dB and everything from that Nyquist frequency
upwards is attenuated by more than 130 dB.

Example:
    >>> import torch
    >>> plan = fft_resampling_plan(44100, 16000, 96, 0.955, 14.77, torch.float32, torch.device("cpu"))
    >>> y = apply_fft_resampling(torch.randn(2, 44100), plan.response, plan.orig, plan.new, plan.block, plan.guard)
    >>> y.shape
    torch.Size([2, 16000])
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch

from tympan.core.tracing import recorded
from tympan.plugins.dsp.functional._blocks import block_count, cut, readable
from tympan.plugins.dsp.functional._sinc import empty_resampled, resampled_length, windowed_sinc

__all__ = [
    "MAX_BLOCK",
    "MAX_LEAK",
    "FftResamplingPlan",
    "build_fft_resampling_plan",
    "fft_resampling_plan",
    "apply_fft_resampling",
]

#: Blocks hold at least this many input samples (and at least four times the filter length). Shorter blocks
#: keep more of each block for the wrapped ends, longer ones cost the FFT library more setup per transform
#: (its tables grow with the length, about 10 ns a sample): with HIGH_QUALITY_RESAMPLING, 7056-sample blocks for
#: 44.1 kHz -> 16 kHz took 0.83 ms a 10 s channel on one thread, 14112-sample blocks 0.93 ms, 5292-sample blocks
#: 0.99 ms (medians of 40 calls).
_MIN_BLOCK = 4096
#: The largest response the filter may keep at the lower Nyquist frequency (-100 dB): the spectral cut there
#: would otherwise change in-band samples by as much.
MAX_LEAK = 1e-5
#: The longest block (input samples) or spectrum (bins) a plan holds.
MAX_BLOCK = 1 << 21


class FftResamplingPlan(NamedTuple):
    """Block geometry and the filter's frequency response for one ratio, times ``new / orig`` (see the module
    docstring).

    Example:
        >>> plan = fft_resampling_plan(48000, 44100, 64, 0.93, 14.77, torch.float32, torch.device("cpu"))
        >>> plan.orig, plan.new, plan.block % plan.orig, tuple(plan.response.shape) == (plan.bins,)
        (160, 147, 0, True)
    """

    orig: int
    new: int
    block: int
    guard: int
    bins: int
    response: torch.Tensor


def _kaiser_sinc(orig: int, new: int, lowpass_filter_width: int, rolloff: float, beta: float | None) -> torch.Tensor:
    """The zero-phase filter at the input rate, taps ``-half .. half`` in float64."""
    cutoff = min(orig, new) * rolloff
    half = math.ceil(lowpass_filter_width * orig / cutoff)
    crossings = torch.arange(-half, half + 1, dtype=torch.float64) * (cutoff / orig)
    return windowed_sinc(crossings, lowpass_filter_width, "sinc_interp_kaiser", beta) * (cutoff / orig)


def build_fft_resampling_plan(
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int,
    rolloff: float,
    beta: float | None,
    dtype: torch.dtype,
    device: torch.device,
) -> FftResamplingPlan | None:
    """The block geometry and filter response for ``orig_freq -> new_freq`` (``beta`` None: the Kaiser default
    of ``sinc_interp_kaiser``); ``None`` when the blocks would exceed :data:`MAX_BLOCK`.
    :func:`fft_resampling_plan` builds it once per setting (the 16 most recent are kept), TorchScript calls
    this builder itself.

    Example:
        >>> plan = fft_resampling_plan(44100, 16000, 96, 0.955, 14.77, torch.float32, torch.device("cpu"))
        >>> plan.block // plan.orig * plan.new // 2 + 1 == plan.bins
        True
    """
    common = math.gcd(orig_freq, new_freq)
    orig, new = orig_freq // common, new_freq // common
    half = math.ceil(lowpass_filter_width * orig / (min(orig, new) * rolloff))
    guard = -(-half // orig) * orig
    multiple = 1
    # (literals: TorchScript reads no module constants) blocks of at least _MIN_BLOCK input samples and
    # four times the filter length, at most MAX_BLOCK samples or bins
    while multiple * orig < max(4096, 8 * guard):
        multiple *= 2
    block = multiple * orig
    if block > 1 << 21 or multiple * new // 2 + 1 > 1 << 21:
        return None
    taps = _kaiser_sinc(orig, new, lowpass_filter_width, rolloff, beta)
    placed = torch.zeros(block, dtype=torch.float64)
    placed[: half + 1] = taps[half:]  # zero phase: tap 0 at index 0, negative taps wrapped to the end
    placed[block - half :] = taps[:half]
    response = torch.fft.rfft(placed).real  # real for a symmetric filter
    bins = multiple * new // 2 + 1
    leak = float(response[min(bins, response.numel()) - 1].abs())
    if leak > 1e-5:  # MAX_LEAK
        raise ValueError(
            f"sinc_interp_kaiser_fft needs a filter that has stopped at the lower Nyquist frequency, where "
            f"this one is at {round(20 * math.log10(leak))} dB (at most -100 dB): raise lowpass_filter_width or "
            "lower rolloff (HIGH_QUALITY_RESAMPLING: 96 and 0.955), or use sinc_interp_kaiser for a short filter"
        )
    if bins <= response.numel():
        response = response[:bins].clone()
    else:
        response = torch.nn.functional.pad(response, [0, bins - response.numel()])
    response = response * (new / orig)  # the inverse transform's scale, m * new samples from m * orig
    return FftResamplingPlan(orig, new, block, guard, bins, response.to(dtype=dtype, device=device))


#: :func:`build_fft_resampling_plan`, cached.
fft_resampling_plan = functools.lru_cache(maxsize=16)(build_fft_resampling_plan)


def apply_fft_resampling(
    waveform: torch.Tensor, response: torch.Tensor, orig: int, new: int, block: int, guard: int
) -> torch.Tensor:
    """Resample ``(..., time)`` with a plan's response and geometry; ``ceil(time * new / orig)`` samples out.

    Eagerly on the CPU with nothing differentiated, blocks holding more than :data:`_PIECE_SAMPLES` samples run
    in pieces of about that many (see :func:`_in_pieces`); otherwise all at once.

    Example:
        >>> p = fft_resampling_plan(16000, 8000, 48, 0.9, 14.77, torch.float32, torch.device("cpu"))
        >>> apply_fft_resampling(torch.ones(3, 1000), p.response, p.orig, p.new, p.block, p.guard).shape
        torch.Size([3, 500])
    """
    if waveform.numel() == 0:
        return empty_resampled(waveform, orig, new)
    shape = waveform.shape
    length = shape[-1]
    out_length = resampled_length(length, orig, new)
    signals = waveform.reshape(-1, length)
    hop = block - 2 * guard
    n_blocks = block_count(length, hop)  # traced, at least two: no length-dependent dimension is one
    if not torch.jit.is_scripting():  # noqa: SIM102 (TorchScript skips the body only under this whole condition)
        if _in_pieces_here(waveform, signals.shape[0] * n_blocks, block):
            out = _in_pieces(signals, response, orig, new, block, guard, n_blocks)[:, :out_length]
            return out.reshape(shape[:-1] + out.shape[-1:])
    right = (n_blocks - 1) * hop + block - guard - length
    padded = _zero_padded(signals, guard, right)
    out = cut(_filtered_blocks(padded, response, orig, new, block, guard).flatten(1), out_length, 1)
    return out.reshape(shape[:-1] + out.shape[-1:])


#: Block samples filtered per piece eagerly on the CPU (2 MB in float32): a piece's spectra stay small enough
#: to be reused from the allocator and a core's cache, and large enough that the FFT library's per-call setup
#: (about 0.1 ms a transform) stays a small share. 16 x 10 s of 44.1 kHz -> 16 kHz (72 blocks of 7056 samples a
#: channel) took 25.8 ms on one thread in pieces of 2**19 samples, 28.4 ms of 2**18 and 30.0 ms of 2**20 (medians
#: of 10 calls, HIGH_QUALITY_RESAMPLING, 2-core machine with other jobs running).
_PIECE_SAMPLES = 1 << 19


def _piece_blocks(block: int) -> int:
    """Blocks of ``block`` samples in one piece."""
    return max(1, _PIECE_SAMPLES // block)


def _in_pieces_here(waveform: torch.Tensor, blocks: int, block: int) -> bool:
    """Whether ``blocks`` blocks of ``block`` samples of ``waveform`` run in pieces: more than one piece's worth,
    on the CPU, eagerly and with nothing differentiated (:func:`~._blocks.readable`)."""
    return blocks > _piece_blocks(block) and waveform.device.type == "cpu" and readable(waveform)


def _in_pieces(
    signals: torch.Tensor, response: torch.Tensor, orig: int, new: int, block: int, guard: int, n_blocks: int
) -> torch.Tensor:
    """:func:`_filtered_blocks` of ``signals`` ``(S, time)`` piece by piece: whole signals together while
    :func:`_piece_blocks` blocks hold them, else runs of that many blocks of one signal, each piece padded
    on its own. At 16 x 10 s this cut the time of 44.1 kHz -> 16 kHz by 40 %: the spectra of the whole
    batch (32 MB) were fresh memory at each call, and most of the time went to the kernel handing out pages.
    Returns ``(S, n_blocks * kept)`` samples, ``kept`` per block.
    """
    count, length = signals.shape
    hop = block - 2 * guard
    per_piece = _piece_blocks(block)
    rows = max(1, per_piece // n_blocks)
    span = min(n_blocks, per_piece)
    kept = hop // orig * new
    out = torch.empty(count, n_blocks, kept, dtype=signals.dtype)
    for row in range(0, count, rows):
        for first in range(0, n_blocks, span):
            last = min(n_blocks, first + span)
            start, end = first * hop - guard, (last - 1) * hop - guard + block
            piece = signals[row : row + rows, max(0, start) : min(length, end)]
            piece = _zero_padded(piece, max(0, -start), max(0, end - length))
            out[row : row + rows, first:last] = _filtered_blocks(piece, response, orig, new, block, guard)
    return out.flatten(1)


def _zero_padded(signals: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """``signals`` ``(S, time)`` with ``before`` zeros in front and ``after`` behind: eagerly in one pass over the
    samples (a constant pad fills the whole output, then copies the signal over it); scripted or traced, a
    constant pad, whose symbolic sizes need no guard that ``after`` is not negative (a tensor of ``after``
    zeros does, which ``torch.export`` cannot prove for every length)."""
    if not torch.jit.is_scripting():  # noqa: SIM102 (TorchScript skips the body only under this whole condition)
        if not recorded():
            return torch.cat(
                [signals.new_zeros(signals.shape[0], before), signals, signals.new_zeros(signals.shape[0], after)], 1
            )
    return torch.nn.functional.pad(signals, [before, after])


def _filtered_blocks(
    padded: torch.Tensor, response: torch.Tensor, orig: int, new: int, block: int, guard: int
) -> torch.Tensor:
    """The resampled blocks of ``padded`` ``(S, guard + time + right)``, their wrapped ends dropped:
    ``(S, blocks, kept)`` (steps 2-4 of the module docstring). Upsampling, the inverse transform pads the
    spectrum with the zeros above the input's Nyquist frequency itself."""
    blocks = padded.unfold(-1, block, block - 2 * guard)  # (signals, blocks, block), a view
    spectrum = torch.fft.rfft(blocks)
    bins = min(response.shape[0], spectrum.shape[-1])
    out_block = block // orig * new
    filtered = spectrum[..., :bins].mul_(response[:bins].to(padded.dtype))  # in place: a pass less to memory
    samples: torch.Tensor = torch.fft.irfft(filtered, n=out_block)
    skip = guard // orig * new
    return samples[..., skip : out_block - skip]
