"""torchaudio's forced-alignment API: ``forced_align`` and ``merge_tokens``.

:func:`forced_align` takes torchaudio's arguments and returns its ``(alignments, scores)`` pair; it runs
:func:`~tympan.plugins.losses.ctc.ctc_forced_align`, which aligns whole batches (torchaudio's takes one
utterance). :func:`merge_tokens` turns a frame-level path into :class:`~tympan.plugins.losses.ctc.TokenSpan`
runs. Bad input raises :class:`~tympan.core.errors.InvalidInputError` (both a ``ValueError`` and the
``RuntimeError`` torchaudio raises for most of these problems), naming the argument.

Example:
    >>> import torch
    >>> emission = torch.tensor([[[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]])
    >>> path, scores = forced_align(emission.log(), torch.tensor([[1, 2]], dtype=torch.int32))
    >>> path.tolist()
    [[1, 1, 0, 2]]
    >>> [(span.token, span.start, span.end) for span in merge_tokens(path[0], scores[0].exp())]
    [(1, 0, 2), (2, 3, 4)]
"""

import torch

from tympan.core.errors import InvalidInputError, InvalidParameterError
from tympan.plugins.losses.ctc import TokenSpan, ctc_forced_align

__all__ = ["forced_align", "merge_tokens"]

_LOG_PROB_DTYPES = (torch.float16, torch.float32, torch.float64)
_LABEL_DTYPES = (torch.int32, torch.int64)


def _bad(argument: str, message: str) -> InvalidInputError:
    return InvalidInputError("forced_align", [f"{argument}: {message}"])


def _lengths(argument: str, value: torch.Tensor | None, default: int, limit: int) -> torch.Tensor:
    """The one-element length tensor ``argument``, checked against ``limit``; ``default`` when None."""
    if value is None:
        return torch.tensor([default])
    if value.dim() != 1:
        raise _bad(argument, f"{argument} must be 1-D (got shape {list(value.shape)})")
    if value.shape[0] != 1 or int(value[0]) > limit or int(value[0]) < 0:
        what = "input" if argument == "input_lengths" else "target"
        raise _bad(argument, f"{what} length mismatch: expected one length in [0, {limit}] (got {value.tolist()})")
    return value.cpu()


def forced_align(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | None = None,
    target_lengths: torch.Tensor | None = None,
    blank: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The most likely CTC path through ``targets``, as ``torchaudio.functional.forced_align``.

    Args:
        log_probs: ``(1, T, C)`` log-probabilities (float16, float32 or float64).
        targets: ``(1, L)`` labels (int32 or int64), none of them the blank.
        input_lengths: ``(1,)`` valid frames (default ``T``).
        target_lengths: ``(1,)`` valid labels (default ``L``).
        blank: index of the blank class.

    Returns:
        ``(alignments, scores)``, both ``(1, T)``: the label of each frame on the best path (``targets``'
        dtype; the blank past ``input_lengths``) and its log-probability (``log_probs``' dtype).

    Example:
        >>> lp = torch.tensor([[[0.0, -9.0], [-9.0, 0.0], [0.0, -9.0]]])
        >>> forced_align(lp, torch.tensor([[1]]))[0].tolist()
        [[0, 1, 0]]
    """
    return torch.ops.tympan.forced_align(log_probs, targets, input_lengths, target_lengths, blank)


# No ``from __future__ import annotations`` in this module: the operator's schema is read from these types.
@torch.library.custom_op("tympan::forced_align", mutates_args=())
def _forced_align_op(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | None,
    target_lengths: torch.Tensor | None,
    blank: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`forced_align`'s checks and alignment as the operator ``torch.ops.tympan.forced_align``, which
    eager, scripted and compiled ``forced_align`` call alike (the alignment loops over the frames in
    Python), so that a scripted program saves with ``torch.jit.save`` and loads wherever tympan is imported."""
    if log_probs.dtype not in _LOG_PROB_DTYPES:
        raise _bad("log_probs", f"log_probs must be float64, float32 or float16 (got {log_probs.dtype})")
    if targets.dtype not in _LABEL_DTYPES:
        raise _bad("targets", f"targets must be int32 or int64 type (got {targets.dtype})")
    if log_probs.dim() != 3:
        raise _bad("log_probs", f"expected (1, T, C) (got shape {list(log_probs.shape)})")
    if targets.dim() != 2:
        raise _bad("targets", f"expected (1, L) (got shape {list(targets.shape)})")
    if log_probs.shape[0] != 1:
        raise _bad("log_probs", "The batch dimension for log_probs must be 1 at the current version")
    if targets.shape[0] != 1:
        raise _bad("targets", "The batch dimension for targets must be 1 at the current version")
    frames, classes = log_probs.shape[1], log_probs.shape[2]
    frames_used = _lengths("input_lengths", input_lengths, frames, frames)
    labels_used = _lengths("target_lengths", target_lengths, targets.shape[1], targets.shape[1])
    used = targets[:, : int(labels_used[0])]
    if bool((used == blank).any()):
        raise _bad("targets", f"targets Tensor shouldn't contain blank index {blank}")
    if bool((used >= classes).any()) or bool((used < 0).any()):
        raise _bad("targets", f"targets values must be less than the CTC dimension {classes}")
    if not 0 <= blank < classes:
        raise _bad("blank", f"blank must be within [0, num classes) = [0, {classes}) (got {blank})")
    device = log_probs.device
    try:
        alignment = ctc_forced_align(
            log_probs, used.to(torch.long), frames_used.to(device), labels_used.to(device), blank=blank
        )
    except InvalidParameterError as error:
        raise _bad("targets", "targets length is too long for CTC: " + "; ".join(error.problems)) from error
    return alignment.labels.to(targets.dtype), alignment.scores


@_forced_align_op.register_fake
def _forced_align_shapes(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | None,
    target_lengths: torch.Tensor | None,
    blank: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The outputs' shapes and dtypes, for tracing (``torch.compile``): ``(1, T)`` each."""
    frames = log_probs.shape[:2]
    return log_probs.new_empty(frames, dtype=targets.dtype), log_probs.new_empty(frames)


def merge_tokens(tokens: torch.Tensor, scores: torch.Tensor, blank: int = 0) -> list[TokenSpan]:
    """Runs of one non-blank token in a frame-level path, as ``torchaudio.functional.merge_tokens``.

    ``tokens`` and ``scores`` are ``(T,)`` (the path of :func:`forced_align` and, typically, the
    probabilities of its frames); each span's ``score`` is the mean of ``scores`` over its frames.

    Example:
        >>> merge_tokens(torch.tensor([0, 3, 3, 0, 3]), torch.tensor([0.5, 0.4, 0.6, 0.9, 1.0]))
        [TokenSpan(token=3, start=1, end=3, score=0.5), TokenSpan(token=3, start=4, end=5, score=1.0)]
    """
    if tokens.dim() != 1 or scores.dim() != 1:
        raise InvalidInputError("merge_tokens", ["tokens, scores: expected 1-D tensors"])
    if tokens.shape[0] != scores.shape[0]:
        raise InvalidInputError(
            "merge_tokens", [f"scores: expected as many scores as tokens ({tokens.shape[0]}), got {scores.shape[0]}"]
        )
    change = torch.ones(tokens.shape[0] + 1, dtype=torch.bool, device=tokens.device)
    change[1:-1] = tokens[1:] != tokens[:-1]
    bounds = change.nonzero().flatten()
    starts, ends = bounds[:-1], bounds[1:]
    keep = tokens[starts] != blank
    starts, ends = starts[keep], ends[keep]
    run = torch.cumsum(change[:-1].long(), 0) - 1
    totals = torch.zeros(bounds.shape[0], dtype=scores.dtype, device=scores.device).index_add_(0, run, scores)
    means = (totals[: bounds.shape[0] - 1][keep] / (ends - starts).to(scores.dtype)).tolist()
    return [
        TokenSpan(int(k), int(s), int(e), m)
        for k, s, e, m in zip(tokens[starts].tolist(), starts.tolist(), ends.tolist(), means, strict=True)
    ]
