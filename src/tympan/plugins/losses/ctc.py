"""CTC: the loss over ``torch.nn.functional.ctc_loss``, and Viterbi forced alignment for whole batches.

Conventions shared with :func:`~tympan.plugins.losses.rnnt.rnnt_loss`: batch-first ``(B, T, C)`` logits,
padded ``(B, S)`` targets, ``logit_lengths`` / ``target_lengths``, ``fused_log_softmax``, and
``reduction="mean"`` as the average of the per-sample costs over the batch (``torch.nn.functional.ctc_loss``
divides each cost by its target length first; pass ``reduction="none"`` and divide to get that). The blank
defaults to index 0, as in every common CTC vocabulary.

An alignment is infeasible when a sample has fewer frames than labels plus repeated neighbours (each repeat
needs a blank between). Its cost is ``inf`` as in torch, and ``zero_infinity=True`` turns such costs and
their gradients to zero. :func:`ctc_forced_align` refuses infeasible samples with an error instead.

Example:
    >>> import torch
    >>> logits = torch.zeros(1, 3, 3)  # uniform over 3 labels
    >>> paths = ctc_forced_align(logits.log_softmax(-1), torch.tensor([[1, 2]]), torch.tensor([3]),
    ...                          torch.tensor([2]))
    >>> [(span.token, span.start, span.end) for span in paths.spans[0]]
    [(1, 0, 1), (2, 1, 2)]
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

from tympan.plugins.losses._checks import check_choice, check_tensor, invalid

__all__ = ["CTCAlignment", "TokenSpan", "ctc_forced_align", "ctc_loss"]

Reduction = Literal["none", "mean", "sum"]
_NEG_INF = float("-inf")


def _check(
    function: str,
    logits: object,
    targets: object,
    logit_lengths: object,
    target_lengths: object,
    blank: int,
    scores_name: str = "logits",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Validate the shared CTC inputs; return them with the blank made non-negative."""
    logits = check_tensor(function, scores_name, logits, ndim=3, floating=True)
    targets = check_tensor(function, "targets", targets, ndim=2, integer=True)
    logit_lengths = check_tensor(function, "logit_lengths", logit_lengths, ndim=1, integer=True)
    target_lengths = check_tensor(function, "target_lengths", target_lengths, ndim=1, integer=True)
    batch, frames, classes = logits.shape
    if batch == 0 or frames == 0 or classes == 0:
        raise invalid(function, scores_name, f"expected a non-empty (B, T, C) tensor (got {tuple(logits.shape)})")
    for name, tensor in (("targets", targets), ("logit_lengths", logit_lengths), ("target_lengths", target_lengths)):
        if tensor.shape[0] != batch:
            raise invalid(function, name, f"expected {batch} rows like {scores_name} (got {tensor.shape[0]})")
        if tensor.device != logits.device:
            raise invalid(
                function, name, f"expected a tensor on {logits.device} like {scores_name} (got {tensor.device})"
            )
    if not -classes <= blank < classes:
        raise invalid(function, "blank", f"expected an index in [-{classes}, {classes}) (got {blank})")
    blank = blank % classes
    inside = torch.arange(targets.shape[1], device=targets.device)[None, :] < target_lengths[:, None]
    bad = inside & ((targets < 0) | (targets >= classes) | (targets == blank))
    facts = torch.stack(
        [
            logit_lengths.min(),
            logit_lengths.max(),
            target_lengths.min(),
            target_lengths.max(),
            bad.any().to(logit_lengths.dtype),
        ]
    ).tolist()
    if facts[0] < 0 or facts[1] > frames:
        raise invalid(function, "logit_lengths", f"expected values in [0, {frames}] (got {logit_lengths.tolist()})")
    if facts[2] < 0 or facts[3] > targets.shape[1]:
        raise invalid(
            function, "target_lengths", f"expected values in [0, {targets.shape[1]}] (got {target_lengths.tolist()})"
        )
    if facts[4]:
        raise invalid(
            function,
            "targets",
            f"expected labels in [0, {classes}) other than the blank {blank} within each target length",
        )
    targets = torch.where(inside, targets, blank).to(torch.long)
    return logits, targets, logit_lengths.to(torch.long), target_lengths.to(torch.long), blank


def _frames_needed(targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Fewest frames that can carry each target: its labels plus one blank between equal neighbours."""
    repeats = (targets[:, 1:] == targets[:, :-1]) & (
        torch.arange(1, targets.shape[1], device=targets.device)[None, :] < target_lengths[:, None]
    )
    return target_lengths + repeats.sum(1)


def ctc_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = 0,
    reduction: Reduction = "mean",
    fused_log_softmax: bool = True,
    zero_infinity: bool = False,
) -> torch.Tensor:
    """Connectionist temporal classification loss with batch-first logits.

    Args:
        logits: ``(B, T, C)`` scores (log-probabilities when ``fused_log_softmax=False``).
        targets: ``(B, S)`` integer labels, padded past each target length.
        logit_lengths: ``(B,)`` frames per sample, in ``[0, T]``.
        target_lengths: ``(B,)`` labels per sample, in ``[0, S]``.
        blank: index of the blank class (negative counts from the end).
        reduction: ``"none"``, ``"mean"`` (over the batch) or ``"sum"``.
        fused_log_softmax: apply ``log_softmax`` over ``C`` first.
        zero_infinity: zero the costs (and gradients) of infeasible samples instead of ``inf``.

    Example:
        >>> import torch
        >>> logits = torch.zeros(1, 2, 2)  # one label then blank, or blank then label, or label twice
        >>> round(ctc_loss(logits, torch.tensor([[1]]), torch.tensor([2]), torch.tensor([1])).item(), 4)
        0.2877
    """
    check_choice("ctc_loss", "reduction", reduction, ("none", "mean", "sum"))
    logits, targets, logit_lengths, target_lengths, blank = _check(
        "ctc_loss", logits, targets, logit_lengths, target_lengths, blank
    )
    work = logits if logits.dtype in (torch.float32, torch.float64) else logits.float()
    log_probs = work.log_softmax(-1) if fused_log_softmax else work
    costs = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1),
        targets,
        logit_lengths,
        target_lengths,
        blank=blank,
        reduction="none",
        zero_infinity=zero_infinity,
    ).to(logits.dtype)
    if reduction == "mean":
        return costs.mean()
    if reduction == "sum":
        return costs.sum()
    return costs


class TokenSpan(NamedTuple):
    """One aligned label: frames ``[start, end)`` and the mean probability of the label over them.

    Example:
        >>> TokenSpan(token=3, start=4, end=6, score=0.9).end
        6
    """

    token: int
    start: int
    end: int
    score: float


class CTCAlignment(NamedTuple):
    """A batch of forced alignments.

    ``labels`` and ``scores`` are ``(B, T)``: the label of each frame on the best path and its
    log-probability (frames past a sample's length hold the blank and 0). ``spans`` lists each sample's
    non-blank labels as :class:`TokenSpan` in order.

    Example:
        >>> CTCAlignment(torch.zeros(1, 2), torch.zeros(1, 2), [[]]).spans
        [[]]
    """

    labels: torch.Tensor
    scores: torch.Tensor
    spans: list[list[TokenSpan]]


def ctc_forced_align(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = 0,
) -> CTCAlignment:
    """The most likely CTC path of each sample through its target (Viterbi), for a whole batch at once.

    The recursion runs over frames, vectorised over the batch and the ``2 S + 1`` states of the targets
    with blanks interleaved; backtracking follows stored back-pointers the same way.

    Raises:
        InvalidParameterError: for the input problems :func:`ctc_loss` rejects, and for a sample with fewer
            frames than its target needs.

    Example:
        >>> import torch
        >>> log_probs = torch.tensor([[[0.0, -9.0], [-9.0, 0.0], [-9.0, 0.0], [0.0, -9.0]]])
        >>> out = ctc_forced_align(log_probs, torch.tensor([[1]]), torch.tensor([4]), torch.tensor([1]))
        >>> out.labels.tolist(), out.spans[0]
        ([[0, 1, 1, 0]], [TokenSpan(token=1, start=1, end=3, score=1.0)])
    """
    log_probs, targets, logit_lengths, target_lengths, blank = _check(
        "ctc_forced_align", log_probs, targets, logit_lengths, target_lengths, blank, scores_name="log_probs"
    )
    short = logit_lengths < _frames_needed(targets, target_lengths)
    if bool(short.any()):
        raise invalid(
            "ctc_forced_align",
            "logit_lengths",
            f"samples {short.nonzero().flatten().tolist()} have fewer frames than their targets need",
        )
    batch, frames, _ = log_probs.shape
    device = log_probs.device
    lp = log_probs.detach().to(torch.float64 if log_probs.dtype == torch.float64 else torch.float32)
    states = 2 * targets.shape[1] + 1
    extended = torch.full((batch, states), blank, dtype=torch.long, device=device)
    extended[:, 1::2] = targets
    skip_ok = torch.zeros(batch, states, dtype=torch.bool, device=device)
    skip_ok[:, 3::2] = targets[:, 1:] != targets[:, :-1]
    emissions = lp.gather(2, extended[:, None, :].expand(-1, frames, -1))  # (B, T, states)

    score = torch.full((batch, states), _NEG_INF, dtype=lp.dtype, device=device)
    score[:, :2] = emissions[:, 0, :2]
    pointers = torch.zeros(batch, frames, states, dtype=torch.uint8, device=device)
    pad = score.new_full((batch, 2), _NEG_INF)
    for t in range(1, frames):
        candidates = torch.stack(
            [
                score,
                torch.cat([pad[:, :1], score[:, :-1]], 1),
                torch.cat([pad, score[:, :-2]], 1).masked_fill(~skip_ok, _NEG_INF),
            ]
        )
        best, step = candidates.max(0)
        running = (t < logit_lengths)[:, None]
        score = torch.where(running, best + emissions[:, t], score)
        pointers[:, t] = torch.where(running, step, 0).to(torch.uint8)

    last = 2 * target_lengths
    batch_index = torch.arange(batch, device=device)
    end_blank, end_label = score[batch_index, last], score[batch_index, (last - 1).clamp(min=0)]
    state = torch.where((end_label > end_blank) & (target_lengths > 0), last - 1, last)
    path = torch.empty(batch, frames, dtype=torch.long, device=device)
    for t in range(frames - 1, -1, -1):
        path[:, t] = state
        state = state - pointers[batch_index, t, state].long()

    running = torch.arange(frames, device=device)[None, :] < logit_lengths[:, None]
    labels = torch.where(running, extended.gather(1, path), blank)
    scores = torch.where(running, emissions.gather(2, path[:, :, None]).squeeze(2), 0.0).to(log_probs.dtype)
    return CTCAlignment(labels, scores, _spans(path, labels, scores, running))


def _spans(
    path: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor, running: torch.Tensor
) -> list[list[TokenSpan]]:
    """Runs of one odd (label) state along each path, as token spans."""
    on_label = (path % 2 == 1) & running
    starts = on_label & torch.cat([torch.ones_like(path[:, :1], dtype=torch.bool), path[:, 1:] != path[:, :-1]], 1)
    run_id = torch.cumsum(starts.long(), 1) - 1
    probs = scores.double().exp().where(on_label, 0.0)
    width = int(run_id.max().item()) + 1 if bool(starts.any()) else 0
    totals = probs.new_zeros(path.shape[0], width).scatter_add_(1, run_id.clamp(min=0), probs)
    counts = probs.new_zeros(path.shape[0], width).scatter_add_(1, run_id.clamp(min=0), on_label.double())
    spans: list[list[TokenSpan]] = []
    for b in range(path.shape[0]):
        begin = starts[b].nonzero().flatten().tolist()
        size = counts[b, : len(begin)].long().tolist()
        mean = (totals[b, : len(begin)] / counts[b, : len(begin)].clamp(min=1)).tolist()
        tokens = labels[b, begin].tolist()
        spans.append([TokenSpan(k, s, s + n, m) for k, s, n, m in zip(tokens, begin, size, mean, strict=True)])
    return spans
