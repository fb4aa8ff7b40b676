"""``train``: a recipe file to a trained model, as one process or one rank of ``torchrun``.

Example (a shell)::

    $ tympan train recipes/speech_commands.yaml --set training.epochs=2 --run-dir runs/kws
    $ torchrun --nproc-per-node=2 -m tympan train recipes/speech_commands.yaml --smoke
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from tympan.core.cores import loader_workers, usable_cores
from tympan.core.errors import RunStateError
from tympan.training import state as run_state
from tympan.training.recipe import Recipe, read_recipe
from tympan.training.resolve import resolve

__all__ = ["fingerprint", "train"]


def fingerprint(recipe: Recipe) -> str:
    """A digest of what a checkpoint's weights depend on: the task, the features and the model.

    Example:
        >>> from tympan.training.recipe import parse_recipe
        >>> base = {"task": "ctc", "data": {"train": "data:librispeech"}, "loss": "loss:ctc",
        ...         "optimizer": "Adam", "model": {"asr:wav2letter": {}}}
        >>> fingerprint(parse_recipe(base)) == fingerprint(parse_recipe({**base, "training": {"epochs": 3}}))
        True
    """
    parts = {
        "task": recipe.task.to_config(),
        "features": recipe.features.model_dump() if recipe.features else None,
        "model": recipe.model.to_config(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _resume_folder(run_dir: Path, resume: bool | str | os.PathLike[str]) -> Path | None:
    if resume is False:
        return None
    if resume is True:
        folder = run_state.latest_checkpoint(run_dir)
        if folder is None:
            raise RunStateError(run_dir, "no checkpoint to resume from (checkpoints/latest is missing)")
        return folder
    return Path(resume)


def cpu_threads(cores: int, processes: int, workers: int) -> int:
    """Intra-op threads for one of ``processes`` training processes sharing ``cores`` CPU cores, each with
    ``workers`` loader workers (one thread each) beside it: at least one, never more threads than cores.

    More threads than free cores make every small operation wait for a descheduled thread; on a busy 2-core
    machine 2 threads beside a loader worker ran the keyword-spotting step about 5 times slower than 1.

    Example:
        >>> cpu_threads(cores=2, processes=1, workers=1), cpu_threads(16, 2, 2), cpu_threads(2, 2, 1)
        (1, 6, 1)
    """
    return max(1, cores // max(processes, 1) - workers)


@contextlib.contextmanager
def _configured(recipe: Recipe) -> Iterator[None]:
    """The recipe's intra-op threads and determinism for the run; the caller's settings again afterwards."""
    threads = recipe.training.threads
    device = recipe.training.device
    on_cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    if threads is None and on_cpu:
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        threads = cpu_threads(usable_cores(), processes, loader_workers(recipe.data.num_workers))
    before = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if threads is not None:
        torch.set_num_threads(threads)
    if recipe.training.deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def train(
    recipe: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    *,
    smoke: bool = False,
    run_dir: str | os.PathLike[str] | None = None,
    resume: bool | str | os.PathLike[str] = False,
) -> dict[str, Any]:
    """Train ``recipe`` (a file) with ``overrides`` (``key.path=value``); return the results.

    ``smoke`` applies the recipe's ``smoke`` assignments first. ``run_dir`` (default ``runs/<recipe name>``)
    receives checkpoints, logs, ``results.json`` and ``model.safetensors``. ``resume`` continues from the
    run's latest checkpoint (``True``) or from a given checkpoint folder. Every name and parameter is
    validated before any data is read or process group started
    (:class:`~tympan.core.errors.RecipeConfigError`).
    """
    from tympan.training.build import build_run
    from tympan.training.distributed import setup
    from tympan.training.trainer import Trainer

    parsed, config = read_recipe(recipe, overrides, smoke)
    folder = Path(run_dir) if run_dir is not None else Path("runs") / Path(recipe).stem
    plan = resolve(parsed, folder, os.fspath(recipe))
    start = _resume_folder(folder, resume)
    with _configured(parsed):
        world = setup(parsed.training.device)
        try:
            if world.is_main:
                folder.mkdir(parents=True, exist_ok=True)
                from tympan.core.files import atomic_write

                with atomic_write(folder / "recipe.json") as handle:
                    handle.write(json.dumps(config, indent=2, default=str).encode())
            world.barrier()
            run = build_run(plan, world, folder)
            trainer = Trainer(plan, run, world, folder, fingerprint(parsed))
            results = trainer.fit(start)
            if world.is_main:
                run_state.export_model(folder / "model.safetensors", run.module, plan.model.name, plan.model.params)
            world.barrier()
            return results
        finally:
            world.close()
