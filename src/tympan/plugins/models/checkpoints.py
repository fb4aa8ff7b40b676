"""Model checkpoints: safetensors by default, never pickled code.

- :func:`save_weights` writes a model's tensors (dtypes kept) to a ``.safetensors`` file with the component's
  qualified name and full parameters in its metadata (``tympan.component``, ``tympan.params`` as JSON),
  atomically.
- :func:`load_weights` loads a checkpoint into a model strictly: missing, unexpected or wrongly shaped
  tensors are a :class:`~tympan.core.errors.CheckpointError` listing each, and nothing is loaded.
- :func:`load` rebuilds the model by name from the metadata and loads its weights.

Besides safetensors, :func:`read_state_dict` reads PyTorch files (``.pt``, ``.pth``, ``.bin``, as
torchaudio's state dicts are) only through ``torch.load(weights_only=True)``: a file that needs more (a
pickle that would import or call code) is refused with a :class:`~tympan.core.errors.CheckpointError` and
none of its code runs.

Example:
    >>> import pathlib, tempfile
    >>> from tympan.plugins.models import Wav2Letter
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w2l.safetensors"
    >>> save_weights(Wav2Letter(num_classes=5, input_type="mfcc", num_features=13), path)
    >>> model = load(path)
    >>> type(model).__name__, model.tympan_params["num_classes"]
    ('Wav2Letter', 5)
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tympan.core.errors import CheckpointError
from tympan.core.files import atomic_write
from tympan.plugins.models._component import COMPONENT_ATTRIBUTE, PARAMS_ATTRIBUTE

__all__ = [
    "COMPONENT_KEY",
    "PARAMS_KEY",
    "load",
    "load_state_dict_strictly",
    "load_weights",
    "read_metadata",
    "read_state_dict",
    "save_weights",
]

#: The safetensors metadata key holding the component's qualified name.
COMPONENT_KEY = "tympan.component"

#: The safetensors metadata key holding the component's parameters as JSON.
PARAMS_KEY = "tympan.params"

_ZIP_MAGIC = b"PK\x03\x04"
_LISTED = 8  # names shown per kind of mismatch


def _storage_key(tensor: torch.Tensor) -> tuple[int, int]:
    return tensor.untyped_storage().data_ptr(), tensor.storage_offset()


def _tensors_to_save(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors; a tensor sharing storage with an earlier one (tied weights) is copied."""
    seen: set[tuple[int, int]] = set()
    tensors = {}
    for name, tensor in state.items():
        value = tensor.detach().to("cpu").contiguous()
        key = _storage_key(value)
        if key in seen:
            value = value.clone()
        seen.add(_storage_key(value))
        tensors[name] = value
    return tensors


def save_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    component: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Write ``model``'s state dict to the safetensors file ``path`` with its component name and parameters.

    The name and parameters are those the model was built with (``tympan_component`` / ``tympan_params``,
    recorded by every first-party model) unless ``component`` / ``params`` give them; a model with neither
    is saved without them (:func:`load_weights` reads it, :func:`load` cannot rebuild it).

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "linear.safetensors"
        >>> save_weights(torch.nn.Linear(2, 2), path)
        >>> sorted(read_state_dict(path))
        ['bias', 'weight']
    """
    from safetensors.torch import save

    metadata = {"format": "pt"}
    name = component or getattr(model, COMPONENT_ATTRIBUTE, None)
    values = params if params is not None else getattr(model, PARAMS_ATTRIBUTE, None)
    if name:
        metadata[COMPONENT_KEY] = str(name)
    if values is not None:
        try:
            metadata[PARAMS_KEY] = json.dumps(dict(values), sort_keys=True)
        except (TypeError, ValueError) as err:
            raise CheckpointError(path, f"parameters cannot be stored as JSON: {err}") from None
    data = save(_tensors_to_save(model.state_dict()), metadata=metadata)
    with atomic_write(path) as handle:
        handle.write(data)


def _is_safetensors(path: Path) -> bool:
    """Whether the file starts like safetensors: an 8-byte header length then a JSON object."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 1 < length <= path.stat().st_size - 8 and head[8:9] == b"{"


def _read_torch(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            path,
            "the file holds pickled objects that torch.load(weights_only=True) refuses; none of its code was "
            f"run ({_refusal(err)})",
        ) from None
    except Exception as err:  # torch.load raises many kinds (RuntimeError, EOFError, zip and safetensors errors)
        raise CheckpointError(path, f"not a readable PyTorch checkpoint: {type(err).__name__}: {err}") from None


def _refusal(error: pickle.UnpicklingError) -> str:
    """What ``weights_only`` refused (``Unsupported global: GLOBAL os.system ...``), without its advice."""
    for line in str(error).splitlines():
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].strip().split(". ")[0]
    return type(error).__name__


def _tensor_mapping(loaded: Any, path: Path) -> dict[str, torch.Tensor]:
    """The state dict inside what ``torch.load`` returned (the object itself, or its ``state_dict`` entry)."""
    if isinstance(loaded, Mapping) and not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), Mapping):
                loaded = loaded[key]
                break
    if not isinstance(loaded, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
    ):
        raise CheckpointError(path, f"holds a {type(loaded).__name__}, not a state dict of named tensors")
    return dict(loaded)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The named tensors of a safetensors or PyTorch checkpoint, on the CPU, whatever the file's suffix.

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.pt"
        >>> torch.save({"weight": torch.ones(2)}, path)
        >>> read_state_dict(path)["weight"].tolist()
        [1.0, 1.0]
    """
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(source, "no such file")
    if _is_safetensors(source):
        from safetensors.torch import load_file

        try:
            return load_file(source, device="cpu")
        except Exception as err:  # safetensors raises its own SafetensorError, or OSError
            raise CheckpointError(source, f"not a readable safetensors file: {err}") from None
    return _tensor_mapping(_read_torch(source), source)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file (empty for a PyTorch file, which has none).

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
        >>> save_weights(torch.nn.Linear(1, 1), path, component="acme:linear", params={"n": 1})
        >>> read_metadata(path)["tympan.component"]
        'acme:linear'
    """
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(source, "no such file")
    if not _is_safetensors(source):
        return {}
    from safetensors import safe_open

    try:
        with safe_open(source, framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception as err:  # SafetensorError
        raise CheckpointError(source, f"not a readable safetensors file: {err}") from None


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def load_state_dict_strictly(model: nn.Module, state: Mapping[str, torch.Tensor], source: object) -> None:
    """Load ``state`` into ``model`` when every tensor is present with its shape and none is extra; otherwise
    raise :class:`~tympan.core.errors.CheckpointError` listing what is missing, unexpected and mismatched,
    with ``model`` unchanged.

    Example:
        >>> import torch
        >>> load_state_dict_strictly(torch.nn.Linear(2, 3), {"weight": torch.zeros(3, 3)}, "ckpt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tympan.core.errors.CheckpointError: cannot load checkpoint ckpt: missing tensors: bias; wrong shapes: weight ...
    """
    expected = model.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    mismatched = [
        f"{name} {tuple(state[name].shape)} where the model has {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if name in state and tuple(state[name].shape) != tuple(tensor.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing tensors: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors: {_listed(unexpected)}")
    if mismatched:
        problems.append(f"wrong shapes: {_listed(mismatched)}")
    if problems:
        raise CheckpointError(source, "; ".join(problems))
    model.load_state_dict(dict(state), strict=True)


def load_weights(model: nn.Module, checkpoint: str | os.PathLike[str] | Mapping[str, torch.Tensor]) -> nn.Module:
    """Load a checkpoint file (or a state dict) into ``model`` strictly; returns ``model``.

    A torchaudio model's ``state_dict()`` (or a ``.pt`` file of it) loads into the tympan model of the same
    configuration.

    Example:
        >>> import torch
        >>> model = load_weights(torch.nn.Linear(1, 1), {"weight": torch.ones(1, 1), "bias": torch.zeros(1)})
        >>> model(torch.ones(1)).item()
        1.0
    """
    if isinstance(checkpoint, Mapping):
        load_state_dict_strictly(model, checkpoint, "<state dict>")
    else:
        load_state_dict_strictly(model, read_state_dict(checkpoint), Path(checkpoint))
    return model


def load(path: str | os.PathLike[str], registry: Any = None) -> nn.Module:
    """Rebuild the model a :func:`save_weights` file names, with its parameters and weights (and their dtype).

    Raises :class:`~tympan.core.errors.UnknownNameError` when no installed plugin provides the component, and
    :class:`~tympan.core.errors.CheckpointError` for a file without a component name (a plain state dict).

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "anonymous.safetensors"
        >>> save_weights(torch.nn.Linear(1, 1), path)
        >>> load(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tympan.core.errors.CheckpointError: cannot load checkpoint ...anonymous.safetensors: it names no component ...
    """
    from tympan.registry import default_registry

    source = Path(path)
    metadata = read_metadata(source)
    name = metadata.get(COMPONENT_KEY)
    if not name:
        raise CheckpointError(
            source, f"it names no component (saved without {COMPONENT_KEY}); build the model and use load_weights"
        )
    try:
        params = json.loads(metadata.get(PARAMS_KEY, "{}"))
    except json.JSONDecodeError as err:
        raise CheckpointError(source, f"{PARAMS_KEY} is not JSON: {err}") from None
    if not isinstance(params, dict):
        raise CheckpointError(source, f"{PARAMS_KEY} is not a JSON object")
    state = read_state_dict(source)
    model = (registry or default_registry()).create(name, "model", **params)
    dtypes = {tensor.dtype for tensor in state.values() if tensor.is_floating_point()}
    if len(dtypes) == 1:
        model = model.to(dtypes.pop())
    load_state_dict_strictly(model, state, source)
    return model
