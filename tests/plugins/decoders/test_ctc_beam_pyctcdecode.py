"""decoder:ctc_beam against pyctcdecode: lexicon-free with the same ARPA LM (KenLM on its side), and hotwords.

The same settings on both sides:

- pyctcdecode's labels are our tokens in order, with the blank as ``""`` and the word boundary as ``" "``.
- pyctcdecode scores a word ``alpha * ln(10) * (log10 p + unk_score_offset if not a unigram) + beta`` in
  natural-log units, so ``lm_weight = alpha ln 10``, ``word_score = beta`` and
  ``unk_score = alpha ln 10 * unk_score_offset``. Both start at ``<s>`` and end with ``</s>``. Its unigram
  list is given explicitly (read from the ARPA file it would keep only tab-separated lines with a back-off).
- A hotword phrase boosts each of its words: every word of the text equal to one adds ``hotword_weight``.
- pyctcdecode takes log-softmax again and clips at log(1e-15): the emissions here stay above that.
- pyctcdecode always merges by log-add (``log_add=True``); its ``beam_prune_logp`` is ``-beam_threshold``,
  its ``token_min_logp`` an absolute floor where ours keeps the ``beam_size_token`` likeliest tokens.

Where the algorithms legitimately differ:

1. Word boundaries: a pyctcdecode hypothesis is its text, runs of spaces folded into one. With a word LM
   ours folds them too (``a|-|b`` is ``a|b``); without one, like flashlight's lexicon-free search, it keeps
   token sequences, so ``a||b`` and ``a|b`` are two hypotheses with the same words. Ours are merged by words
   (log-add) before comparing.
2. Partial words: while a word is spelled pyctcdecode adds 0 for a prefix of a unigram and
   ``unk_score_offset`` otherwise (or a hotword prefix's share of the weight); ours adds flashlight's
   look-ahead (the best unigram below the prefix) and the hotword share, and ``unk_score`` once, when the
   spelling leaves the unigrams' trie. The look-ahead and the hotword share are given back when the word
   ends, so they steer pruning only: a search that prunes nothing returns the same final scores.
3. The end (a pyctcdecode defect): its last step merges the states of each text and scores the last word
   of the state ranked first at the last frame. When that state ended at a word boundary, or the text is
   empty, the last word is ``""``: KenLM's ``<unk>`` plus ``unk_score_offset`` and ``beta``, and ``</s>``
   follows that ``<unk>``. tympan scores ``</s>`` after the last word.

The proof, on random emissions small enough to enumerate every frame path (5 frames, 5 tokens): a float64
brute-force scorer computes every text's acoustic probability (the log-sum over its paths) and its score
under both definitions, which share everything but item 3. pyctcdecode, with a beam that prunes nothing,
equals the brute force of its definition; ours equals the brute force of ours; item 3 applies to some texts
of each case. Tolerances: acoustic parts 1e-9 (float64 sums of the same numbers in other orders); totals
1e-5 (KenLM's float32 log10 probabilities against our float64 reading of the ARPA text, times
``alpha ln 10`` < 2). On peaked emissions of realistic length, with realistic beams, the best hypotheses'
words are equal and their scores within 1e-2 (each search's log-adds sum over the paths its beam kept).
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from tympan.plugins.decoders.ctc_beam import CTCBeamDecoder
from tympan.plugins.decoders.ngram_train import write_arpa

pyctcdecode = pytest.importorskip("pyctcdecode")
kenlm = pytest.importorskip("kenlm")

TOKENS = ["-", "|", "a", "b", "c"]
LABELS = ["", " ", "a", "b", "c"]
WORDS = ["a", "ab", "ba", "cab", "bc", "ca", "abc", "cc"]
ALPHA, BETA, OFFSET, HOTWORD_WEIGHT = 0.7, 1.2, -4.0, 3.0
LN10 = math.log(10.0)


@pytest.fixture(scope="module")
def arpa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(0)
    sentences = [" ".join(rng.choice(WORDS[:6]) for _ in range(rng.randint(1, 4))) for _ in range(300)]
    path = tmp_path_factory.mktemp("lm") / "lm.arpa"
    write_arpa(path, sentences, order=3)
    return path


def _pyctcdecode(arpa: Path | None) -> object:
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    path = None if arpa is None else str(arpa)
    unigrams = None if arpa is None else WORDS[:6]
    return pyctcdecode.build_ctcdecoder(
        LABELS, path, unigrams=unigrams, alpha=ALPHA, beta=BETA, unk_score_offset=OFFSET
    )


def _ours(arpa: Path | None, hotwords: list[str] | None, **options: object) -> CTCBeamDecoder:
    return CTCBeamDecoder(
        tokens=TOKENS,
        lm=None if arpa is None else str(arpa),
        lm_weight=ALPHA * LN10,
        word_score=BETA if arpa is not None else 0.0,
        unk_score=ALPHA * LN10 * OFFSET,
        hotwords=hotwords,
        hotword_weight=HOTWORD_WEIGHT,
        log_add=True,
        **options,  # type: ignore[arg-type]
    )


class _Definitions:
    """pyctcdecode's word, partial-word and hotword scores computed directly (KenLM, float64 sums)."""

    def __init__(self, arpa: Path | None, hotwords: list[str]) -> None:
        self.model = None if arpa is None else kenlm.Model(str(arpa))
        self.unigrams = set(WORDS[:6])
        self.hotwords = {word for phrase in hotwords for word in phrase.split()}

    def word(self, state: object, word: str, last: bool) -> tuple[float, object]:
        after = kenlm.State()
        log10 = self.model.BaseScore(state, word, after)
        log10 += OFFSET if word not in self.unigrams else 0.0
        if last:
            log10 += self.model.BaseScore(after, "</s>", kenlm.State())
        return ALPHA * LN10 * log10 + BETA, after

    def words(self, words: list[str], end: str | None = None) -> float:
        """pyctcdecode's LM score of ``words``, then, with ``end``, of ``end`` as the last word and ``</s>``
        (``end=""``: its empty word)."""
        state = _begin(self.model)
        total = 0.0
        for word in words:
            value, state = self.word(state, word, last=False)
            total += value
        if end is not None:
            total += self.word(state, end, last=True)[0]
        return total

    def sentence(self, words: list[str]) -> float:
        """tympan's LM score of a whole sentence: its words, then ``</s>`` after the last one."""
        if not words:
            return ALPHA * LN10 * self.model.BaseScore(_begin(self.model), "</s>", kenlm.State())
        return self.words(words[:-1], words[-1])

    def hotword(self, text: str) -> float:
        return HOTWORD_WEIGHT * sum(word in self.hotwords for word in text.split())

    def partial(self, part: str) -> float:
        """pyctcdecode's score of a partial word: a hotword prefix's share, else the LM's 0 / offset."""
        if not part:
            return 0.0
        below = [len(w) for w in self.hotwords if w.startswith(part)]
        if below:
            return HOTWORD_WEIGHT * len(part) / min(below)
        if self.model is None:
            return 0.0
        if any(w.startswith(part) for w in self.unigrams):
            return 0.0
        return OFFSET * (len(part) / 6 if len(part) > 6 else 1.0)


def _brute_force(log_probs: np.ndarray, scorer: _Definitions) -> dict[str, tuple[float, float, float]]:
    """Per text: (acoustic log-probability, pyctcdecode's score, tympan's score), from every frame path."""
    frames, width = log_probs.shape
    states: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for path in itertools.product(range(width), repeat=frames):
        text, part, last = "", "", None
        for k in path:  # pyctcdecode's transitions; ``text`` holds whole words, ``part`` the open one
            char = LABELS[k]
            if char == "" or char == last:
                last = char
            elif char == " ":
                text, part, last = " ".join(w for w in (text, part) if w), "", char
            else:
                part, last = part + char, char
        states[(text, part, last or "")].append(sum(float(log_probs[t, k]) for t, k in enumerate(path)))
    by_text: dict[str, list[tuple[float, float, str, str]]] = defaultdict(list)
    for (text, part, _), scores in states.items():
        acoustic = float(np.logaddexp.reduce(scores))
        lm = scorer.words(text.split()) if scorer.model is not None else 0.0
        rank = acoustic + lm + scorer.hotword(text) + scorer.partial(part)
        by_text[" ".join(w for w in (text, part) if w)].append((rank, acoustic, text, part))
    out = {}
    for final, members in by_text.items():
        acoustic = float(np.logaddexp.reduce([m[1] for m in members]))
        bonus = scorer.hotword(final)
        if scorer.model is None:
            out[final] = (acoustic, acoustic + bonus, acoustic + bonus)
            continue
        _, _, text, part = min(members)  # the merge keeps the split of its last member: ranked last
        theirs = scorer.words(text.split(), part)  # part == "": the empty word (item 3)
        ours = scorer.sentence(final.split())
        out[final] = (acoustic, acoustic + theirs + bonus, acoustic + ours + bonus)
    return out


def _begin(model: object) -> object:
    state = kenlm.State()
    model.BeginSentenceWrite(state)
    return state


def _merged_by_words(hypotheses: list) -> dict[str, tuple[float, float]]:
    merged: dict[str, tuple[float, float]] = {}
    for h in hypotheses:
        key = " ".join(h.words)
        am, score = merged.get(key, (-math.inf, -math.inf))
        merged[key] = (float(np.logaddexp(am, h.am_score)), float(np.logaddexp(score, h.score)))
    return merged


CASES = [(True, [], 0), (True, [], 1), (True, ["ab", "c a"], 2), (False, ["ab", "ca"], 3)]


@pytest.mark.parametrize(("with_lm", "hotwords", "seed"), CASES)
def test_exhaustive_search_equals_pyctcdecode_but_for_its_end_of_utterance(
    arpa: Path, with_lm: bool, hotwords: list[str], seed: int
) -> None:
    lm = arpa if with_lm else None
    generator = torch.Generator().manual_seed(seed)
    emissions = (torch.randn(1, 5, len(TOKENS), generator=generator, dtype=torch.float64) * 1.5).log_softmax(-1)
    log_probs = emissions[0].numpy()
    scorer = _Definitions(lm, hotwords)
    truth = _brute_force(log_probs, scorer)

    theirs = _pyctcdecode(lm).decode_beams(
        log_probs, beam_width=10**6, beam_prune_logp=-1e9, token_min_logp=-1e9, hotwords=hotwords,
        hotword_weight=HOTWORD_WEIGHT,
    )  # fmt: skip
    found = _ours(lm, hotwords or None, beam_size=10000, beam_threshold=1e9, nbest=10000)(emissions)[0]
    ours = _merged_by_words(found)

    assert len(theirs) == len(truth) and {beam[0] for beam in theirs} == set(truth) == set(ours)
    for text, _state, _frames, acoustic, score in theirs:
        assert acoustic == pytest.approx(truth[text][0], abs=1e-9)
        assert score == pytest.approx(truth[text][1], abs=1e-5)
    for text, (acoustic, score) in ours.items():
        assert acoustic == pytest.approx(truth[text][0], abs=1e-9)
        assert score == pytest.approx(truth[text][2], abs=1e-5)
    differing = [text for text, (_, a, b) in truth.items() if abs(a - b) > 1e-6]
    assert bool(differing) == with_lm  # the difference (item 3) is exercised, and only it is there


def _peaked(sentences: list[list[str]], seed: int, frames: int = 40) -> torch.Tensor:
    """Emissions peaked on each sentence's path; from the last word on, the word boundary at log-probability
    -28 (above pyctcdecode's clipping at log 1e-15), so that no state of the best texts ending at a boundary
    stays within a beam threshold of 25 and item 3 cannot apply to them."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for words in sentences:
        path: list[int] = []
        for word in words:
            path += [1, 0] if path else [0]
            end = len(path)
            for letter in word:
                path += [TOKENS.index(letter)] * 2 + [0]
        path += [0] * (frames - len(path))
        logits = torch.randn(frames, len(TOKENS), generator=generator, dtype=torch.float64)
        logits[torch.arange(frames), torch.tensor(path)] += 8.0
        log_probs = logits.log_softmax(-1)
        log_probs[end:, 1] = -28.0
        rows.append(log_probs.log_softmax(-1))
    return torch.stack(rows)


@pytest.mark.parametrize("hotwords", [[], ["cc", "bc"]])
def test_peaked_emissions_best_equals_pyctcdecode(arpa: Path, hotwords: list[str]) -> None:
    rng = random.Random(4)
    sentences = [[rng.choice(WORDS) for _ in range(rng.randint(2, 4))] for _ in range(4)]  # at most 34 frames
    emissions = _peaked(sentences, seed=5)
    decoder = _pyctcdecode(arpa)
    found = _ours(arpa, hotwords or None, beam_size=16, beam_threshold=25.0, nbest=16)(emissions)
    for b, hypotheses in enumerate(found):
        ours = _merged_by_words(hypotheses)
        best = max(ours, key=lambda text: ours[text][1])
        text, _state, _frames, acoustic, score = decoder.decode_beams(
            emissions[b].numpy(), beam_width=16, beam_prune_logp=-25.0, token_min_logp=-1e9, hotwords=hotwords,
            hotword_weight=HOTWORD_WEIGHT,
        )[0]  # fmt: skip
        assert best == text
        # the log-adds run over the paths each beam kept: the two differ by under 1 % of the text's mass
        assert ours[best][0] == pytest.approx(acoustic, abs=1e-2)
        assert ours[best][1] == pytest.approx(score, abs=1e-2)
