"""Seeded noise computed from a counter: number ``i`` of stream ``s`` is a hash of ``(seed, s, i)``
(splitmix64's finaliser over int64 tensors, whose arithmetic wraps), so noise of any length is a tensor
expression of an index range. Unlike a ``torch.Generator``, it exports with a dynamic length and gives the
same numbers on every device and in an exported program, and number ``i`` is the same whatever the length.
Uniform numbers (:func:`counter_uniform`) and standard normal ones (:func:`counter_normal`, Box-Muller over
two streams).

Example:
    >>> import torch
    >>> a = counter_uniform(7, 0, torch.arange(3), torch.device("cpu"))
    >>> bool(torch.equal(a, counter_uniform(7, 0, torch.arange(5), torch.device("cpu"))[:3]))
    True
"""

from __future__ import annotations

import math

import torch

from tympan.core.hashing import GOLDEN, mix64, shift_right, signed64

__all__ = ["counter_normal", "counter_uniform"]


_STREAM_BITS = 40  # indices below 2**40: over 60 days of audio at 192 kHz


def _mixed_seed(seed: int) -> int:
    """``seed`` through splitmix64's finaliser, so nearby seeds give unrelated streams."""
    return int(mix64(torch.tensor(signed64((seed * 0x9E3779B97F4A7C15) & ((1 << 64) - 1)))))


def counter_uniform(seed: int, stream: int | torch.Tensor, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Numbers uniform on ``[0, 1)`` in float64 (53 random bits), one per element of ``index`` (int64,
    broadcast with ``stream``): a pure function of ``seed``, the stream and the index.

    Example:
        >>> u = counter_uniform(0, torch.arange(2)[:, None], torch.arange(100000), torch.device("cpu"))
        >>> u.shape, round(float(u.mean()), 2), bool(torch.equal(u[0], u[1]))
        (torch.Size([2, 100000]), 0.5, False)
    """
    counter = torch.as_tensor(stream, dtype=torch.int64, device=device) * (1 << _STREAM_BITS) + index.to(device)
    z = mix64((counter + 1) * GOLDEN + _mixed_seed(seed))
    return shift_right(z, 11).to(torch.float64) * 2.0**-53


def counter_normal(seed: int, index: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Standard normal numbers of ``dtype``, one per element of ``index`` (int64, non-negative): the
    Box-Muller transform of the uniform numbers of streams 0 and 1 at each index.

    Example:
        >>> x = counter_normal(3, torch.arange(100000), torch.float64)
        >>> round(float(x.mean()), 1), round(float(x.std()), 2)
        (0.0, 1.0)
        >>> bool(torch.equal(x[5:9], counter_normal(3, torch.arange(5, 9), torch.float64)))
        True
    """
    device = index.device
    radius = (-2.0 * torch.log1p(-counter_uniform(seed, 0, index, device))).sqrt()
    return (radius * torch.cos(2.0 * math.pi * counter_uniform(seed, 1, index, device))).to(dtype)
