"""Phase 2 of validation and building: each step's parameters checked by its own ``Params``, the sample
rate threaded from step to step, and the modules constructed.

The builder passes the sample rate reaching a step to the parameter the component declares for it
(``sample_rate`` by default, ``orig_freq`` for ``resample``), then reads the step's ``output_sample_rate``
for the next one, so that at run time every step is plain ``Tensor -> Tensor``. It also follows the layout
of features: after a step that declares ``frames_first`` (Kaldi's features are ``(..., frames, dim)``), a
model step reads them as ``(..., dim, frames)``, the layout of ``dsp:`` features and of torchaudio's models.

Example:
    >>> from tympan.pipeline.config import check_envelope
    >>> spec = check_envelope({"sample_rate": 44100, "steps": [{"resample": {"new_freq": 16000}}, {"mfcc": {}}]})
    >>> [(step.name, step.params.get("sample_rate") or step.params.get("orig_freq")) for step in build_steps(spec)]
    [('dsp:resample', 44100), ('dsp:mfcc', 16000)]
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from tympan.core.components import Transform, input_rate_parameter, produces_waveform
from tympan.core.errors import InvalidParameterError, PipelineConfigError, PluginLoadError, TympanError
from tympan.core.params import Params, validate_params
from tympan.pipeline.config import PipelineSpec, StepSpec

__all__ = ["BuiltStep", "ModelStep", "build_steps"]


@dataclass(frozen=True)
class BuiltStep:
    """One constructed step: qualified name, kind, full parameters, rates in and out, and the module.

    Example:
        >>> BuiltStep("dsp:x", "transform", {}, None, None, nn.Identity()).produces_waveform
        False
    """

    name: str
    kind: str
    params: dict[str, Any]
    input_sample_rate: int | None
    output_sample_rate: int | None
    module: nn.Module

    @property
    def produces_waveform(self) -> bool:
        """Whether this step outputs audio."""
        if isinstance(self.module, ModelStep):
            return self.module.produces_waveform
        return produces_waveform(type(self.module), self.kind)


class ModelStep(nn.Module):
    """A model as a pipeline step: ``model.pipeline_step(x)``, which maps a waveform or features to the
    model's output (a separation model stacks its sources along the first dimension).

    With ``frames_first=True`` its input, features ``(..., frames, dim)``, is transposed to
    ``(..., dim, frames)`` first.

    Example:
        >>> from tympan.plugins.models import ConvTasNet, Wav2Letter
        >>> step = ModelStep(ConvTasNet(enc_num_feats=8, msk_num_feats=4, msk_num_hidden_feats=8, msk_num_stacks=1))
        >>> step(torch.randn(2, 800)).shape, step.source_names
        (torch.Size([2, 2, 800]), ['source1', 'source2'])
        >>> acoustic = ModelStep(Wav2Letter(num_classes=5, input_type="mfcc", num_features=23), frames_first=True)
        >>> acoustic(torch.randn(98, 23)[None]).shape  # 98 frames of 23 Kaldi filterbank energies
        torch.Size([1, 5, 50])
    """

    __jit_ignored_attributes__: ClassVar[list[str]] = ["source_names"]

    def __init__(self, model: nn.Module, frames_first: bool = False) -> None:
        super().__init__()
        self.model = model
        self.frames_first = frames_first
        self.produces_waveform = bool(getattr(model, "produces_waveform", False))
        names = getattr(model, "sources", None)
        count = getattr(model, "num_sources", None)
        if not getattr(model, "produces_sources", False):
            self.source_names: list[str] | None = None
        elif names is not None:
            self.source_names = [str(name) for name in names]
        else:
            self.source_names = [f"source{index + 1}" for index in range(int(count or 0))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.frames_first:
            x = x.transpose(-1, -2)
        return self.model.pipeline_step(x)  # type: ignore[operator,no-any-return]


def _model_step(module: nn.Module, frames_first: bool) -> nn.Module | str:
    """The step that runs ``module``: a :class:`ModelStep` (reading ``frames_first`` features transposed), the
    module itself when its ``forward`` takes one tensor, or the reason it cannot be a step."""
    if callable(getattr(module, "pipeline_step", None)):
        return ModelStep(module, frames_first)
    required = [
        p
        for p in inspect.signature(module.forward).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) == 1:
        return module
    return f"takes {len(required)} inputs; a pipeline step takes one tensor"


def _preserves_rate(component: Any) -> bool:
    """Whether a component's output has its input's sample rate (it does not define its own).

    ``None`` (a component that did not even load) counts as unknown, so as not preserving.
    """
    if component is None:
        return False
    own = getattr(component, "output_sample_rate", None)
    return own is None or own is Transform.output_sample_rate


def _plain(params: Params) -> dict[str, Any]:
    try:
        return params.model_dump(mode="json")
    except (ValueError, TypeError):  # parameters of a type JSON cannot hold stay as objects
        return params.kwargs()


class _Builder:
    """Builds the steps of one spec, collecting every problem instead of stopping at the first."""

    def __init__(self, spec: PipelineSpec) -> None:
        self.rate = spec.sample_rate
        self.rate_known = True
        self.frames_first = False  # the layout of the features reaching the next step
        self.problems: list[str] = []

    def fail(self, message: str, component: Any = None) -> None:
        self.problems.append(message)
        if not _preserves_rate(component):
            self.rate_known = False  # what reaches later steps is unknown; do not report follow-on errors

    def step_params(self, step: StepSpec, component: Any) -> dict[str, Any] | None:
        params = dict(step.params)
        rate_param = input_rate_parameter(component)
        if rate_param is None:
            return params
        given = params.get(rate_param)
        if not self.rate_known:
            return None
        if given is None:
            if self.rate is None:
                self.fail(
                    f"{step.location}: needs the input sample rate; set `sample_rate` at the top of the "
                    f"configuration or `{rate_param}` here"
                )
                return None
            params[rate_param] = self.rate
        elif self.rate is not None and given != self.rate:
            self.fail(
                f"{step.location}.{rate_param}: {given} differs from the sample rate reaching this step ({self.rate})"
            )
            return None
        return params

    def build(self, step: StepSpec) -> BuiltStep | None:
        entry = step.entry
        if entry is None:
            return None
        try:
            component = entry.load()
        except PluginLoadError as err:
            self.fail(f"{step.location}: {err}")
            return None
        params = self.step_params(step, component)
        if params is None:
            return None
        try:
            validated = validate_params(component, params, name=entry.name)
            module = component(**validated.kwargs())
        except InvalidParameterError as err:
            for problem in err.problems:
                self.fail(f"{step.location}.{problem}", component)
            return None
        except (TympanError, ValueError, TypeError) as err:
            self.fail(f"{step.location}: {err}", component)
            return None
        if not isinstance(module, nn.Module):
            self.fail(f"{step.location}: {entry.name} built a {type(module).__name__}, not an nn.Module")
            return None
        if entry.kind == "model":
            wrapped = _model_step(module, self.frames_first)
            if isinstance(wrapped, str):
                self.fail(f"{step.location}: {entry.name} {wrapped}")
                return None
            module = wrapped
        self.frames_first = bool(getattr(component, "frames_first", self.frames_first and entry.kind != "model"))
        rate_in = self.rate
        declared = getattr(module, "output_sample_rate", None)
        if declared is not None:
            self.rate = int(declared)
        return BuiltStep(entry.name, entry.kind, _plain(validated), rate_in, self.rate, module)


def build_steps(spec: PipelineSpec, source: str | None = None) -> list[BuiltStep]:
    """Phase 2: validate each step with its component's ``Params`` and construct it.

    Raises :class:`~tympan.core.errors.PipelineConfigError` listing every problem with its location
    (``steps[1].resample.new_freq: ...``).

    Example:
        >>> from tympan.pipeline.config import check_envelope
        >>> build_steps(check_envelope({"sample_rate": 16000, "steps": [{"mfcc": {"n_mfcc": -1}}]}))
        Traceback (most recent call last):
        ...
        tympan.core.errors.PipelineConfigError: invalid pipeline configuration:
          steps[0].mfcc.n_mfcc: Input should be greater than or equal to 1 (got -1)
    """
    builder = _Builder(spec)
    built = [builder.build(step) for step in spec.steps]
    if builder.problems:
        raise PipelineConfigError(builder.problems, source)
    return [step for step in built if step is not None]
