"""Pipeline configuration: the envelope model and phase 1 of validation (names resolve; nothing imported).

A configuration is ``{version: 1, sample_rate: <input rate, optional>, steps: [{name: {params}}, ...]}``.
Phase 1 checks the envelope and that every step names a transform, effect or model in the registry (the
last step may also be a decoder, which turns the emissions reaching it into hypotheses). Dotted
import paths are refused: a configuration names registry entries only and never runs arbitrary code.

Example:
    >>> spec = check_envelope({"version": 1, "sample_rate": 16000, "steps": [{"mfcc": {"n_mfcc": 13}}]})
    >>> spec.steps[0].entry.name, spec.steps[0].params
    ('dsp:mfcc', {'n_mfcc': 13})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic
from pydantic import ConfigDict, Field

from tympan.core.audio import MAX_SAMPLE_RATE
from tympan.core.errors import AmbiguousNameError, DuplicateNameError, PipelineConfigError, UnknownNameError
from tympan.core.params import MAX_PROBLEMS, StrictModel, format_validation_error
from tympan.registry import Entry, Registry, default_registry
from tympan.registry._names import is_bare_name, is_qualified_name

__all__ = ["STEP_KINDS", "FINAL_STEP_KINDS", "Envelope", "StepSpec", "PipelineSpec", "check_envelope"]

#: The kinds a pipeline step may name.
STEP_KINDS = ("transform", "effect", "model")
#: The kinds only the last step may name.
FINAL_STEP_KINDS = ("decoder",)


class Envelope(StrictModel):
    """The top level of a pipeline configuration.

    Example:
        >>> Envelope(steps=[{"resample": {"new_freq": 8000}}]).version
        1
    """

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = Field(1, description="Configuration format version.")
    sample_rate: int | None = Field(None, gt=0, le=MAX_SAMPLE_RATE, description="Sample rate of the input, in Hz.")
    steps: list[dict[str, dict[str, Any] | None]] = Field(
        min_length=1, description="Steps in order; each a mapping of one component name to its parameters."
    )


@dataclass(frozen=True)
class StepSpec:
    """One step after phase 1: where it is, the name as written, its registry entry and raw parameters.

    Example:
        >>> StepSpec(0, "mfcc", None, {}).location
        'steps[0].mfcc'
    """

    index: int
    written: str
    entry: Entry | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def location(self) -> str:
        """``steps[i].name``, the prefix of every error about this step."""
        return f"steps[{self.index}].{self.written}"


@dataclass(frozen=True)
class PipelineSpec:
    """A configuration that passed phase 1.

    Example:
        >>> PipelineSpec(sample_rate=None, steps=[]).sample_rate is None
        True
    """

    sample_rate: int | None
    steps: list[StepSpec]


def _resolve_step(name: str, registry: Registry, kinds: tuple[str, ...]) -> Entry:
    try:
        return registry.resolve(name, load_generated=False)
    except AmbiguousNameError:
        matches = []
        for kind in kinds:
            try:
                matches.append(registry.resolve(name, kind, load_generated=False))
            except (UnknownNameError, AmbiguousNameError):
                continue
        if len(matches) == 1:
            return matches[0]
        raise


def _check_name(name: str, registry: Registry, last: bool) -> tuple[Entry | None, str | None]:
    if not (is_qualified_name(name) or is_bare_name(name)):
        if "." in name or "/" in name:
            return None, "dotted import paths are refused; name a registry entry (see `tympan list`)"
        return None, "not a component name ('namespace:name' or 'name')"
    kinds = STEP_KINDS + FINAL_STEP_KINDS if last else STEP_KINDS
    try:
        entry = _resolve_step(name, registry, kinds)
    except (UnknownNameError, AmbiguousNameError, DuplicateNameError) as err:
        return None, str(err)
    if entry.kind in FINAL_STEP_KINDS and not last:
        return None, f"{entry.name} is a {entry.kind}; a {entry.kind} can only be the last step"
    if entry.kind not in kinds:
        allowed = "a transform, effect, model or decoder" if last else "a transform, effect or model"
        return None, f"{entry.name} is a {entry.kind}, not {allowed}"
    return entry, None


def check_envelope(config: Any, registry: Registry | None = None, source: str | None = None) -> PipelineSpec:
    """Phase 1: validate the envelope and resolve every step name, importing no plugin code.

    Raises :class:`~tympan.core.errors.PipelineConfigError` listing every problem with its location.

    Example:
        >>> check_envelope({"steps": [{"os.system": {}}]})
        Traceback (most recent call last):
        ...
        tympan.core.errors.PipelineConfigError: invalid pipeline configuration:
          steps[0].os.system: dotted import paths are refused; name a registry entry (see `tympan list`)
    """
    registry = registry or default_registry()
    if not isinstance(config, Mapping):
        raise PipelineConfigError([f"<root>: expected a mapping, got {type(config).__name__}"], source)
    try:
        envelope = Envelope.model_validate(dict(config))
    except pydantic.ValidationError as err:
        raise PipelineConfigError(format_validation_error(err, unknown="unknown field"), source) from None
    problems: list[str] = []
    steps: list[StepSpec] = []
    for index, step in enumerate(envelope.steps):
        if len(problems) >= MAX_PROBLEMS:
            problems.append(f"steps[{index}:]: not checked after {MAX_PROBLEMS} problems")
            break
        if len(step) != 1:
            problems.append(f"steps[{index}]: expected one component name per step, got {len(step)}: {sorted(step)}")
            continue
        ((written, params),) = step.items()
        entry, problem = _check_name(written, registry, last=index == len(envelope.steps) - 1)
        if problem:
            problems.append(f"steps[{index}].{written}: {problem}")
        steps.append(StepSpec(index, written, entry, dict(params or {})))
    if problems:
        raise PipelineConfigError(problems, source)
    return PipelineSpec(envelope.sample_rate, steps)
