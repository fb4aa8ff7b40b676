"""``Pipeline``: an ``nn.Module`` chaining registry components configured by name.

Example:
    >>> import torch
    >>> pipe = Pipeline.from_config({
    ...     "version": 1,
    ...     "sample_rate": 44100,
    ...     "steps": [{"resample": {"new_freq": 16000}}, {"mfcc": {"n_mfcc": 13}}],
    ... })
    >>> pipe(torch.randn(2, 44100)).shape[:-1]
    torch.Size([2, 13])
    >>> pipe.to_config()["steps"][1]["dsp:mfcc"]["sample_rate"]
    16000
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import yaml
from torch import nn

from tympan.core.errors import PipelineConfigError
from tympan.pipeline.build import BuiltStep, build_steps
from tympan.pipeline.config import check_envelope
from tympan.pipeline.files import parse_config_text, read_config_file
from tympan.registry import Registry

__all__ = ["Pipeline", "validate_config"]

ConfigSource = str | os.PathLike[str] | Mapping[str, Any]


def _build(config: ConfigSource, registry: Registry | None) -> tuple[list[BuiltStep], int | None]:
    if isinstance(config, Mapping):
        return _build_data(config, None, registry)
    return _build_data(read_config_file(config), os.fspath(config), registry)


def _build_data(data: Any, source: str | None, registry: Registry | None) -> tuple[list[BuiltStep], int | None]:
    spec = check_envelope(data, registry, source)
    return build_steps(spec, source), spec.sample_rate


def validate_config(config: ConfigSource, registry: Registry | None = None) -> list[BuiltStep]:
    """Run both validation phases on a configuration (a path or a mapping); return the built steps.

    Raises :class:`~tympan.core.errors.PipelineConfigError` listing every problem with its location.

    Example:
        >>> [step.name for step in validate_config({"steps": [{"amplitude_to_db": {}}]})]
        ['dsp:amplitude_to_db']
    """
    return _build(config, registry)[0]


def _is_plain(value: Any) -> bool:
    """Whether ``value`` is made of what YAML, TOML and JSON hold: numbers, strings, lists, mappings."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return False


class Pipeline(nn.Module):
    """Registry components applied in order; scriptable when every step is.

    A pipeline whose last step is a decoder returns that decoder's hypotheses (per utterance, best first).

    Build one with :meth:`from_config` (a YAML / TOML / JSON file or a mapping) or :meth:`from_text`;
    :meth:`to_config` gives back the qualified names and full parameters, which rebuild the same pipeline.

    Example:
        >>> pipe = Pipeline.from_text("sample_rate: 16000\\nsteps:\\n  - mel_spectrogram: {n_mels: 40}\\n", "yaml")
        >>> pipe.step_names, pipe.output_sample_rate
        (['dsp:mel_spectrogram'], 16000)
    """

    __jit_ignored_attributes__: ClassVar[list[str]] = ["built"]
    __jit_unused_properties__: ClassVar[list[str]] = [
        "step_names",
        "sample_rate",
        "output_sample_rate",
        "produces_waveform",
        "produces_hypotheses",
        "source_names",
    ]

    def __init__(self, steps: Sequence[BuiltStep], sample_rate: int | None = None) -> None:
        super().__init__()
        if not steps:
            raise PipelineConfigError(["steps: a pipeline needs at least one step"])
        self.built = list(steps)
        self.input_rate = sample_rate
        self.steps = nn.ModuleList([step.module for step in steps])

    @classmethod
    def from_config(cls, config: ConfigSource, registry: Registry | None = None) -> Pipeline:
        """Build from a configuration file path (``.yaml``, ``.yml``, ``.toml``, ``.json``) or a mapping.

        Example:
            >>> Pipeline.from_config({"steps": [{"amplitude_to_db": {"top_db": 80}}]}).step_names
            ['dsp:amplitude_to_db']
        """
        return cls(*_build(config, registry))

    @classmethod
    def from_text(cls, text: str, format: str = "yaml", registry: Registry | None = None) -> Pipeline:
        """Build from configuration text in ``format`` (``"yaml"``, ``"toml"`` or ``"json"``).

        Example:
            >>> Pipeline.from_text('{"steps": [{"dsp:amplitude_to_db": {}}]}', "json").step_names
            ['dsp:amplitude_to_db']
        """
        return cls(*_build_data(parse_config_text(text, format), "<text>", registry))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply every step in order."""
        for step in self.steps:
            x = step(x)
        return x

    @property
    def step_names(self) -> list[str]:
        """The qualified name of each step."""
        return [step.name for step in self.built]

    @property
    def sample_rate(self) -> int | None:
        """The sample rate of the input, when the configuration gives it."""
        return self.input_rate

    @property
    def output_sample_rate(self) -> int | None:
        """The sample rate of the output (for features: of the audio they were computed from)."""
        return self.built[-1].output_sample_rate

    @property
    def produces_waveform(self) -> bool:
        """Whether the output is audio (every step outputs audio) rather than features."""
        return all(step.produces_waveform for step in self.built)

    @property
    def produces_hypotheses(self) -> bool:
        """Whether the last step is a decoder, so the output is hypotheses rather than a tensor.

        Example:
            >>> Pipeline.from_config({"steps": [{"amplitude_to_db": {}}]}).produces_hypotheses
            False
        """
        return self.built[-1].kind == "decoder"

    @property
    def source_names(self) -> list[str] | None:
        """The names of the sources a separation model at the end produces (stacked first), else ``None``."""
        names = getattr(self.built[-1].module, "source_names", None)
        return list(names) if names else None

    def to_config(self) -> dict[str, Any]:
        """The configuration with qualified names and every parameter, defaults included.

        Example:
            >>> config = Pipeline.from_config({"steps": [{"amplitude_to_db": {}}]}).to_config()
            >>> config["steps"][0]["dsp:amplitude_to_db"]["stype"]
            'power'
        """
        config: dict[str, Any] = {"version": 1}
        if self.input_rate is not None:
            config["sample_rate"] = self.input_rate
        config["steps"] = [{step.name: dict(step.params)} for step in self.built]
        return config

    def to_yaml(self) -> str:
        """:meth:`to_config` as YAML text.

        Raises :class:`~tympan.core.errors.PipelineConfigError` naming each parameter whose value a
        configuration file cannot hold (a Python object given in code, say).

        Example:
            >>> print(Pipeline.from_config({"steps": [{"amplitude_to_db": {}}]}).to_yaml().splitlines()[0])
            version: 1
        """
        config = self.to_config()
        problems = [
            f"steps[{index}].{step.name}.{key}: a {type(value).__name__} cannot be written to a configuration"
            for index, step in enumerate(self.built)
            for key, value in step.params.items()
            if not _is_plain(value)
        ]
        if problems:
            raise PipelineConfigError(problems)
        return yaml.safe_dump(config, sort_keys=False)

    def extra_repr(self) -> str:
        rate = f"sample_rate={self.input_rate}, " if self.input_rate else ""
        return f"{rate}steps={self.step_names}"
