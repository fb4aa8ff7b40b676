"""decoder:ctc_beam lexicon-free with a word LM over a 2000-word vocabulary, against torchaudio's ctc_decoder.

The corpus is the decoder benchmark's synthetic language (:mod:`benchmarks.decoding_corpus`) at a smaller
size: 2000 words, a 3-gram LM estimated on 2000 sentences, 8 utterances of 300 frames. torchaudio's side
uses the lexicon of the same words (each spelled with its letters and the boundary ``|``), as flashlight's
lexicon-free search scores tokens rather than words; with ``unk_score=-inf`` ours decodes only the LM's
words too, so both search the same sentences with the same beam, threshold, LM weight and word score.

On this vocabulary most spellings leave the trie of known words within a few letters. Such a hypothesis
can only end as an unknown word, and with ``unk_score=-inf`` it must be dropped as soon as it leaves the
trie, or the beam fills with hypotheses that die at the next word boundary; and with a word LM, repeated
boundaries (``a|-|b``) must be one hypothesis with ``a|b`` as they are in flashlight's lexicon search, or
the duplicates crowd out the right sentence at beam 32. The best hypotheses' words are compared exactly;
the scores are not, as flashlight's lexicon spells the boundary inside each word and its last word must
end with one, while ours completes the open word at the end of the utterance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from benchmarks.decoding_corpus import TOKENS, Corpus, synthesize

from tympan.plugins.decoders.ctc_beam import CTCBeamDecoder

SETTINGS: dict[str, Any] = {"beam_size": 32, "beam_threshold": 25.0, "lm_weight": 2.0, "word_score": 0.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    folder: Path = tmp_path_factory.mktemp("corpus")
    return synthesize(folder, words=2000, sentences=2000, utterances=8, frames=300)


def test_lexicon_free_word_lm_equals_torchaudio_lexicon_search(corpus: Corpus, search: str) -> None:
    from torchaudio.models.decoder import ctc_decoder

    reference = ctc_decoder(lexicon=str(corpus.lexicon), tokens=TOKENS, lm=str(corpus.arpa), **SETTINGS)(
        corpus.emissions
    )
    ours = CTCBeamDecoder(tokens=TOKENS, lm=str(corpus.arpa), unk_score=float("-inf"), **SETTINGS)(corpus.emissions)
    assert [bool(found) for found in ours] == [True] * len(reference)
    assert [found[0].words for found in ours] == [expected[0].words for expected in reference]


def test_the_spelling_table_is_made_once_per_device_not_per_call(corpus: Corpus, monkeypatch: Any) -> None:
    """The table of every (trie node, token) step (31 k nodes x 32 tokens at the benchmark's 10 k words, about
    70 ms to make) is the decoder's, not each call's: two calls make it once, and give the same hypotheses."""
    from tympan.plugins.decoders._search import BeamSearch

    made: list[int] = []
    original = BeamSearch._spelling_table

    def counted(search: BeamSearch) -> Any:
        made.append(1)
        return original(search)

    monkeypatch.setattr(BeamSearch, "_spelling_table", counted)
    decoder = CTCBeamDecoder(tokens=TOKENS, lm=str(corpus.arpa), unk_score=float("-inf"), **SETTINGS)
    first, second = decoder(corpus.emissions[:2]), decoder(corpus.emissions[:2])
    assert len(made) == 1
    assert [found[0].words for found in first] == [found[0].words for found in second]


@pytest.mark.parametrize(
    "scores",
    [
        {"unk_score": float("-inf")},
        {"unk_score": -6.0, "word_score": 0.5, "sil_score": -0.25, "beam_size_token": 12},  # unknown words too
        # scores float32 cannot hold: each search must add them in float64
        {"unk_score": -4.1, "word_score": 0.3, "sil_score": -0.3},
    ],
)
def test_compiled_search_finds_the_tensor_search_paths(
    corpus: Corpus, monkeypatch: Any, scores: dict[str, float], compiled_calls: list[int]
) -> None:
    """The CPU's compiled search (which these settings take) gives the tensor search's n-best hypotheses: the
    same tokens, words and frames, and the same scores to the last bit, with utterances of several lengths."""
    from tympan.plugins.decoders import _search

    decoder = CTCBeamDecoder(tokens=TOKENS, lm=str(corpus.arpa), nbest=4, **{**SETTINGS, **scores})
    emissions, lengths = corpus.emissions[:4], torch.tensor([300, 250, 0, 180])
    found = {}
    for compiled in (True, False):
        monkeypatch.setattr(_search.BeamSearch, "compiled_on_cpu", compiled)
        found[compiled] = [
            [(h.tokens.tolist(), h.words, h.timesteps.tolist(), h.score, h.am_score, h.lm_score) for h in hypotheses]
            for hypotheses in decoder(emissions, lengths)
        ]
    assert compiled_calls == [1]
    assert all(found[True]) and sum(len(hypotheses) for hypotheses in found[True]) > len(emissions)  # n-best lists
    assert found[True] == found[False]
