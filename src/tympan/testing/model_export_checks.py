"""The export check of ``model`` components (:func:`tympan.testing.check_component` with ``export=True``).

A model declares which dimensions of its inputs vary besides the batch (:class:`~tympan.core.components.ExportAxes`);
the check exports it with ``torch.export`` with the batch and every declared axis dynamic (each axis from its
declared smallest size up, with no upper bound below an hour of audio; an example input shorter than that
smallest size is tiled up to it first; a derived axis as its formula of its
base; recurrent layers as loops, see :func:`~tympan.export.recurrent_layers_as_loops`), then compares the
exported program with eager at three other sizes of every axis (none a multiple of a usual stride) at batch
sizes 1 and 2. Inputs holding valid lengths get the new size, one item shorter by one step when the batch has
two, so that padding is exercised. A model that declares no axes fails the check, saying so.

Example:
    >>> import torch
    >>> from tympan.core.components import ExportAxes
    >>> class Scale(torch.nn.Module):
    ...     export_axes = ExportAxes(dims=({1: "frames"},))
    ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
    ...         return 2 * x
    >>> [(name, run()) for name, run in model_export_checks(Scale(), (torch.randn(3, 40, 4),), lambda *a: None)]
    [('torch.export', None)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from tympan.core.components import ExportAxes
from tympan.export.recurrent import recurrent_layers_as_loops
from tympan.export.shapes import DEFAULT_MAX_BATCH
from tympan.testing.export_checks import other_lengths, tiled_to
from tympan.testing.model_checks import flat_tensors

__all__ = ["model_export_checks"]


Compare = Callable[[Any, Any, str], "str | None"]


def _dynamic_shapes(inputs: Sequence[torch.Tensor], axes: ExportAxes) -> tuple[dict[int, Any], ...]:
    batch = torch.export.Dim("batch", min=1, max=DEFAULT_MAX_BATCH)
    dims: dict[str, Any] = {name: torch.export.Dim(name, min=axes.min_size(name)) for name in axes.free_names()}
    for name in axes.derived:
        dims[name] = axes.derived_size(name, dims)
    shapes: list[dict[int, Any]] = []
    for index in range(len(inputs)):
        declared = axes.dims[index] if index < len(axes.dims) else {}
        shapes.append({0: batch, **{dim: dims[name] for dim, name in declared.items()}})
    return tuple(shapes)


def _resized(inputs: Sequence[torch.Tensor], axes: ExportAxes, batch: int, sizes: dict[str, int]) -> list[torch.Tensor]:
    """The first ``batch`` items of ``inputs`` with every declared axis tiled or cut to ``sizes``; lengths set to
    the new size (the first item one step shorter when there are two)."""
    resized = []
    for index, tensor in enumerate(inputs):
        tensor = tensor[:batch]
        if index in axes.lengths:
            size = sizes[axes.lengths[index]]
            lengths = torch.full((batch,), size, dtype=tensor.dtype, device=tensor.device)
            if batch > 1:
                lengths[0] = max(axes.min_size(axes.lengths[index]), size - 1)
            resized.append(lengths)
            continue
        for dim, name in (axes.dims[index] if index < len(axes.dims) else {}).items():
            tensor = tiled_to(tensor, dim, sizes[name])
        resized.append(tensor.contiguous())
    return resized


def model_export_checks(
    model: torch.nn.Module, inputs: Sequence[torch.Tensor], compare: Compare
) -> list[tuple[str, Callable[[], str | None]]]:
    """``[("torch.export", run)]``: ``run()`` returns None when ``model`` exports and equals eager, else what
    is wrong."""
    axes: ExportAxes | None = getattr(model, "export_axes", None)

    def run() -> str | None:
        if axes is None:
            return "declares no export_axes: which dimensions of its inputs vary is unknown"
        given = {
            name: tensor.shape[dim]
            for tensor, dims in zip(inputs, axes.dims, strict=False)
            for dim, name in dims.items()
            if name not in axes.derived
        }
        base = {name: max(size, axes.min_size(name)) for name, size in given.items()}  # the declared smallest on
        sizes = {**base, **{name: axes.derived_size(name, base) for name in axes.derived}}
        example = _resized(inputs, axes, inputs[0].shape[0], sizes)
        model.eval()
        with recurrent_layers_as_loops():
            program = torch.export.export(
                model,
                tuple(example),
                dynamic_shapes=_dynamic_shapes(inputs, axes),
                prefer_deferred_runtime_asserts_over_guards=axes.runtime_checks,
            ).module()
        others = {name: other_lengths(size, axes.min_size(name)) for name, size in base.items()}
        for round_, batch in enumerate((1, 2, 2)):
            sizes = {name: lengths[round_] for name, lengths in others.items()}
            sizes.update({name: axes.derived_size(name, sizes) for name in axes.derived})
            resized = _resized(inputs, axes, batch, sizes)
            with torch.no_grad():
                expected, actual = flat_tensors(model(*resized)), flat_tensors(program(*resized))
                problem = compare(expected, actual, f"sizes {sizes}, batch {batch}: exported program")
            if problem:
                return problem
        return None

    return [("torch.export", run)]
