"""Models as pipeline steps and in ``tympan run``: an acoustic model after feature extraction, and a
separation model writing one file per source."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile
import torch
from click.testing import CliRunner

from tympan.cli import cli
from tympan.core.errors import PipelineConfigError
from tympan.pipeline import Pipeline
from tympan.pipeline.apply import FileRunner

SEPARATOR = {"enc_num_feats": 8, "msk_num_feats": 4, "msk_num_hidden_feats": 8, "msk_num_stacks": 1}


def test_acoustic_model_after_mfcc_equals_the_model_on_the_features() -> None:
    pipeline = Pipeline.from_config(
        {
            "sample_rate": 16000,
            "steps": [
                {"dsp:mfcc": {"n_mfcc": 13}},
                {"asr:wav2letter": {"num_classes": 29, "input_type": "mfcc", "num_features": 13}},
            ],
        }
    ).eval()
    waveform = torch.randn(2, 16000)
    features = pipeline.steps[0](waveform)
    with torch.no_grad():
        expected = pipeline.steps[1].model(features)
        assert torch.equal(pipeline(waveform), expected)
    assert pipeline.to_config()["steps"][1]["asr:wav2letter"]["num_classes"] == 29


def test_tympan_run_applies_an_acoustic_model_after_kaldi_fbank(tmp_path: Path) -> None:
    """Kaldi's features are ``(frames, bins)``; the model step reads them as torchaudio's ``(bins, frames)``."""
    speech = tmp_path / "utt.wav"
    soundfile.write(speech, 0.1 * torch.randn(8000).numpy(), 16000, subtype="FLOAT")
    config = tmp_path / "recognise.yaml"
    config.write_text(
        "sample_rate: 16000\nsteps:\n  - kaldi:fbank: {num_mel_bins: 23, dither: 0.0}\n"
        "  - asr:wav2letter: {num_classes: 7, input_type: mfcc, num_features: 23}\n"
    )
    torch.manual_seed(0)  # the same initial weights in both builds
    outcome = CliRunner().invoke(cli, ["run", str(config), str(speech), "-o", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    written = torch.load(tmp_path / "out" / "utt.pt", weights_only=True)
    torch.manual_seed(0)
    pipeline = FileRunner(str(config), tmp_path / "unused").pipeline_for(16000)
    waveform = torch.from_numpy(soundfile.read(speech, dtype="float32")[0])[None]
    with torch.no_grad():
        fbank = pipeline.steps[0](waveform)  # (1, 48 frames, 23 bins)
        expected = pipeline.steps[1].model(fbank.transpose(1, 2))
    assert fbank.shape == (1, 48, 23) and expected.shape[:2] == (1, 7)
    assert torch.equal(written, expected)


def test_waveform_models_read_each_channel() -> None:
    small = {
        "encoder_num_layers": 1,
        "encoder_embed_dim": 16,
        "encoder_num_heads": 2,
        "encoder_ff_interm_features": 16,
        "encoder_pos_conv_groups": 2,
        "extractor_conv_layer_config": [[8, 10, 5], [8, 3, 2]],
    }
    pipeline = Pipeline.from_config({"steps": [{"ssl:wav2vec2": small}]}).eval()
    waveform = torch.randn(2, 8000)
    with torch.no_grad():
        frames = pipeline(waveform)
        second, _ = pipeline.steps[0].model(waveform[1:])
    assert frames.shape == (2, 799, 16)
    torch.testing.assert_close(frames[1:], second)


def test_a_model_of_several_inputs_is_refused_at_build_time() -> None:
    with pytest.raises(PipelineConfigError, match=r"steps\[0\]\.asr:conformer: asr:conformer takes 2 inputs"):
        Pipeline.from_config({"steps": [{"asr:conformer": {}}]})


def test_separation_writes_one_file_per_source(tmp_path: Path) -> None:
    mixture = tmp_path / "mix.wav"
    soundfile.write(mixture, 0.1 * torch.randn(4000, 2).numpy(), 8000)
    runner = FileRunner({"steps": [{"sep:conv_tasnet": SEPARATOR}]}, tmp_path / "out")
    result = runner.run(mixture)
    assert result.ok, result.error
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["mix.source1.wav", "mix.source2.wav"]
    first, rate = soundfile.read(tmp_path / "out" / "mix.source1.wav", always_2d=True)
    assert rate == 8000 and first.shape == (4000, 2)
    model = runner.pipeline_for(8000).steps[0].model
    with torch.no_grad():
        expected = model(torch.from_numpy(soundfile.read(mixture, always_2d=True, dtype="float32")[0].T[:, None]))
    torch.testing.assert_close(torch.from_numpy(first.T).float(), expected[:, 0], rtol=0, atol=1e-4)  # 16-bit file


def test_tympan_run_separates_named_sources(tmp_path: Path) -> None:
    mixture = tmp_path / "song.wav"
    soundfile.write(mixture, 0.1 * torch.randn(2048, 1).numpy(), 44100)
    config = tmp_path / "separate.yaml"
    config.write_text(
        "steps:\n  - sep:hdemucs: {sources: [drums, bass], audio_channels: 1, channels: 16, nfft: 64, depth: 2,"
        " norm_starts: 1, dconv_attn: 1, dconv_lstm: 1, dconv_depth: 1}\n"
    )
    outcome = CliRunner().invoke(cli, ["run", str(config), str(mixture), "-o", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["song.bass.wav", "song.drums.wav"]
