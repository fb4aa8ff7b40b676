"""The range of input shapes an exported program accepts, and the ``dynamic_shapes`` that declare it.

An exported tympan program takes ``(batch, ..., time)``: the first dimension (batch) and the last (time, or
frames for components fed spectrograms; a component fed ``(..., frames, dim)`` features declares its frames
axis as ``export_time_dim``) are dynamic over an :class:`ExportRange`; the dimensions between them
(channels, mel bins) are left for ``torch.export`` to decide (``Dim.AUTO``).

Example:
    >>> import torch
    >>> shapes = dynamic_shapes((torch.zeros(2, 16000),), ExportRange(min_frames=400, max_frames=16000 * 3600))
    >>> sorted(shapes[0]), shapes[0][1].min, shapes[0][1].max
    ([0, 1], 400, 57600000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.export import Dim

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_SECONDS", "DEFAULT_MIN_FRAMES", "ExportRange", "dynamic_shapes"]

#: The shortest input by default: one 1024-sample analysis frame (64 ms at 16 kHz).
DEFAULT_MIN_FRAMES = 1024
#: The longest input by default, in seconds at the input's sample rate: one hour.
DEFAULT_MAX_SECONDS = 3600.0
#: The largest batch by default.
DEFAULT_MAX_BATCH = 1024
#: The sample rate assumed for the time range when a pipeline does not give one.
_FALLBACK_RATE = 48000


@dataclass(frozen=True)
class ExportRange:
    """Input sizes an exported program accepts: ``min_frames <= time <= max_frames``, ``1 <= batch <= max_batch``.

    Example:
        >>> ExportRange.for_rate(16000, max_seconds=10).max_frames
        160000
    """

    min_frames: int = DEFAULT_MIN_FRAMES
    max_frames: int = int(DEFAULT_MAX_SECONDS * _FALLBACK_RATE)
    max_batch: int = DEFAULT_MAX_BATCH

    def __post_init__(self) -> None:
        if not 2 <= self.min_frames < self.max_frames:
            raise ValueError(f"need 2 <= min_frames < max_frames, got {self.min_frames} and {self.max_frames}")
        if self.max_batch < 2:
            raise ValueError(f"max_batch must be at least 2, got {self.max_batch}")

    @classmethod
    def for_rate(
        cls,
        sample_rate: int | None,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        min_frames: int = DEFAULT_MIN_FRAMES,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> ExportRange:
        """From ``min_frames`` samples to ``max_seconds`` at ``sample_rate`` (48 kHz when unknown).

        Example:
            >>> ExportRange.for_rate(None).max_frames
            172800000
        """
        return cls(min_frames, int(max_seconds * (sample_rate or _FALLBACK_RATE)), max_batch)

    def example_frames(self) -> int:
        """A length inside the range for the example input: about a second, never at either end.

        Example:
            >>> ExportRange(400, 1000).example_frames()
            700
        """
        return min(max(self.min_frames + 1, 16000), (self.min_frames + self.max_frames) // 2)


def dynamic_shapes(
    inputs: tuple[torch.Tensor, ...], export_range: ExportRange, time_dim: int = -1
) -> tuple[dict[int, Any], ...]:
    """``torch.export``'s ``dynamic_shapes`` for ``inputs``: batch and time of the first over ``export_range``.

    The first input's first dimension and its time dimension (``time_dim``: the last, or the one a component
    fed ``(..., frames, dim)`` features declares) are named dynamic dimensions; every other dimension is
    ``Dim.AUTO`` (dynamic if the program allows it, else static).

    Example:
        >>> shapes = dynamic_shapes((torch.zeros(2, 2, 900), torch.zeros(2)), ExportRange(400, 1000, 8))
        >>> shapes[0][0].max, shapes[0][1] is Dim.AUTO, shapes[1][0] is Dim.AUTO
        (8, True, True)
        >>> dynamic_shapes((torch.zeros(2, 900, 13),), ExportRange(400, 1000), time_dim=-2)[0][2] is Dim.AUTO
        True
    """
    batch = Dim("batch", min=1, max=export_range.max_batch)
    time = Dim("time", min=export_range.min_frames, max=export_range.max_frames)
    first, *rest = inputs
    first_shape: dict[int, Any] = {dim: Dim.AUTO for dim in range(first.dim())}
    first_shape[0] = batch
    first_shape[time_dim % first.dim()] = time
    return (first_shape, *({dim: Dim.AUTO for dim in range(t.dim())} for t in rest))
