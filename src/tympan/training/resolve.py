"""Phase 2 of recipe validation: every name resolved in the registry (or in ``torch.optim``), every parameter
checked by its component's ``Params``, all before a file of data is read.

:func:`resolve` returns a :class:`Plan`, from which the trainer builds the run; every problem found on the
way is collected, with its location (``model.asr:conformer.num_layers: ...``), into one
:class:`~tympan.core.errors.RecipeConfigError`.

Example:
    >>> from tympan.training.recipe import parse_recipe
    >>> resolve(parse_recipe({"task": {"classification": {"labels": ["a", "b"]}},
    ...     "data": {"root": "corpora", "train": {"data:yesno": {}}}, "model": {"kws:conv_net": {"num_classes": 3}},
    ...     "loss": {"loss:nope": {}}, "optimizer": {"Adamm": {"lr": 0.1}}}))
    Traceback (most recent call last):
    ...
    tympan.core.errors.RecipeConfigError: invalid recipe:
      model.kws:conv_net.num_classes: 3 differs from the task's 2 classes
      loss.loss:nope: unknown loss 'loss:nope'; did you mean: loss:pit, ... (list them with `tympan list loss`)
      optimizer.Adamm: not an optimiser of torch.optim; did you mean: Adam, RAdam, NAdam?
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pydantic

from tympan.core.errors import (
    AmbiguousNameError,
    DuplicateNameError,
    InvalidParameterError,
    PipelineConfigError,
    PluginLoadError,
    RecipeConfigError,
    UnknownNameError,
)
from tympan.core.params import Params, format_validation_error, params_of, validate_params
from tympan.registry import Entry, default_registry
from tympan.training.recipe import Component, Recipe
from tympan.training.tasks import TASKS, Task

__all__ = ["Plan", "Resolved", "resolve"]

#: Schedulers a recipe cannot configure: they take functions or other schedulers, or a metric to step on.
UNSUPPORTED_SCHEDULERS = ("LambdaLR", "MultiplicativeLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau")


@dataclasses.dataclass(frozen=True)
class Resolved:
    """One component of a recipe, resolved and validated: where it is written, its target and parameters.

    Example:
        >>> import torch
        >>> Resolved("optimizer.SGD", "SGD", torch.optim.SGD, {"lr": 0.1}).build([torch.zeros(1)]).defaults["lr"]
        0.1
    """

    location: str
    name: str
    target: Any
    params: dict[str, Any]

    def build(self, *args: Any, **extra: Any) -> Any:
        """Construct the component with its parameters (and any the trainer adds)."""
        return self.target(*args, **{**self.params, **extra})


@dataclasses.dataclass
class Plan:
    """A recipe whose every name and parameter checked out; what the trainer builds from.

    Example:
        >>> Plan.__dataclass_fields__["decoders"].type
        'dict[str, Resolved]'
    """

    recipe: Recipe
    task: Task
    datasets: dict[str, Resolved]
    features: Any
    augment: Any
    model: Resolved
    loss: Resolved
    decoders: dict[str, Resolved]
    optimizer: Resolved
    scheduler: Resolved | None
    metrics: list[str]


class _Collector:
    """Collects located problems while resolving."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, location: str, message: str) -> None:
        self.problems.append(f"{location}: {message}")

    def entry(self, component: Component, kind: str, location: str) -> tuple[Entry, Any] | None:
        where = f"{location}.{component.name}"
        try:
            entry = default_registry().resolve(component.name, kind)
            return entry, entry.load()
        except (UnknownNameError, AmbiguousNameError, DuplicateNameError, PluginLoadError) as err:
            self.add(where, str(err))
            return None

    def params(self, where: str, target: Any, values: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        try:
            return validate_params(target, values, name=name).kwargs()
        except InvalidParameterError as err:
            for problem in err.problems:
                self.problems.append(f"{where}.{problem}")
            return None

    def component(
        self, component: Component, kind: str, location: str, defaults: Mapping[str, Any] | None = None
    ) -> Resolved | None:
        found = self.entry(component, kind, location)
        if found is None:
            return None
        entry, target = found
        values = dict(component.params)
        fields = params_of(target).model_fields
        for key, value in (defaults or {}).items():
            if key in fields and key not in values:
                values[key] = value
        where = f"{location}.{component.name}"
        params = self.params(where, target, values, entry.name)
        return Resolved(where, entry.name, target, params) if params is not None else None


def _without(target: Any, injected: tuple[str, ...]) -> type[Params]:
    """``target``'s parameters less those the trainer passes itself (the model's parameters, the optimiser)."""
    model = params_of(target)
    fields = {name: (field.annotation, field) for name, field in model.model_fields.items() if name not in injected}
    return pydantic.create_model(f"{target.__name__}Params", __base__=Params, **fields)  # type: ignore[call-overload, no-any-return]


def _torch_class(
    found: _Collector, component: Component, location: str, module: Any, base: type, injected: str
) -> Resolved | None:
    where = f"{location}.{component.name}"
    candidates = sorted(
        name
        for name in dir(module)
        if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), base) and name[0] != "_"
    )
    what = "an optimiser of torch.optim" if injected == "params" else "a scheduler of torch.optim.lr_scheduler"
    if component.name not in candidates or component.name in UNSUPPORTED_SCHEDULERS:
        if component.name in UNSUPPORTED_SCHEDULERS:
            found.add(where, f"{component.name} cannot be configured from a recipe (it takes functions or metrics)")
            return None
        close = difflib.get_close_matches(component.name, candidates, n=3, cutoff=0.6)
        found.add(where, f"not {what}" + (f"; did you mean: {', '.join(close)}?" if close else ""))
        return None
    target = getattr(module, component.name)
    try:
        params = _without(target, (injected,))(**component.params)
    except pydantic.ValidationError as err:
        found.problems += format_validation_error(err, prefix=f"{where}.")
        return None
    return Resolved(where, component.name, target, {k: v for k, v in params.kwargs().items() if k in component.params})


def _pipeline(found: _Collector, location: str, sample_rate: int | None, steps: list[Any]) -> Any:
    from tympan.pipeline import Pipeline

    if not steps:
        return None
    try:
        return Pipeline.from_config({"sample_rate": sample_rate, "steps": steps})
    except PipelineConfigError as err:
        for problem in err.problems:
            found.problems.append(f"{location}{problem[len('steps') :]}" if problem.startswith("steps") else problem)
        return None


def _labels(decoders: list[Component]) -> list[str]:
    labels: list[str] = []
    for component in decoders:
        base = component.name.split(":")[-1]
        label, n = base, 2
        while label in labels:
            label, n = f"{base}_{n}", n + 1
        labels.append(label)
    return labels


def _task(found: _Collector, recipe: Recipe) -> Task | None:
    task_class = TASKS.get(recipe.task.name)
    if task_class is None:
        close = difflib.get_close_matches(recipe.task.name, list(TASKS), n=3)
        hint = f"; did you mean: {', '.join(close)}?" if close else f"; one of {', '.join(sorted(TASKS))}"
        found.add(f"task.{recipe.task.name}", f"unknown task{hint}")
        return None
    params = found.params(f"task.{recipe.task.name}", task_class, recipe.task.params, recipe.task.name)
    return task_class(**params) if params is not None else None


def _datasets(found: _Collector, recipe: Recipe) -> dict[str, Resolved]:
    datasets = {}
    for split in ("train", "valid", "test"):
        component = getattr(recipe.data, split)
        if component is None:
            continue
        defaults = {"root": os.path.abspath(recipe.data.root)} if recipe.data.root is not None else {}
        own_root = component.params.get("root")
        if defaults and isinstance(own_root, str) and not os.path.isabs(own_root):
            inside = os.path.join(defaults["root"], own_root)
            component = component.model_copy(update={"params": {**component.params, "root": inside}})
        resolved = found.component(component, "dataset", f"data.{split}", defaults)
        check_subset = getattr(resolved.target, "check_subset", None) if resolved is not None else None
        if resolved is not None and check_subset is not None and "subset" in resolved.params:
            try:
                check_subset(resolved.params["subset"])
            except ValueError as err:
                found.add(f"{resolved.location}.subset", str(err))
                continue
        if resolved is not None:
            datasets[split] = resolved
    return datasets


def _checks(found: _Collector, recipe: Recipe, task: Task | None, features: Any) -> None:
    if task is not None and not task.uses_features and recipe.features is not None and recipe.features.steps:
        found.add("features", f"the {task.name} task reads the waveform; remove the feature steps")
    if task is not None and recipe.data.keep_examples and not task.fixed_examples:
        found.add("data.keep_examples", f"the {task.name} task draws its examples at random each epoch; set false")
    if recipe.logging.tensorboard and importlib.util.find_spec("tensorboard") is None:
        found.add("logging.tensorboard", "tensorboard is not installed (pip install 'tympan[train]')")
    if recipe.training.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            found.add("training.device", "cuda asked for, but torch sees no CUDA device")
    if features is not None and features.produces_hypotheses:
        found.add("features", "the feature pipeline cannot end with a decoder")


def resolve(recipe: Recipe, run_dir: str | os.PathLike[str] | None = None, source: str | None = None) -> Plan:
    """Phase 2: resolve and validate every component of ``recipe`` (read from ``source``); see the module
    docstring. ``run_dir`` is where resources the task makes (a language model) will be, for the decoders.
    """
    import torch

    found = _Collector()
    task = _task(found, recipe)
    datasets = _datasets(found, recipe)
    rate = recipe.features.sample_rate if recipe.features is not None else None
    features = _pipeline(found, "features.steps", rate, recipe.features.steps if recipe.features else [])
    out_rate = features.output_sample_rate if features is not None else rate
    augment = _pipeline(found, "augment", out_rate, recipe.augment)
    model = found.component(recipe.model, "model", "model")
    if model is not None and task is not None:
        found.problems += [f"{model.location}.{problem}" for problem in task.check_model(model.name, model.params)]
    loss = found.component(recipe.loss, "loss", "loss")
    defaults = task.decoder_defaults(Path(run_dir or ".")) if task is not None else {}
    labels = _labels(recipe.decoders)
    decoders = {}
    for index, (label, component) in enumerate(zip(labels, recipe.decoders, strict=True)):
        resolved = found.component(component, "decoder", f"decoders[{index}]", defaults)
        if resolved is not None:
            decoders[label] = resolved
    optimizer = _torch_class(found, recipe.optimizer, "optimizer", torch.optim, torch.optim.Optimizer, "params")
    scheduler = None
    if recipe.scheduler is not None:
        module = torch.optim.lr_scheduler
        scheduler = _torch_class(found, recipe.scheduler, "scheduler", module, module.LRScheduler, "optimizer")
    available = task.metric_names(labels) if task is not None else []
    metrics = list(recipe.metrics) if recipe.metrics is not None else available
    for metric in metrics:
        if task is not None and metric not in available:
            found.add("metrics", f"{metric!r} is not a metric of the {task.name} task; it has {', '.join(available)}")
    _checks(found, recipe, task, features)
    if found.problems:
        raise RecipeConfigError(found.problems, source)
    return Plan(
        recipe,
        cast(Task, task),
        datasets,
        features,
        augment,
        cast(Resolved, model),
        cast(Resolved, loss),
        decoders,
        cast(Resolved, optimizer),
        scheduler,
        metrics,
    )
