"""Two-phase validation, sample-rate threading, round trips and TorchScript, on runtime-registered steps."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from pydantic import Field

from tympan.core import Effect, Params, Transform
from tympan.core.errors import PipelineConfigError
from tympan.pipeline import Pipeline, check_envelope, validate_config
from tympan.registry import Registry, default_registry


class Gain(Effect):
    """Multiply by a gain in decibels."""

    class Params(Params):
        gain_db: float = Field(0.0, ge=-120, le=120, description="Gain in dB.")

    def __init__(self, gain_db: float = 0.0) -> None:
        super().__init__()
        self.factor = 10 ** (gain_db / 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class Decimate(Effect):
    """Keep every ``factor``-th sample; changes the rate."""

    sample_rate_param = "orig_freq"

    class Params(Params):
        orig_freq: int = Field(16000, gt=0, description="Input rate.")
        factor: int = Field(2, ge=1, description="Decimation factor.")

    def __init__(self, orig_freq: int = 16000, factor: int = 2) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.factor = factor

    @property
    def output_sample_rate(self) -> int:
        return self.orig_freq // self.factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., :: self.factor]


class Frames(Transform):
    """Frame energies; needs the sample rate to size its frames."""

    class Params(Params):
        sample_rate: int = Field(16000, gt=0, description="Input rate.")
        frame_ms: float = Field(10.0, gt=0, le=1000, description="Frame length in ms.")

    def __init__(self, sample_rate: int = 16000, frame_ms: float = 10.0) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.frame = int(sample_rate * frame_ms / 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unfold(-1, self.frame, self.frame).pow(2).mean(-1)


@pytest.fixture
def reg() -> Iterator[Registry]:
    registry = Registry(entries=list(default_registry().entries()))
    registry.register("effect", "acme:boost", Gain)
    registry.register("effect", "acme:decimate", Decimate)
    registry.register("transform", "acme:frames", Frames)
    registry.register("loss", "acme:l1", torch.nn.L1Loss)
    yield registry


def config(*steps: dict[str, Any], sample_rate: int | None = 48000) -> dict[str, Any]:
    return {"version": 1, "sample_rate": sample_rate, "steps": list(steps)}


def test_the_sample_rate_is_threaded_from_step_to_step(reg: Registry) -> None:
    pipe = Pipeline.from_config(config({"boost": {"gain_db": -6}}, {"decimate": {"factor": 3}}, {"frames": {}}), reg)
    params = [step.params for step in pipe.built]
    assert params[1]["orig_freq"] == 48000 and params[2]["sample_rate"] == 16000
    assert pipe.output_sample_rate == 16000 and not pipe.produces_waveform
    x = torch.randn(2, 48000)
    expected = Frames(16000)(Decimate(48000, 3)(Gain(-6)(x)))
    torch.testing.assert_close(pipe(x), expected)


def test_waveform_pipelines_know_they_output_audio(reg: Registry) -> None:
    pipe = Pipeline.from_config(config({"boost": None}, {"acme:decimate": {}}), reg)
    assert pipe.produces_waveform and pipe.output_sample_rate == 24000


def test_a_step_that_needs_the_rate_without_one_is_an_error(reg: Registry) -> None:
    with pytest.raises(PipelineConfigError, match=r"steps\[0\]\.frames: needs the input sample rate"):
        Pipeline.from_config(config({"frames": {}}, sample_rate=None), reg)


def test_an_explicit_rate_that_disagrees_is_an_error(reg: Registry) -> None:
    with pytest.raises(PipelineConfigError, match=r"steps\[1\]\.frames\.sample_rate: 48000 differs .* \(24000\)"):
        Pipeline.from_config(config({"decimate": {}}, {"frames": {"sample_rate": 48000}}), reg)


def test_every_parameter_problem_is_collected_with_its_location(reg: Registry) -> None:
    with pytest.raises(PipelineConfigError) as err:
        Pipeline.from_config(config({"boost": {"gain_db": 500}}, {"frames": {"frame_ms": -1, "hop": 2}}), reg)
    assert err.value.problems == [
        "steps[0].boost.gain_db: Input should be less than or equal to 120 (got 500)",
        "steps[1].frames.frame_ms: Input should be greater than 0 (got -1)",
        "steps[1].frames.hop: unknown parameter",
    ]


def test_phase_one_checks_the_envelope_then_every_name(reg: Registry) -> None:
    with pytest.raises(PipelineConfigError) as err:
        check_envelope({"version": 2, "extra": 1, "steps": [{"boost": {}}]}, reg)
    problems = err.value.problems
    assert problems[0].startswith("version: Input should be 1")
    assert problems[1] == "extra: unknown field"
    with pytest.raises(PipelineConfigError) as err:
        check_envelope({"steps": [{"torch.nn.ReLU": {}}, {"bost": {}}, {"l1": {}}, {"a": {}, "b": {}}]}, reg)
    lines = err.value.problems
    assert (
        lines[0] == "steps[0].torch.nn.ReLU: dotted import paths are refused; name a registry entry (see `tympan list`)"
    )
    assert lines[1].startswith("steps[1].bost: unknown component 'bost'; did you mean: acme:boost")
    assert lines[2] == "steps[2].l1: acme:l1 is a loss, not a transform, effect or model"
    assert lines[3] == "steps[3]: expected one component name per step, got 2: ['a', 'b']"


def test_phase_one_imports_no_plugin(plugin_site: Any, tympan_registry: Registry) -> None:
    from tympan.testing import write_distribution

    write_distribution(
        plugin_site,
        "acme-slow",
        {"tympan.effects": {"slow:smear": "acme_slow:Echo"}},
        {"acme_slow": "raise SystemExit"},
    )
    spec = check_envelope({"steps": [{"smear": {}}]}, tympan_registry)
    assert spec.steps[0].entry is not None and spec.steps[0].entry.name == "slow:smear"
    assert "acme_slow" not in sys.modules


def test_to_config_round_trips_with_qualified_names_and_full_parameters(reg: Registry) -> None:
    pipe = Pipeline.from_config(config({"boost": {"gain_db": -6}}, {"decimate": {}}, {"frames": {"frame_ms": 20}}), reg)
    written = pipe.to_config()
    assert [next(iter(step)) for step in written["steps"]] == ["acme:boost", "acme:decimate", "acme:frames"]
    assert written["steps"][2]["acme:frames"] == {"sample_rate": 24000, "frame_ms": 20.0}
    again = Pipeline.from_config(written, reg)
    assert again.to_config() == written
    x = torch.randn(1, 4800)
    torch.testing.assert_close(again(x), pipe(x))
    assert Pipeline.from_text(pipe.to_yaml(), "yaml", reg).to_config() == written


def test_a_pipeline_scripts_when_every_step_does(reg: Registry) -> None:
    pipe = Pipeline.from_config(config({"boost": {"gain_db": 3}}, {"decimate": {}}, {"frames": {}}), reg)
    scripted = torch.jit.script(pipe)
    x = torch.randn(3, 9600)
    torch.testing.assert_close(scripted(x), pipe(x))


def test_validate_config_reads_files(tmp_path: Any, reg: Registry) -> None:
    path = tmp_path / "pipe.yaml"
    path.write_text("sample_rate: 16000\nsteps:\n  - boost: {gain_db: 1000}\n")
    with pytest.raises(PipelineConfigError) as err:
        validate_config(path, reg)
    assert str(path) in str(err.value) and "steps[0].boost.gain_db" in str(err.value)


def test_to_yaml_names_parameters_a_configuration_cannot_hold(reg: Registry) -> None:
    class Windowed(Transform):
        def __init__(self, window_fn: Any = torch.hann_window) -> None:
            super().__init__()
            self.window_fn = window_fn

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    reg.register("transform", "acme:windowed", Windowed)
    pipe = Pipeline.from_config({"steps": [{"windowed": {}}]}, reg)
    with pytest.raises(
        PipelineConfigError, match=r"steps\[0\]\.acme:windowed\.window_fn: a builtin_function_or_method"
    ):
        pipe.to_yaml()


def test_first_party_pipelines_round_trip_through_yaml() -> None:
    text = (
        "sample_rate: 44100\n"
        "steps:\n"
        "  - resample: {new_freq: 16000}\n"
        "  - mel_spectrogram: {window_fn: hamming, n_mels: 40}\n"
        "  - amplitude_to_db: {top_db: 80}\n"
    )
    pipe = Pipeline.from_text(text)
    written = pipe.to_yaml()
    assert "window_fn: hamming" in written and "orig_freq: 44100" in written
    again = Pipeline.from_text(written)
    assert again.to_config() == pipe.to_config()
    x = torch.randn(2, 44100)
    torch.testing.assert_close(again(x), pipe(x))
    torch.testing.assert_close(torch.jit.script(pipe)(x), pipe(x))
