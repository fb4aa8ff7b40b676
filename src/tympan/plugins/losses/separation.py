"""Source-separation objectives: SI-SNR, SI-SDR, SDR, and permutation-invariant training (PIT).

Each metric compares an estimate ``preds`` with a reference ``target`` over the last (time) dimension and
returns decibels per signal (higher is better):

- ``sdr``: ``10 log10(|s|^2 / |s - ŝ|^2)``, the plain signal-to-distortion ratio;
- ``si_sdr``: scale-invariant SDR (Le Roux et al. 2019): the reference is first scaled by the projection
  ``alpha = <ŝ, s> / |s|^2``, so ``10 log10(|alpha s|^2 / |alpha s - ŝ|^2)``;
- ``si_snr``: SI-SDR of the zero-mean signals (Luo and Mesgarani, Conv-TasNet).

The ``*_loss`` forms negate the metric and reduce it over every leading dimension. ``pit_loss`` evaluates
a loss for every pairing of estimated and reference sources and keeps the best permutation: exhaustively
for up to 4 sources, by the Hungarian algorithm above that.

Example:
    >>> import torch
    >>> target = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    >>> round(si_snr(2 * target + 0.1 * torch.tensor([[1.0, 1.0, -1.0, -1.0]]), target).item(), 2)
    26.02
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch

from tympan.plugins.losses._checks import check_choice, check_tensor, invalid

__all__ = [
    "pit_loss",
    "sdr",
    "sdr_loss",
    "si_sdr",
    "si_sdr_loss",
    "si_snr",
    "si_snr_loss",
]

Reduction = Literal["none", "mean", "sum"]
PairLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_EXHAUSTIVE_UP_TO = 4


def _pair(function: str, preds: object, target: object) -> tuple[torch.Tensor, torch.Tensor]:
    preds = check_tensor(function, "preds", preds, floating=True)
    target = check_tensor(function, "target", target, floating=True)
    if preds.ndim == 0 or preds.shape[-1] == 0:
        raise invalid(function, "preds", f"expected samples on the last dimension (got shape {tuple(preds.shape)})")
    try:
        torch.broadcast_shapes(preds.shape, target.shape)
    except RuntimeError:
        raise invalid(
            function, "target", f"shape {tuple(target.shape)} does not broadcast with preds {tuple(preds.shape)}"
        ) from None
    return preds, target


def _ratio_db(signal: torch.Tensor, noise: torch.Tensor, eps: float) -> torch.Tensor:
    return 10 * torch.log10((signal.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))


def sdr(preds: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Signal-to-distortion ratio in dB over the last dimension, ``10 log10(|s|^2 / |s - ŝ|^2)``.

    Example:
        >>> round(sdr(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 0.0])).item(), 4)  # 4 / 2
        3.0103
    """
    preds, target = _pair("sdr", preds, target)
    return _ratio_db(target, target - preds, eps)


def si_sdr(preds: torch.Tensor, target: torch.Tensor, zero_mean: bool = False, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB: the target is scaled by its projection onto the estimate first.

    Example:
        >>> round(si_sdr(torch.tensor([3.0, 1.0]), torch.tensor([1.0, 0.0])).item(), 4)  # 9 / 1
        9.5424
    """
    preds, target = _pair("si_sdr", preds, target)
    if zero_mean:
        preds = preds - preds.mean(-1, keepdim=True)
        target = target - target.mean(-1, keepdim=True)
    alpha = ((preds * target).sum(-1, keepdim=True) + eps) / (target.pow(2).sum(-1, keepdim=True) + eps)
    projection = alpha * target
    return _ratio_db(projection, projection - preds, eps)


def si_snr(preds: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SNR in dB: SI-SDR of the zero-mean signals.

    Example:
        >>> x = torch.tensor([1.0, 2.0, 3.0])
        >>> si_snr(3 * x + 5, x).item() > 80  # an offset and a gain cost nothing
        True
    """
    return si_sdr(preds, target, zero_mean=True, eps=eps)


def _reduce(function: str, values: torch.Tensor, reduction: str) -> torch.Tensor:
    check_choice(function, "reduction", reduction, ("none", "mean", "sum"))
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def sdr_loss(
    preds: torch.Tensor, target: torch.Tensor, eps: float = 1e-8, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Negative :func:`sdr`, reduced over all leading dimensions.

    Example:
        >>> round(sdr_loss(torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0, 0.0]])).item(), 4)
        -3.0103
    """
    return _reduce("sdr_loss", -sdr(preds, target, eps), reduction)


def si_sdr_loss(
    preds: torch.Tensor, target: torch.Tensor, zero_mean: bool = False, eps: float = 1e-8, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Negative :func:`si_sdr`, reduced over all leading dimensions.

    Example:
        >>> round(si_sdr_loss(torch.tensor([3.0, 1.0]), torch.tensor([1.0, 0.0])).item(), 4)
        -9.5424
    """
    return _reduce("si_sdr_loss", -si_sdr(preds, target, zero_mean, eps), reduction)


def si_snr_loss(
    preds: torch.Tensor, target: torch.Tensor, eps: float = 1e-8, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Negative :func:`si_snr`, reduced over all leading dimensions.

    Example:
        >>> target = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
        >>> round(si_snr_loss(target + 0.1 * torch.tensor([[1.0, 1.0, -1.0, -1.0]]), target).item(), 2)
        -20.0
    """
    return _reduce("si_snr_loss", -si_snr(preds, target, eps), reduction)


_PAIR_LOSSES: dict[str, PairLoss] = {
    "si_snr": lambda p, t: -si_snr(p, t),
    "si_sdr": lambda p, t: -si_sdr(p, t),
    "sdr": lambda p, t: -sdr(p, t),
}


def _hungarian(cost: np.ndarray) -> np.ndarray:
    """Column assigned to each row of a square cost matrix, minimising the total (potentials method)."""
    n = cost.shape[0]
    row_pot, col_pot = np.zeros(n + 1), np.zeros(n + 1)
    owner = np.zeros(n + 1, dtype=np.int64)  # owner[j]: row (1-based) matched to column j; column 0 is virtual
    for row in range(1, n + 1):
        owner[0] = row
        slack = np.full(n + 1, np.inf)
        came_from = np.zeros(n + 1, dtype=np.int64)
        visited = np.zeros(n + 1, dtype=bool)
        col = 0
        while owner[col] != 0:
            visited[col] = True
            current = owner[col]
            reduced = cost[current - 1] - row_pot[current] - col_pot[1:]
            open_cols = ~visited[1:]
            better = open_cols & (reduced < slack[1:])
            slack[1:][better] = reduced[better]
            came_from[1:][better] = col
            candidates = np.where(open_cols, slack[1:], np.inf)
            nxt = int(np.argmin(candidates)) + 1
            delta = candidates[nxt - 1]
            row_pot[owner[visited]] += delta
            col_pot[visited] -= delta
            slack[1:][open_cols] -= delta
            col = nxt
        while col != 0:
            prev = came_from[col]
            owner[col] = owner[prev]
            col = prev
    assignment = np.empty(n, dtype=np.int64)
    assignment[owner[1:] - 1] = np.arange(n)
    return assignment


def _best_permutations(pairwise: torch.Tensor) -> torch.Tensor:
    """``(B, S)`` permutation per item minimising the mean of ``pairwise[b, i, perm[i]]``."""
    sources = pairwise.shape[1]
    if sources <= _EXHAUSTIVE_UP_TO:
        perms = torch.tensor(list(itertools.permutations(range(sources))), device=pairwise.device)
        rows = torch.arange(sources, device=pairwise.device)
        totals = pairwise[:, rows[None, :], perms].sum(-1)  # (B, S!)
        return perms[totals.argmin(-1)]
    costs = pairwise.detach().double().cpu().numpy()
    return torch.from_numpy(np.stack([_hungarian(c) for c in costs])).to(pairwise.device)


def pit_loss(
    preds: torch.Tensor,
    target: torch.Tensor,
    loss: str | PairLoss = "si_snr",
    reduction: Reduction = "mean",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Permutation-invariant loss over ``(B, S, ...)`` sources, and the best permutation of each item.

    ``loss`` maps broadcast ``(preds, target)`` pairs to one value per pair (lower is better): the name of a
    negated metric (``"si_snr"``, ``"si_sdr"``, ``"sdr"``) or a callable. The per-item loss is the mean
    over sources under the best permutation; ``perm[b, i]`` is the reference matched to estimate ``i``.

    Example:
        >>> target = torch.stack([torch.sin(torch.arange(64.0)), torch.cos(0.3 * torch.arange(64.0))])[None]
        >>> value, perm = pit_loss(target.flip(1), target)  # the estimates come in the other order
        >>> perm.tolist(), value.item() < -80
        ([[1, 0]], True)
    """
    preds = check_tensor("pit_loss", "preds", preds, floating=True)
    target = check_tensor("pit_loss", "target", target, floating=True)
    if preds.ndim < 2 or preds.shape != target.shape:
        raise invalid(
            "pit_loss",
            "target",
            f"expected the shape of preds, (B, S, ...) (got preds {tuple(preds.shape)}, target {tuple(target.shape)})",
        )
    pair = _PAIR_LOSSES.get(loss) if isinstance(loss, str) else loss
    if pair is None:
        raise invalid(
            "pit_loss", "loss", f"expected one of {', '.join(map(repr, _PAIR_LOSSES))} or a callable (got {loss!r})"
        )
    pairwise = pair(preds[:, :, None], target[:, None, :])
    if pairwise.shape != (preds.shape[0], preds.shape[1], preds.shape[1]):
        raise invalid("pit_loss", "loss", f"expected one value per pair of sources (got shape {tuple(pairwise.shape)})")
    perm = _best_permutations(pairwise)
    per_item = pairwise.gather(2, perm[:, :, None]).squeeze(2).mean(1)
    return _reduce("pit_loss", per_item, reduction), perm
