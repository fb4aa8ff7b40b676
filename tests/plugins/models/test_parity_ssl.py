"""wav2vec 2.0, HuBERT and WavLM against torchaudio's: the same weights (``strict=True``), the same outputs.

Tolerances: float64 1e-10, float32 1e-5 relative (see ``_parity.py``), in train mode (dropout zero) and
eval mode. Every factory's module tree is compared with torchaudio's on the meta device (nothing allocated).
"""

from __future__ import annotations

import pytest
import torch
import torchaudio
from _parity import paired, run_both

import tympan.plugins.models as ours_models
from tympan.plugins.models import wav2vec2_model, wavlm_model

DTYPES = [torch.float64, torch.float32]
SMALL = {
    "extractor_conv_layer_config": [(16, 10, 5), (16, 3, 2), (16, 2, 2)],
    "encoder_embed_dim": 16,
    "encoder_projection_dropout": 0.0,
    "encoder_pos_conv_kernel": 5,
    "encoder_pos_conv_groups": 2,
    "encoder_num_layers": 3,
    "encoder_num_heads": 2,
    "encoder_attention_dropout": 0.0,
    "encoder_ff_interm_features": 32,
    "encoder_ff_interm_dropout": 0.0,
    "encoder_dropout": 0.0,
    "encoder_layer_drop": 0.0,
}
BASE_LIKE = {"extractor_mode": "group_norm", "extractor_conv_bias": False, "encoder_layer_norm_first": False}
LARGE_LIKE = {"extractor_mode": "layer_norm", "extractor_conv_bias": True, "encoder_layer_norm_first": True}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "variant",
    [{**BASE_LIKE, "aux_num_out": None}, {**LARGE_LIKE, "aux_num_out": 7, "encoder_pos_conv_kernel": 4}],
    ids=["base", "large-ctc"],
)
def test_wav2vec2(variant: dict, dtype: torch.dtype) -> None:
    params = {**SMALL, **variant}
    reference, ours = paired(torchaudio.models.wav2vec2_model(**params), wav2vec2_model(**params), dtype)
    waveforms = torch.randn(3, 1200)
    run_both(reference, ours, (waveforms,), dtype)
    run_both(reference, ours, (waveforms, torch.tensor([1200, 1000, 700])), dtype)
    run_both(reference, ours, (waveforms, None, 2), dtype, method="extract_features")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", [{**BASE_LIKE, "aux_num_out": None}, {**LARGE_LIKE, "aux_num_out": 5}])
def test_wavlm(variant: dict, dtype: torch.dtype) -> None:
    params = {**SMALL, **variant, "encoder_num_buckets": 16, "encoder_max_distance": 40}
    reference, ours = paired(torchaudio.models.wavlm_model(**params), wavlm_model(**params), dtype)
    waveforms = torch.randn(2, 1500)
    run_both(reference, ours, (waveforms,), dtype)
    run_both(reference, ours, (waveforms, None, 3), dtype, method="extract_features")


def test_wavlm_lengths_mask_the_padding() -> None:
    """torchaudio's WavLM refuses lengths; ours masks padded frames like wav2vec 2.0 (per-item results)."""
    params = {**SMALL, **LARGE_LIKE, "aux_num_out": None, "encoder_num_buckets": 16, "encoder_max_distance": 40}
    model = wavlm_model(**params).double().eval()
    waveforms = torch.randn(2, 1500, dtype=torch.float64)
    batch, lengths = model(waveforms, torch.tensor([1500, 900]))
    alone, alone_lengths = model(waveforms[1:, :900], torch.tensor([900]))
    assert int(lengths[1]) == int(alone_lengths[0])
    torch.testing.assert_close(batch[1, : int(lengths[1])], alone[0], rtol=1e-10, atol=1e-10)


FACTORIES = [
    "wav2vec2_base",
    "wav2vec2_large",
    "wav2vec2_large_lv60k",
    "wav2vec2_xlsr_300m",
    "wav2vec2_xlsr_1b",
    "wav2vec2_xlsr_2b",
    "hubert_base",
    "hubert_large",
    "hubert_xlarge",
    "wavlm_base",
    "wavlm_large",
]


def _shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("name", FACTORIES)
def test_factory_builds_torchaudio_architecture(name: str) -> None:
    """Same tensor names and shapes as torchaudio's factory (so its checkpoints load), and its parameters."""
    with torch.device("meta"):
        ours = getattr(ours_models, name)(aux_num_out=32)
        reference = getattr(torchaudio.models, name)(aux_num_out=32)
    assert _shapes(ours) == _shapes(reference)
    dropout = ours.encoder.transformer.layers[0].feed_forward.intermediate_dropout.p
    assert dropout == reference.encoder.transformer.layers[0].feed_forward.intermediate_dropout.p
    assert ours.encoder.transformer.layer_drop == reference.encoder.transformer.layer_drop
