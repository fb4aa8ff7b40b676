"""Word and character error rates over a corpus, with jiwer's argument order and text normalisation.

``wer(references, hypotheses)`` is one corpus-level figure: the edits of every sentence summed, over the
reference words summed. :func:`error_counts` gives the substitutions, deletions, insertions and hits, with
the same choice among equally short alignments as jiwer (whose edit operations come from rapidfuzz: a common
prefix and suffix are matched first, and the rest is traced back from the end). Words are split on spaces
after runs of whitespace are collapsed and the ends
stripped; characters keep inner spaces, the ends stripped. As in jiwer, a corpus with no reference word has
a WER equal to its number of inserted words.

Example:
    >>> wer("the cat sat", "the cat sat down")
    0.3333333333333333
    >>> error_counts(["a b c", "x y"], ["a c", "x  y z"])
    ErrorCounts(hits=4, substitutions=0, deletions=1, insertions=1)
    >>> cer("ab c", "abd c")
    0.25
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Literal, NamedTuple

import numpy as np
import torch

from tympan.core.errors import InvalidParameterError

__all__ = ["ErrorCounts", "cer", "edit_distance", "error_counts", "wer"]

_SPACES = re.compile(r"\s\s+")


class ErrorCounts(NamedTuple):
    """Edit counts over a corpus; ``rate`` is (S + D + I) / (H + S + D).

    Example:
        >>> ErrorCounts(hits=3, substitutions=1, deletions=0, insertions=1).rate
        0.5
    """

    hits: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def rate(self) -> float:
        """The error rate; with no reference unit, the number of insertions (as jiwer)."""
        reference = self.hits + self.substitutions + self.deletions
        if reference == 0:
            return float(self.insertions)
        return (self.substitutions + self.deletions + self.insertions) / reference


def _sentences(name: str, value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise InvalidParameterError("wer", [f"{name}: expected a string or a sequence of strings"])
    return list(value)


def _units(sentence: str, unit: Literal["word", "char"]) -> list[str]:
    if unit == "char":
        return list(sentence.strip())
    return [word for word in _SPACES.sub(" ", sentence).strip().split(" ") if word]


def _distance_table(reference: np.ndarray, hypothesis: np.ndarray) -> np.ndarray:
    """The Levenshtein table ``D[i, j]`` between prefixes, one vectorised row per reference unit.

    Within a row, ``D[i, j] = min_k (E[k] + j - k)`` where ``E`` holds the deletion and diagonal moves, a
    running minimum of ``E[k] - k``.
    """
    width = len(hypothesis) + 1
    table = np.empty((len(reference) + 1, width), dtype=np.int64)
    columns = np.arange(width)
    table[0] = columns
    for i, unit in enumerate(reference, start=1):
        above = table[i - 1]
        moves = above + 1
        moves[1:] = np.minimum(moves[1:], above[:-1] + (hypothesis != unit))
        table[i] = np.minimum.accumulate(moves - columns) + columns
    return table


def _common_affix(ref: list[int], hyp: list[int]) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix of what remains."""
    prefix = 0
    while prefix < min(len(ref), len(hyp)) and ref[prefix] == hyp[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(ref), len(hyp)) - prefix and ref[-1 - suffix] == hyp[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def _counts(reference: list[int], hypothesis: list[int]) -> tuple[int, int, int, int]:
    """(hits, substitutions, deletions, insertions) of one sentence pair.

    The common prefix and suffix are hits; the rest is traced back from the end of the table, taking a
    deletion where the column above is one less, else stepping one hypothesis unit back and taking an
    insertion where the table falls by one along the reference there, else a diagonal move.
    """
    prefix, suffix = _common_affix(reference, hypothesis)
    ref = np.asarray(reference[prefix : len(reference) - suffix], dtype=np.int64)
    hyp = np.asarray(hypothesis[prefix : len(hypothesis) - suffix], dtype=np.int64)
    table = _distance_table(ref, hyp)
    hits, subs, dels, ins = prefix + suffix, 0, 0, 0
    i, j = len(ref), len(hyp)
    while i and j:
        if table[i, j] - table[i - 1, j] == 1:
            dels, i = dels + 1, i - 1
            continue
        j -= 1
        if j and table[i, j] - table[i - 1, j] == -1:
            ins += 1
            continue
        i -= 1
        same = ref[i] == hyp[j]
        hits, subs = hits + int(same), subs + int(not same)
    return hits, subs, dels + i, ins + j


def error_counts(
    references: str | Sequence[str], hypotheses: str | Sequence[str], unit: Literal["word", "char"] = "word"
) -> ErrorCounts:
    """Hits, substitutions, deletions and insertions of ``hypotheses`` against ``references``, summed.

    Raises :class:`~tympan.core.errors.InvalidParameterError` when the two hold different numbers of
    sentences or are not strings.

    Example:
        >>> error_counts("kitten", "sitting", unit="char")
        ErrorCounts(hits=4, substitutions=2, deletions=0, insertions=1)
    """
    refs, hyps = _sentences("references", references), _sentences("hypotheses", hypotheses)
    if len(refs) != len(hyps):
        raise InvalidParameterError(
            "wer", [f"hypotheses: expected as many sentences as references ({len(refs)}), got {len(hyps)}"]
        )
    if unit not in ("word", "char"):
        raise InvalidParameterError("wer", [f"unit: expected 'word' or 'char' (got {unit!r})"])
    vocabulary: dict[str, int] = {}
    total = np.zeros(4, dtype=np.int64)
    for ref, hyp in zip(refs, hyps, strict=True):
        ref_ids = [vocabulary.setdefault(u, len(vocabulary)) for u in _units(ref, unit)]
        hyp_ids = [vocabulary.setdefault(u, len(vocabulary)) for u in _units(hyp, unit)]
        total += _counts(ref_ids, hyp_ids)
    return ErrorCounts(*(int(n) for n in total))


def wer(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """The word error rate of the corpus: (S + D + I) / reference words (jiwer's ``wer``).

    Example:
        >>> wer(["hello world", "good morning"], ["hello word", "good morning"])
        0.25
    """
    return error_counts(references, hypotheses, "word").rate


def cer(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """The character error rate of the corpus (jiwer's ``cer``): spaces inside a sentence count.

    Example:
        >>> cer("abc", "abd")
        0.3333333333333333
    """
    return error_counts(references, hypotheses, "char").rate


@torch.jit.unused
def edit_distance(seq1: Sequence[Hashable], seq2: Sequence[Hashable]) -> int:
    """The Levenshtein distance between two sequences (strings, or lists of words or tokens): the fewest
    insertions, deletions and substitutions that turn one into the other, as
    ``torchaudio.functional.edit_distance``.

    As torchaudio's, it runs in Python: ``torch.jit.script`` compiles it to a function that raises when called.

    Example:
        >>> edit_distance("kitten", "sitting"), edit_distance(["hello", "world"], ["world"])
        (3, 1)
    """
    vocabulary: dict[Hashable, int] = {}
    first = np.asarray([vocabulary.setdefault(unit, len(vocabulary)) for unit in seq1], dtype=np.int64)
    second = np.asarray([vocabulary.setdefault(unit, len(vocabulary)) for unit in seq2], dtype=np.int64)
    return int(_distance_table(first, second)[-1, -1])
