"""64-bit hashes of histories in int64 tensors (splitmix64's finaliser), for merging beam hypotheses.

A hypothesis is identified by the hash of its history, extended one symbol at a time; two different
histories share a hash with probability about ``n**2 / 2**64`` for ``n`` histories, far below one in a
million for any search.

Example:
    >>> import torch
    >>> root = torch.tensor([ROOT])
    >>> a = extend(root, torch.tensor([3]))
    >>> bool(a == extend(root, torch.tensor([3]))), bool(a == extend(root, torch.tensor([4])))
    (True, False)
"""

from __future__ import annotations

import torch

__all__ = ["ROOT", "END", "extend"]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


ROOT = _signed(0x9E3779B97F4A7C15)
#: The symbol that ends a sentence (symbols are otherwise non-negative token or word indices).
END = -7
_STEP = _signed(0xD6E8FEB86659FD93)
_MIX1 = _signed(0xBF58476D1CE4E5B9)
_MIX2 = _signed(0x94D049BB133111EB)


def _shift_right(value: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 values."""
    return (value >> bits) & ((1 << (64 - bits)) - 1)


def extend(history: torch.Tensor, symbol: torch.Tensor | int) -> torch.Tensor:
    """The hash of ``history`` followed by ``symbol`` (int64 tensors, broadcast; arithmetic wraps)."""
    z = history * _STEP + (torch.as_tensor(symbol, device=history.device) + 11)
    z = (z ^ _shift_right(z, 30)) * _MIX1
    z = (z ^ _shift_right(z, 27)) * _MIX2
    return z ^ _shift_right(z, 31)
