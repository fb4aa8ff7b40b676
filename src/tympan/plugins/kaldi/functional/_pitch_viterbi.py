"""The Viterbi search of Kaldi's pitch tracker: the best path of lag states through the frames.

Frame ``t``'s cost of lag state ``i`` is its local cost plus the cheapest way there from any state ``j``
of frame ``t - 1``: ``min_j (cost[j] + factor * (i - j)^2)``, with ``factor = penalty_factor *
ln(1 + delta_pitch)^2`` (the lags are log-spaced, so the squared log-ratio of two lags is ``(i - j)^2``
times that constant). The costs are re-based to a minimum of zero after each frame, as Kaldi does, so
float32 keeps its precision. The frames are a recursion (each needs the previous frame's costs) and are
walked in order, as is the backtrace; the work within a frame is vectorised two ways:

- on accelerators, every ``(i, j)`` pair of every item of the batch at once (one addition and one minimum
  over a ``(batch, states, states)`` tensor per frame);
- on the CPU, per item in numpy, summing only the pairs in which ``j`` is no worse than its neighbours
  (a few per state; see :class:`_PredecessorSearch`). Both give the same path.

Example:
    >>> import torch
    >>> local = torch.tensor([[[0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]])
    >>> viterbi_path(local, torch.tensor([3]), factor=1.0).tolist()  # jumping costs too much
    [[0, 0, 0]]
    >>> viterbi_path(local, torch.tensor([3]), factor=0.1).tolist()
    [[0, 2, 0]]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["pitch_penalty_factor", "viterbi_path", "viterbi_path_dense", "viterbi_path_numpy"]


def pitch_penalty_factor(options: Any) -> float:
    """Kaldi's weight of the squared state distance: ``penalty_factor * ln(1 + delta_pitch)^2`` in float32.

    Example:
        >>> from tympan.plugins.kaldi.functional._pitch import PitchOptions
        >>> f"{pitch_penalty_factor(PitchOptions()):.3e}"
        '2.488e-06'
    """
    f32 = np.float32
    return float(f32(f32(math.log(1.0 + float(f32(options.delta_pitch)))) ** 2 * f32(options.penalty_factor)))


def _penalty(states: int, factor: float, dtype: np.dtype) -> np.ndarray:
    """``factor * d^2`` for every state distance ``d``, rounded as Kaldi's float arithmetic rounds it."""
    distance = np.arange(states, dtype=np.float64) ** 2
    return (distance.astype(np.float32) * np.float32(factor)).astype(dtype)


def viterbi_path_dense(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """:func:`viterbi_path` evaluating every pair of states, the whole batch at once (any device)."""
    batch, frames, states = local_cost.shape
    device = local_cost.device
    index = torch.arange(states, device=device)
    table = torch.as_tensor(_penalty(states, factor, np.dtype(np.float64)), device=device)
    penalty = table[(index[:, None] - index[None, :]).abs()].to(local_cost.dtype)
    pointers = torch.zeros((batch, frames, states), dtype=torch.int32, device=device)
    cost = local_cost.new_zeros((batch, states))
    counts = num_frames.to(device)
    for t in range(frames):
        best, pointer = (cost.unsqueeze(1) + penalty).min(dim=-1)
        updated = best + local_cost[:, t]
        updated = updated - updated.min(dim=-1, keepdim=True).values
        cost = torch.where((t < counts).unsqueeze(-1), updated, cost)
        pointers[:, t] = pointer.to(torch.int32)
    return _backtrace(pointers, cost.argmin(dim=-1), counts)


def _backtrace(pointers: torch.Tensor, final: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    batch, frames, _ = pointers.shape
    path = torch.zeros((batch, frames), dtype=torch.int64, device=pointers.device)
    for t in range(frames - 1, -1, -1):
        following = pointers[:, t + 1].gather(1, path[:, t + 1 : t + 2]).squeeze(1).long() if t + 1 < frames else final
        current = torch.where(counts - 1 == t, final, following)
        path[:, t] = torch.where(t <= counts - 1, current, torch.zeros_like(current))
    return path


class _PredecessorSearch:
    """``min_j cost[j] + penalty[|i - j|]`` and its lowest argmin for every state ``i``, in numpy.

    Writing ``a[j] = cost[j] + factor * j^2``, state ``i``'s sum is ``a[j] - 2 * factor * i * j`` plus a
    term that does not depend on ``j``; ``j`` can only be its minimum if neither neighbour is lower, that is
    if ``a[j] - a[j - 1] <= 2 * factor * i <= a[j + 1] - a[j]``. So each ``j`` is a candidate for one
    interval of states, found from the steps of ``a``; the intervals are widened by a bound on the rounding
    of the float32 sums (an exact tie in float32 need not be one in exact arithmetic), and only those
    (state, candidate) pairs are summed, as Kaldi sums them. The lowest candidate of each state's minimum
    wins through one scatter-minimum of the sums' bits (non-negative floats order as their bits) joined
    with the candidate's index. With ``factor = 0`` or costs that are not finite every pair is summed.
    """

    def __init__(self, states: int, penalty: np.ndarray, factor: float) -> None:
        self.states = states
        self.penalty = penalty
        self.index = np.arange(states)
        factor = float(np.float32(factor))
        self.rows_per_cost = 1.0 / (2.0 * factor) if factor > 0 else math.inf
        # State at which a[j] - a[j - 1] = 2 * factor * i when cost[j] = cost[j - 1], for j = 1 .. states - 1.
        self.midpoints = np.arange(1, states) - 0.5
        # Rounding of float32 sums: under 2^-23 of their size, at most factor * (states - 1)^2 + max(cost).
        self.slack_per_cost = 2.5e-7 * 2.0 * self.rows_per_cost
        self.slack = self.slack_per_cost * factor * (states - 1) ** 2
        self.bits = max(int(states - 1).bit_length(), 1)
        self.column_mask = (1 << self.bits) - 1
        self.no_key = np.full(states, np.iinfo(np.int64).max)
        self.first = np.zeros(states, dtype=np.int64)
        self.last = np.full(states, states - 1, dtype=np.int64)

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Each step is one numpy call on a few hundred values (ufuncs with ``out=``, no Python wrappers):
        # this runs once per frame, so call overhead is most of its time.
        peak = float(np.maximum.reduce(cost))
        if math.isinf(self.rows_per_cost) or not math.isfinite(peak):
            return self._every_pair(cost)
        wide = cost.astype(np.float64)
        threshold = np.subtract(wide[1:], wide[:-1])
        np.multiply(threshold, self.rows_per_cost, out=threshold)
        np.add(threshold, self.midpoints, out=threshold)
        slack = self.slack + self.slack_per_cost * peak
        first, last = self.first, self.last
        _rounded_into(np.subtract(threshold, slack, out=wide[1:]), np.ceil, 0, self.states, first[1:])
        _rounded_into(np.add(threshold, slack, out=threshold), np.floor, -1, self.states - 1, last[:-1])
        width = np.subtract(last, first)
        np.add(width, 1, out=width)
        np.maximum(width, 0, out=width)
        # Pair k of candidate j's run is state first[j] + k: its row is k's position less the run's start.
        starts = np.cumsum(width)
        total = int(starts[-1])
        np.subtract(starts, width, out=starts)
        np.subtract(starts, first, out=starts)
        rows = np.arange(total) - starts.repeat(width)
        columns = self.index.repeat(width)
        sums = self.penalty[np.abs(rows - columns)]
        sums += cost[columns]
        if cost.dtype == np.float32:
            keys = sums.view(np.int32).astype(np.int64)
            np.left_shift(keys, self.bits, out=keys)
            np.bitwise_or(keys, columns, out=keys)
            best = self.no_key.copy()
            np.minimum.at(best, rows, keys)
            return (best >> self.bits).astype(np.int32).view(np.float32), best & self.column_mask
        minimum = np.full(self.states, np.inf, dtype=cost.dtype)
        np.minimum.at(minimum, rows, sums)
        hits = sums == minimum[rows]
        pointer = np.full(self.states, self.states)
        np.minimum.at(pointer, rows[hits], columns[hits])
        return minimum, pointer

    def _every_pair(self, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums = cost + self.penalty[np.abs(self.index[:, None] - self.index)]
        pointer = sums.argmin(axis=1)
        return sums[self.index, pointer], pointer


def _rounded_into(values: np.ndarray, rounding: np.ufunc, low: int, high: int, out: np.ndarray) -> None:
    """Write ``values`` rounded (in place) and clipped to ``[low, high]`` into the integer array ``out``."""
    rounding(values, out=values)
    np.maximum(values, low, out=values)
    np.minimum(values, high, out=values)
    out[:] = values


def viterbi_path_numpy(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """:func:`viterbi_path` on the CPU, item by item in numpy with the candidate-pair search."""
    batch, frames, states = local_cost.shape
    local = local_cost.detach().cpu().numpy()
    search = _PredecessorSearch(states, _penalty(states, factor, local.dtype), factor)
    path = np.zeros((batch, frames), dtype=np.int64)
    for b in range(batch):
        count = int(num_frames[b])
        pointers = np.zeros((count, states), dtype=np.int64)
        cost = np.zeros(states, dtype=local.dtype)
        item = local[b]
        for t in range(count):
            cost, pointers[t] = search(cost)  # a new array: updated in place below
            cost += item[t]
            cost -= np.minimum.reduce(cost)
        state = int(cost.argmin()) if count else 0
        for t in range(count - 1, -1, -1):
            path[b, t] = state
            state = int(pointers[t, state])
    return torch.from_numpy(path).to(local_cost.device)


def viterbi_path(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """The best state sequence ``(batch, frames)`` through ``(batch, frames, states)`` local costs.

    Item ``b`` uses its first ``num_frames[b]`` frames (later entries of the path are 0); ties go to the
    lowest state. CPU tensors take the numpy candidate search, others the dense one.
    """
    if local_cost.device.type == "cpu":
        return viterbi_path_numpy(local_cost, num_frames, factor)
    return viterbi_path_dense(local_cost, num_frames, factor)
