"""The recipe file: its sections as pydantic models, read from YAML / TOML / JSON with ``--set`` overrides.

A recipe names registry components the way a pipeline does, one ``{name: {parameters}}`` mapping each:

```yaml
version: 1
task: {classification: {labels: [yes, no, _silence_], unknown_label: _unknown_}}
data:
  root: corpora
  train: {data:speech_commands: {subset: training}}
  valid: {data:speech_commands: {subset: validation}}
  max_seconds: 60
features: {sample_rate: 16000, steps: [{mel_spectrogram: {n_mels: 40}}, {amplitude_to_db: {}}]}
model: {kws:conv_net: {num_classes: 4}}
loss: {loss:cross_entropy: {}}
optimizer: {AdamW: {lr: 0.001}}
training: {epochs: 10}
```

This module checks the shape of the file (phase 1); :mod:`tympan.training.resolve` checks every name and
parameter (phase 2). Both collect every problem, located (``training.epochs: ...``), into one
:class:`~tympan.core.errors.RecipeConfigError`. :func:`apply_overrides` applies ``--set key=value``
assignments (dotted paths, YAML values) and the recipe's own ``smoke`` assignments.

Example:
    >>> recipe = parse_recipe({"task": "classification", "data": {"train": {"data:yesno": {}}},
    ...                        "model": {"kws:conv_net": {}}, "loss": {"loss:cross_entropy": {}},
    ...                        "optimizer": {"Adam": {"lr": 0.01}}})
    >>> recipe.training.epochs, recipe.task_name, recipe.model.name
    (10, 'classification', 'kws:conv_net')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from tympan.core.errors import PipelineConfigError, RecipeConfigError
from tympan.core.params import format_validation_error

__all__ = [
    "Component",
    "DataSection",
    "FeaturesSection",
    "LoggingSection",
    "Recipe",
    "TrainingSection",
    "apply_overrides",
    "parse_recipe",
    "read_recipe",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Component(_Section):
    """One component named in a recipe: its name as written and its parameters.

    In the file it is a mapping of one name to its parameters (``{loss:ctc: {blank: 0}}``); a bare string
    names a component with its defaults.

    Example:
        >>> Component.model_validate({"loss:ctc": {"blank": 0}})
        Component(name='loss:ctc', params={'blank': 0})
    """

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, Mapping) and set(value) != {"name", "params"}:
            if len(value) != 1:
                raise ValueError(f"expected one component name mapped to its parameters, got {sorted(value)}")
            ((name, params),) = value.items()
            if params is not None and not isinstance(params, Mapping):
                raise ValueError(f"the parameters of {name!r} must be a mapping, got {type(params).__name__}")
            return {"name": str(name), "params": dict(params or {})}
        return value

    def to_config(self) -> dict[str, Any]:
        """Back to the file's form, ``{name: params}``."""
        return {self.name: dict(self.params)}


class SynthSection(_Section):
    """Make the corpus with ``tympan data synth`` when it is missing under the data root.

    Example:
        >>> SynthSection(corpora=["speech_commands"]).preset
        'default'
    """

    corpora: list[Literal["librispeech", "libritts", "speech_commands", "librimix", "wsj0mix"]] = Field(
        min_length=1, description="The corpora to make."
    )
    preset: Literal["mini", "default"] = Field("default", description="Their size (see tympan data synth).")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="The synthesis seed.")


class DataSection(_Section):
    """Where the examples come from and how they are batched.

    Example:
        >>> DataSection(train={"data:yesno": {}}).max_seconds
        60.0
    """

    root: str | None = Field(
        None,
        description="Root of every corpus that is given none, and the folder a corpus's relative root is in "
        "(relative: to the cwd).",
    )
    train: Component = Field(description="The training corpus: a dataset component.")
    valid: Component | None = Field(None, description="The validation corpus, evaluated every validate_every.")
    test: Component | None = Field(None, description="The test corpus, evaluated once at the end.")
    max_seconds: float = Field(60.0, gt=0, le=1e6, description="Batch budget: padded seconds of audio per batch.")
    num_buckets: int = Field(10, ge=1, le=10_000, description="Duration buckets of the batch sampler.")
    num_workers: int = Field(1, ge=0, le=64, description="DataLoader worker processes per rank.")
    keep_examples: bool = Field(
        False,
        description="Compute each example's features once, before the first epoch, and keep them in memory "
        "(only for tasks whose examples draw nothing at random, such as classification).",
    )
    synthesize: SynthSection | None = Field(None, description="Make a missing corpus with tympan data synth.")


class FeaturesSection(_Section):
    """The feature pipeline applied to each item's waveform (as a pipeline configuration's steps).

    Example:
        >>> FeaturesSection(sample_rate=16000, steps=[{"mfcc": {}}]).steps
        [{'mfcc': {}}]
    """

    sample_rate: int = Field(gt=0, le=768_000, description="Sample rate of the corpus audio, in Hz.")
    steps: list[dict[str, dict[str, Any] | None]] = Field(
        default_factory=list, description="Pipeline steps, each a mapping of one component name to its parameters."
    )


class TrainingSection(_Section):
    """How long and how to optimise.

    Example:
        >>> TrainingSection(precision="bf16").accumulate
        1
    """

    epochs: int = Field(10, ge=1, le=100_000, description="Passes over the training corpus.")
    max_steps: int | None = Field(None, ge=1, le=100_000_000, description="Stop after this many optimiser steps.")
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="fp16 uses a GradScaler.")
    grad_clip: float | None = Field(None, gt=0, le=1e6, description="Clip the gradients' global norm to this.")
    accumulate: int = Field(1, ge=1, le=1024, description="Batches whose gradients make one optimiser step.")
    log_every: int = Field(10, ge=1, le=1_000_000, description="Log the loss every this many steps.")
    validate_every: int = Field(1, ge=1, le=100_000, description="Validate every this many epochs.")
    validate_first: bool = Field(
        False, description="Also validate the initial weights, before the first step (the untrained baseline)."
    )
    checkpoint_every: int | None = Field(
        500, ge=1, le=100_000_000, description="Save the run state every this many steps (and at each epoch's end)."
    )
    keep_checkpoints: int = Field(2, ge=1, le=1000, description="Checkpoints kept (the oldest are removed).")
    max_bad_steps: int = Field(
        5, ge=1, le=10_000, description="Stop after this many non-finite losses in a row (each one is skipped)."
    )
    deterministic: bool = Field(False, description="Deterministic algorithms (for exact resumption on CPU).")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when available.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the model's initialisation and the data order.")
    threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Intra-op threads per process (None: on the CPU, its cores per process less loader workers).",
    )


class LoggingSection(_Section):
    """What the run records besides ``metrics.jsonl`` and ``results.json``.

    Example:
        >>> LoggingSection().audio_samples
        2
    """

    tensorboard: bool | None = Field(None, description="TensorBoard logs (None: when tensorboard is installed).")
    audio_samples: int = Field(2, ge=0, le=100, description="Validation examples logged as audio and pictures.")
    progress: bool = Field(True, description="Progress bars on rank 0.")


class Recipe(_Section):
    """A whole recipe (phase 1: its shape); see the module docstring.

    Example:
        >>> Recipe.model_json_schema()["properties"]["version"]["const"]
        1
    """

    version: Literal[1] = Field(1, description="Recipe format version.")
    description: str = Field("", description="What the recipe trains.")
    task: Component = Field(description="classification, ctc, separation or vocoder, with its parameters.")
    data: DataSection
    features: FeaturesSection | None = Field(None, description="The feature pipeline (none: the waveform).")
    augment: list[dict[str, dict[str, Any] | None]] = Field(
        default_factory=list, description="Steps applied after the features, in training only (dsp:spec_augment)."
    )
    model: Component = Field(description="The model component and its parameters.")
    loss: Component = Field(description="The loss component and its parameters.")
    decoders: list[Component] = Field(default_factory=list, description="Decoders evaluated at validation.")
    metrics: list[str] | None = Field(None, description="The task's metrics to report (None: all of them).")
    optimizer: Component = Field(description="A torch.optim optimiser by class name, with its parameters.")
    scheduler: Component | None = Field(None, description="A torch.optim.lr_scheduler class, stepped per step.")
    training: TrainingSection = Field(default_factory=TrainingSection)  # type: ignore[arg-type]
    logging: LoggingSection = Field(default_factory=LoggingSection)  # type: ignore[arg-type]
    smoke: dict[str, Any] = Field(
        default_factory=dict, description="Assignments (dotted key: value) applied by --smoke, for a tiny run."
    )

    @property
    def task_name(self) -> str:
        """The task's name."""
        return self.task.name


def parse_recipe(config: Any, source: str | None = None) -> Recipe:
    """Phase 1: the recipe's shape; a :class:`RecipeConfigError` lists every problem with its location.

    Example:
        >>> parse_recipe({"task": "ctc", "training": {"epochs": 0}})
        Traceback (most recent call last):
        ...
        tympan.core.errors.RecipeConfigError: invalid recipe:
          data: Field required
          model: Field required
          loss: Field required
          optimizer: Field required
          training.epochs: Input should be greater than or equal to 1 (got 0)
    """
    if not isinstance(config, Mapping):
        raise RecipeConfigError([f"<root>: expected a mapping, got {type(config).__name__}"], source)
    try:
        return Recipe.model_validate(dict(config))
    except pydantic.ValidationError as err:
        raise RecipeConfigError(format_validation_error(err, unknown="unknown field"), source) from None


def _set(config: Any, path: list[str], value: Any, assignment: str) -> None:
    node = config
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ValueError(f"{assignment}: {'.'.join(path[: depth + 1])} is not an index of the list")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                if node.get(key) is None:
                    node[key] = {}
                node = node[key]
        else:
            raise ValueError(f"{assignment}: {'.'.join(path[:depth])} is a {type(node).__name__}, not a section")


def apply_overrides(config: Mapping[str, Any], assignments: Sequence[str] | Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with ``key.path=value`` assignments applied (values parsed as YAML).

    A path walks mappings by key and lists by index; missing sections are created. A mapping of
    ``{dotted key: value}`` (a recipe's ``smoke`` section) works the same, its values taken as they are.
    A malformed assignment raises :class:`RecipeConfigError`.

    Example:
        >>> apply_overrides({"training": {"epochs": 10}}, ["training.epochs=2", "model.asr:conformer.num_layers=1"])
        {'training': {'epochs': 2}, 'model': {'asr:conformer': {'num_layers': 1}}}
    """
    import copy

    result: dict[str, Any] = copy.deepcopy(dict(config))
    pairs: list[tuple[str, Any, str]] = []
    if isinstance(assignments, Mapping):
        pairs = [(str(key), value, f"{key}: {value!r}") for key, value in assignments.items()]
    else:
        for assignment in assignments:
            key, equals, text = assignment.partition("=")
            if not equals or not key.strip():
                raise RecipeConfigError([f"--set {assignment!r}: expected key.path=value"])
            try:
                value = yaml.safe_load(text) if text.strip() else ""
            except yaml.YAMLError as err:
                raise RecipeConfigError([f"--set {assignment!r}: the value is not YAML: {err}"]) from None
            pairs.append((key.strip(), value, f"--set {assignment!r}"))
    problems = []
    for key, value, shown in pairs:
        try:
            _set(result, key.split("."), copy.deepcopy(value), shown)
        except ValueError as err:
            problems.append(str(err))
    if problems:
        raise RecipeConfigError(problems)
    return result


def read_recipe(
    path: str | os.PathLike[str], overrides: Sequence[str] = (), smoke: bool = False
) -> tuple[Recipe, dict[str, Any]]:
    """Read a recipe file, apply ``smoke`` assignments (when asked) then ``overrides``; phase 1 validation.

    Returns the recipe and the configuration it was read from (after the assignments).

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.yaml"
        >>> _ = path.write_text("task: ctc\\ndata: {train: data:librispeech}\\nmodel: asr:wav2letter\\n"
        ...                     "loss: loss:ctc\\noptimizer: {Adam: {lr: 0.001}}\\nsmoke: {training.epochs: 1}\\n")
        >>> training = read_recipe(path, ["training.precision=bf16"], smoke=True)[0].training
        >>> training.epochs, training.precision
        (1, 'bf16')
    """
    from tympan.pipeline.files import read_config_file

    source = os.fspath(path)
    try:
        config = read_config_file(path)
    except PipelineConfigError as err:
        raise RecipeConfigError(err.problems, source) from None
    if not isinstance(config, Mapping):
        raise RecipeConfigError([f"<root>: expected a mapping, got {type(config).__name__}"], source)
    try:
        if smoke:
            if not isinstance(config.get("smoke"), Mapping) or not config["smoke"]:
                raise RecipeConfigError(["smoke: --smoke needs a smoke section of assignments"])
            config = apply_overrides(config, config["smoke"])
        config = apply_overrides(config, overrides)
    except RecipeConfigError as err:
        raise RecipeConfigError(err.problems, source) from None
    return parse_recipe(config, source), config
