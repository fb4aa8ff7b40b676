"""SoX's delay-line effects without feedback: ``echo``, ``echos`` and ``chorus``, as sums of delayed copies.

- ``echo``: ``y = gain_out (gain_in x[n] + sum_j decay_j x[n - d_j])``; the audio grows by the longest delay.
- ``echos``: SoX chains its delay lines so that line ``j`` is fed ``j + 1`` times the input: the ``j``-th
  tap is ``(j + 1) decay_j x[n - d_j]``; the audio grows by the sum of the delays.
- ``chorus``: each voice reads the input at a delay an LFO sweeps (SoX's integer wave tables; a sine sweeps
  from 0 to the depth, a triangle between ``delay - depth`` and ``delay + depth``, a table entry of 0
  reading the oldest sample of the line); the audio grows by the longest delay line.

Everything is a gather of delayed samples, vectorised over time; TorchScript-able.

Example:
    >>> import torch
    >>> echo(torch.tensor([[1.0, 0.0, 0.0]]), 1.0, 1.0, [2], [0.5]).tolist()
    [[1.0, 0.0, 0.5, 0.0, 0.0]]
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf

__all__ = ["chorus", "chorus_lags", "echo", "echos"]


def echo(
    waveform: torch.Tensor, gain_in: float, gain_out: float, delays: list[int], decays: list[float]
) -> torch.Tensor:
    """SoX ``echo`` on ``(..., time)`` with ``delays`` in samples (see the module docstring), clipped.

    Example:
        >>> echo(torch.tensor([1.0]), 0.5, 2.0, [1], [0.25]).tolist()
        [1.0, 0.5]
    """
    longest = max(delays)
    x = nnf.pad(waveform, [0, longest])
    out = x * gain_in
    for tap in range(len(delays)):
        out = out + nnf.pad(waveform, [delays[tap], longest - delays[tap]]) * decays[tap]
    return (out * gain_out).clamp(-1.0, 1.0)


def echos(
    waveform: torch.Tensor, gain_in: float, gain_out: float, delays: list[int], decays: list[float]
) -> torch.Tensor:
    """SoX ``echos`` on ``(..., time)`` with ``delays`` in samples (see the module docstring), clipped.

    Example:
        >>> echos(torch.tensor([1.0, 0.0]), 1.0, 1.0, [1, 1], [0.5, 0.25]).tolist()
        [1.0, 1.0, 0.0, 0.0]
    """
    total = 0
    for delay in delays:
        total += delay
    x = nnf.pad(waveform, [0, total])
    out = x * gain_in
    for tap in range(len(delays)):
        out = out + nnf.pad(waveform, [delays[tap], total - delays[tap]]) * (decays[tap] * (tap + 1))
    return (out * gain_out).clamp(-1.0, 1.0)


def chorus_lags(tables: list[torch.Tensor], line: int, length: int) -> torch.Tensor:
    """``(voices, length)`` delays in samples: voice ``i`` reads its table cyclically, 0 meaning ``line``.

    Example:
        >>> chorus_lags([torch.tensor([0, 1, 2])], 4, 5).tolist()
        [[4, 1, 2, 4, 1]]
    """
    rows = []
    steps = torch.arange(length)
    for table in tables:
        lag = table[steps % table.shape[0]]
        rows.append(torch.where(lag == 0, torch.full_like(lag, line), lag))
    return torch.stack(rows)


def chorus(
    waveform: torch.Tensor, gain_in: float, gain_out: float, lags: torch.Tensor, decays: list[float], line: int
) -> torch.Tensor:
    """SoX ``chorus`` on ``(..., time)``: ``lags`` from :func:`chorus_lags` for the output's length (input
    plus ``line``, the longest delay line), clipped.

    Example:
        >>> lags = chorus_lags([torch.tensor([1])], 1, 3)
        >>> chorus(torch.tensor([1.0, 0.0]), 0.5, 1.0, lags, [0.5], 1).tolist()
        [0.5, 0.5, 0.0]
    """
    total = waveform.shape[-1] + line
    x = nnf.pad(waveform, [line, line])  # x[n - lag] lives at index n + line - lag
    out = nnf.pad(waveform, [0, line]) * gain_in
    steps = torch.arange(total, device=waveform.device)
    for voice in range(lags.shape[0]):
        index = steps + line - lags[voice].to(waveform.device)
        out = out + x.index_select(-1, index) * decays[voice]
    return (out * gain_out).clamp(-1.0, 1.0)
