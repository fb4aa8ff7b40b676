"""The settings of the CTC beam search (:class:`Options`), what it consults (:class:`Resources`) and what it
finds (:class:`Paths`), shared by the tensor search (:mod:`._search`) and the CPU's compiled one
(:mod:`._search_cpu`).

Example:
    >>> Options(beam_size=4, beam_size_token=3, beam_threshold=50.0, blank=0, sil=-1).log_add
    False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from tympan.plugins.decoders.lm import LanguageModel
from tympan.plugins.decoders.trie import HotwordTrie, LexiconTrie

__all__ = ["NEG_INF", "Options", "Paths", "Resources"]

#: Minus infinity, the score of an impossible hypothesis.
NEG_INF = float("-inf")


@dataclass(frozen=True)
class Options:
    """Numbers that steer the search (the decoder's parameters of the same names)."""

    beam_size: int
    beam_size_token: int
    beam_threshold: float
    blank: int
    sil: int
    lm_weight: float = 0.0
    word_score: float = 0.0
    unk_score: float = NEG_INF
    sil_score: float = 0.0
    log_add: bool = False
    nbest: int = 1

    @property
    def hypotheses(self) -> int:
        """Hypotheses returned per utterance: ``nbest``, at most the beam."""
        return min(self.nbest, self.beam_size)


@dataclass
class Resources:
    """What the search consults: a lexicon, or a vocabulary trie for a lexicon-free word LM; the LM (with
    ``word_map`` from word ids to its own ids) and the unknown word's id; the hotword graph."""

    lexicon: LexiconTrie | None = None
    vocabulary: LexiconTrie | None = None
    lm: LanguageModel | None = None
    word_map: torch.Tensor | None = None
    unk_word: int = -1
    hotwords: HotwordTrie | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Paths(NamedTuple):
    """The ``nbest`` final hypotheses of each utterance: ``(B, N)`` scores and parts, ``(B, N, T)`` frame
    records (token of each frame, -2 past the utterance; whether a new token starts there; the word completed
    there, or -1)."""

    score: torch.Tensor
    am: torch.Tensor
    lm: torch.Tensor
    frame_tokens: torch.Tensor
    events: torch.Tensor
    words: torch.Tensor
    final_word: torch.Tensor
