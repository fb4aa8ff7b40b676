"""Speech recognition models against torchaudio's: the same weights (``strict=True``), the same outputs.

Tolerances: float64 1e-10, float32 1e-5 relative (see ``_parity.py``), in train mode (dropout zero) and
eval mode.
"""

from __future__ import annotations

import pytest
import torch
import torchaudio
from _parity import assert_same_outputs, paired, run_both

from tympan.plugins.models import Conformer, DeepSpeech, Emformer, Wav2Letter, conformer_rnnt_model, emformer_rnnt_model

DTYPES = [torch.float64, torch.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("params", "shape"),
    [
        ({"num_classes": 7}, (2, 1, 3200)),
        ({"num_classes": 5, "input_type": "mfcc", "num_features": 13}, (3, 13, 40)),
        ({"num_classes": 3, "input_type": "power_spectrum", "num_features": 9}, (1, 9, 17)),
    ],
)
def test_wav2letter(params: dict, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.Wav2Letter(**params), Wav2Letter(**params), dtype)
    run_both(reference, ours, (torch.randn(shape),), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", [{"n_feature": 10, "n_hidden": 12, "n_class": 6}, {"n_feature": 3, "n_hidden": 4}])
def test_deepspeech(params: dict, dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.DeepSpeech(**params), DeepSpeech(**params), dtype)
    run_both(reference, ours, (torch.randn(2, 1, 15, params["n_feature"]),), dtype)


CONFORMERS = [
    {"input_dim": 16, "num_heads": 2, "ffn_dim": 32, "num_layers": 2, "depthwise_conv_kernel_size": 7},
    {
        "input_dim": 12,
        "num_heads": 3,
        "ffn_dim": 8,
        "num_layers": 1,
        "depthwise_conv_kernel_size": 3,
        "use_group_norm": True,
        "convolution_first": True,
    },
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", CONFORMERS)
def test_conformer(params: dict, dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.Conformer(**params), Conformer(**params), dtype)
    lengths = torch.tensor([20, 15, 9])
    run_both(reference, ours, (torch.randn(3, 20, params["input_dim"]), lengths), dtype)


EMFORMERS = [
    {"input_dim": 8, "num_heads": 2, "ffn_dim": 16, "num_layers": 2, "segment_length": 4, "right_context_length": 1},
    {
        "input_dim": 8,
        "num_heads": 2,
        "ffn_dim": 16,
        "num_layers": 2,
        "segment_length": 3,
        "left_context_length": 2,
        "right_context_length": 2,
        "max_memory_size": 2,
        "tanh_on_mem": True,
        "activation": "gelu",
    },
    {
        "input_dim": 12,
        "num_heads": 3,
        "ffn_dim": 8,
        "num_layers": 1,
        "segment_length": 5,
        "left_context_length": 4,
        "max_memory_size": 3,
        "weight_init_scale_strategy": None,
        "activation": "silu",
    },
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", EMFORMERS)
def test_emformer_whole_utterances(params: dict, dtype: torch.dtype) -> None:
    reference, ours = paired(torchaudio.models.Emformer(**params), Emformer(**params), dtype)
    extra = params.get("right_context_length", 0)
    for lengths in ([13], [13, 10, 7]):
        inputs = (torch.randn(len(lengths), 13 + extra, params["input_dim"]), torch.tensor(lengths))
        run_both(reference, ours, inputs, dtype)


@pytest.mark.parametrize("params", EMFORMERS)
def test_emformer_streaming(params: dict) -> None:
    reference, ours = paired(torchaudio.models.Emformer(**params), Emformer(**params), torch.float64)
    reference.eval()
    ours.eval()
    chunk = params["segment_length"] + params.get("right_context_length", 0)
    expected_state = actual_state = None
    for _ in range(4):  # enough segments to fill the left context and the memory
        segment = torch.randn(2, chunk, params["input_dim"], dtype=torch.float64)
        lengths = torch.tensor([chunk, chunk - 1])
        expected = reference.infer(segment, lengths, expected_state)
        actual = ours.infer(segment, lengths, actual_state)
        assert_same_outputs(expected, actual, torch.float64)
        expected_state, actual_state = expected[2], actual[2]


TRANSDUCER = {
    "input_dim": 8,
    "encoding_dim": 12,
    "num_symbols": 7,
    "segment_length": 4,
    "right_context_length": 2,
    "time_reduction_input_dim": 4,
    "time_reduction_stride": 2,
    "transformer_num_heads": 2,
    "transformer_ffn_dim": 8,
    "transformer_num_layers": 2,
    "transformer_dropout": 0.0,
    "transformer_activation": "gelu",
    "transformer_left_context_length": 3,
    "transformer_max_memory_size": 2,
    "transformer_weight_init_scale_strategy": "depthwise",
    "transformer_tanh_on_mem": True,
    "symbol_embedding_dim": 6,
    "num_lstm_layers": 2,
    "lstm_layer_norm": True,
    "lstm_layer_norm_epsilon": 1e-3,
    "lstm_dropout": 0.0,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", [{}, {"lstm_layer_norm": False, "transformer_max_memory_size": 0}])
def test_emformer_rnnt(variant: dict, dtype: torch.dtype) -> None:
    params = {**TRANSDUCER, **variant}
    reference, ours = paired(torchaudio.models.emformer_rnnt_model(**params), emformer_rnnt_model(**params), dtype)
    sources, source_lengths = torch.randn(3, 18, 8), torch.tensor([16, 12, 9])
    targets, target_lengths = torch.randint(0, 6, (3, 4)), torch.tensor([4, 3, 1])
    run_both(reference, ours, (sources, source_lengths, targets, target_lengths), dtype)
    run_both(reference, ours, (targets, target_lengths, None), dtype, method="predict")
    encodings = torch.randn(3, 5, 12)
    run_both(reference, ours, (encodings, source_lengths, torch.randn(3, 4, 12), target_lengths), dtype, method="join")


def test_emformer_rnnt_streaming() -> None:
    reference, ours = paired(
        torchaudio.models.emformer_rnnt_model(**TRANSDUCER), emformer_rnnt_model(**TRANSDUCER), torch.float64
    )
    reference.eval()
    ours.eval()
    expected_state = actual_state = None
    for _ in range(3):
        chunk, lengths = torch.randn(3, 6, 8, dtype=torch.float64), torch.tensor([6, 6, 5])
        expected = reference.transcribe_streaming(chunk, lengths, expected_state)
        actual = ours.transcribe_streaming(chunk, lengths, actual_state)
        assert_same_outputs(expected, actual, torch.float64)
        expected_state, actual_state = expected[2], actual[2]


def test_conformer_rnnt_is_the_conformer_with_the_transducer_parts() -> None:
    """No reference exists: its transcriber equals torchaudio's Conformer on the reduced, projected frames."""
    params = {
        "input_dim": 6,
        "encoding_dim": 10,
        "time_reduction_stride": 2,
        "conformer_input_dim": 8,
        "conformer_ffn_dim": 16,
        "conformer_num_layers": 2,
        "conformer_num_heads": 2,
        "conformer_depthwise_conv_kernel_size": 3,
        "conformer_dropout": 0.0,
        "num_symbols": 9,
    }
    model = conformer_rnnt_model(**params).double().eval()
    conformer = torchaudio.models.Conformer(8, 2, 16, 2, 3).double().eval()
    conformer.load_state_dict(model.transcriber.conformer.state_dict(), strict=True)
    frames, lengths = torch.randn(2, 11, 6, dtype=torch.float64), torch.tensor([11, 11])
    stacked = frames[:, :10].reshape(2, 5, 12)
    encoded, _ = conformer(model.transcriber.input_linear(stacked), lengths // 2)
    expected = model.transcriber.layer_norm(model.transcriber.output_linear(encoded))
    actual, actual_lengths = model.transcribe(frames, lengths)
    assert_same_outputs(expected, actual, torch.float64)
    assert actual_lengths.tolist() == [5, 5]
    with pytest.raises(ValueError, match="does not stream"):
        model.transcribe_streaming(frames, lengths, None)
