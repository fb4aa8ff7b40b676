"""The export contract check of :func:`tympan.testing.check_component` (``export=True``).

A component exports with ``torch.export`` where the batch and time dimensions (the last, or the one the
component declares as ``export_time_dim``) are dynamic (from a quarter
of the check's length, or the component's declared ``export_min_frames`` when longer, to an hour at its
sample rate), and the exported program equals eager on three other
lengths (none a multiple of a usual hop or ratio) at batch sizes 1 and 2; other inputs that share the first's
time axis (same last dimension: a noise signal, a mask) are resized with it. A component declaring
``data_dependent_length`` must instead fail to export: the check verifies the declaration both ways.

Example:
    >>> from tympan.plugins.dsp.transforms import MFCC
    >>> [(name, run()) for name, run in export_checks(MFCC(), (torch.randn(3, 4000),), 16000)]
    [('torch.export', None)]
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from tympan.core.errors import ExportError
from tympan.export import ExportRange, data_dependent_reason, declared_min_frames, declared_time_dim, export_module

__all__ = ["export_checks", "other_lengths", "tiled_to"]


def other_lengths(frames: int, shortest: int = 2) -> tuple[int, int, int]:
    """Three lengths other than ``frames`` to compare at: shorter (not below ``shortest``), slightly longer,
    about three times.

    Example:
        >>> other_lengths(4000), other_lengths(4000, shortest=2561)
        ((2001, 4037, 11993), (2561, 4037, 11993))
    """
    return max(frames // 2 + 1, shortest), frames + 37, 3 * frames - 7


def _resized(inputs: tuple[torch.Tensor, ...], batch: int, length: int, time_dim: int = -1) -> tuple[torch.Tensor, ...]:
    """The first ``batch`` items of ``inputs``, tiled or cut to ``length`` along the time dimension
    (``time_dim``, the last by default): the first input, and every other input of two or more dimensions
    whose dimension there has the first's length (a noise signal, a time-frequency mask: inputs that share
    its time axis).

    Example:
        >>> [tuple(t.shape) for t in _resized((torch.ones(3, 8), torch.ones(3, 5, 8), torch.ones(3)), 2, 11)]
        [(2, 11), (2, 5, 11), (2,)]
        >>> [tuple(t.shape) for t in _resized((torch.ones(3, 8, 2),), 1, 11, time_dim=-2)]
        [(1, 11, 2)]
    """
    frames = inputs[0].shape[time_dim]

    def tiled(tensor: torch.Tensor) -> torch.Tensor:
        if tensor is not inputs[0] and (tensor.dim() < 2 or tensor.shape[time_dim] != frames):
            return tensor[:batch]
        return tiled_to(tensor[:batch], time_dim, length).contiguous()

    return tuple(tiled(t) for t in inputs)


def tiled_to(tensor: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """``tensor`` repeated along ``dim`` as often as needed and cut to ``size`` there.

    Example:
        >>> tiled_to(torch.tensor([[1, 2, 3]]), -1, 7).tolist()
        [[1, 2, 3, 1, 2, 3, 1]]
    """
    axis = dim % tensor.dim()
    repeats = [1] * tensor.dim()
    repeats[axis] = -(-size // tensor.shape[axis])
    return tensor.repeat(*repeats).narrow(axis, 0, size)


def _worst(expected: torch.Tensor, actual: torch.Tensor) -> str | None:
    if expected.shape != actual.shape:
        return f"shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    scale = max(float(expected.abs().max()), 1.0) if expected.numel() else 1.0
    worst = float((expected - actual).abs().max()) if expected.numel() else 0.0
    return None if worst <= 1e-4 * scale else f"differs by {worst:.3g} (scale {scale:.3g})"


def export_checks(
    module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], sample_rate: int
) -> list[tuple[str, Callable[[], str | None]]]:
    """``(check name, run)`` pairs; ``run()`` returns None on success, else what is wrong."""
    time_dim = declared_time_dim(module)
    frames = inputs[0].shape[time_dim]
    shortest = max(2, declared_min_frames(module) or 2)
    export_range = ExportRange(max(shortest, frames // 4), max(3600 * sample_rate, 4 * frames))
    declared = data_dependent_reason(module)

    def dynamic_export() -> str | None:
        program = export_module(module, inputs, export_range).module()
        for batch, length in zip((1, 2, 2), other_lengths(frames, shortest), strict=True):
            resized = _resized(inputs, batch, length, time_dim)
            with torch.no_grad():
                expected, actual = module(*resized), program(*resized)
            pairs = zip(_as_list(expected), _as_list(actual), strict=False)
            for problem in (_worst(e, a) for e, a in pairs):
                if problem:
                    return f"{length} samples, batch {batch}: exported program {problem}"
        return None

    def declaration() -> str | None:
        try:
            dynamic_export()
        except ExportError:
            return None
        return f"declares a data-dependent output length ({declared}) but exports with a dynamic length"

    return [("torch.export declaration", declaration)] if declared else [("torch.export", dynamic_export)]


def _as_list(output: object) -> list[torch.Tensor]:
    return list(output) if isinstance(output, (tuple, list)) else [output]  # type: ignore[list-item]
