"""Seeded Gaussian noise as a function of a position: the same values eagerly and in a traced program.

Each value is a hash of its index and the seed (integer arithmetic on 32-bit words held in int64, so no
product overflows), turned into a standard normal value by the Box-Muller transform. Nothing is drawn from
a generator's state, so a program exported with a dynamic length gives the same noise as an eager call, on
every call, and frame ``t`` gets the same value whatever the length.

Example:
    >>> import torch
    >>> noise = indexed_normal(torch.arange(100_000), seed=0, dtype=torch.float64)
    >>> abs(float(noise.mean())) < 0.01, round(float(noise.std()), 2)
    (True, 1.0)
"""

from __future__ import annotations

import math

import torch

__all__ = ["indexed_normal"]

_WORD = 0xFFFFFFFF


def _mix(words: torch.Tensor) -> torch.Tensor:
    """A bijective avalanche of 32-bit words (xor-shifts and odd multipliers below 2**31)."""
    words = words ^ (words >> 16)
    words = (words * 0x7FEB352D) & _WORD
    words = words ^ (words >> 15)
    words = (words * 0x2C1B3C6D) & _WORD
    return words ^ (words >> 16)


def _uniform(counters: torch.Tensor, seed: int) -> torch.Tensor:
    """Values in (0, 1), float64, one per int64 counter in [0, 2**32)."""
    words = _mix(counters ^ (seed & _WORD))
    words = _mix(words ^ ((seed >> 32) & _WORD))
    words = _mix(words ^ 0x9E3779B9)
    return (words.to(torch.float64) + 0.5) / 2.0**32


def indexed_normal(index: torch.Tensor, seed: int, dtype: torch.dtype) -> torch.Tensor:
    """Standard normal values, one per non-negative int64 ``index`` (below 2**31), fixed by ``(index, seed)``.

    Example:
        >>> import torch
        >>> a = indexed_normal(torch.arange(5), seed=3, dtype=torch.float32)
        >>> torch.equal(a[2:], indexed_normal(torch.arange(2, 5), seed=3, dtype=torch.float32))
        True
    """
    counters = 2 * index.to(torch.int64)
    radius = (-2.0 * _uniform(counters, seed).log()).sqrt()
    return (radius * torch.cos(2.0 * math.pi * _uniform(counters + 1, seed))).to(dtype)
