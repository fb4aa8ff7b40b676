"""decoder:ctc_beam against the exhaustive best labelling and torchaudio's ctc_decoder (flashlight-text).

How results are compared: hypotheses by their token sequences (discrete, compared exactly) and scores
within 1e-4 absolute (flashlight sums float32 emissions in double, as we do; the slack covers the order of
the log-add merges). torchaudio's tokens include the start and end silences of flashlight's path and its
timesteps count that start state, so its tokens are compared with edge silences stripped and its
timesteps minus one. Where flashlight keeps two entries that differ only by an edge silence, tympan keeps
one hypothesis (the documented fold): torchaudio's list is merged the same way (max, or log-add) before
comparing, with a beam wide enough that no entry is pruned.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.decoders.ctc_beam import CTCBeamDecoder

TOKENS = ["-", "|", "a", "b", "c", "d"]


def _exhaustive(log_probs: torch.Tensor, blank: int = 0) -> dict[tuple[int, ...], float]:
    """log p(labelling) for every labelling, summing every frame path (float64)."""
    frames, width = log_probs.shape
    totals: dict[tuple[int, ...], list[float]] = {}
    for path in itertools.product(range(width), repeat=frames):
        labels = tuple(k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k))
        totals.setdefault(labels, []).append(sum(float(log_probs[t, k]) for t, k in enumerate(path)))
    return {labels: float(torch.tensor(v, dtype=torch.float64).logsumexp(0)) for labels, v in totals.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_beam_equals_exhaustive_best_labelling(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(1, 6, 4, generator=generator, dtype=torch.float64).log_softmax(-1)
    truth = _exhaustive(log_probs[0])
    ranked = sorted(truth.items(), key=lambda item: -item[1])
    decoder = CTCBeamDecoder(tokens=["-", "a", "b", "c"], sil_token=None, beam_size=500, log_add=True, nbest=3)
    found = decoder(log_probs)[0]
    assert len(found) == 3
    for hypothesis, (labels, score) in zip(found, ranked, strict=False):
        assert tuple(hypothesis.tokens.tolist()) == labels
        assert hypothesis.score == pytest.approx(score, abs=1e-9)  # float64 throughout


def _torchaudio(emissions: torch.Tensor, **options: object) -> list[list[tuple[tuple[int, ...], float, list[int]]]]:
    from torchaudio.models.decoder import ctc_decoder

    decoder = ctc_decoder(lexicon=None, tokens=TOKENS, lm=None, **options)  # type: ignore[arg-type]
    out = []
    for hypotheses in decoder(emissions.float()):
        merged: dict[tuple[int, ...], tuple[float, list[int]]] = {}
        for h in hypotheses:
            tokens, steps = h.tokens.tolist(), (h.timesteps - 1).tolist()
            while tokens and tokens[0] == 1:
                tokens, steps = tokens[1:], steps[1:]
            while tokens and tokens[-1] == 1:
                tokens, steps = tokens[:-1], steps[:-1]
            key = tuple(tokens)
            if key in merged and options.get("log_add"):
                merged[key] = (float(torch.tensor([merged[key][0], h.score]).logsumexp(0)), merged[key][1])
            elif key not in merged:
                merged[key] = (h.score, steps)
        out.append(sorted(((k, s, t) for k, (s, t) in merged.items()), key=lambda item: -item[1]))
    return out


@pytest.mark.parametrize(  # the compiled search merges by max only
    ("log_add", "search"), [(False, "compiled"), (False, "tensor"), (True, "tensor")], indirect=["search"]
)
@pytest.mark.parametrize("peaked", [False, True])
def test_lexicon_free_equals_torchaudio(log_add: bool, peaked: bool, search: str) -> None:
    generator = torch.Generator().manual_seed(3 + peaked)
    logits = torch.randn(3, 7, 4, generator=generator) * (6.0 if peaked else 1.0)
    emissions = torch.cat([logits, torch.full((3, 7, 2), -1e4)], -1).log_softmax(-1)  # tokens - | a b only
    # wide enough to hold every hypothesis, so that pruning cannot differ
    options = {"beam_size": 3000, "beam_threshold": 1e4, "log_add": log_add}
    reference = _torchaudio(emissions, nbest=3000, **options)
    ours = CTCBeamDecoder(tokens=TOKENS, nbest=5, **options)(emissions)  # type: ignore[arg-type]
    for expected, found in zip(reference, ours, strict=True):
        for (tokens, score, _steps), hypothesis in zip(expected, found, strict=False):
            assert tuple(hypothesis.tokens.tolist()) == tokens
            assert hypothesis.score == pytest.approx(score, abs=1e-4)
        best = expected[0]
        assert found[0].timesteps.tolist() == best[2]


def test_narrow_beam_and_token_beam_equal_torchaudio_best(search: str) -> None:
    generator = torch.Generator().manual_seed(7)
    emissions = (torch.randn(4, 40, len(TOKENS), generator=generator) * 4).log_softmax(-1)
    options = {"beam_size": 8, "beam_size_token": 4, "beam_threshold": 20.0}
    reference = _torchaudio(emissions, nbest=1, **options)
    ours = CTCBeamDecoder(tokens=TOKENS, **options)(emissions)  # type: ignore[arg-type]
    for expected, found in zip(reference, ours, strict=True):
        assert tuple(found[0].tokens.tolist()) == expected[0][0]
        assert found[0].score == pytest.approx(expected[0][1], abs=1e-4)


def test_lengths_decode_each_utterance_as_alone(search: str) -> None:
    generator = torch.Generator().manual_seed(11)
    emissions = torch.randn(2, 12, len(TOKENS), generator=generator).log_softmax(-1)
    decoder = CTCBeamDecoder(tokens=TOKENS, beam_size=16, nbest=2)
    batch = decoder(emissions, torch.tensor([12, 7]))
    alone = decoder(emissions[1:, :7])
    assert [h.tokens.tolist() for h in batch[1]] == [h.tokens.tolist() for h in alone[0]]
    assert [h.score for h in batch[1]] == pytest.approx([h.score for h in alone[0]], abs=1e-9)


@pytest.mark.parametrize("options", [{}, {"log_add": True}, {"hotwords": {"ab": 2.0}}])
def test_an_empty_batch_gives_no_hypotheses(options: dict[str, object]) -> None:
    assert CTCBeamDecoder(tokens=TOKENS, **options)(torch.zeros(0, 5, len(TOKENS))) == []  # type: ignore[arg-type]


def test_words_spans_and_confidence(search: str) -> None:
    names = ["-", "|", "h", "i"]
    path = [2, 2, 3, 0, 1, 1, 3, 0]
    emissions = torch.full((1, len(path), 4), math.log(0.02))
    emissions[0, torch.arange(len(path)), torch.tensor(path)] = math.log(0.94)
    best = CTCBeamDecoder(tokens=names, beam_size=8)(emissions)[0][0]
    assert best.words == ["hi", "i"]
    assert best.word_starts.tolist() == [0, 6] and best.word_ends.tolist() == [3, 7]
    assert best.word_confidence.tolist() == pytest.approx([0.94, 0.94], abs=1e-6)
    assert 0.9 < best.confidence <= 1.0


@pytest.mark.parametrize(
    ("emissions", "lengths", "message"),
    [
        (torch.zeros(4, 6), None, "emissions: expected (batch, frames, tokens)"),
        (torch.zeros(1, 4, 6, dtype=torch.long), None, "emissions: expected a floating-point tensor"),
        (torch.zeros(1, 4, 5), None, "expected 6 tokens"),
        (torch.zeros(2, 4, 6), torch.tensor([4, 5]), "lengths: expected values in [0, 4]"),
    ],
)
def test_bad_input_is_a_typed_error(emissions: torch.Tensor, lengths: torch.Tensor | None, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        CTCBeamDecoder(tokens=TOKENS)(emissions, lengths)
