"""WER / CER equal jiwer's (counts included) on a generated corpus of edits; word alignment in seconds.

Counts are integers and compared exactly; rates are computed from them (exact up to float division).
"""

from __future__ import annotations

import random

import jiwer
import pytest
import torch
import torchaudio.functional as ta_functional

import tympan.metrics
from tympan.core.errors import InvalidParameterError
from tympan.plugins.decoders.align import align_words


def _corpus(seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    words = ["a", "b", "c", "the", "cat", "dog"]
    references, hypotheses = [], []
    for _ in range(300):
        ref = [rng.choice(words) for _ in range(rng.randint(1, 9))]
        hyp = list(ref)
        for _ in range(rng.randint(0, 4)):  # substitutions, insertions, deletions at random places
            edit = rng.choice("sid")
            where = rng.randint(0, max(len(hyp) - 1, 0))
            if edit == "s" and hyp:
                hyp[where] = rng.choice(words)
            elif edit == "i":
                hyp.insert(where, rng.choice(words))
            elif hyp:
                del hyp[where]
        references.append(" ".join(ref))
        hypotheses.append("  ".join(hyp) + rng.choice(["", " "]))
    return references, hypotheses


@pytest.mark.parametrize("seed", [0, 1])
def test_wer_and_counts_equal_jiwer(seed: int) -> None:
    references, hypotheses = _corpus(seed)
    expected = jiwer.process_words(references, hypotheses)
    counts = tympan.metrics.error_counts(references, hypotheses)
    assert counts == (expected.hits, expected.substitutions, expected.deletions, expected.insertions)
    assert tympan.metrics.wer(references, hypotheses) == pytest.approx(expected.wer, abs=1e-12)
    assert tympan.metrics.cer(references, hypotheses) == pytest.approx(jiwer.cer(references, hypotheses), abs=1e-12)


def test_wer_bad_input_is_typed() -> None:
    with pytest.raises(InvalidParameterError, match="as many sentences"):
        tympan.metrics.wer(["a", "b"], ["a"])


def test_align_words_gives_seconds_from_forced_alignment() -> None:
    tokens = ["-", "|", "c", "a", "t", "s"]
    path = [0, 2, 2, 3, 4, 0, 1, 0, 5, 3, 3, 4, 0]
    emissions = torch.full((len(path), len(tokens)), -8.0)
    emissions[torch.arange(len(path)), torch.tensor(path)] = 0.0
    spans = align_words(emissions.log_softmax(-1), "cat sat", tokens, frame_duration=0.04)
    assert [s.word for s in spans] == ["cat", "sat"]
    assert [round(s.start, 6) for s in spans] == [0.04, 0.32]
    assert [round(s.end, 6) for s in spans] == [0.2, 0.48]
    assert all(s.score > 0.99 for s in spans)


def test_edit_distance_compiles_as_torchaudio_s_and_stays_python() -> None:
    for function in (tympan.metrics.edit_distance, ta_functional.edit_distance):
        scripted = torch.jit.script(function)
        with pytest.raises(Exception, match="Cannot call @unused"):  # TorchScript raises its own error type
            scripted(["a", "b"], ["b"])
    assert tympan.metrics.edit_distance(["a", "b", "c"], ["b", "d"]) == 2
