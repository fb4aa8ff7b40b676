"""Band-limited resampling by a rational ratio with a polyphase windowed-sinc kernel.

With ``orig = orig_freq / g`` and ``new = new_freq / g`` (``g`` their gcd), output sample ``j`` sits at
input position ``j * orig / new``. Writing ``j = q * new + p``, phase ``p`` always sees the same filter taps
relative to input sample ``q * orig + (p * orig) // new``, so the whole operation is one kernel of ``new``
phases by ``2 * width + 2`` taps, ``width = ceil(lowpass_filter_width * orig / cutoff)`` applied every
``orig`` input samples. The taps are a sinc low-pass at ``cutoff = rolloff * min(orig, new) / 2`` cycles per
reduced-rate unit, tapered by a Hann (``cos**2``) or Kaiser window spanning ``lowpass_filter_width``
zero crossings on each side.

When the kernel is small it is laid out densely (``new`` phases of ``orig + 2 * width + 1`` columns, applied
to strided frames by matrix products over groups of phases whose taps lie together); for
ratios whose reduced terms are large (44100 -> 16001, say) the compact kernel is applied by gathering each
phase's taps from strided frames, in blocks of phases gathering about as many samples as the input holds.
Both loops run over counts fixed by the plan, never by the input's length, so TorchScript and ``torch.export``
(time dynamic) take the same path for every length. A kernel of more
than :data:`~._resample_phases.MAX_KERNEL_ELEMENTS` elements (coprime rates in the megahertz, a header's odd
rate) is never built: its taps are computed phase by phase as outputs need them
(:func:`~._resample_phases.resample_by_phases`), so memory is bounded whatever the ratio. A filter reaching
more than :data:`MAX_FILTER_TAPS` input samples per output (a ``rolloff`` near zero) is refused with
:class:`~tympan.core.errors.InvalidParameterError` naming the rates.

Example:
    >>> import torch
    >>> resample(torch.randn(2, 44100), 44100, 16000).shape
    torch.Size([2, 16000])
"""

from __future__ import annotations

import functools
import math
from types import MappingProxyType
from typing import NamedTuple

import torch

from tympan.core.errors import InvalidParameterError
from tympan.core.threads import intra_op_threads
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._resample_fft import (
    apply_fft_resampling,
    build_fft_resampling_plan,
    fft_resampling_plan,
)
from tympan.plugins.dsp.functional._resample_phases import filter_width, resample_by_phases
from tympan.plugins.dsp.functional._sinc import empty_resampled, resampled_length, windowed_sinc

__all__ = [
    "HIGH_QUALITY_RESAMPLING",
    "MAX_FILTER_TAPS",
    "resample",
    "ResamplingPlan",
    "build_resampling_plan",
    "resampling_plan",
    "apply_resampling",
]

#: The most input samples one output may be computed from (``2 * width + 2``).
MAX_FILTER_TAPS = 1 << 20
METHODS = ("sinc_interp_hann", "sinc_interp_kaiser", "sinc_interp_kaiser_fft")
#: The method whose Kaiser filter is applied by FFT blocks (see ``_resample_fft``).
FFT_METHOD = "sinc_interp_kaiser_fft"
#: Keyword arguments of :func:`resample` for soxr-HQ-grade quality at FFT cost: 0-0.91 of the lower Nyquist
#: frequency passes within 0.01 dB, everything above it is attenuated by more than 130 dB.
HIGH_QUALITY_RESAMPLING = MappingProxyType(
    {"resampling_method": FFT_METHOD, "lowpass_filter_width": 96, "rolloff": 0.955}
)


class ResamplingPlan(NamedTuple):
    """A resampling kernel and its geometry (see the module docstring).

    ``kernel`` is ``(new, orig + 2 * width + 1)`` when ``dense``, else ``(new, 2 * width + 2)`` with
    ``tap_index`` ``(new * (2 * width + 2),)`` locating each phase's taps in a frame; ``by_phases`` plans hold
    neither (their taps are computed as needed, see :func:`~._resample_phases.resample_by_phases`).

    Example:
        >>> plan = resampling_plan(3, 2, 6, 0.99, "sinc_interp_hann", None, torch.float32, torch.device("cpu"))
        >>> plan.orig, plan.new, plan.dense, tuple(plan.kernel.shape)
        (3, 2, True, (2, 24))
    """

    orig: int
    new: int
    width: int
    dense: bool
    kernel: torch.Tensor
    tap_index: torch.Tensor
    by_phases: bool = False


def _compact_taps(
    orig: int, new: int, lowpass_filter_width: int, rolloff: float, method: str, beta: float | None
) -> tuple[int, torch.Tensor, torch.Tensor]:
    """``(width, kernel (new, 2 width + 2), first tap of each phase (new,))`` in float64."""
    cutoff = min(orig, new) * rolloff
    width = filter_width(orig, new, lowpass_filter_width, rolloff)
    phase = torch.arange(new, dtype=torch.int64)
    first = (phase * orig) // new
    offsets = first.unsqueeze(1) - width + torch.arange(2 * width + 2)  # input sample of each tap
    # Distance from the output instant to each tap, in zero crossings of the sinc.
    crossings = (phase.unsqueeze(1).double() * orig / new - offsets.double()) * (cutoff / orig)
    return width, windowed_sinc(crossings, lowpass_filter_width, method, beta) * (cutoff / orig), first


def _check(orig_freq: int, new_freq: int, lowpass_filter_width: int, rolloff: float, method: str) -> None:
    """Raise ``InvalidParameterError`` naming what is wrong: rates, filter width, rolloff, method, or a
    filter longer than :data:`MAX_FILTER_TAPS` (TorchScript compiles it: no nested function, no format spec)."""
    if not torch.jit.is_scripting():
        if isinstance(orig_freq, bool) or isinstance(new_freq, bool):
            problem = f"orig_freq, new_freq: must be positive integers, got {orig_freq} and {new_freq}"
            raise InvalidParameterError("resample", [problem])
        if int(orig_freq) != orig_freq or int(new_freq) != new_freq:
            problem = f"orig_freq, new_freq: must be positive integers, got {orig_freq} and {new_freq}"
            raise InvalidParameterError("resample", [problem])
    if orig_freq <= 0 or new_freq <= 0:
        problem = f"orig_freq, new_freq: must be positive integers, got {orig_freq} and {new_freq}"
        raise InvalidParameterError("resample", [problem])
    if lowpass_filter_width <= 0:
        raise InvalidParameterError("resample", [f"lowpass_filter_width: must be positive, got {lowpass_filter_width}"])
    if not 0.0 < rolloff <= 1.0:
        raise InvalidParameterError("resample", [f"rolloff: must be in (0, 1], got {rolloff}"])
    if method != "sinc_interp_hann" and method != "sinc_interp_kaiser" and method != "sinc_interp_kaiser_fft":
        problem = (
            "resampling_method: must be sinc_interp_hann, sinc_interp_kaiser or sinc_interp_kaiser_fft, got " + method
        )
        raise InvalidParameterError("resample", [problem])
    common = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // common, int(new_freq) // common
    reach = lowpass_filter_width * orig / (min(orig, new) * rolloff)
    if 2 * reach + 2 > 1 << 20:  # MAX_FILTER_TAPS (literals here: TorchScript reads no module constants)
        problem = (
            f"orig_freq={orig_freq}, new_freq={new_freq}, lowpass_filter_width={lowpass_filter_width}, "
            f"rolloff={rolloff}: each output would need {2 * reach + 2} input samples (at most "
            "1048576); raise rolloff or lower lowpass_filter_width"
        )
        raise InvalidParameterError("resample", [problem])


def build_resampling_plan(
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int,
    rolloff: float,
    method: str,
    beta: float | None,
    dtype: torch.dtype,
    device: torch.device,
) -> ResamplingPlan:
    """The kernel resampling ``orig_freq -> new_freq`` (a kernel too large to hold gives a ``by_phases`` plan
    without one); :func:`resampling_plan` builds it once per ratio, parameters, dtype and device (the 16 most
    recent are kept), TorchScript calls this builder itself.

    Example:
        >>> a = resampling_plan(48000, 16000, 6, 0.99, "sinc_interp_hann", None, torch.float32, torch.device("cpu"))
        >>> a.orig, a.new, a is resampling_plan(48000, 16000, 6, 0.99, "sinc_interp_hann", None, torch.float32,
        ...                                     torch.device("cpu"))
        (3, 1, True)
    """
    _check(orig_freq, new_freq, lowpass_filter_width, rolloff, method)
    common = math.gcd(orig_freq, new_freq)
    orig, new = orig_freq // common, new_freq // common
    width = filter_width(orig, new, lowpass_filter_width, rolloff)
    if new * (2 * width + 2) > 1 << 21:  # MAX_KERNEL_ELEMENTS
        nothing = torch.zeros(0, dtype=dtype, device=device)
        return ResamplingPlan(orig, new, width, False, nothing, torch.zeros(0, dtype=torch.int64), True)
    width, taps, first = _compact_taps(orig, new, lowpass_filter_width, rolloff, method, beta)
    tap_index = (first.unsqueeze(1) + torch.arange(taps.shape[1])).reshape(-1)
    frame = orig + 2 * width + 1
    dense = new * frame <= 1 << 20  # dense kernels up to 2**20 elements
    if dense:
        kernel = torch.zeros(new, frame, dtype=torch.float64).scatter_(1, tap_index.view(new, -1), taps)
        tap_index = torch.zeros(0, dtype=torch.int64)
    else:
        kernel = taps
    return ResamplingPlan(orig, new, width, dense, kernel.to(dtype=dtype, device=device), tap_index.to(device), False)


#: :func:`build_resampling_plan`, cached.
resampling_plan = functools.lru_cache(maxsize=16)(build_resampling_plan)


def _dense_phases(padded: torch.Tensor, kernel: torch.Tensor, orig: int, new: int, width: int) -> torch.Tensor:
    """``(signals, frames * new)``: each frame of ``orig`` samples (a strided view) times every phase's taps.

    Phase ``p``'s taps fill columns ``(p * orig) // new`` onwards of its row of the dense kernel and the rest
    is zeros, so consecutive phases are taken in groups, each multiplied only over the columns its taps
    span: the same sums with the zeros skipped (a few times fewer operations for ratios like 441:160).
    """
    frames = padded.unfold(-1, kernel.shape[1], orig)  # (signals, n_frames, frame), a view
    taps = 2 * width + 2
    groups = max(1, min(new, orig // (2 * taps)))
    pieces: list[torch.Tensor] = []
    for group in range(groups):
        first, last = (group * new) // groups, ((group + 1) * new) // groups
        low = (first * orig) // new
        high = min(((last - 1) * orig) // new + taps, kernel.shape[1])
        pieces.append(torch.matmul(frames[:, :, low:high], kernel[first:last, low:high].t()))
    phases = torch.cat(pieces, dim=-1)  # (signals, n_frames, new)
    return phases.reshape(-1).view(padded.shape[0], -1)  # via 1-D: no divisibility for export to prove


def resample_padded(
    padded: torch.Tensor, kernel: torch.Tensor, tap_index: torch.Tensor, orig: int, new: int, width: int, dense: bool
) -> torch.Tensor:
    """``(signals, blocks * new)`` from ``(signals, time)`` padded with ``width`` samples before the signal.

    Output block ``t`` (``new`` samples) weighs the ``orig + 2 * width + 1`` padded samples from ``t * orig``
    on: every block that fits in ``padded`` comes out.

    Example:
        >>> p = resampling_plan(2, 3, 6, 0.99, "sinc_interp_hann", None, torch.float32, torch.device("cpu"))
        >>> resample_padded(torch.ones(1, 40), p.kernel, p.tap_index, p.orig, p.new, p.width, p.dense).shape
        torch.Size([1, 36])
    """
    kernel = kernel.to(padded.dtype)
    if dense:
        return _dense_phases(padded, kernel, orig, new, width)
    frame = orig + 2 * width + 1
    frames = padded.unfold(-1, frame, orig)  # (signals, n_frames, frame), a view
    taps = kernel.shape[1]
    # Blocks of phases whose gathered taps hold at most a frame's worth of samples per frame (about the
    # input's size): a count fixed by the plan, whatever the input's length.
    block = max(1, frame // taps)
    pieces: list[torch.Tensor] = []
    for first in range(0, new, block):
        last = min(new, first + block)
        gathered = frames.index_select(-1, tap_index[first * taps : last * taps])
        gathered = gathered.unflatten(-1, (last - first, taps))
        pieces.append(torch.einsum("sfpt,pt->sfp", gathered, kernel[first:last]))
    return torch.cat(pieces, dim=-1).reshape(-1).view(padded.shape[0], -1)


def apply_resampling(
    waveform: torch.Tensor, kernel: torch.Tensor, tap_index: torch.Tensor, orig: int, new: int, width: int, dense: bool
) -> torch.Tensor:
    """Resample ``(..., time)`` with a plan's tensors; ``ceil(time * new / orig)`` samples come out.

    Example:
        >>> p = resampling_plan(2, 3, 6, 0.99, "sinc_interp_hann", None, torch.float32, torch.device("cpu"))
        >>> apply_resampling(torch.ones(1, 10), p.kernel, p.tap_index, p.orig, p.new, p.width, p.dense).shape
        torch.Size([1, 15])
    """
    if waveform.numel() == 0:
        return empty_resampled(waveform, orig, new)
    shape = waveform.shape
    length = shape[-1]
    out_length = resampled_length(length, orig, new)
    signals = waveform.reshape(-1, length)
    n_frames = (length + orig - 1) // orig
    frame = orig + 2 * width + 1
    # One block more than the output needs (cropped below): never a single block, a size export would pin
    right = n_frames * orig + frame - width - length
    padded = torch.nn.functional.pad(signals, [width, right])
    out = resample_padded(padded, kernel, tap_index, orig, new, width, dense)
    # Cropping by a negative pad: the output length is then a formula of the input's, with no comparison
    # of ceil(length * new / orig) and n_frames * new for shapes to prove.
    out = torch.nn.functional.pad(out, [0, out_length - out.shape[1]])
    return out.reshape(shape[:-1] + out.shape[-1:])


def resample(
    waveform: torch.Tensor,
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    resampling_method: str = "sinc_interp_hann",
    beta: float | None = None,
) -> torch.Tensor:
    """Resample ``(..., time)`` from ``orig_freq`` to ``new_freq`` Hz (band-limited sinc interpolation).

    ``lowpass_filter_width`` is the number of sinc zero crossings kept on each side (sharper filter, more
    taps), ``rolloff`` the cutoff as a fraction of the lower Nyquist frequency, ``resampling_method``
    ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"`` (with ``beta``, default 14.769656459379492).
    The output has ``ceil(time * new_freq / orig_freq)`` samples; equal rates return the input. Memory is
    bounded whatever the ratio (see the module docstring); bad arguments raise
    :class:`~tympan.core.errors.InvalidParameterError`.

    ``"sinc_interp_kaiser_fft"`` uses the Kaiser filter of ``"sinc_interp_kaiser"`` but applies it by FFT
    blocks, so its cost hardly depends on the filter's length; it agrees with ``"sinc_interp_kaiser"`` up to
    the filter's stop-band level. ``resample(x, a, b, **HIGH_QUALITY_RESAMPLING)`` (96 zero crossings,
    ``rolloff`` 0.955) passes 0-0.91 of the lower Nyquist frequency within 0.01 dB and attenuates
    everything above that Nyquist frequency by more than 130 dB, the quality of soxr's HQ setting.

    Example:
        >>> t = torch.arange(48000) / 48000
        >>> y = resample(torch.sin(2 * torch.pi * 440 * t), 48000, 16000)
        >>> y.shape, round(float(y[8000:8040].abs().max()), 2)
        (torch.Size([16000]), 1.0)
    """
    if torch.jit.is_scripting():
        return _resample(waveform, orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta)
    with intra_op_threads(waveform):
        return _resample(waveform, orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta)


def _resample(
    waveform: torch.Tensor,
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int,
    rolloff: float,
    resampling_method: str,
    beta: float | None,
) -> torch.Tensor:
    """:func:`resample` on the intra-op threads it is given."""
    _check(orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method)
    if orig_freq == new_freq:
        return waveform
    dtype = working_dtype(waveform.dtype)
    signal = waveform.to(dtype)
    beta_value: float | None = None if beta is None else float(beta)
    kaiser_beta = 14.769656459379492 if beta_value is None else beta_value  # DEFAULT_KAISER_BETA
    if resampling_method == "sinc_interp_kaiser_fft":
        if torch.jit.is_scripting():
            fft_plan = build_fft_resampling_plan(
                orig_freq, new_freq, lowpass_filter_width, float(rolloff), beta_value, dtype, waveform.device
            )
        else:
            fft_plan = fft_resampling_plan(
                int(orig_freq),
                int(new_freq),
                int(lowpass_filter_width),
                float(rolloff),
                beta_value,
                dtype,
                waveform.device,
            )
        if fft_plan is None:  # blocks too long for the ratio: the same Kaiser filter, by phases
            common = math.gcd(int(orig_freq), int(new_freq))
            orig, new = int(orig_freq) // common, int(new_freq) // common
            out = resample_by_phases(signal, orig, new, int(lowpass_filter_width), float(rolloff), False, kaiser_beta)
            return as_dtype(out, waveform.dtype)
        out = apply_fft_resampling(
            signal, fft_plan.response, fft_plan.orig, fft_plan.new, fft_plan.block, fft_plan.guard
        )
        return as_dtype(out, waveform.dtype)
    if torch.jit.is_scripting():
        plan = build_resampling_plan(
            orig_freq,
            new_freq,
            lowpass_filter_width,
            float(rolloff),
            resampling_method,
            beta_value,
            dtype,
            waveform.device,
        )
    else:
        plan = resampling_plan(
            int(orig_freq),
            int(new_freq),
            int(lowpass_filter_width),
            float(rolloff),
            resampling_method,
            beta_value,
            dtype,
            waveform.device,
        )
    if plan.by_phases:
        hann = resampling_method == "sinc_interp_hann"
        out = resample_by_phases(
            signal, plan.orig, plan.new, int(lowpass_filter_width), float(rolloff), hann, kaiser_beta
        )
    else:
        out = apply_resampling(signal, plan.kernel, plan.tap_index, plan.orig, plan.new, plan.width, plan.dense)
    return as_dtype(out, waveform.dtype)
