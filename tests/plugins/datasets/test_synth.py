"""``tympan data synth``: corpora that load through the datasets plugin, held-out voices, determinism, failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tympan.cli import cli
from tympan.core.errors import InvalidParameterError, SynthesisError
from tympan.plugins.datasets import synth
from tympan.plugins.datasets.commands import SpeechCommands
from tympan.plugins.datasets.librispeech import LibriSpeech, LibriTTS
from tympan.plugins.datasets.separation import LibriMix, WSJ0Mix
from tympan.plugins.datasets.synth.layouts import LAYOUTS, Speakers
from tympan.plugins.datasets.synth.render import render
from tympan.plugins.datasets.synth.text import KEYWORDS, Grammar
from tympan.plugins.datasets.synth.voices import voice_pool

MINI = synth.PRESETS["mini"]


def _voices(corpus: object, speaker: str) -> set[object]:
    return {getattr(corpus.metadata(i), speaker) for i in range(len(corpus))}  # type: ignore[attr-defined]


def test_book_corpora_load_with_held_out_speakers(synth_root: Path) -> None:
    train = LibriSpeech(synth_root, subset="train-clean-100")
    dev, test = LibriSpeech(synth_root, subset="dev-clean"), LibriSpeech(synth_root, subset="test-clean")
    assert len(train) == MINI["train_voices"] * MINI["utterances"]
    assert len(dev) == len(test) == MINI["test_voices"] // 2 * MINI["utterances"]
    train_speakers = _voices(train, "speaker_id")
    assert not train_speakers & _voices(dev, "speaker_id") and not train_speakers & _voices(test, "speaker_id")
    item = train[0]
    assert item.sample_rate == 16000 and item.transcript == item.transcript.upper() and item.transcript
    assert 0.5 < item.duration < 10 and item.waveform.abs().max() > 0.2  # speech at a normal level
    tts = LibriTTS(synth_root, subset="train-clean-100")
    assert len(tts) == len(train) and tts.metadata(0).sample_rate == 24000
    # the same sentence in both corpora, in LibriTTS's written form
    assert tts.metadata(0).normalized_text.rstrip(".").upper() == train.metadata(0).transcript


def test_speech_commands_split_by_voice_with_all_classes(synth_root: Path) -> None:
    training = SpeechCommands(synth_root, subset="training")
    validation, testing = SpeechCommands(synth_root, subset="validation"), SpeechCommands(synth_root, subset="testing")
    labels = {training.metadata(i).label for i in range(len(training))}
    assert set(KEYWORDS) <= labels and "_silence_" in labels and len(labels - set(KEYWORDS)) >= 2
    seen = _voices(training, "speaker_id")
    assert not seen & _voices(validation, "speaker_id") and not seen & _voices(testing, "speaker_id")
    assert len(training) + len(validation) + len(testing) == len(SpeechCommands(synth_root))
    clip = testing[0]
    assert clip.waveform.shape == (1, 16000)


@pytest.mark.parametrize("layout", ["librimix", "wsj0mix"])
def test_mixture_sources_sum_to_the_mixture(layout: str, synth_root: Path) -> None:
    if layout == "librimix":
        train, test = LibriMix(synth_root, subset="train-100"), LibriMix(synth_root, subset="test")
    else:  # each split folder of the WSJ0-2mix layout is a corpus root
        train, test = (WSJ0Mix(synth_root / "wsj0-mix/2speakers/wav8k/min" / split) for split in ("tr", "tt"))
    assert len(train) == MINI["train_voices"] * MINI["mixtures"] // 2
    assert len(test) > 0
    item = train[0]
    s1, s2 = item.sources
    # 16-bit files: each of the three is rounded to 2**-15 on its own
    torch.testing.assert_close(item.waveform, s1 + s2, atol=3 * 2**-15, rtol=0)
    assert item.sample_rate == 8000 and s1.abs().max() > 0.01 and s2.abs().max() > 0.01


def test_held_out_voices_are_unseen_pairs() -> None:
    train, test = voice_pool(seed=3, train=60, test=20)
    assert {(v.accent, v.variant) for v in train}.isdisjoint({(v.accent, v.variant) for v in test})
    assert len({v.speaker_id for v in train + test}) == 80
    with pytest.raises(ValueError, match="at most"):
        voice_pool(seed=0, train=1000, test=1)


def test_rendering_is_deterministic(synth_root: Path, tmp_path: Path) -> None:
    grammar = Grammar.default()
    train, held_out = voice_pool(0, MINI["train_voices"], MINI["test_voices"])
    speakers = Speakers(train, held_out[:2], held_out[2:])
    for name, count in (("speech_commands", 1), ("librimix", MINI["mixtures"]), ("librispeech", MINI["utterances"])):
        clips = LAYOUTS[name].clips(speakers, grammar, 0, count)
        for clip in clips[:: max(1, len(clips) // 3)]:
            render(clip, tmp_path)
            for path in (clip.path, *clip.sources):
                assert (tmp_path / path).read_bytes() == (synth_root / path).read_bytes(), path


def test_a_failed_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(clip: object, root: Path) -> float:
        calls.append(clip)
        if len(calls) > 3:
            raise OSError("No space left on device")
        return render(clip, root)  # type: ignore[arg-type]

    monkeypatch.setattr(synth, "render", failing)
    with pytest.raises(OSError, match="No space"):
        synth.synthesize(tmp_path, ["librimix"], jobs=1, progress=False, **MINI)
    assert list(tmp_path.iterdir()) == []


def test_existing_corpus_is_kept_unless_overwritten(synth_root: Path, tmp_path: Path) -> None:
    shutil.copytree(synth_root / "Libri2Mix", tmp_path / "Libri2Mix")
    marker = tmp_path / "Libri2Mix" / "keep.txt"
    marker.write_text("mine")
    with pytest.raises(SynthesisError, match="already exists"):
        synth.synthesize(tmp_path, ["librimix"], progress=False, **MINI)
    assert marker.exists()
    result = CliRunner().invoke(cli, ["data", "synth", str(tmp_path), "--preset", "mini", "--corpus", "librimix",
                                      "--overwrite", "--seed", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "librimix: 24 file(s)" in result.output
    assert not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["Libri2Mix"]


def test_bad_arguments_are_reported_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidParameterError, match="train_voices"):
        synth.synthesize(tmp_path, ["librimix"], train_voices=0)
    with pytest.raises(InvalidParameterError, match="corpora"):
        synth.synthesize(tmp_path, ["timit"])  # type: ignore[list-item]
    words = tmp_path / "words.yaml"
    words.write_text("colour: [red]\n")
    templates = tmp_path / "templates.txt"
    templates.write_text("a {color} sky\n")
    with pytest.raises(ValueError, match="slot 'color'"):
        synth.synthesize(tmp_path, ["librispeech"], words=words, templates=templates)
    synth.espeak_path.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        result = CliRunner().invoke(cli, ["data", "synth", str(tmp_path / "out"), "--preset", "mini"])
    finally:
        synth.espeak_path.cache_clear()
    assert result.exit_code == 1 and "apt-get install espeak-ng" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
