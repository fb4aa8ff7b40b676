"""The speech recognition and separation recipes' smoke variants, end to end on a miniature corpus that
``tympan data synth`` writes (espeak-ng voices; the dev and test subsets' voices held out)."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import matplotlib.image
import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

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


def _figure_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = RECIPES / "figures" / "vocoder_resynthesis.py"
    spec = importlib.util.spec_from_file_location("vocoder_resynthesis", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_the_vocoder_recipe_resynthesizes_held_out_speech(
    corpora: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "voc"
    overrides = ("training.max_steps=2", "logging.tensorboard=true")  # the recipe validates first
    results = _smoke("vocoder_libritts_wavernn.yaml", corpora, run, *overrides)
    assert results["steps"] == 2
    for split in ("valid", "test"):
        metrics = results[split]
        assert isinstance(metrics, dict) and metrics.keys() == {"loss", "mel_l1"}
        assert math.log(256) * 0.5 < metrics["loss"] < math.log(256) * 1.5  # near chance after two steps
        assert 0 < metrics["mel_l1"] < 20
    history = results["history"]
    assert isinstance(history, list) and [entry["step"] for entry in history] == [0, 2]
    # the README's before/after picture, made from this run's logged validation audio
    picture = _figure_script(monkeypatch).main([str(run), str(tmp_path / "picture.png")])
    assert picture == 0
    image = matplotlib.image.imread(tmp_path / "picture.png")
    assert image.shape[:2] == (540, 630) and image.std() > 0.05
    assert (tmp_path / "picture.png").stat().st_size < 200_000
    # TensorBoard's mel pictures are scaled to the full grey range (unscaled log-mels were cut to a few levels)
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    tag = next(tag for tag in events.Tags()["images"] if tag.endswith("/reference_mel"))
    grey = np.asarray(Image.open(io.BytesIO(events.Images(tag)[0].encoded_image_string)))
    assert grey.min() == 0 and grey.max() == 255 and len(np.unique(grey)) > 64


def test_the_vocoder_picture_needs_the_step_0_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``training.validate_first`` the first validation comes after training began: the picture
    refuses to call it "before training"."""
    from torch.utils.tensorboard import SummaryWriter

    (tmp_path / "recipe.json").write_text(json.dumps({"model": {"tts:wavernn": {"hop_length": 200}}}))
    with SummaryWriter(str(tmp_path / "tensorboard")) as writer:
        for step in (8, 16):
            for name in ("generated", "reference"):
                writer.add_audio(f"valid/u1/{name}", torch.zeros(1600), step, sample_rate=16000)
    with pytest.raises(ValueError, match="no validation audio at step 0"):
        _figure_script(monkeypatch).plot(tmp_path, tmp_path / "picture.png")
