"""From a decoded path to a :class:`~tympan.core.decoder.Hypothesis`: tokens, words, spans, confidences.

Words are the tokens between word boundaries: the ``sil`` token, and a token starting with ``▁`` (a
SentencePiece word start) begins a new word. A decoder with a lexicon gives the words it completed instead,
each spanning the tokens since the previous one. A word's frames run from the start of its first token to
the end of its last (``[start, end)``); a token's probability is its emission's at its first frame.

Example:
    >>> import torch
    >>> names = ["-", "|", "h", "i"]
    >>> h = make_hypothesis(torch.tensor([2, 3, 1, 2]), torch.tensor([0, 1, 3, 4]), torch.tensor([4, 2, 4, 5]),
    ...                     torch.zeros(5, 4), names, sil=1, score=-1.0)
    >>> h.words, h.word_starts.tolist(), h.word_ends.tolist()
    (['hi', 'h'], [0, 4], [2, 5])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tympan.core.decoder import Hypothesis

__all__ = ["make_hypothesis", "split_words"]


def split_words(tokens: Sequence[int], names: Sequence[str] | None, sil: int) -> list[list[int]]:
    """Positions of the tokens of each word: boundaries at ``sil`` and before ``▁`` tokens.

    Example:
        >>> split_words([5, 1, 6, 7], None, sil=1)
        [[0], [2, 3]]
        >>> split_words([0, 1, 2], ["▁a", "b", "▁c"], sil=-1)
        [[0, 1], [2]]
    """
    groups: list[list[int]] = []
    current: list[int] = []
    for position, token in enumerate(tokens):
        if token == sil:
            if current:
                groups.append(current)
            current = []
            continue
        if current and names is not None and names[token].startswith("▁"):
            groups.append(current)
            current = []
        current.append(position)
    if current:
        groups.append(current)
    return groups


def make_hypothesis(
    tokens: torch.Tensor,
    starts: torch.Tensor,
    ends: torch.Tensor,
    log_probs: torch.Tensor,
    names: Sequence[str] | None,
    sil: int,
    score: float,
    am_score: float | None = None,
    lm_score: float = 0.0,
    lexicon_words: Sequence[tuple[str, int]] | None = None,
) -> Hypothesis:
    """A hypothesis from its tokens, their first frames and end frames, and the ``(T, V)`` log-probabilities.

    ``lexicon_words`` lists ``(word, number of tokens before its end)`` when a lexicon gave the words.
    """
    tokens = tokens.to(torch.long).cpu()
    starts = starts.to(torch.int32).cpu()
    ends = ends.to(torch.int32).cpu()
    token_list = tokens.tolist()
    if len(token_list):
        log_p = log_probs.detach().double().cpu()[starts.long(), tokens]
        probability = log_p.exp()
        confidence = float(log_p.mean().exp())
    else:
        probability = torch.zeros(0, dtype=torch.float64)
        confidence = 1.0
    if lexicon_words is None:
        groups = split_words(token_list, names, sil)
        joined = "".join if names is not None else None
        words = [joined(names[token_list[p]].lstrip("▁") for p in g) for g in groups] if joined and names else []
        if names is None:
            groups = []
    else:
        groups, words, begin = [], [], 0
        for word, count in lexicon_words:
            end = min(count, len(token_list))
            groups.append([p for p in range(begin, end) if token_list[p] != sil] or [max(end - 1, 0)])
            words.append(word)
            begin = end
        groups = [g if g and g[0] < len(token_list) else [] for g in groups]
    word_starts = torch.tensor([int(starts[g[0]]) if g else 0 for g in groups], dtype=torch.int32)
    word_ends = torch.tensor([int(ends[g[-1]]) if g else 0 for g in groups], dtype=torch.int32)
    word_confidence = torch.tensor([float(probability[g].min()) if g else 1.0 for g in groups], dtype=torch.float32)
    return Hypothesis(
        tokens=tokens,
        words=words,
        score=float(score),
        timesteps=starts,
        am_score=float(score if am_score is None else am_score),
        lm_score=float(lm_score),
        word_starts=word_starts,
        word_ends=word_ends,
        confidence=confidence,
        word_confidence=word_confidence,
    )


def path_tokens(
    frame_tokens: torch.Tensor, events: torch.Tensor, blank: int, sil: int = -1, strip_sil: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tokens of a CTC frame path with their first and end frames, and each token's index among the events.

    ``events`` marks the frames where a new token starts; a token lasts while its frames repeat it. With
    ``strip_sil``, ``sil`` tokens before the first and after the last other token are dropped.

    Example:
        >>> path_tokens(torch.tensor([0, 3, 3, 0, 3]), torch.tensor([False, True, False, False, True]), blank=0)[:3]
        (tensor([3, 3]), tensor([1, 4]), tensor([3, 5]))
    """
    frames = torch.arange(len(frame_tokens), device=frame_tokens.device)
    where = events.nonzero().flatten()
    tokens = frame_tokens[where]
    run = events.long().cumsum(0) - 1
    ends = where + 1
    if len(tokens):
        held = (run >= 0) & (frame_tokens != blank) & (frame_tokens == tokens[run.clamp(min=0)])
        ends = ends.scatter_reduce(0, run[held], frames[held] + 1, "amax")
    keep = torch.arange(len(tokens), device=frame_tokens.device)
    if strip_sil and len(tokens):
        other = (tokens != sil).nonzero().flatten()
        keep = keep[other[0] : other[-1] + 1] if len(other) else keep[:0]
    return tokens[keep], where[keep], ends[keep], keep
