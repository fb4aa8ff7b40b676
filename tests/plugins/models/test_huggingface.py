"""Hugging Face ``transformers`` wav2vec 2.0 / HuBERT / WavLM models, randomly initialised from small configs
(no download), converted by ``import_huggingface``: equal outputs.

Tolerance: float64, 1e-10 (both compute the same operations); the padding test compares the valid frames.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from tympan.core.errors import CheckpointError
from tympan.plugins.models import import_huggingface
from tympan.plugins.models.ssl.huggingface import hf_state_dict_to_tympan

SMALL = {
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "conv_dim": (8, 8, 8),
    "conv_stride": (5, 2, 2),
    "conv_kernel": (10, 3, 2),
    "num_conv_pos_embeddings": 6,
    "num_conv_pos_embedding_groups": 2,
    "vocab_size": 9,
}
CASES = [
    ("Wav2Vec2Config", "Wav2Vec2Model", {}),
    (
        "Wav2Vec2Config",
        "Wav2Vec2ForCTC",
        {"feat_extract_norm": "layer", "do_stable_layer_norm": True, "conv_bias": True},
    ),
    ("HubertConfig", "HubertModel", {"conv_bias": True}),
    ("HubertConfig", "HubertForCTC", {"feat_extract_norm": "layer", "do_stable_layer_norm": True}),
    ("WavLMConfig", "WavLMModel", {"num_buckets": 16, "max_bucket_distance": 40}),
    (
        "WavLMConfig",
        "WavLMForCTC",
        {"num_buckets": 16, "max_bucket_distance": 40, "feat_extract_norm": "layer", "do_stable_layer_norm": True},
    ),
]


def _hf_model(config_class: str, model_class: str, extra: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    config = getattr(transformers, config_class)(**SMALL, **extra)
    return getattr(transformers, model_class)(config).double().eval()


def _hf_output(model: torch.nn.Module, waveforms: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    with torch.no_grad():
        result = model(waveforms, attention_mask=mask)
    return result.logits if hasattr(result, "logits") else result.last_hidden_state


@pytest.mark.parametrize(("config_class", "model_class", "extra"), CASES, ids=[case[1] for case in CASES])
def test_import_model_object(config_class: str, model_class: str, extra: dict) -> None:
    reference = _hf_model(config_class, model_class, extra)
    model = import_huggingface(reference).double().eval()
    assert (model.aux is not None) == model_class.endswith("ForCTC")
    waveforms = torch.randn(2, 1600, dtype=torch.float64)
    with torch.no_grad():
        actual, _ = model(waveforms)
    torch.testing.assert_close(actual, _hf_output(reference, waveforms), rtol=1e-10, atol=1e-10)


def test_padding_masks_agree() -> None:
    reference = _hf_model(
        "Wav2Vec2Config", "Wav2Vec2Model", {"feat_extract_norm": "layer", "do_stable_layer_norm": True}
    )
    model = import_huggingface(reference).double().eval()
    waveforms = torch.randn(2, 1600, dtype=torch.float64)
    mask = torch.ones(2, 1600, dtype=torch.long)
    mask[1, 1000:] = 0
    with torch.no_grad():
        actual, lengths = model(waveforms, torch.tensor([1600, 1000]))
    expected = _hf_output(reference, waveforms, mask)
    frames = int(lengths[1])
    torch.testing.assert_close(actual[0], expected[0], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(actual[1, :frames], expected[1, :frames], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "pytorch_model.bin"])
def test_import_saved_folder(tmp_path: Path, safe: bool) -> None:
    reference = _hf_model("WavLMConfig", "WavLMForCTC", {"num_buckets": 16, "max_bucket_distance": 40})
    reference.save_pretrained(tmp_path, safe_serialization=safe)
    model = import_huggingface(tmp_path).double().eval()
    waveforms = torch.randn(1, 1200, dtype=torch.float64)
    with torch.no_grad():
        actual, _ = model(waveforms)
    torch.testing.assert_close(actual, _hf_output(reference, waveforms), rtol=1e-10, atol=1e-10)


def test_weight_norm_tensors_of_older_checkpoints_are_renamed() -> None:
    state = {"wav2vec2.encoder.pos_conv_embed.conv.weight_g": torch.ones(1, 1, 3)}
    state["wav2vec2.encoder.pos_conv_embed.conv.weight_v"] = torch.ones(4, 2, 3)
    renamed = hf_state_dict_to_tympan(state, "wav2vec2", 0)
    assert sorted(renamed) == [
        "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original0",
        "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original1",
    ]


def test_unsupported_options_and_folders(tmp_path: Path) -> None:
    reference = _hf_model("Wav2Vec2Config", "Wav2Vec2Model", {"feat_extract_activation": "relu"})
    with pytest.raises(CheckpointError, match="feat_extract_activation='relu'"):
        import_huggingface(reference)
    with pytest.raises(CheckpointError, match=r"no config\.json"):
        import_huggingface(tmp_path)
    with pytest.raises(CheckpointError, match="has no config"):
        import_huggingface(torch.nn.Linear(1, 1))
