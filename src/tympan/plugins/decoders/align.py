"""Word timestamps for a known transcript: CTC forced alignment, then words from the aligned tokens.

Example:
    >>> import torch
    >>> tokens = ["-", "|", "h", "i"]
    >>> emissions = torch.full((1, 6, 4), -5.0)
    >>> emissions[0, torch.arange(6), torch.tensor([2, 3, 0, 1, 2, 3])] = 0.0
    >>> [(w.word, w.start, w.end) for w in align_words(emissions.log_softmax(-1), "hi hi", tokens, frame_duration=0.5)]
    [('hi', 0.0, 1.0), ('hi', 2.0, 3.0)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.decoders.resources import load_tokens, spell
from tympan.plugins.losses.ctc import ctc_forced_align

__all__ = ["WordSpan", "align_words"]


class WordSpan(NamedTuple):
    """One aligned word: start and end in seconds, and the mean probability of its tokens' frames.

    Example:
        >>> WordSpan("hi", 0.0, 0.4, 0.9).end
        0.4
    """

    word: str
    start: float
    end: float
    score: float


def align_words(
    emissions: torch.Tensor,
    transcript: str,
    tokenizer: Sequence[str] | Callable[[str], list[int]],
    blank: int = 0,
    sil_token: str | None = "|",
    frame_duration: float = 0.02,
) -> list[WordSpan]:
    """Align ``transcript`` (words separated by spaces) to ``emissions`` (``(T, V)`` or ``(1, T, V)``
    log-probabilities) and return each word's span in seconds.

    ``tokenizer`` is the token list (each word is spelt with its longest tokens; ``sil_token``, when it is a
    token, goes between words) or a function from a word to token indices. ``frame_duration`` is the
    seconds per frame.
    """
    if emissions.ndim == 2:
        emissions = emissions[None]
    if emissions.ndim != 3 or emissions.shape[0] != 1:
        raise InvalidParameterError(
            "align_words", [f"emissions: expected (T, V) or (1, T, V), got {tuple(emissions.shape)}"]
        )
    words = transcript.split()
    sil = -1
    if callable(tokenizer):
        spell_word = tokenizer
    else:
        token_set = load_tokens(list(tokenizer))
        sil = token_set.find(sil_token)

        def spell_word(word: str) -> list[int]:
            try:
                return spell(word, token_set)
            except ValueError as err:
                raise InvalidParameterError("align_words", [f"transcript: {err}"]) from None

    targets: list[int] = []
    owner: list[int] = []
    for index, word in enumerate(words):
        if targets and sil >= 0:
            targets.append(sil)
            owner.append(-1)
        spelling = spell_word(word)
        targets += spelling
        owner += [index] * len(spelling)
    if not targets:
        return []
    alignment = ctc_forced_align(
        emissions, torch.tensor([targets]), torch.tensor([emissions.shape[1]]), torch.tensor([len(targets)]), blank
    )
    spans: list[list[tuple[int, int, float]]] = [[] for _ in words]
    for position, span in enumerate(alignment.spans[0]):
        if owner[position] >= 0:
            spans[owner[position]].append((span.start, span.end, span.score))
    return [
        WordSpan(
            word,
            parts[0][0] * frame_duration,
            parts[-1][1] * frame_duration,
            sum(score * (end - start) for start, end, score in parts) / sum(end - start for start, end, _ in parts),
        )
        for word, parts in zip(words, spans, strict=True)
    ]
