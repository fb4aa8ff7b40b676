"""Building a run from a :class:`~tympan.training.resolve.Plan`: corpora, loaders, model, loss, decoders,
optimiser and schedule, on the process's device.

Example:
    >>> planned_steps(batches=10, epochs=3, accumulate=4, max_steps=None), planned_steps(10, 3, 1, 5)
    (9, 5)
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tympan.core.errors import RecipeConfigError
from tympan.plugins.datasets.batching import durations_of
from tympan.training.data import Examples, make_loader, synthesize_missing
from tympan.training.distributed import World
from tympan.training.resolve import Plan

__all__ = ["Run", "build_run", "planned_steps"]

#: Scheduler parameters that take the run's length, filled in when the recipe leaves them out.
_LENGTH_PARAMETERS = ("total_steps", "T_max", "total_iters")


@dataclasses.dataclass
class Run:
    """Everything a run trains with.

    Example:
        >>> sorted(Run.__dataclass_fields__)[:4]
        ['corpora', 'decoders', 'examples', 'loaders']
    """

    corpora: dict[str, Any]
    examples: dict[str, Examples]
    loaders: dict[str, torch.utils.data.DataLoader[Any]]
    module: nn.Module
    trained: nn.Module
    loss: nn.Module
    decoders: dict[str, nn.Module]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    total_steps: int


def planned_steps(batches: int, epochs: int, accumulate: int, max_steps: int | None) -> int:
    """Optimiser steps of a run: ``epochs`` passes of ``batches`` batches, ``accumulate`` batches a step, at most
    ``max_steps``."""
    steps = epochs * math.ceil(batches / accumulate)
    return min(steps, max_steps) if max_steps is not None else steps


def _time_dim(features: nn.Module, rate: int) -> tuple[list[int], int]:
    """The shape of one second's features and where time runs in them (a negative index)."""
    with torch.no_grad():
        short, long = features(torch.zeros(1, rate // 2)), features(torch.zeros(1, rate))
    changed = [axis for axis in range(long.dim()) if short.shape[axis] != long.shape[axis]]
    axis = changed[-1] if changed else long.dim() - 1
    return list(long.shape), axis - long.dim()


def _corpora(plan: Plan, world: World) -> dict[str, Any]:
    data = plan.recipe.data
    if data.synthesize is not None and data.root is not None:
        if world.is_main:
            synthesize_missing(Path(data.root), data.synthesize)
        world.barrier()
    return {split: resolved.build() for split, resolved in plan.datasets.items()}


def _check_rate(plan: Plan, corpus: Any) -> None:
    features = plan.recipe.features
    if features is None or not len(corpus):
        return
    rate = corpus.metadata(0).sample_rate
    if rate != features.sample_rate:
        where = plan.datasets["train"].location
        raise RecipeConfigError(
            [f"features.sample_rate: {features.sample_rate} Hz, but {where} holds {rate} Hz audio (resample it there)"]
        )


def _scheduler(plan: Plan, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    if plan.scheduler is None:
        return None
    accepted = inspect.signature(plan.scheduler.target).parameters
    extra = {name: total_steps for name in _LENGTH_PARAMETERS if name in accepted and name not in plan.scheduler.params}
    try:
        return plan.scheduler.build(optimizer, **extra)
    except (ValueError, ZeroDivisionError) as err:
        reason = f"cannot schedule a run of {total_steps} optimiser step(s): {type(err).__name__}: {err}"
        raise RecipeConfigError([f"{plan.scheduler.location}: {reason}"]) from None


def build_run(plan: Plan, world: World, run_dir: Path) -> Run:
    """Construct the run of ``plan`` on ``world``'s device (rank 0 prepares the task's resources)."""
    recipe, task = plan.recipe, plan.task
    corpora = _corpora(plan, world)
    _check_rate(plan, corpora["train"])
    if plan.features is not None and recipe.features is not None:
        plan.features.eval()
        task.set_feature_shape(*_time_dim(plan.features, recipe.features.sample_rate))
    if world.is_main:
        train = corpora["train"]
        task.prepare((train.metadata(i) for i in range(len(train))), run_dir)
    world.barrier()
    seed, data = recipe.training.seed, recipe.data
    examples, loaders = {}, {}
    for split, corpus in corpora.items():
        training = split == "train"
        examples[split] = Examples(corpus, task, plan.features, plan.augment, training, seed)
        if data.keep_examples:
            examples[split].keep()
        durations = [task.seconds(d, training) for d in durations_of(corpus)]
        loaders[split] = make_loader(
            examples[split],
            durations,
            data.max_seconds,
            shuffle=training,
            rank=world.rank,
            world=world.size,
            num_workers=data.num_workers,
            num_buckets=data.num_buckets,
            seed=seed,
        )
    torch.manual_seed(seed)  # the same initial weights on every rank
    module = task.wrap(plan.model.build()).to(world.device)
    trained: nn.Module = module
    if world.distributed:
        ids = [world.device.index] if world.device.type == "cuda" else None
        trained = nn.parallel.DistributedDataParallel(module, device_ids=ids)
    torch.manual_seed(seed + 1_000_003 * (world.rank + 1))  # dropout differs between ranks
    loss = plan.loss.build().to(world.device)
    decoders = {label: resolved.build() for label, resolved in plan.decoders.items()}
    optimizer = plan.optimizer.build(module.parameters())
    total = planned_steps(
        len(loaders["train"]), recipe.training.epochs, recipe.training.accumulate, recipe.training.max_steps
    )
    scheduler = _scheduler(plan, optimizer, total)
    return Run(corpora, examples, loaders, module, trained, loss, decoders, optimizer, scheduler, total)
