"""Resampling whose filter taps are computed as they are needed: memory bounded whatever the ratio.

The polyphase kernel of :mod:`._resample` holds ``new`` phases of ``2 * width + 2`` taps each, which
grows with the reduced ratio (44100 -> 16001 keeps 16001 phases; 9999991 -> 16000 keeps 16000 phases of
7578 taps, half a gigabyte). Past :data:`MAX_KERNEL_ELEMENTS` this path is taken instead: output sample
``j = q * new + p`` is the same windowed sinc as there, evaluated at the continuous position
``j * orig / new`` for phase ``p`` only when an output of that phase is computed, in blocks of phases, and
applied to every frame ``q`` that needs them. Memory stays below a few tens of megabytes; the taps of a
phase are computed once per call, so the cost is that of the kernel's construction spread over the call
(at most ``min(outputs, new) * (2 * width + 2)`` tap evaluations) plus the multiply-adds.

The result equals the polyphase path's up to rounding (the same taps, summed in another order).

Example:
    >>> import torch
    >>> x = torch.randn(2, 3000, dtype=torch.float64)
    >>> y = resample_by_phases(x, 3, 2, 6, 0.99, True, 0.0)
    >>> y.shape
    torch.Size([2, 2000])
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.dsp.functional._sinc import empty_resampled, resampled_length, tapered_sinc

__all__ = ["MAX_KERNEL_ELEMENTS", "filter_width", "resample_by_phases"]

#: Kernels of more elements than this (phases times taps) are not built; their taps are computed as needed.
MAX_KERNEL_ELEMENTS = 1 << 21


def filter_width(orig: int, new: int, lowpass_filter_width: int, rolloff: float) -> int:
    """``ceil(lowpass_filter_width * orig / cutoff)``: input samples the filter reaches on each side.

    Example:
        >>> filter_width(3, 2, 6, 0.99)
        10
    """
    return math.ceil(lowpass_filter_width * orig / (min(orig, new) * rolloff))


def _phase_taps(
    first_phase: int,
    last_phase: int,
    orig: int,
    new: int,
    width: int,
    lowpass_filter_width: int,
    rolloff: float,
    hann: bool,
    beta: float,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(taps (phases, 2 width + 2), first input sample of each phase's frame (phases,))``."""
    cutoff = min(orig, new) * rolloff
    phase = torch.arange(first_phase, last_phase, dtype=torch.int64, device=device)
    first = torch.div(phase * orig, new, rounding_mode="floor")
    offsets = first.unsqueeze(1) - width + torch.arange(2 * width + 2, device=device)
    crossings = (phase.unsqueeze(1).double() * orig / new - offsets.double()) * (cutoff / orig)
    taps = tapered_sinc(crossings, lowpass_filter_width, hann, beta) * (cutoff / orig)
    return taps.to(dtype), first


def resample_by_phases(
    waveform: torch.Tensor,
    orig: int,
    new: int,
    lowpass_filter_width: int,
    rolloff: float,
    hann: bool,
    beta: float,
) -> torch.Tensor:
    """Resample ``(..., time)`` by the reduced ratio ``orig -> new``, computing each phase's taps when first
    needed (see the module docstring); ``ceil(time * new / orig)`` samples come out. The taps are a sinc
    tapered by a Hann window (``hann``) or a Kaiser window of ``beta``.

    Example:
        >>> resample_by_phases(torch.ones(1, 10), 5, 7, 6, 0.99, False, 14.77).shape
        torch.Size([1, 14])
    """
    if waveform.numel() == 0:
        return empty_resampled(waveform, orig, new)
    shape = waveform.shape
    length = shape[-1]
    out_length = resampled_length(length, orig, new)
    signals = waveform.reshape(-1, length)
    width = filter_width(orig, new, lowpass_filter_width, rolloff)
    taps_per_phase = 2 * width + 2
    n_frames = -(-out_length // new)
    frame = orig + 2 * width + 1
    right = (n_frames - 1) * orig + frame - width - length
    padded = torch.nn.functional.pad(signals, [width, max(0, right)])
    out = signals.new_zeros(signals.shape[0], n_frames, new)
    phases_used = min(out_length, new)
    step_elements = 1 << 21  # kernel taps, or gathered input samples, one step holds
    dense = frame <= 4 * taps_per_phase  # short frames: each phase block is a small strided convolution
    block = max(1, min(phases_used, step_elements // (frame if dense else taps_per_phase)))
    columns = torch.arange(taps_per_phase, device=waveform.device)
    for first_phase in range(0, phases_used, block):
        last_phase = min(phases_used, first_phase + block)
        taps, first = _phase_taps(
            first_phase,
            last_phase,
            orig,
            new,
            width,
            lowpass_filter_width,
            rolloff,
            hann,
            beta,
            signals.dtype,
            signals.device,
        )
        tap_index = first.unsqueeze(1) + columns  # (phases, taps) within a frame
        if dense:
            kernel = taps.new_zeros(last_phase - first_phase, frame).scatter_(1, tap_index, taps)
            values = torch.nn.functional.conv1d(padded.unsqueeze(1), kernel.unsqueeze(1), stride=orig)
            out[:, :, first_phase:last_phase] = values[:, :, :n_frames].mT
            continue
        step = max(1, step_elements // max(1, signals.shape[0] * (last_phase - first_phase) * taps_per_phase))
        for start in range(0, n_frames, step):
            stop = min(n_frames, start + step)
            origins = torch.arange(start, stop, device=waveform.device) * orig
            index = origins.view(-1, 1, 1) + tap_index.unsqueeze(0)  # (frames, phases, taps)
            gathered = padded[:, index.reshape(-1)].view(signals.shape[0], stop - start, -1, taps_per_phase)
            out[:, start:stop, first_phase:last_phase] = torch.einsum("sfpt,pt->sfp", gathered, taps)
    out = out.reshape(signals.shape[0], -1)
    out = out[:, :out_length]
    return out.reshape(shape[:-1] + out.shape[-1:])
