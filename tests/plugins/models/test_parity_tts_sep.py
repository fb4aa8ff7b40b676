"""Synthesis and separation models against torchaudio's: the same weights (``strict=True``), the same outputs.

Tolerances: float64 1e-10, float32 1e-5 relative (see ``_parity.py``), in train mode and eval mode.
WaveRNN's generated samples are drawn from the same seeded generator: in float64 the class probabilities
agree to about 1e-15, so every draw picks the same class and the waveforms are equal; in float32 the draws
are compared by what they mean (the teacher-forced logits agree within 1e-5, and the samples are valid
levels). Tacotron 2's prenet dropout is on in every mode, so both models run from the same seed.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torchaudio
from _parity import assert_same_outputs, paired, run_both

from tympan.plugins.models import ConvTasNet, HDemucs, Tacotron2, WaveRNN, conv_tasnet_base, hdemucs_low
from tympan.plugins.models.sep._hdemucs_layers import BLSTM

DTYPES = [torch.float64, torch.float32]
WAVERNNS = [
    {
        "upsample_scales": [2, 3],
        "n_classes": 32,
        "hop_length": 6,
        "n_res_block": 2,
        "n_rnn": 16,
        "n_fc": 12,
        "n_freq": 10,
        "n_hidden": 8,
        "n_output": 12,
    },
    {
        "upsample_scales": [4],
        "n_classes": 16,
        "hop_length": 4,
        "n_res_block": 1,
        "n_rnn": 8,
        "n_fc": 8,
        "kernel_size": 3,
        "n_freq": 5,
        "n_hidden": 4,
        "n_output": 10,
    },
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", WAVERNNS)
def test_wavernn_teacher_forced(params: dict, dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.WaveRNN(**params), WaveRNN(**params), dtype)
    run_both(reference, ours, ours.example_input(3), dtype)


@pytest.mark.parametrize("params", WAVERNNS)
def test_wavernn_infer_draws_the_same_samples(params: dict) -> None:
    reference, ours = paired(torchaudio.models.WaveRNN(**params), WaveRNN(**params), torch.float64)
    reference.eval()
    ours.eval()
    specgram, lengths = torch.randn(3, params["n_freq"], 7, dtype=torch.float64), torch.tensor([7, 5, 2])
    with torch.no_grad():
        torch.manual_seed(1)
        expected, expected_lengths = reference.infer(specgram, lengths)
        torch.manual_seed(1)
        actual, actual_lengths = ours.infer(specgram, lengths)
    assert torch.equal(actual, expected.to(actual.dtype))
    assert torch.equal(actual_lengths, expected_lengths)


def test_wavernn_infer_float32_samples_are_levels() -> None:
    model = WaveRNN(**WAVERNNS[0]).eval()
    with torch.no_grad():
        waveform, lengths = model.infer(torch.randn(2, 10, 4))
    assert waveform.shape == (2, 1, 24) and lengths is None
    levels = (waveform + 1) * (model.n_classes - 1) / 2
    torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-4)  # every sample is one of 2**bits levels


TACOTRONS = [
    {
        "n_symbol": 10,
        "n_mels": 8,
        "symbol_embedding_dim": 16,
        "encoder_embedding_dim": 16,
        "decoder_rnn_dim": 16,
        "attention_rnn_dim": 16,
        "attention_hidden_dim": 8,
        "attention_location_n_filter": 4,
        "attention_location_kernel_size": 5,
        "prenet_dim": 8,
        "postnet_embedding_dim": 8,
        "decoder_max_step": 12,
        "gate_threshold": 1.0,
        "decoder_dropout": 0.0,
        "attention_dropout": 0.0,
    },
    {
        "n_symbol": 7,
        "n_mels": 5,
        "symbol_embedding_dim": 6,
        "encoder_embedding_dim": 6,
        "encoder_n_convolution": 2,
        "encoder_kernel_size": 3,
        "decoder_rnn_dim": 10,
        "attention_rnn_dim": 12,
        "attention_hidden_dim": 4,
        "attention_location_n_filter": 3,
        "attention_location_kernel_size": 3,
        "prenet_dim": 6,
        "postnet_n_convolution": 3,
        "postnet_kernel_size": 3,
        "postnet_embedding_dim": 6,
        "mask_padding": True,
        "decoder_max_step": 9,
        "decoder_dropout": 0.0,
        "attention_dropout": 0.0,
    },
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", TACOTRONS)
def test_tacotron2(params: dict, dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.Tacotron2(**params), Tacotron2(**params), dtype)
    tokens = torch.randint(0, params["n_symbol"], (3, 7))
    token_lengths, mel_lengths = torch.tensor([7, 6, 3]), torch.tensor([12, 10, 6])
    mels = torch.randn(3, params["n_mels"], 12)
    run_both(reference, ours, (tokens, token_lengths, mels, mel_lengths), dtype, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first configuration never stops before decoder_max_step
        run_both(reference, ours, (tokens, token_lengths), dtype, method="infer", seed=5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tacotron2_tokens_padded_past_the_longest_equal_torchaudio_on_its_tokens(dtype: torch.dtype) -> None:
    """torchaudio encodes ``max(lengths)`` tokens; ours keeps the padded length, whose attention is zero."""
    params = TACOTRONS[1]
    reference, ours = paired(torchaudio.models.Tacotron2(**params), Tacotron2(**params), dtype)
    reference.eval()
    ours.eval()
    tokens = torch.randint(0, params["n_symbol"], (3, 10))
    token_lengths, mel_lengths = torch.tensor([7, 6, 3]), torch.tensor([12, 10, 6])
    mels = torch.randn(3, params["n_mels"], 12, dtype=dtype)
    torch.manual_seed(3)
    *expected, expected_alignments = reference(tokens, token_lengths, mels, mel_lengths)
    torch.manual_seed(3)
    *actual, alignments = ours(tokens, token_lengths, mels, mel_lengths)
    assert_same_outputs([*expected, expected_alignments], [*actual, alignments[..., :7]], dtype)
    assert not alignments[..., 7:].any()


def test_tacotron2_prenet_dropout_stays_on_in_eval_mode() -> None:
    model = Tacotron2(**TACOTRONS[0]).eval()
    tokens = torch.randint(0, 10, (1, 5))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first, second = model.infer(tokens)[0], model.infer(tokens)[0]
    assert not torch.equal(first, second)


CONV_TASNETS = [
    {"enc_num_feats": 16, "msk_num_feats": 8, "msk_num_hidden_feats": 16, "msk_num_layers": 3, "msk_num_stacks": 2},
    {
        "num_sources": 3,
        "enc_kernel_size": 5,
        "enc_num_feats": 8,
        "msk_kernel_size": 3,
        "msk_num_feats": 4,
        "msk_num_hidden_feats": 6,
        "msk_num_layers": 2,
        "msk_num_stacks": 1,
        "msk_activate": "relu",
    },
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", CONV_TASNETS)
def test_conv_tasnet(params: dict, dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.ConvTasNet(**params), ConvTasNet(**params), dtype)
    for frames in (800, 803):  # a whole number of strides, and a remainder that is padded and removed
        run_both(reference, ours, (torch.randn(2, 1, frames),), dtype)


HDEMUCS = [
    {
        "sources": ["a", "b"],
        "audio_channels": 1,
        "channels": 16,
        "nfft": 64,
        "depth": 3,
        "norm_starts": 1,
        "dconv_attn": 1,
        "dconv_lstm": 2,
    },
    {
        "sources": ["a", "b", "c"],
        "audio_channels": 2,
        "channels": 8,
        "nfft": 256,
        "depth": 4,
        "norm_starts": 2,
        "dconv_attn": 3,
        "dconv_lstm": 3,
        "freq_emb": 0.0,
        "dconv_depth": 1,
    },
    {
        "sources": ["a", "b"],
        "audio_channels": 2,
        "channels": 4,
        "nfft": 2048,
        "depth": 6,
        "dconv_attn": 5,
        "dconv_lstm": 5,
    },
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", HDEMUCS)
def test_hdemucs(params: dict, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    reference, ours = paired(torchaudio.models.HDemucs(**params), HDemucs(**params), dtype)
    frames = 2 * params["nfft"] + 17  # not a whole number of hops
    run_both(reference, ours, (torch.randn(2, params["audio_channels"], frames),), dtype)


@pytest.mark.parametrize("frames", [33, 38])
def test_hdemucs_input_shorter_than_its_spectral_padding(frames: int) -> None:
    """Under 40 samples (hop 16) the reflection may mirror more than there is: 33 samples are extended first,
    38 are long enough as they are."""
    reference, ours = paired(torchaudio.models.HDemucs(**HDEMUCS[0]), HDemucs(**HDEMUCS[0]), torch.float64)
    run_both(reference, ours, (torch.randn(2, 1, frames),), torch.float64)


def test_hdemucs_long_input_windows_the_lstm() -> None:
    """Beyond 200 steps the BLSTM runs on overlapping windows; ours joins them without a loop, equally."""
    params = HDEMUCS[0]
    reference, ours = paired(torchaudio.models.HDemucs(**params), HDemucs(**params), torch.float64)
    reference.eval()
    ours.eval()
    with torch.no_grad():
        mixture = torch.randn(1, 1, 2100, dtype=torch.float64)
        assert_same_outputs(reference(mixture), ours(mixture), torch.float64)


#: Beyond the parity configurations (one time-only layer each, time stride 2): the innermost BLSTM in a
#: spectral layer (no time-only layer), two time-only layers of time stride 4, and a first layer that is the
#: last spectral one (nfft 16: the time branch is one empty layer).
SHORTEST_EXPORTED = [
    *HDEMUCS,
    {"sources": ["a"], "audio_channels": 1, "channels": 4, "nfft": 64, "depth": 2, "dconv_lstm": 1, "dconv_attn": 2},
    {"sources": ["a"], "audio_channels": 1, "channels": 4, "nfft": 64, "depth": 4, "time_stride": 4, "dconv_lstm": 1},
    {"sources": ["a"], "audio_channels": 1, "channels": 4, "nfft": 16, "depth": 2, "dconv_lstm": 0, "dconv_attn": 2},
]


@pytest.mark.parametrize("params", SHORTEST_EXPORTED)
def test_hdemucs_shortest_exported_length_is_where_every_blstm_starts_windowing(params: dict) -> None:
    """The declared smallest export length is exact: every BLSTM sees more than 200 steps there, and the
    innermost one exactly 200 a sample shorter (the whole-sequence path an exported program does not hold)."""
    model = HDemucs(**params).eval()
    steps: list[int] = []
    for module in model.modules():
        if isinstance(module, BLSTM):
            module.register_forward_hook(lambda _, inputs, output: steps.append(inputs[0].shape[-1]))
    shortest = model.export_axes.min_size("samples")
    fewest = []
    for length in (shortest, shortest - 1):
        steps.clear()
        with torch.no_grad():
            model(torch.zeros(1, params["audio_channels"], length))
        fewest.append(min(steps))
    assert fewest == [BLSTM.MAX_STEPS + 1, BLSTM.MAX_STEPS]


@pytest.mark.parametrize(
    "change", [{"dconv_depth": 0, "dconv_lstm": 0}, {"dconv_lstm": 2}], ids=["no-residual-blocks", "lstm-past-depth"]
)
def test_hdemucs_without_a_blstm_exports_from_two_and_a_half_hops(change: dict) -> None:
    """No BLSTM, no window path to force: the smallest export length is the spectrogram's (its padding of 1.5
    hops mirrors no more than the input holds from 2.5 hops on), far below 200 hops."""
    model = HDemucs(**{**HDEMUCS[0], "depth": 2, **change})
    assert not any(isinstance(module, BLSTM) for module in model.modules())
    assert model.export_axes.min_size("samples") == 5 * model.hop_length // 2


@pytest.mark.parametrize(("ours", "reference"), [(conv_tasnet_base, "conv_tasnet_base"), (hdemucs_low, "hdemucs_low")])
def test_default_factories_match_torchaudio(ours: object, reference: str) -> None:
    """The full-size factories, constructed once each and compared on a short input in float32."""
    argument = {"num_sources": 2} if reference == "conv_tasnet_base" else {"sources": ["speech", "noise"]}
    torch.manual_seed(0)
    expected_model = getattr(torchaudio.models, reference)(**argument).eval()
    model = ours(**argument).eval()  # type: ignore[operator]
    model.load_state_dict(expected_model.state_dict(), strict=True)
    channels = 1 if reference == "conv_tasnet_base" else 2
    mixture = torch.randn(1, channels, 2048)
    with torch.no_grad():
        assert_same_outputs(expected_model(mixture), model(mixture), torch.float32)
