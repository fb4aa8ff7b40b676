"""Kaldi's frame-context operations: ``add-deltas`` and ``splice-feats`` on ``(..., frames, dim)`` features.

Both read neighbouring frames with the edge frames repeated past each end (``lengths`` gives each
utterance's own end in a padded batch). The taps are a handful of shifted copies added together, so every
frame is computed at once; the loop runs over the taps only, never over frames or lengths, so the same code
runs whatever the number of frames (an exported program with a dynamic length included).

Example:
    >>> import torch
    >>> x = torch.tensor([[1.0], [2.0], [4.0]])
    >>> add_deltas(x, order=2, window=1).tolist()
    [[1.0, 0.5, 0.75], [2.0, 1.5, 0.25], [4.0, 1.0, -0.75]]
    >>> splice(x, left_context=1, right_context=1).tolist()
    [[1.0, 1.0, 2.0], [1.0, 2.0, 4.0], [2.0, 4.0, 4.0]]
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["add_deltas", "delta_scales", "splice"]


def delta_scales(order: int, window: int) -> list[list[float]]:
    """Kaldi's regression windows: ``scales[i]`` has ``2 * i * window + 1`` taps for the delta of order ``i``.

    Order 1 is ``j / sum_k k^2`` for ``j = -window..window``; each higher order convolves the previous
    window with it again.

    Example:
        >>> delta_scales(2, 1)
        [[1.0], [-0.5, 0.0, 0.5], [0.25, 0.0, -0.5, 0.0, 0.25]]
    """
    taps = np.arange(-window, window + 1, dtype=np.float64)
    normalizer = float(np.sum(taps * taps))
    scales = [np.ones(1)]
    for _ in range(order):
        scales.append(np.convolve(scales[-1], taps) / normalizer)
    return [row.tolist() for row in scales]


def _check_features(features: torch.Tensor, what: str) -> None:
    if features.dim() < 2:
        raise ValueError(f"{what} takes (..., frames, dim) features, got shape {list(features.shape)}")
    if not features.is_floating_point():
        raise ValueError(f"{what} takes floating-point features, got {features.dtype}")


def _shifted_reader(features: torch.Tensor, lengths: torch.Tensor | None):  # type: ignore[no-untyped-def]
    """A function ``read(shift)`` giving the features shifted by ``shift`` frames, edges repeated."""
    frames = features.shape[-2]
    flat = features.reshape(-1, frames, features.shape[-1])
    time = torch.arange(frames, device=features.device)
    if lengths is None:
        last = torch.full((flat.shape[0], 1), max(frames - 1, 0), device=features.device)
    else:
        last = (lengths.reshape(-1, 1).to(device=features.device, dtype=torch.int64) - 1).clamp(min=0)

    def read(shift: int) -> torch.Tensor:
        index = torch.minimum((time + shift).clamp(min=0).unsqueeze(0), last)
        gathered = flat.gather(1, index.unsqueeze(-1).expand(-1, -1, flat.shape[-1]))
        return gathered.reshape(features.shape)

    return read


def _zero_padding(output: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is None:
        return output
    valid = torch.arange(output.shape[-2], device=output.device) < lengths.to(output.device).unsqueeze(-1)
    return torch.where(valid.unsqueeze(-1), output, torch.zeros_like(output))


def add_deltas(
    features: torch.Tensor, order: int = 2, window: int = 2, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Kaldi's ``add-deltas``: ``(..., frames, dim)`` to ``(..., frames, dim * (order + 1))``.

    The output is ``[x, delta, delta-delta, ...]`` per frame, each delta the regression of the previous
    order over ``2 * window + 1`` frames (see :func:`delta_scales`), frames past the ends repeating the edge
    frames. ``lengths`` ``(...)`` gives the valid frames of each item of a padded batch (padding stays 0).
    The parameters are described on :class:`~tympan.plugins.kaldi.postprocess.AddDeltas`.

    Example:
        >>> import torch
        >>> add_deltas(torch.randn(2, 100, 13)).shape
        torch.Size([2, 100, 39])
    """
    _check_features(features, "add_deltas")
    if order < 0 or window < 1:
        raise ValueError(f"add_deltas needs order >= 0 and window >= 1, got order={order}, window={window}")
    if features.shape[-2] == 0:
        return features.new_zeros((*features.shape[:-1], features.shape[-1] * (order + 1)))
    read = _shifted_reader(features, lengths)
    blocks = []
    for scales in delta_scales(order, window):
        block = torch.zeros_like(features)
        offset = (len(scales) - 1) // 2
        for index, scale in enumerate(scales):
            if scale != 0.0:
                block = block + scale * read(index - offset)
        blocks.append(block)
    return _zero_padding(torch.cat(blocks, dim=-1), lengths)


def splice(
    features: torch.Tensor, left_context: int = 4, right_context: int = 4, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Kaldi's ``splice-feats``: each frame with its neighbours, ``(..., frames, dim * (1 + left + right))``.

    Row ``t`` is ``[x[t - left], ..., x[t], ..., x[t + right]]`` with frames past the ends repeating the
    edge frames. ``lengths`` as in :func:`add_deltas`. The parameters are described on
    :class:`~tympan.plugins.kaldi.postprocess.Splice`.

    Example:
        >>> import torch
        >>> splice(torch.randn(100, 40), left_context=3, right_context=3).shape
        torch.Size([100, 280])
    """
    _check_features(features, "splice")
    if left_context < 0 or right_context < 0:
        raise ValueError(f"splice needs non-negative contexts, got left={left_context}, right={right_context}")
    if features.shape[-2] == 0:
        return features.new_zeros((*features.shape[:-1], features.shape[-1] * (1 + left_context + right_context)))
    read = _shifted_reader(features, lengths)
    return _zero_padding(torch.cat([read(shift) for shift in range(-left_context, right_context + 1)], -1), lengths)
