"""The Viterbi search of Kaldi's pitch tracker: the best path of lag states through the frames.

Frame ``t``'s cost of lag state ``i`` is its local cost plus the cheapest way there from any state ``j``
of frame ``t - 1``: ``min_j (cost[j] + factor * (i - j)^2)``, with ``factor = penalty_factor *
ln(1 + delta_pitch)^2`` (the lags are log-spaced, so the squared log-ratio of two lags is ``(i - j)^2``
times that constant). The costs are re-based to a minimum of zero after each frame, as Kaldi does, so
float32 keeps its precision. The frames are a recursion (each needs the previous frame's costs) and are
walked in order, as is the backtrace; the work within a frame is vectorised two ways:

- on accelerators, every ``(i, j)`` pair of every item of the batch at once (one addition and one minimum
  over a ``(batch, states, states)`` tensor per frame);
- on the CPU, per item in numpy, using that the cheapest predecessor ``j*(i)`` never decreases with ``i``
  (the quadratic penalty makes the cost matrix Monge): every 20th row is searched over all states, and the
  rows between two of them only between those rows' predecessors. Both give the same path.

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

__all__ = ["pitch_penalty_factor", "viterbi_path", "viterbi_path_dense", "viterbi_path_monotone"]

#: Rows between two exhaustively searched rows of the CPU search.
_STRIDE = 20


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
        current = torch.where(t == counts - 1, final, following)
        path[:, t] = torch.where(t <= counts - 1, current, torch.zeros_like(current))
    return path


class _MonotoneSearch:
    """``min_j cost[j] + penalty[|i - j|]`` and its leftmost argmin for every state ``i``, in numpy.

    The rows searched over all states and the penalties they need are fixed per number of states.
    """

    def __init__(self, states: int, penalty: np.ndarray) -> None:
        self.states = states
        self.penalty = penalty
        self.sampled = np.unique(np.concatenate([np.arange(0, states, _STRIDE), [states - 1]]))
        self.sampled_penalty = penalty[np.abs(self.sampled[:, None] - np.arange(states)[None, :])]
        between = np.ones(states, dtype=bool)
        between[self.sampled] = False
        self.rows = np.flatnonzero(between)
        self.row_gap = np.searchsorted(self.sampled, self.rows) - 1
        self.sampled_index = np.arange(len(self.sampled))

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        block = cost + self.sampled_penalty
        anchor = block.argmin(axis=1)
        best = np.empty(self.states, dtype=cost.dtype)
        pointer = np.empty(self.states, dtype=np.int64)
        best[self.sampled] = block[self.sampled_index, anchor]
        pointer[self.sampled] = anchor
        # A row between sampled rows m and m + 1 searches columns anchor[m] .. anchor[m + 1].
        low = anchor[self.row_gap]
        row_width = anchor[self.row_gap + 1] - low + 1
        ends = np.cumsum(row_width)
        offsets = ends - row_width
        columns = np.repeat(low - offsets, row_width) + np.arange(ends[-1])
        values = cost[columns] + self.penalty[np.abs(np.repeat(self.rows, row_width) - columns)]
        row_min = np.minimum.reduceat(values, offsets)
        first = np.where(values == np.repeat(row_min, row_width), columns, self.states)
        best[self.rows] = row_min
        pointer[self.rows] = np.minimum.reduceat(first, offsets)
        return best, pointer


def viterbi_path_monotone(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """:func:`viterbi_path` on the CPU, item by item in numpy with the monotone predecessor search."""
    batch, frames, states = local_cost.shape
    local = local_cost.detach().cpu().numpy()
    search = _MonotoneSearch(states, _penalty(states, factor, local.dtype))
    path = np.zeros((batch, frames), dtype=np.int64)
    for b in range(batch):
        count = int(num_frames[b])
        pointers = np.zeros((count, states), dtype=np.int64)
        cost = np.zeros(states, dtype=local.dtype)
        for t in range(count):
            best, pointers[t] = search(cost)
            cost = best + local[b, t]
            cost -= cost.min()
        state = int(cost.argmin()) if count else 0
        for t in range(count - 1, -1, -1):
            path[b, t] = state
            state = int(pointers[t, state])
    return torch.from_numpy(path).to(local_cost.device)


def viterbi_path(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """The best state sequence ``(batch, frames)`` through ``(batch, frames, states)`` local costs.

    Item ``b`` uses its first ``num_frames[b]`` frames (later entries of the path are 0); ties go to the
    lowest state. CPU tensors take the monotone numpy search, others the dense one.
    """
    if local_cost.device.type == "cpu" and local_cost.shape[-1] > 2 * _STRIDE:
        return viterbi_path_monotone(local_cost, num_frames, factor)
    return viterbi_path_dense(local_cost, num_frames, factor)
