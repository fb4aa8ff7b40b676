"""SoX's ``bend``: pitch bends by a phase vocoder that moves each frame's partials by a factor that follows
the bends over time.

Frames of ``n_fft`` samples (about ``rate / frame_rate``, a power of two), Hann-windowed, every
``n_fft / oversample`` samples. For each frame and bin, the partial's true frequency is estimated from the
phase advance since the previous frame; the partials move to bin ``floor(k * shift)`` at ``shift`` times
their frequency; the synthesis phase of each bin accumulates its frequency, frame after frame (a cumulative
sum), and the frames are overlap-added. During a bend from ``start`` to ``end`` the shift glides by a
raised cosine to ``cents``; later bends multiply it further. The output is as long as the input and
delayed by one hop, as SoX's.

All frames are computed at once; only the bends' schedule is a per-frame table.

Example:
    >>> import torch
    >>> x = torch.sin(2 * torch.pi * 440 * torch.arange(8000) / 8000)[None]
    >>> bend(x, 8000, [(0, 1200.0, 4000)], 25, 16).shape
    torch.Size([1, 8000])
"""

from __future__ import annotations

import math

import torch

__all__ = ["bend", "bend_frame_size", "bend_shifts"]


def bend_frame_size(sample_rate: float, frame_rate: float) -> int:
    """SoX's frame length: the power of two from halving ``rate / frame_rate`` down to 2.

    Example:
        >>> bend_frame_size(44100, 25)
        2048
    """
    n = int(sample_rate / frame_rate + 0.5)
    size = 2
    while n > 2:
        size <<= 1
        n >>= 1
    return size


def bend_shifts(positions: torch.Tensor, bends: list[tuple[int, float, int]]) -> torch.Tensor:
    """The pitch factor at each frame, which SoX computes at input position ``positions`` (samples read):
    ``bends`` are ``(start, cents, duration)``; finished bends multiply the factor, the current one glides.

    Example:
        >>> bend_shifts(torch.tensor([0, 50, 100]), [(0, 1200.0, 100)]).tolist()
        [1.0, 1.4142135381698608, 2.0]
    """
    shifts = torch.ones(positions.shape[0], dtype=torch.float64)
    done = torch.zeros(positions.shape[0], dtype=torch.float64)
    current = torch.full((positions.shape[0],), -1, dtype=torch.int64)
    for index, (start, cents, duration) in enumerate(bends):
        finished = positions >= start + duration
        done = done + finished.double() * cents
        current = torch.where(~finished & (current < 0), index, current)
    shifts = torch.pow(2.0, done / 1200)
    glide = torch.zeros_like(shifts)
    for index, (start, cents, duration) in enumerate(bends):
        active = (current == index) & (positions >= start)
        progress = (positions - start).double() / max(duration, 1)
        amount = (1 - torch.cos(math.pi * progress)) * cents * (0.5 / 1200)
        glide = torch.where(active, amount, glide)
    return (shifts * torch.pow(2.0, glide)).to(torch.float32).double()  # SoX keeps the factor as a float


def bend(
    waveform: torch.Tensor, sample_rate: float, bends: list[tuple[int, float, int]], frame_rate: float, oversample: int
) -> torch.Tensor:
    """SoX ``bend`` on ``(..., time)``; ``bends`` are ``(start, cents, duration)`` in samples (see the module
    docstring).

    Example:
        >>> bend(torch.zeros(2, 1000), 8000, [(100, 300.0, 400)], 25, 16).shape
        torch.Size([2, 1000])
    """
    x = waveform.double()
    length = x.shape[-1]
    n_fft = bend_frame_size(sample_rate, frame_rate)
    step = n_fft // oversample
    latency = n_fft - step
    frames_count = length // step
    if frames_count == 0:
        return torch.zeros_like(waveform)
    padded = torch.nn.functional.pad(x, [latency, 0])
    frames = padded.unfold(-1, n_fft, step)[..., :frames_count, :]  # (..., frames, n_fft)
    window = 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(n_fft, dtype=torch.float64) / n_fft)
    spectrum = torch.fft.rfft(frames * window)
    magnitude = 2 * spectrum.abs()
    phase = torch.angle(spectrum)
    bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    expected = 2 * math.pi * step / n_fft
    per_bin = sample_rate / n_fft
    advance = torch.diff(phase, dim=-2, prepend=torch.zeros_like(phase[..., :1, :])) - bins * expected
    turns = torch.trunc(advance / math.pi)
    turns = turns + torch.where(turns >= 0, torch.remainder(turns, 2), -torch.remainder(turns, 2))
    deviation = oversample * (advance - math.pi * turns) / (2 * math.pi)
    frequency = (bins + deviation) * per_bin
    positions = (torch.arange(frames_count) + 1) * step
    shifts = bend_shifts(positions, bends)[:, None]  # (frames, 1)
    target = torch.floor(bins.float() * shifts.float()).to(torch.int64)  # SoX multiplies in single precision
    valid = target <= n_fft // 2
    target = torch.where(valid, target, torch.zeros_like(target))
    batch = magnitude.shape[:-2]
    moved_magnitude = torch.zeros_like(magnitude).scatter_add(
        -1, target.expand(*batch, -1, -1), torch.where(valid, magnitude, torch.zeros_like(magnitude))
    )
    source = torch.full(target.shape, -1, dtype=torch.int64).scatter_reduce(
        -1, target, torch.where(valid, bins.to(torch.int64).expand_as(target), -1), reduce="amax"
    )
    gathered = frequency.gather(-1, source.clamp(min=0).expand(*batch, -1, -1)) * shifts
    moved_frequency = torch.where(source >= 0, gathered, torch.zeros_like(gathered))
    increment = (moved_frequency - bins * per_bin) / per_bin * 2 * math.pi / oversample + bins * expected
    synthesis_phase = torch.cumsum(increment, -2)
    onesided = torch.polar(moved_magnitude, synthesis_phase)
    full = torch.nn.functional.pad(onesided, [0, n_fft - onesided.shape[-1]])
    frames_out = torch.fft.ifft(full).real * n_fft * window * 2 / (n_fft // 2 * oversample)
    total = (frames_count - 1) * step + n_fft
    summed = torch.nn.functional.fold(
        frames_out.reshape(-1, frames_count, n_fft).transpose(1, 2),
        output_size=(1, total),
        kernel_size=(1, n_fft),
        stride=(1, step),
    ).reshape(*x.shape[:-1], total)
    out = torch.nn.functional.pad(summed, [step, 0])[..., :length]
    return out.clamp(-1.0, 1.0).to(waveform.dtype)
