"""decoder:ctc_beam with a lexicon and an ARPA LM, against torchaudio's ctc_decoder (flashlight-text + KenLM).

Words are compared exactly; scores within 1e-3 absolute (KenLM stores log10 probabilities in float32,
flashlight smears the lexicon's look-ahead in float32; tympan reads the ARPA text in float64). The LM is
estimated at run time from generated sentences by tympan's Kneser-Ney writer and read by both sides.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from tympan.plugins.decoders.ctc_beam import CTCBeamDecoder
from tympan.plugins.decoders.ngram_train import write_arpa

TOKENS = ["-", "|", "a", "b", "c", "d", "e"]
WORDS = ["a", "ab", "bad", "bed", "cab", "dab", "dead", "bead", "ace", "cede", "dace", "be", "bee", "add", "dd"]


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[list[str]]]:
    folder = tmp_path_factory.mktemp("lm")
    rng = random.Random(0)
    sentences = [
        [rng.choice(WORDS[: rng.randint(4, len(WORDS))]) for _ in range(rng.randint(1, 6))] for _ in range(400)
    ]
    write_arpa(folder / "lm.arpa", [" ".join(s) for s in sentences], order=3)
    (folder / "lexicon.txt").write_text("".join(f"{w}\t{' '.join(w)} |\n" for w in WORDS))
    return folder / "lexicon.txt", folder / "lm.arpa", sentences


def _emissions(sentences: list[list[str]], seed: int, noise: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for words in sentences:
        path = []
        for word in words:
            for letter in word:
                path += [TOKENS.index(letter)] * 2 + [0]
            path += [1]
        path = (path + [0] * 40)[:40]
        logits = torch.randn(40, len(TOKENS), generator=generator) * noise
        logits[torch.arange(40), torch.tensor(path)] += 4.0
        rows.append(logits.log_softmax(-1))
    return torch.stack(rows)


@pytest.mark.parametrize("log_add", [False, True])
def test_lexicon_and_arpa_lm_equal_torchaudio(resources: tuple[Path, Path, list[list[str]]], log_add: bool) -> None:
    from torchaudio.models.decoder import ctc_decoder

    lexicon, arpa, sentences = resources
    options = {
        "beam_size": 30,
        "beam_threshold": 25.0,
        "lm_weight": 1.5,
        "word_score": -0.5,
        "sil_score": -0.2,
        "log_add": log_add,
    }
    emissions = _emissions(sentences[:6], seed=1, noise=1.5)
    reference = ctc_decoder(lexicon=str(lexicon), tokens=TOKENS, lm=str(arpa), nbest=1, **options)(emissions)
    ours = CTCBeamDecoder(tokens=TOKENS, lexicon=str(lexicon), lm=str(arpa), **options)(emissions)  # type: ignore[arg-type]
    for expected, found in zip(reference, ours, strict=True):
        assert found[0].words == expected[0].words
        assert found[0].score == pytest.approx(expected[0].score, abs=1e-3)


def test_lexicon_without_lm_equals_torchaudio(resources: tuple[Path, Path, list[list[str]]]) -> None:
    from torchaudio.models.decoder import ctc_decoder

    lexicon, _, sentences = resources
    emissions = _emissions(sentences[6:10], seed=2, noise=2.0)
    options = {"beam_size": 20, "word_score": 0.3}
    reference = ctc_decoder(lexicon=str(lexicon), tokens=TOKENS, lm=None, **options)(emissions)
    ours = CTCBeamDecoder(tokens=TOKENS, lexicon=str(lexicon), **options)(emissions)  # type: ignore[arg-type]
    for expected, found in zip(reference, ours, strict=True):
        assert found[0].words == expected[0].words
        assert found[0].score == pytest.approx(expected[0].score, abs=1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("setting", ["lexicon_lm", "lexicon_free_lm", "no_lm", "hotwords"])
def test_cuda_search_equals_cpu_search(resources: tuple[Path, Path, list[list[str]]], setting: str) -> None:
    # The search runs on the emissions' device: on CUDA it must find the CPU's hypotheses (the same tokens,
    # words and frames; scores are float64 on both sides, within 1e-9).
    lexicon, arpa, sentences = resources
    options: dict[str, object] = {"beam_size": 16, "nbest": 3, "lm_weight": 1.2, "word_score": -0.3}
    if setting == "lexicon_lm":
        options |= {"lexicon": str(lexicon), "lm": str(arpa)}
    elif setting == "lexicon_free_lm":
        options |= {"lm": str(arpa)}
    elif setting == "hotwords":
        options |= {"lm": str(arpa), "hotwords": ["bead", "cede"], "hotword_weight": 2.0}
    decoder = CTCBeamDecoder(tokens=TOKENS, **options)  # type: ignore[arg-type]
    emissions = _emissions(sentences[10:18], seed=3, noise=1.5)
    on_cpu = decoder(emissions)
    on_gpu = decoder(emissions.cuda())
    for expected, found in zip(on_cpu, on_gpu, strict=True):
        assert len(found) == len(expected)
        for want, got in zip(expected, found, strict=True):
            assert got.words == want.words
            assert got.tokens.tolist() == want.tokens.tolist()
            assert got.timesteps.tolist() == want.timesteps.tolist()
            assert got.score == pytest.approx(want.score, abs=1e-9)
