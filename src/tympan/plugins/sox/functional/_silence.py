"""SoX's ``silence``: remove silence from the start, and stop (or remove it) after the audio, by a running RMS.

The level is the RMS of the last ``rate / 50 * channels`` interleaved samples (20 ms), with the newest one
replaced by each channel's own sample in turn; a channel is "above" when that RMS exceeds the threshold.

- **Start**: the output begins where ``above_periods`` stretches of ``above_duration`` samples above the
  threshold (in any channel) have been seen, at the start of the last one.
- **Stop** (``below_periods``): stretches of ``below_duration`` samples below the threshold (in any channel)
  are counted; the last one counted ends the output, or, when ``below_periods`` is negative, is removed
  and the start search begins again (its RMS window emptied), so every long silence goes.
  ``leave_silence`` keeps the counted stretches instead.

Only the decisions step along the signal: the levels are computed for the whole signal at once, and the
start and stop rules are applied to runs of above- and below-threshold samples, so the loop runs over the
silences removed, not over samples.

Example:
    >>> import torch
    >>> x = torch.cat([torch.zeros(800), 0.5 * torch.ones(1600), torch.zeros(1600)])[None]
    >>> silence(x, 8000, 1, 10, 1.0, "%", 1, 400, 1.0, "%", False).shape  # lead trimmed, tail cut
    torch.Size([1, 1759])
"""

from __future__ import annotations

import torch

__all__ = ["silence"]


def _levels(flat: torch.Tensor, channels: int, window: int, start: int) -> torch.Tensor:
    """``(ticks, channels)`` RMS (in SoX's integer scale, truncated) of each sample's window, the window
    emptied at flat index ``start`` (only samples from ``start`` on count)."""
    squares = torch.zeros_like(flat)
    squares[start:] = flat[start:].square()
    total = torch.cat([torch.zeros(1, dtype=flat.dtype), torch.cumsum(squares, 0)])
    ticks = flat.shape[0] // channels
    firsts = torch.arange(ticks) * channels  # the first flat index of each tick
    low = (firsts - window + 1).clamp(min=0)
    before = total[firsts] - total[low]  # the window's other n - 1 samples
    current = flat.reshape(ticks, channels).square()
    rms = torch.sqrt((before[:, None] + current) / window)
    return torch.floor(rms)


def _above(rms: torch.Tensor, threshold: float, unit: str) -> torch.Tensor:
    scaled = rms / (2.0**31 - 1)
    if unit == "%":
        return scaled * 100 > threshold
    with torch.no_grad():
        decibels = 20 * torch.log10(scaled.clamp(min=1e-300))
    return decibels > threshold


def _runs(flags: torch.Tensor) -> tuple[list[int], list[int]]:
    """Starts and lengths of the runs of true values."""
    padded = torch.cat([torch.zeros(1, dtype=torch.int8), flags.to(torch.int8), torch.zeros(1, dtype=torch.int8)])
    edges = torch.diff(padded)
    starts = torch.nonzero(edges == 1).flatten()
    ends = torch.nonzero(edges == -1).flatten()
    return starts.tolist(), (ends - starts).tolist()


def _trigger(flags: torch.Tensor, periods: int, chunk: int) -> int | None:
    """The tick where the ``periods``-th stretch of ``chunk`` consecutive true ticks starts, or None."""
    found = 0
    starts, lengths = _runs(flags)
    for begin, length in zip(starts, lengths, strict=True):
        available = length // chunk
        if found + available >= periods:
            return begin + (periods - found - 1) * chunk
        found += available
    return None


def silence(
    waveform: torch.Tensor,
    sample_rate: float,
    above_periods: int,
    above_duration: int,
    above_threshold: float,
    above_unit: str,
    below_periods: int,
    below_duration: int,
    below_threshold: float,
    below_unit: str,
    leave_silence: bool,
) -> torch.Tensor:
    """SoX ``silence`` on one recording ``(channels, time)`` (see the module docstring); durations in samples
    per channel, thresholds in ``%`` or ``d`` (dB). Returns ``(channels, time')``.

    Example:
        >>> silence(torch.zeros(2, 100), 8000, 1, 0, 1.0, "%", 0, 0, 0.0, "%", False).shape
        torch.Size([2, 0])
    """
    channels, length = waveform.shape
    flat = waveform.double().transpose(0, 1).reshape(-1) * 2.0**31
    window = max(int(sample_rate / 50) * channels, 1)
    ticks = length
    kept: list[tuple[int, int]] = []
    tick, restart = 0, 0
    stop_periods = abs(below_periods)
    while tick < ticks:
        if above_periods > 0:
            rms = _levels(flat, channels, window, restart * channels)
            above = _above(rms[tick:], above_threshold, above_unit).any(1)
            begin = _trigger(above, above_periods, max(above_duration, 1))
            if begin is None:
                break
            tick += begin
        if below_periods == 0:
            kept.append((tick, ticks))
            break
        rms = _levels(flat, channels, window, restart * channels)
        quiet = ~_above(rms[tick:], below_threshold, below_unit).all(1)
        stop = _trigger(quiet, stop_periods, max(below_duration, 1))
        if stop is None:
            kept.append((tick, ticks))
            break
        chunk_end = stop + max(below_duration, 1)
        kept.append((tick, tick + (chunk_end if leave_silence else stop)))
        if below_periods > 0:
            break
        tick += chunk_end
        restart = tick
    if not kept:
        return waveform[..., :0]
    index = torch.cat([torch.arange(a, b) for a, b in kept]) if kept else torch.zeros(0, dtype=torch.int64)
    return waveform.index_select(-1, index.to(waveform.device))
