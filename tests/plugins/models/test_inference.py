"""Inference options: WaveRNN's folded (segment-batched) generation, wav2vec 2.0 in bfloat16."""

from __future__ import annotations

import pytest
import torch
from _parity import TINY

from tympan.plugins.models import WaveRNN, wav2vec2_model
from tympan.plugins.models.tts._wavernn_sampling import _fades, crossfade_segments, fold_segments


def test_folding_without_overlap_is_exact() -> None:
    signal = torch.randn(2, 3, 50)
    segments = fold_segments(signal, target=8, overlap=0)
    assert segments.shape == (2 * 7, 3, 8)
    joined = crossfade_segments(segments[:, 1], batch=2, target=8, overlap=0)
    assert torch.equal(joined[:, :50], signal[:, 1])


@pytest.mark.parametrize("overlap", [4, 9, 550])
def test_crossfade_is_equal_power(overlap: int) -> None:
    fade_in, fade_out = _fades(overlap, torch.zeros(1, dtype=torch.float64))
    held = overlap // 2
    assert torch.equal(fade_in[:held], torch.zeros(held, dtype=torch.float64))  # silent while warming up
    assert torch.equal(fade_out[:held], torch.ones(held, dtype=torch.float64))
    power = fade_in**2 + fade_out**2  # where one segment fades out, the next fades in: the power is kept
    torch.testing.assert_close(power, torch.ones(overlap, dtype=torch.float64), rtol=0, atol=1e-12)


def test_fold_of_one_segment_is_the_plain_generation_faded_in() -> None:
    """With a single segment the same draws happen in the same order: the folded output is the plain one,
    faded in over the overlap (silent for its first half)."""
    model = WaveRNN(**TINY["tts:wavernn"]).double().eval()
    specgram = torch.randn(2, 6, 5, dtype=torch.float64)
    overlap = 6
    with torch.no_grad():
        torch.manual_seed(7)
        plain, _ = model.infer(specgram)
        torch.manual_seed(7)
        folded, _ = model.infer(specgram, fold=True, target=20, overlap=overlap)
    fade_in, _ = _fades(overlap, plain)
    torch.testing.assert_close(folded[..., :overlap], plain[..., :overlap] * fade_in, rtol=0, atol=1e-12)
    assert torch.equal(folded[..., overlap:], plain[..., overlap:])


def test_fold_generates_long_audio_in_segments() -> None:
    model = WaveRNN(**TINY["tts:wavernn"]).eval()
    with torch.no_grad():
        waveform, lengths = model.infer(
            torch.randn(3, 6, 25), torch.tensor([25, 20, 9]), fold=True, target=16, overlap=4
        )
    assert waveform.shape == (3, 1, 100) and lengths.tolist() == [100, 80, 36]
    assert bool(waveform.abs().max() <= 1.0)
    with pytest.raises(ValueError, match="fold needs target >= 1"):
        model.infer(torch.randn(1, 6, 5), fold=True, target=0)


def test_wav2vec2_runs_in_bfloat16_close_to_float32() -> None:
    """bfloat16 keeps about three significant digits: the outputs point the same way (cosine > 0.99)."""
    model = wav2vec2_model(**TINY["ssl:wav2vec2"]).eval()
    waveforms, lengths = model.example_input(2)
    with torch.no_grad():
        reference, frames = model(waveforms, lengths)
        low, low_lengths = model.to(torch.bfloat16)(waveforms.to(torch.bfloat16), lengths)
    assert low.dtype == torch.bfloat16 and torch.equal(low_lengths, frames)
    similarity = torch.nn.functional.cosine_similarity(low.float().flatten(1), reference.flatten(1))
    assert bool((similarity > 0.99).all())


@pytest.mark.parametrize("decoder", ["decoder:rnnt_greedy", "decoder:rnnt_beam"])
def test_transducer_decoders_read_our_rnnt_as_torchaudio_s(decoder: str) -> None:
    """The RNN-T decoders use transcribe / predict / join: the same hypotheses as on torchaudio's model."""
    import torchaudio

    from tympan import registry
    from tympan.plugins.models import emformer_rnnt_model

    params = TINY["asr:rnnt"]
    torch.manual_seed(0)
    reference = torchaudio.models.emformer_rnnt_model(
        **params,
        transformer_activation="relu",
        transformer_max_memory_size=0,
        transformer_weight_init_scale_strategy="depthwise",
        transformer_tanh_on_mem=False,
        lstm_layer_norm=False,
        lstm_layer_norm_epsilon=1e-5,
    ).eval()
    ours = emformer_rnnt_model(
        **params,
        transformer_activation="relu",
        transformer_tanh_on_mem=False,
        lstm_layer_norm=False,
        lstm_layer_norm_epsilon=1e-5,
    ).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    features, lengths = torch.randn(1, 10, 8), torch.tensor([10])
    with torch.no_grad():
        expected = registry.create(decoder, model=reference, blank=4)(features, lengths)
        actual = registry.create(decoder, model=ours, blank=4)(features, lengths)
    assert [h.tokens.tolist() for h in actual[0]] == [h.tokens.tolist() for h in expected[0]]
