"""The example plugin works exactly as a third party's would: installed, listed, loaded, configured."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

from tympan import Pipeline, registry
from tympan.core.errors import InvalidParameterError
from tympan.testing import check_component

TYMPAN = shutil.which("tympan", path=str(Path(sys.executable).parent))


def test_tympan_list_finds_it() -> None:
    out = subprocess.run([TYMPAN, "list", "example:*"], capture_output=True, text=True, check=True).stdout
    assert "example:tremolo" in out and "example:zero_crossing_rate" in out and "tympan-example-plugin 0.1.0" in out


def test_registry_loads_it_by_bare_and_qualified_name() -> None:
    from tympan_example.effects import Tremolo

    assert registry.get("tremolo") is not Tremolo  # a first-party name wins its bare form
    assert registry.get("example:tremolo", kind="effect") is Tremolo
    assert registry.resolve("zero_crossing_rate").distribution == "tympan-example-plugin"


def test_a_pipeline_uses_it_by_name() -> None:
    pipe = Pipeline.from_text(
        "sample_rate: 8000\n"
        "steps:\n"
        "  - example:tremolo: {frequency: 2.0, depth: 1.0}\n"
        "  - example:zero_crossing_rate: {frame_length: 400, hop_length: 200}\n"
    )
    assert pipe.step_names == ["example:tremolo", "example:zero_crossing_rate"]
    assert pipe.to_config()["steps"][0]["example:tremolo"] == {"sample_rate": 8000, "frequency": 2.0, "depth": 1.0}
    x = torch.randn(1, 8000)
    assert pipe(x).shape == (1, 41)


@pytest.mark.parametrize("name", ["example:tremolo", "example:zero_crossing_rate"])
def test_it_passes_the_contract_checks(name: str) -> None:
    assert all(result.ok for result in check_component(name))


def test_tremolo_follows_its_definition() -> None:
    rate, frequency, depth = 8000, 3.0, 0.6
    x = torch.randn(2, 1, rate, dtype=torch.float64)
    y = registry.create("example:tremolo", sample_rate=rate, frequency=frequency, depth=depth)(x)
    t = np.arange(rate) / rate
    gain = 1 - depth / 2 * (1 - np.cos(2 * math.pi * frequency * t))
    np.testing.assert_allclose(y.numpy(), x.numpy() * gain, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("frame_length", "hop_length", "center"), [(2048, 512, True), (400, 160, False), (256, 256, True)]
)
def test_zero_crossing_rate_matches_librosa(frame_length: int, hop_length: int, center: bool) -> None:
    generator = np.random.default_rng(0)
    signal = (generator.standard_normal((3, 16000)) * np.linspace(0, 1, 16000)).astype(np.float32)
    signal[:, 1000:1200] = 0.0
    expected = librosa.feature.zero_crossing_rate(
        signal, frame_length=frame_length, hop_length=hop_length, center=center
    )
    ours = registry.create("zero_crossing_rate", frame_length=frame_length, hop_length=hop_length, center=center)
    np.testing.assert_allclose(ours(torch.from_numpy(signal)).numpy(), expected[:, 0, :], rtol=0, atol=1e-7)


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(InvalidParameterError, match="example:tremolo") as err:
        registry.create("example:tremolo", sample_rate=8000, frequency=5000)
    assert "below Nyquist" in str(err.value)
    with pytest.raises(InvalidParameterError, match="depth: Input should be less than or equal to 1"):
        registry.create("example:tremolo", depth=2)
