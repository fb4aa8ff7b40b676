"""The Viterbi search of Kaldi's pitch tracker: the best path of lag states through the frames.

Frame ``t``'s cost of lag state ``i`` is its local cost plus the cheapest way there from any state ``j``
of frame ``t - 1``: ``min_j (cost[j] + factor * (i - j)^2)``, with ``factor = penalty_factor *
ln(1 + delta_pitch)^2`` (the lags are log-spaced, so the squared log-ratio of two lags is ``(i - j)^2``
times that constant). The costs are re-based to a minimum of zero after each frame, as Kaldi does, so
float32 keeps its precision. The frames are a recursion (each needs the previous frame's costs) and are
walked in order, as is the backtrace; the work within a frame is vectorised two ways:

- on accelerators, every ``(i, j)`` pair of every item of the batch at once (one addition and one minimum
  over a ``(batch, states, states)`` tensor per frame);
- on the CPU, per item in a loop compiled with numba, summing only the pairs in which ``j`` is no worse
  than its neighbours (a few per state; see :func:`advance`). Both give the same path.

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

from tympan.core.compiled_loops import compiled_lazily

__all__ = ["advance", "pitch_penalty_factor", "trace_back", "viterbi_path", "viterbi_path_cpu", "viterbi_path_dense"]


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


def advance(cost: np.ndarray, local: np.ndarray, factor: float) -> np.ndarray:
    """Advance the search by the frames of ``local`` ``(frames, states)``: ``cost`` (the states' costs after
    the frame before, float32 or float64) is updated in place, and each new frame's best predecessor of each
    state is returned, ``(frames, states)`` int64. Compiled (numba) on first use.

    Example:
        >>> cost = np.zeros(3, dtype=np.float32)
        >>> advance(cost, np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32), factor=0.5).tolist()
        [[0, 1, 2], [1, 1, 1]]
        >>> cost.tolist()
        [0.0, 0.5, 1.0]
    """
    if cost.ndim != 1 or cost.shape[0] == 0 or cost.dtype not in (np.float32, np.float64):
        raise ValueError(f"cost: expected a non-empty 1-D float32 or float64 array, got {cost.dtype} {cost.shape}")
    if local.ndim != 2 or local.shape[1] != cost.shape[0]:
        raise ValueError(f"local: expected (frames, {cost.shape[0]}) costs, got {local.shape}")
    pointers = np.empty(local.shape, dtype=np.int64)
    penalty = _penalty(cost.shape[0], factor, cost.dtype)
    _forward_kernel()(np.ascontiguousarray(local, dtype=cost.dtype), cost, penalty, float(np.float32(factor)), pointers)
    return pointers


def trace_back(pointers: np.ndarray, state: int) -> np.ndarray:
    """The states of the path ``(frames,)`` that ends in ``state``, from each frame's best predecessors
    ``pointers`` ``(frames, states)`` (as :func:`advance` returns them). Compiled (numba) on first use.

    Example:
        >>> trace_back(np.array([[0, 1, 2], [1, 1, 1]]), 2).tolist()
        [1, 2]
    """
    path = np.empty(pointers.shape[0], dtype=np.int64)
    _trace_back_kernel()(np.ascontiguousarray(pointers, dtype=np.int64), state, path)
    return path


def viterbi_path_cpu(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """:func:`viterbi_path` on the CPU: each item advanced by :func:`advance`, then traced back (compiled)."""
    batch, frames, states = local_cost.shape
    exact = local_cost.dtype == torch.float64
    local = local_cost.detach().cpu().to(torch.float64 if exact else torch.float32).numpy()
    path = np.zeros((batch, frames), dtype=np.int64)
    for b in range(batch):
        count = int(num_frames[b])
        cost = np.zeros(states, dtype=local.dtype)
        pointers = advance(cost, local[b, :count], factor)
        path[b, :count] = trace_back(pointers, int(cost.argmin()))
    return torch.from_numpy(path).to(local_cost.device)


# The functions below run compiled: numba types them from their arguments, and the coverage tool does not see them.


def _forward(
    local: np.ndarray, cost: np.ndarray, penalty: np.ndarray, factor: float, pointers: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Frame by frame: each state's cheapest predecessor (``pointers[t]``) and its new cost (``cost``).

    Writing ``a[j] = cost[j] + factor * j^2``, state ``i``'s sum is ``a[j] - 2 * factor * i * j`` plus a
    term that does not depend on ``j``; ``j`` can only be its minimum if neither neighbour is lower, that is
    if ``a[j] - a[j - 1] <= 2 * factor * i <= a[j + 1] - a[j]``. So each ``j`` is a candidate for one run of
    states (:func:`_candidate_runs`), and only those (state, candidate) pairs are summed, as Kaldi sums them.
    With ``factor`` not positive and finite, or costs that are not finite, every pair is summed.
    """
    states = cost.shape[0]
    first = np.zeros(states, dtype=np.int64)
    last = np.full(states, states - 1, dtype=np.int64)
    best = np.empty_like(cost)
    for t in range(local.shape[0]):
        peak = -math.inf  # the largest cost, or infinity if one is not finite
        for value in cost:
            if not math.isfinite(value):
                peak = math.inf
                break
            peak = max(peak, value)
        if 0 < factor < math.inf and math.isfinite(peak):
            _candidate_runs(cost, peak, factor, first, last)
        else:
            first[:] = 0
            last[:] = states - 1
        _best_predecessors(cost, penalty, first, last, best, pointers[t])
        _add_and_rebase(cost, best, local[t])


def _candidate_runs(
    cost: np.ndarray, peak: float, factor: float, first: np.ndarray, last: np.ndarray
) -> None:  # pragma: no cover - compiled
    """The states ``first[j] .. last[j]`` for which ``j`` is no worse than its neighbours (see :func:`_forward`).

    ``j`` (from 1) meets ``j - 1`` at state ``(cost[j] - cost[j - 1]) / (2 * factor) + j - 1/2``; the runs are
    widened by a bound on the rounding of the float sums (an exact tie in float32 need not be one in exact
    arithmetic): under 2^-23 of their size, at most ``factor * (states - 1)^2 + peak``.
    """
    states = cost.shape[0]
    states_per_cost = 1.0 / (2.0 * factor)
    slack = 2.5e-7 * 2.0 * states_per_cost * (factor * (states - 1) ** 2 + peak)
    for j in range(1, states):
        meeting = (np.float64(cost[j]) - np.float64(cost[j - 1])) * states_per_cost + (j - 0.5)
        low, high = meeting - slack, meeting + slack
        first[j] = 0 if low <= 0 else (states if low >= states else math.ceil(low))
        last[j - 1] = -1 if high <= -1 else (states - 1 if high >= states - 1 else math.floor(high))


def _best_predecessors(
    cost: np.ndarray, penalty: np.ndarray, first: np.ndarray, last: np.ndarray, best: np.ndarray, pointer: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``best[i] = min_j cost[j] + penalty[|i - j|]`` over the candidates ``j`` of ``i`` and its lowest argmin
    ``pointer[i]`` (a NaN sum wins, as in ``argmin``)."""
    states = cost.shape[0]
    pointer[:] = -1
    for j in range(states):
        for i in range(first[j], last[j] + 1):
            total = penalty[abs(i - j)] + cost[j]
            if pointer[i] < 0 or total < best[i] or (math.isnan(total) and not math.isnan(best[i])):
                best[i] = total
                pointer[i] = j


def _add_and_rebase(cost: np.ndarray, best: np.ndarray, local: np.ndarray) -> None:  # pragma: no cover - compiled
    """``cost = best + local``, less its minimum (as Kaldi re-bases, so float32 keeps its precision)."""
    lowest = best[0] + local[0]
    for i in range(cost.shape[0]):
        cost[i] = best[i] + local[i]
        if cost[i] < lowest or math.isnan(cost[i]):
            lowest = cost[i]
    for i in range(cost.shape[0]):
        cost[i] -= lowest


def _trace_back(pointers: np.ndarray, state: int, path: np.ndarray) -> None:  # pragma: no cover - compiled
    """``path[t]`` for the frames of ``pointers``, ending in ``state``."""
    for t in range(pointers.shape[0] - 1, -1, -1):
        path[t] = state
        state = pointers[t, state]


def viterbi_path(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """The best state sequence ``(batch, frames)`` through ``(batch, frames, states)`` local costs.

    Item ``b`` uses its first ``num_frames[b]`` frames (later entries of the path are 0); ties go to the
    lowest state. CPU tensors take the compiled candidate search, others the dense one. The search is the
    operator ``torch.ops.tympan.pitch_viterbi``, which ``torch.export`` and ``torch.compile`` keep as one node
    (a program holding it runs where this module is imported).
    """
    return torch.ops.tympan.pitch_viterbi(local_cost, num_frames, factor)


# The schema is written out: this module's annotations are strings (``from __future__ import annotations``).
@torch.library.custom_op(
    "tympan::pitch_viterbi", mutates_args=(), schema="(Tensor local_cost, Tensor num_frames, float factor) -> Tensor"
)
def _pitch_viterbi_op(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """:func:`viterbi_path` as an operator: the compiled search on the CPU, the dense one elsewhere."""
    if local_cost.device.type == "cpu":
        return viterbi_path_cpu(local_cost, num_frames, factor)
    return viterbi_path_dense(local_cost, num_frames, factor)


@_pitch_viterbi_op.register_fake
def _pitch_viterbi_shape(local_cost: torch.Tensor, num_frames: torch.Tensor, factor: float) -> torch.Tensor:
    """The path's shape for tracing: ``(batch, frames)`` int64 on the costs' device."""
    return local_cost.new_empty(local_cost.shape[:2], dtype=torch.int64)


# compiled on first use (numba types them from their arguments); the helpers are called from _forward
_forward_kernel = compiled_lazily(_forward, (_candidate_runs, _best_predecessors, _add_and_rebase))
_trace_back_kernel = compiled_lazily(_trace_back)
