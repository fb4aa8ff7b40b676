"""The speech recognition and separation recipes' smoke variants, end to end on a miniature corpus that
``tympan data synth`` writes (espeak-ng voices; the dev and test subsets' voices held out)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tympan.plugins.datasets.synth import synthesize
from tympan.training.run import train

RECIPES = Path(__file__).parents[2] / "recipes"


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    synthesize(root, ["librispeech", "libritts", "librimix", "wsj0mix"], train_voices=2, test_voices=4, utterances=1,
               mixtures=1, progress=False)  # fmt: skip
    return root


def _smoke(recipe: str, root: Path, run: Path, *overrides: str) -> dict[str, object]:
    common = [f"data.root={root}", "data.synthesize=null", "training.device=cpu", "training.threads=1",
              "logging.progress=false", "logging.tensorboard=false"]  # fmt: skip
    return train(RECIPES / recipe, [*common, *overrides], smoke=True, run_dir=run)


@pytest.mark.parametrize("recipe", ["asr_librispeech_wav2letter.yaml", "asr_librispeech_conformer_ctc.yaml"])
def test_the_ctc_recipes_decode_greedily_and_with_their_language_model(
    recipe: str, corpora: Path, tmp_path: Path
) -> None:
    run = tmp_path / "asr"
    results = _smoke(recipe, corpora, run, "training.max_steps=1", "data.test=null")
    assert results["steps"] == 1
    valid = results["valid"]
    assert isinstance(valid, dict)
    assert valid.keys() == {"loss", "ctc_greedy/wer", "ctc_greedy/cer", "ctc_beam/wer", "ctc_beam/cer"}
    assert all(math.isfinite(value) and value >= 0 for value in valid.values())
    arpa = (run / "lm.arpa").read_text()  # the 3-gram model of the training transcripts the beam search used
    assert "\\3-grams:" in arpa and (run / "model.safetensors").is_file()


@pytest.mark.parametrize("recipe", ["separation_librimix_conv_tasnet.yaml", "separation_wsj0mix_conv_tasnet.yaml"])
def test_the_separation_recipes_report_si_snr_improvement(recipe: str, corpora: Path, tmp_path: Path) -> None:
    results = _smoke(recipe, corpora, tmp_path / "sep")
    assert results["steps"] >= 1
    for split in ("valid", "test"):
        metrics = results[split]
        assert isinstance(metrics, dict) and metrics.keys() == {"loss", "si_snr", "si_snri"}
        assert metrics["loss"] == pytest.approx(-metrics["si_snr"], rel=1e-5)  # the PIT loss is the negative SI-SNR
        assert math.isfinite(metrics["si_snri"])


def test_the_vocoder_recipe_resynthesizes_held_out_speech(corpora: Path, tmp_path: Path) -> None:
    results = _smoke("vocoder_libritts_wavernn.yaml", corpora, tmp_path / "voc", "training.max_steps=2")
    assert results["steps"] == 2
    for split in ("valid", "test"):
        metrics = results[split]
        assert isinstance(metrics, dict) and metrics.keys() == {"loss", "mel_l1"}
        assert math.log(256) * 0.5 < metrics["loss"] < math.log(256) * 1.5  # near chance after two steps
        assert 0 < metrics["mel_l1"] < 20
