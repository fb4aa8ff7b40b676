"""Merging beam candidates: group them by state, score each group, keep the best groups.

Candidates are ``(B, C)`` tensors, one row per utterance; ``key`` identifies each candidate's state (a
64-bit hash). A group's score is the log-sum of its members' (``log_add``) or their maximum, and it is
represented by its best member. Candidates scoring below the row's best by more than ``threshold`` take no
part.

Example:
    >>> import torch
    >>> score = torch.tensor([[-1.0, -2.0, -1.0]], dtype=torch.float64)
    >>> chosen, kept, _ = best_groups(score, torch.tensor([[7, 9, 7]]), size=2, threshold=10.0, log_add=True)
    >>> chosen.tolist(), [round(v, 4) for v in kept[0].tolist()]
    ([[0, 1]], [-0.3069, -2.0])
"""

from __future__ import annotations

import torch

__all__ = ["best_groups", "decides", "prune", "ranked_groups", "select", "shortlist"]

_NEG_INF = float("-inf")
#: In max mode, how many candidates per kept group are grouped before falling back to all of them.
_SHORTLIST = 3


def best_groups(
    score: torch.Tensor,
    key: torch.Tensor,
    size: int,
    threshold: float,
    log_add: bool,
    am: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The ``size`` best groups of ``(B, C)`` candidates: the position of each one's best member, the group's
    score and, with ``log_add`` and ``am``, the log-sum of its members' ``am`` (the acoustic part).

    Fewer groups than ``size`` leave ``-inf`` scores at the end of the row.
    """
    score = prune(score, threshold)
    short = shortlist(score, size) if not log_add else None
    if short is not None:
        short_score, index, outside = short
        chosen, kept, _, groups = ranked_groups(short_score, key.gather(1, index), size, log_add, None)
        if decides(short_score, outside, groups, size):
            return index.gather(1, chosen), kept, None
    return ranked_groups(score, key, size, log_add, am)[:3]


def prune(score: torch.Tensor, threshold: float) -> torch.Tensor:
    """``(B, C)`` scores with those below their row's best by more than ``threshold`` made ``-inf``.

    Example:
        >>> prune(torch.tensor([[0.0, -5.0, -1.0]]), 2.0).tolist()
        [[0.0, -inf, -1.0]]
    """
    best = score.amax(1, keepdim=True)
    return torch.where(score >= best - threshold, score, _NEG_INF)


def shortlist(score: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """In max mode, the scores and positions of the ``_SHORTLIST * size`` best candidates of each row, which
    decide the ``size`` best groups when :func:`decides` says so, and each row's best score left out; ``None``
    when that would not be shorter.

    Example:
        >>> kept, position, outside = shortlist(torch.arange(12.0)[None], 2)
        >>> position.tolist(), outside.tolist()
        ([[11, 10, 9, 8, 7, 6]], [5.0])
    """
    length = _SHORTLIST * size
    if length >= score.shape[1]:
        return None
    best, position = score.topk(length + 1, 1)
    return best[:, :length], position[:, :length], best[:, length]


def decides(short_score: torch.Tensor, outside: torch.Tensor, groups: torch.Tensor, size: int) -> bool:
    """Whether a :func:`shortlist` (its scores after pruning, the best score left out of it, and the number of
    groups in each row, from :func:`ranked_groups`) decides the ``size`` best groups: a group's score is its
    best member's, so if every row's shortlist holds ``size`` groups and every candidate left out scores
    below every one kept (none ties the shortlist's last), or the shortlist holds all the row's finite
    candidates, no group outside it can rank among the ``size`` best.

    Example:
        >>> decides(torch.tensor([[0.0, -1.0, -2.0]]), torch.tensor([-3.0]), torch.tensor([1]), 2)
        False
        >>> decides(torch.tensor([[0.0, -1.0, -2.0]]), torch.tensor([-2.0]), torch.tensor([2]), 2)
        False
    """
    last = short_score[:, -1]
    return bool((((groups >= size) & (outside < last)) | (last == _NEG_INF)).all())


def ranked_groups(
    score: torch.Tensor, key: torch.Tensor, size: int, log_add: bool, am: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """:func:`best_groups` after the threshold: group by sorted key, rank the groups; the number of groups
    in each row comes last.

    Example:
        >>> ranked_groups(torch.tensor([[-1.0, -2.0, -3.0]]), torch.tensor([[4, 6, 4]]), 1, False, None)[0].tolist()
        [[0]]
    """
    count = score.shape[1]
    sorted_key, order = key.sort(1)
    ranked = score.gather(1, order)
    starts = torch.ones_like(sorted_key, dtype=torch.bool)
    starts[:, 1:] = sorted_key[:, 1:] != sorted_key[:, :-1]
    group = starts.long().cumsum(1) - 1
    top = torch.full_like(ranked, _NEG_INF).scatter_reduce(1, group, ranked, "amax", include_self=True)
    top_of = top.gather(1, group)
    position = torch.arange(count, device=score.device).expand_as(group)
    leader = torch.where((ranked == top_of) & (ranked > _NEG_INF), position, count)
    leaders = torch.full_like(group, count).scatter_reduce(1, group, leader, "amin", include_self=True)
    merged = _group_logsumexp(ranked, group, top) if log_add else top
    kept, chosen_group = merged.topk(min(size, count), 1)
    chosen = order.gather(1, leaders.gather(1, chosen_group).clamp(max=count - 1))
    merged_am = None
    if log_add and am is not None:
        am = torch.where(ranked > _NEG_INF, am.gather(1, order), _NEG_INF)
        am_top = torch.full_like(am, _NEG_INF).scatter_reduce(1, group, am, "amax", include_self=True)
        merged_am = _group_logsumexp(am, group, am_top).gather(1, chosen_group)
    return chosen, kept, merged_am, group[:, -1] + 1


def select(
    candidates: dict[str, torch.Tensor], key: torch.Tensor, size: int, threshold: float, log_add: bool
) -> dict[str, torch.Tensor]:
    """:func:`best_groups` of ``candidates["score"]``, with every field of each group's best member (and,
    with ``log_add``, ``"am"`` summed over the group when the candidates have one).

    Example:
        >>> fields = {"score": torch.tensor([[-3.0, -1.0]]), "token": torch.tensor([[4, 5]])}
        >>> select(fields, torch.tensor([[1, 2]]), size=1, threshold=10.0, log_add=False)["token"].tolist()
        [[5]]
    """
    chosen, kept, am = best_groups(candidates["score"], key, size, threshold, log_add, candidates.get("am"))
    out = {name: value.gather(1, chosen) for name, value in candidates.items()}
    out["score"] = kept
    if am is not None:
        out["am"] = am
    return out


def _group_logsumexp(values: torch.Tensor, group: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """Per group (``group`` numbers the ``(B, C)`` values), the log-sum-exp of its values; ``top``: its maxima."""
    weights = torch.where(values > _NEG_INF, (values - top.gather(1, group)).exp(), 0.0)
    total = torch.zeros_like(values).scatter_add(1, group, weights)
    return torch.where(top > _NEG_INF, top + total.clamp(min=1e-300).log(), _NEG_INF)
