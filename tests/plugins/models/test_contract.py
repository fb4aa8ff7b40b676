"""Every model passes ``check_component``; every registered name builds from its defaults; parameters are
validated, and weights counted, before anything is allocated."""

from __future__ import annotations

import pytest
import torch
from _parity import TINY

from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.testing import check_component

MODELS = registry.names("model", "*")


@pytest.mark.parametrize("name", sorted(TINY))
def test_model_conforms(name: str) -> None:
    results = check_component(name, TINY[name])
    checks = {result.check for result in results}
    assert {"batch consistency", "pickling", "torch.compile", "finite gradients on silence"} <= checks
    assert "torchscript" in checks  # every model here scripts (torchaudio's HDemucs does not)


@pytest.mark.parametrize("name", MODELS)
def test_every_registered_model_builds_from_its_defaults(name: str) -> None:
    with torch.device("meta"):
        model = registry.create(name)
    assert isinstance(model, torch.nn.Module)
    assert model.tympan_component == registry.resolve(name).name


def test_padded_batches_equal_their_items() -> None:
    """wav2vec 2.0 with a layer-norm feature encoder declares that padding changes nothing; the contract
    check trims each item to its length, so this is what it verified."""
    model = registry.create("ssl:wav2vec2", **TINY["ssl:wav2vec2"])
    _, lengths = model.example_input(3)
    assert model.padded_input is not None and lengths.unique().numel() == 3
    group_norm = registry.create("ssl:wav2vec2", **{**TINY["ssl:wav2vec2"], "extractor_mode": "group_norm"})
    assert group_norm.padded_input is None  # its first norm spans the padding


def test_weights_are_counted_before_they_are_allocated(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidParameterError, match=r"TiB of weights, over the budget .*TYMPAN_MAX_WEIGHT_BYTES"):
        registry.create("ssl:wav2vec2", encoder_embed_dim=16384, encoder_num_layers=256, encoder_num_heads=16)
    monkeypatch.setenv("TYMPAN_MAX_WEIGHT_BYTES", "1M")
    with pytest.raises(InvalidParameterError, match=r"sep:conv_tasnet_base:\n  num_sources=2: imply 19\.\d MiB"):
        registry.create("sep:conv_tasnet_base")
    registry.create("asr:deepspeech", n_feature=8, n_hidden=8)  # small models stay within


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("asr:wav2letter", {"input_type": "spectrogram"}, "input_type: Input should be 'waveform'"),
        ("asr:conformer", {"input_dim": 10, "num_heads": 4}, "num_heads \\(4\\) must divide input_dim \\(10\\)"),
        ("tts:wavernn", {"upsample_scales": [5, 5], "hop_length": 200}, "total_scale == hop_length"),
        ("sep:hdemucs", {"nfft": 1000}, "nfft must be a power of two"),
        ("ssl:wav2vec2", {"extractor_conv_layer_config": [[512, 0, 5]]}, "extractor_conv_layer_config.0.1"),
        ("asr:rnnt", {"num_symbols": 1}, "num_symbols: Input should be greater than or equal to 2"),
    ],
)
def test_bad_parameters_name_the_field(name: str, params: dict, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        registry.create(name, **params)
