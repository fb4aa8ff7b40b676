"""Run state: checkpoints written atomically, read back without running pickled code.

A checkpoint is a folder ``checkpoints/step-<N>/`` holding

- ``weights.safetensors``: the trained module's tensors (safetensors: no code, memory-mapped);
- ``state.pt``: the optimiser, LR scheduler and gradient scaler states, the progress (epoch, batch, step,
  counters, validation history) and a fingerprint of the recipe's model, as plain tensors, numbers,
  strings, lists and dicts; read with ``torch.load(weights_only=True)``, which refuses anything else;
- ``rng-<rank>.pt``: each rank's random generators (torch, CUDA, Python, NumPy) as plain values.

It is written into a hidden folder beside its final place and renamed when complete, then ``latest`` is
replaced atomically: a failure (a full disk) leaves the previous checkpoint and ``latest`` untouched.
Older checkpoints beyond ``keep`` are removed only after a new one is in place.

Example:
    >>> import pathlib, tempfile
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> model = torch.nn.Linear(2, 1)
    >>> folder = write_checkpoint(run, 7, {"model": model.state_dict()}, {"progress": {"step": 7}}, {0: rng_state()})
    >>> folder.name, latest_checkpoint(run) == folder
    ('step-000000007', True)
    >>> read_checkpoint(folder, rank=0)[1]["progress"]
    {'step': 7}
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tympan.core.errors import RunStateError
from tympan.core.files import atomic_write

__all__ = [
    "discard_staging",
    "export_model",
    "latest_checkpoint",
    "read_checkpoint",
    "restore_rng",
    "rng_state",
    "staging_folder",
    "write_checkpoint",
    "write_rng",
]

WEIGHTS, STATE, LATEST = "weights.safetensors", "state.pt", "latest"


def rng_state() -> dict[str, Any]:
    """This process's random generators as plain values (what ``weights_only`` loading accepts).

    Example:
        >>> state = rng_state(); x = torch.rand(1); restore_rng(state); bool(torch.rand(1) == x)
        True
    """
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), position, has_gauss, cached],
    }


def restore_rng(state: Mapping[str, Any]) -> None:
    """Put back the generators :func:`rng_state` recorded."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))  # type: ignore[arg-type]


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _save_torch(value: Any, path: Path) -> None:
    torch.save(value, path)
    _fsync(path)


def staging_folder(run_dir: Path, step: int) -> Path:
    """Where checkpoint ``step`` is written before it is complete (every rank writes its RNG there)."""
    return run_dir / "checkpoints" / f".step-{step:09d}.partial"


def write_rng(run_dir: Path, step: int, rank: int, state: Mapping[str, Any]) -> None:
    """Write one rank's generators into checkpoint ``step``'s staging folder."""
    folder = staging_folder(run_dir, step)
    folder.mkdir(parents=True, exist_ok=True)
    _save_torch(dict(state), folder / f"rng-{rank}.pt")


def write_checkpoint(
    run_dir: Path,
    step: int,
    tensors: Mapping[str, Mapping[str, torch.Tensor]],
    state: Mapping[str, Any],
    rng: Mapping[int, Mapping[str, Any]] | None = None,
    keep: int = 2,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Complete checkpoint ``step``: ``tensors["model"]`` as safetensors, ``state`` as plain values, the
    ``rng`` states of the ranks given (others already written by :func:`write_rng`); then publish it.

    On any error the staging folder is removed and the error raised; the previous checkpoint stays.
    """
    from safetensors.torch import save

    folder = staging_folder(run_dir, step)
    final = run_dir / "checkpoints" / f"step-{step:09d}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for rank, generators in (rng or {}).items():
            _save_torch(dict(generators), folder / f"rng-{rank}.pt")
        weights = {name: tensor.detach().cpu().clone() for name, tensor in tensors["model"].items()}
        (folder / WEIGHTS).write_bytes(save(weights, metadata=dict(metadata or {})))
        _fsync(folder / WEIGHTS)
        _save_torch(dict(state), folder / STATE)
        if final.exists():
            shutil.rmtree(final)
        os.replace(folder, final)
        with atomic_write(run_dir / "checkpoints" / LATEST) as handle:
            handle.write(final.name.encode())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _prune(run_dir / "checkpoints", keep)
    return final


def _prune(folder: Path, keep: int) -> None:
    done = sorted(path for path in folder.glob("step-*") if path.is_dir())
    for old in done[: max(0, len(done) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def discard_staging(run_dir: Path, step: int) -> None:
    """Remove checkpoint ``step``'s staging folder (after a rank failed to write into it)."""
    shutil.rmtree(staging_folder(run_dir, step), ignore_errors=True)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``latest`` names in ``run_dir``, or ``None`` when there is none."""
    pointer = run_dir / "checkpoints" / LATEST
    with contextlib.suppress(FileNotFoundError):
        name = pointer.read_text(encoding="utf-8").strip()
        if name.startswith("step-") and "/" not in name and (pointer.parent / name).is_dir():
            return pointer.parent / name
    return None


def _load(path: Path) -> Any:
    if not path.is_file():
        raise RunStateError(path.parent, f"{path.name} is missing")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError... on a bad or unsafe file
        raise RunStateError(path, f"not a plain-data checkpoint file (nothing in it was run): {err}") from None


def read_checkpoint(folder: Path, rank: int) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any] | None]:
    """The weights, the state and this rank's generators (``None`` if that rank wrote none) of a checkpoint.

    Raises :class:`~tympan.core.errors.RunStateError` naming the folder and what is wrong.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not folder.is_dir():
        raise RunStateError(folder, "no such checkpoint folder")
    if not (folder / WEIGHTS).is_file():
        raise RunStateError(folder, f"model weights missing: {WEIGHTS}")
    try:
        weights = load_file(folder / WEIGHTS)
    except (SafetensorError, OSError, ValueError) as err:
        raise RunStateError(folder / WEIGHTS, f"unreadable weights: {err}") from None
    state = _load(folder / STATE)
    if not isinstance(state, dict):
        raise RunStateError(folder / STATE, f"expected a mapping, found a {type(state).__name__}")
    rng_path = folder / f"rng-{rank}.pt"
    return weights, state, _load(rng_path) if rng_path.is_file() else None


def export_model(path: Path, module: torch.nn.Module, component: str, params: Mapping[str, Any]) -> None:
    """Write the registry model inside ``module`` (its ``model`` attribute) as safetensors, with its component
    name and parameters in the metadata (``tympan.component``, ``tympan.params``), atomically; the task's
    own layers, if any, go in the same file under ``task.``.

    Example:
        >>> import json, pathlib, tempfile
        >>> from safetensors import safe_open
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
        >>> wrapper = torch.nn.Module(); wrapper.model = torch.nn.Linear(2, 2)
        >>> export_model(path, wrapper, "acme:linear", {"in_features": 2})
        >>> with safe_open(path, "pt") as f: sorted(f.keys()), f.metadata()["tympan.component"]
        (['bias', 'weight'], 'acme:linear')
    """
    import json

    from safetensors.torch import save

    tensors = {}
    for name, tensor in module.state_dict().items():
        key = name[len("model.") :] if name.startswith("model.") else f"task.{name}"
        tensors[key] = tensor.detach().cpu().clone()
    metadata = {"tympan.component": component, "tympan.params": json.dumps(dict(params), default=str)}
    with atomic_write(path) as handle:
        handle.write(save(tensors, metadata=metadata))
