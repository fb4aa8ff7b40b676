"""The training loop: epochs of bucketed batches, mixed precision, accumulation, clipping, non-finite losses
skipped, validation, checkpoints, resumption, logs and ``results.json``.

The same code runs as one process or as several under ``torchrun`` (DistributedDataParallel): every rank
sees the same number of batches, a step is skipped on every rank when any rank's loss is not finite, and
validation totals are summed over the ranks. Resuming from a checkpoint continues exactly where it was
written: the data order, each example's random choices and the generators' states are restored, so on the
CPU in deterministic mode an interrupted and resumed run computes the same losses as an uninterrupted one.

Example (a shell)::

    $ tympan train recipes/speech_commands.yaml --set training.epochs=2
    $ torchrun --nproc-per-node=2 -m tympan train recipes/speech_commands.yaml --resume
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from tympan.core.errors import RunStateError, TrainingError
from tympan.training import state as run_state
from tympan.training.build import Run
from tympan.training.distributed import World
from tympan.training.logs import RunLog
from tympan.training.resolve import Plan
from tympan.training.tasks.base import Batch, Sample, Totals

__all__ = ["Trainer"]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _to(batch: Batch, device: torch.device) -> Batch:
    return {key: value.to(device, non_blocking=True) if isinstance(value, torch.Tensor) else value
            for key, value in batch.items()}  # fmt: skip


def _timed(loader: Any) -> Iterator[tuple[Batch, float]]:
    """The loader's batches, each with the seconds spent waiting for it."""
    iterator = iter(loader)
    while True:
        started = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            return
        yield batch, time.perf_counter() - started


class Trainer:
    """Runs one recipe's training; see the module docstring.

    ``progress`` holds where the run is: ``epoch``, ``batch`` (done in that epoch), ``step`` (optimiser
    steps), ``bad`` (non-finite losses in a row) and ``history`` (validation results).
    """

    def __init__(self, plan: Plan, run: Run, world: World, run_dir: Path, fingerprint: str) -> None:
        self.plan, self.run, self.world, self.run_dir = plan, run, world, run_dir
        self.training = plan.recipe.training
        self.fingerprint = fingerprint
        self.autocast_dtype = _DTYPES.get(self.training.precision)
        self.scaler = torch.amp.GradScaler(world.device.type, enabled=self.training.precision == "fp16")
        self.progress: dict[str, Any] = {"epoch": 0, "batch": 0, "step": 0, "bad": 0, "history": []}
        self.log: RunLog | None = None
        self.timing = {"audio_seconds": 0.0, "wait": 0.0, "busy": 0.0}
        self.totals_timing = {"audio": 0.0, "wait": 0.0, "busy": 0.0}
        self.micro = 0

    # -- run state -----------------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        run = self.run
        return {
            "fingerprint": self.fingerprint,
            "progress": dict(self.progress),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "world_size": self.world.size,
        }

    def checkpoint(self) -> Path | None:
        """Write the run state at the current step (rank 0 publishes it); ``None`` if it could not be written."""
        step, world = self.progress["step"], self.world
        failed = False
        if not world.is_main:
            try:
                run_state.write_rng(self.run_dir, step, world.rank, run_state.rng_state())
            except OSError as err:
                failed = True
                self._warn(f"rank {world.rank} could not write its generators for step {step}: {err}")
        failed = world.any(failed)
        folder = None
        if world.is_main:
            try:
                if failed:
                    raise OSError("another rank failed to write its part")
                metadata = {"tympan.component": self.plan.model.name, "tympan.fingerprint": self.fingerprint}
                folder = run_state.write_checkpoint(
                    self.run_dir,
                    step,
                    {"model": self.run.module.state_dict()},
                    self._state(),
                    {0: run_state.rng_state()},
                    keep=self.training.keep_checkpoints,
                    metadata=metadata,
                )
            except OSError as err:
                run_state.discard_staging(self.run_dir, step)
                self._warn(f"checkpoint at step {step} not written ({err}); the previous one is intact")
        world.barrier()
        return folder

    def resume(self, folder: Path) -> None:
        """Continue from checkpoint ``folder``: weights, optimiser, schedule, scaler, generators, progress."""
        weights, saved, generators = run_state.read_checkpoint(folder, self.world.rank)
        if saved.get("fingerprint") != self.fingerprint:
            raise RunStateError(folder, "written by a recipe with another task, model or features")
        try:
            self.run.module.load_state_dict(weights)
            self.run.optimizer.load_state_dict(saved["optimizer"])
            if self.run.scheduler is not None and saved.get("scheduler") is not None:
                self.run.scheduler.load_state_dict(saved["scheduler"])
            self.scaler.load_state_dict(saved["scaler"])
        except (RuntimeError, KeyError, ValueError) as err:
            raise RunStateError(folder, f"does not fit this run: {err}") from None
        self.progress = dict(saved["progress"])
        if generators is not None and saved.get("world_size") == self.world.size:
            run_state.restore_rng(generators)
        else:
            self._warn(f"{folder}: no generator state for rank {self.world.rank} of {self.world.size}; reseeded")

    # -- training ------------------------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        warnings.warn(message, stacklevel=3)
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def _forward(self, batch: Batch) -> tuple[Any, torch.Tensor]:
        device = self.world.device
        enabled = self.autocast_dtype is not None
        with torch.autocast(device.type, dtype=self.autocast_dtype or torch.float32, enabled=enabled):
            outputs = self.run.trained(batch)
            loss = self.plan.task.loss(outputs, batch, self.run.loss)
        return outputs, loss

    def _optimizer_step(self) -> None:
        run = self.run
        if self.training.grad_clip is not None:
            self.scaler.unscale_(run.optimizer)
            torch.nn.utils.clip_grad_norm_(run.module.parameters(), self.training.grad_clip)
        self.scaler.step(run.optimizer)
        self.scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
        if run.scheduler is not None:
            run.scheduler.step()
        self.progress["step"] += 1

    def _train_batch(self, batch: Batch, last_of_epoch: bool) -> float | None:
        """Forward, and backward unless some rank's batch was empty or its loss not finite; the loss or ``None``."""
        run, world = self.run, self.world
        loss = self._forward(_to(batch, world.device))[1] if batch else None
        value = float(loss.detach()) if loss is not None else None
        bad = value is not None and not math.isfinite(value)
        if bad:
            ids = ", ".join(batch.get("id", []))
            self._warn(f"step {self.progress['step']}: non-finite loss {value:g}; skipped the batch of {ids}")
        any_bad, any_empty = world.sum([float(bad), float(loss is None)])
        if (
            loss is None or value is None or any_bad or any_empty
        ):  # every rank skips the same steps, so their gradients stay in step
            run.optimizer.zero_grad(set_to_none=True)
            self.micro = 0
            self.progress["bad"] += 1 if any_bad else 0
            if self.progress["bad"] >= self.training.max_bad_steps:
                raise TrainingError(
                    f"step {self.progress['step']}: {self.progress['bad']} non-finite losses in a row "
                    "(training.max_bad_steps); stopping. Check the data of the batches reported above, lower the "
                    "learning rate, or train in fp32"
                )
            return None
        self.progress["bad"] = 0
        self.micro += 1
        sync = self.micro >= self.training.accumulate or last_of_epoch
        no_sync = getattr(run.trained, "no_sync", None)
        with contextlib.nullcontext() if sync or no_sync is None else no_sync():
            self.scaler.scale(loss / self.training.accumulate).backward()  # type: ignore[no-untyped-call]
        if sync:
            self._optimizer_step()
            self.micro = 0
        return value

    def _log_train(self, losses: list[float]) -> None:
        timing = self.timing
        count, total, audio, wait, busy = self.world.sum(
            [len(losses), sum(losses), timing["audio_seconds"], timing["wait"], timing["busy"]]
        )
        values = {
            "train/loss": total / max(count, 1),
            "train/lr": self.run.optimizer.param_groups[0]["lr"],
            "train/audio_seconds_per_second": audio / max(wait + busy, 1e-9) * self.world.size,
            "train/loader_wait_fraction": wait / max(wait + busy, 1e-9),
        }
        if self.log is not None:
            self.log.scalars(self.progress["step"], values)
        for key, value in (("audio", audio), ("wait", wait), ("busy", busy)):
            self.totals_timing[key] += value
        self.timing = {"audio_seconds": 0.0, "wait": 0.0, "busy": 0.0}

    def _epoch(self, epoch: int) -> bool:
        """One epoch (or its rest); returns whether ``max_steps`` was reached."""
        run, loader = self.run, self.run.loaders["train"]
        sampler = loader.batch_sampler
        sampler.set_epoch(epoch)  # type: ignore[union-attr]
        sampler.start_at(self.progress["batch"])  # type: ignore[union-attr]
        run.examples["train"].epoch = epoch
        run.trained.train()
        total = len(loader)
        bar = self.log.progress(f"epoch {epoch + 1}/{self.training.epochs}", total) if self.log else None
        losses: list[float] = []
        for batch, wait in _timed(loader):
            busy_start = time.perf_counter()
            self.progress["batch"] += 1
            loss = self._train_batch(batch, self.progress["batch"] == total)
            self.timing["wait"] += wait
            self.timing["busy"] += time.perf_counter() - busy_start
            self.timing["audio_seconds"] += float(sum(batch.get("seconds", [])))
            if loss is not None:
                losses.append(loss)
                if bar is not None:
                    bar.update(loss)
            stepped = self.micro == 0 and loss is not None
            if stepped and self.progress["step"] % self.training.log_every == 0:
                self._log_train(losses)
                losses = []
            every = self.training.checkpoint_every
            if stepped and every is not None and self.progress["step"] % every == 0:
                self.checkpoint()
            if self.training.max_steps is not None and self.progress["step"] >= self.training.max_steps:
                break
        if bar is not None:
            bar.close()
        if losses:
            self._log_train(losses)
        return self.training.max_steps is not None and self.progress["step"] >= self.training.max_steps

    # -- evaluation ----------------------------------------------------------------------------------------

    def evaluate(self, split: str, decoders: Mapping[str, torch.nn.Module]) -> dict[str, float]:
        """The task's metrics on ``split`` (summed over the ranks); rank 0 logs a few examples."""
        run, task = self.run, self.plan.task
        run.module.eval()
        totals, samples = Totals(), list[Sample]()
        with torch.no_grad():
            for batch in run.loaders[split]:
                if not batch:
                    continue
                batch = _to(batch, self.world.device)
                with torch.autocast(
                    self.world.device.type,
                    dtype=self.autocast_dtype or torch.float32,
                    enabled=bool(self.autocast_dtype),
                ):
                    outputs = run.module(batch)
                shown = task.evaluate(outputs, batch, run.loss, decoders, totals)
                samples += shown[: max(0, self.plan.recipe.logging.audio_samples - len(samples))]
        names = task.metric_names(list(decoders))
        pairs = [value for name in names for value in totals.sums.get(name, [0.0, 0.0])]
        summed = self.world.sum(pairs)
        merged = Totals({name: summed[2 * i : 2 * i + 2] for i, name in enumerate(names)})
        if self.log is not None:
            self.log.samples(self.progress["step"], split, samples[: self.plan.recipe.logging.audio_samples])
        run.module.train()
        return merged.rates()

    def _validate(self, final: bool) -> dict[str, float] | None:
        """Evaluate the valid split and record it under the epochs completed so far (0: the initial weights)."""
        if "valid" not in self.run.loaders:
            return None
        decoders = self.run.decoders if final else dict(list(self.run.decoders.items())[:1])
        metrics = self.evaluate("valid", decoders)
        if self.log is not None:
            self.log.scalars(self.progress["step"], {f"valid/{k}": v for k, v in metrics.items()})
        self.progress["history"].append({"epoch": self.progress["epoch"], "step": self.progress["step"], **metrics})
        return metrics

    # -- the whole run -------------------------------------------------------------------------------------

    def fit(self, resume_from: Path | None = None) -> dict[str, Any]:
        """Train to the end (from a checkpoint when given); evaluate; write the results. Returns them."""
        if resume_from is not None:
            self.resume(resume_from)
        if self.world.is_main:
            logging = self.plan.recipe.logging
            resumed = self.progress["step"] if resume_from is not None else None
            self.log = RunLog(self.run_dir, logging.tensorboard, logging.progress, resumed)
        try:
            return self._fit()
        finally:
            if self.log is not None:
                self.log.close()

    def _fit(self) -> dict[str, Any]:
        started = time.perf_counter()
        epochs = self.training.epochs
        done = False
        if self.training.validate_first and self.progress["step"] == 0 and not self.progress["history"]:
            self._validate(final=False)
        while self.progress["epoch"] < epochs and not done:
            epoch = self.progress["epoch"]
            done = self._epoch(epoch)
            finished_epoch = self.progress["batch"] >= len(self.run.loaders["train"])
            if finished_epoch:
                self.progress["epoch"], self.progress["batch"] = epoch + 1, 0
            last = done or self.progress["epoch"] >= epochs
            if finished_epoch and ((epoch + 1) % self.training.validate_every == 0) and not last:
                self._validate(final=False)
            if finished_epoch and not last:
                self.checkpoint()
        results = self._final(time.perf_counter() - started)
        self.checkpoint()
        return results

    def _final(self, seconds: float) -> dict[str, Any]:
        final_valid = self._validate(final=True)
        test = self.evaluate("test", self.run.decoders) if "test" in self.run.loaders else None
        if test is not None and self.log is not None:
            self.log.scalars(self.progress["step"], {f"test/{k}": v for k, v in test.items()})
        timing = self.totals_timing
        elapsed = max(timing["wait"] + timing["busy"], 1e-9)  # summed over the ranks
        results = {
            "recipe": self.plan.recipe.description,
            "steps": self.progress["step"],
            "epochs": self.progress["epoch"],
            "world_size": self.world.size,
            "seconds": seconds,
            "audio_seconds_per_second": timing["audio"] / elapsed * self.world.size,
            "audio_seconds_per_second_per_process": timing["audio"] / elapsed,
            "loader_wait_fraction": timing["wait"] / elapsed,
            "valid": _selected(final_valid, self.plan.metrics),
            "test": _selected(test, self.plan.metrics),
            "history": self.progress["history"],
        }
        if self.world.is_main:
            from tympan.training.logs import write_results

            write_results(self.run_dir, results)
        return results


def _selected(metrics: Mapping[str, float] | None, names: list[str]) -> dict[str, float] | None:
    if metrics is None:
        return None
    return {name: value for name, value in metrics.items() if name in names}
