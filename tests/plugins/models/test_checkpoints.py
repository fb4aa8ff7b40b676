"""Checkpoints: safetensors with the component's name and parameters, strict loading with every mismatch
listed, torchaudio's ``.pt`` state dicts, and pickles that are refused without running their code."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
import torchaudio
from _parity import TINY

import tympan.models
from tympan.core.errors import CheckpointError, UnknownNameError
from tympan.plugins.models import ConvTasNet, Wav2Letter
from tympan.plugins.models.checkpoints import read_metadata, save_weights


def test_save_and_load_rebuild_the_model_by_name(tmp_path: Path) -> None:
    model = tympan.models.wav2vec2_model(**TINY["ssl:wav2vec2"]).eval()
    path = tmp_path / "w2v.safetensors"
    tympan.models.save_weights(model, path)
    metadata = read_metadata(path)
    assert metadata["tympan.component"] == "ssl:wav2vec2"
    assert json.loads(metadata["tympan.params"])["encoder_embed_dim"] == 8
    loaded = tympan.models.load(path).eval()
    waveforms = torch.randn(2, 400)
    with torch.no_grad():
        assert torch.equal(loaded(waveforms)[0], model(waveforms)[0])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float64])
def test_dtypes_are_kept(tmp_path: Path, dtype: torch.dtype) -> None:
    model = ConvTasNet(**TINY["sep:conv_tasnet"]).to(dtype)
    path = tmp_path / "model.safetensors"
    save_weights(model, path)
    loaded = tympan.models.load(path)
    assert {p.dtype for p in loaded.parameters()} == {dtype}
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)


def test_torchaudio_state_dict_file_loads(tmp_path: Path) -> None:
    reference = torchaudio.models.Wav2Letter(num_classes=5, input_type="mfcc", num_features=4)
    path = tmp_path / "wav2letter.pt"
    torch.save(reference.state_dict(), path)
    model = tympan.models.load_weights(Wav2Letter(num_classes=5, input_type="mfcc", num_features=4), path)
    features = torch.randn(1, 4, 30)
    assert torch.equal(model(features), reference(features))


def test_mismatched_state_dict_lists_every_problem(tmp_path: Path) -> None:
    model = Wav2Letter(**TINY["asr:wav2letter"])
    state = model.state_dict()
    before = {name: tensor.clone() for name, tensor in state.items()}
    state = dict(state)
    del state["acoustic_model.0.bias"]
    state["acoustic_model.99.weight"] = torch.zeros(1)
    state["acoustic_model.2.weight"] = torch.zeros(3, 3, 3)
    state["acoustic_model.4.weight"] = torch.ones_like(state["acoustic_model.4.weight"])  # a valid tensor
    with pytest.raises(CheckpointError) as caught:
        tympan.models.load_weights(model, state)
    message = str(caught.value)
    assert "missing tensors: acoustic_model.0.bias" in message
    assert "unexpected tensors: acoustic_model.99.weight" in message
    assert "wrong shapes: acoustic_model.2.weight (3, 3, 3) where the model has (250, 250, 7)" in message
    for name, tensor in model.state_dict().items():  # nothing was loaded, not even the valid tensors
        assert torch.equal(tensor, before[name])


def test_unknown_component_in_metadata(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_weights(torch.nn.Linear(1, 1), path, component="asr:wav2leter", params={})
    with pytest.raises(UnknownNameError, match="asr:wav2letter"):
        tympan.models.load(path)


class _WritesAFile:
    """A pickle payload that would create a file if it ever ran."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.target), "pwned"))  # type: ignore[return-value]


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the raw pickle below is not torch.save's
def test_pickle_with_code_is_refused_and_not_run(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(1), "payload": _WritesAFile(target)}, path)
    with pytest.raises(CheckpointError, match="refuses; none of its code was run"):
        tympan.models.load_weights(torch.nn.Linear(1, 1), path)
    assert not target.exists()
    raw = tmp_path / "raw.pkl"  # a plain pickle stream, not a torch zip file
    raw.write_bytes(pickle.dumps(_WritesAFile(target)))
    with pytest.raises(CheckpointError):
        tympan.models.load_weights(torch.nn.Linear(1, 1), raw)
    assert not target.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a readable PyTorch checkpoint"), (b"\x07\x00\x00\x00\x00\x00\x00\x00{broken", "safetensors")],
)
def test_files_that_are_no_checkpoint(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        tympan.models.load_weights(torch.nn.Linear(1, 1), path)


def test_plain_state_dict_cannot_be_rebuilt_by_name(tmp_path: Path) -> None:
    path = tmp_path / "state.pt"
    torch.save(torch.nn.Linear(1, 1).state_dict(), path)
    with pytest.raises(CheckpointError, match="names no component"):
        tympan.models.load(path)


def test_a_failed_save_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save_weights(torch.nn.Linear(1, 1), path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="JSON"):
        save_weights(torch.nn.Linear(1, 1), path, component="acme:x", params={"f": object()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
