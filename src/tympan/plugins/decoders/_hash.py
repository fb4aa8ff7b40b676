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

from tympan.core.hashing import GOLDEN, mix64, signed64

__all__ = ["END", "ROOT", "STEP", "extend"]


ROOT = GOLDEN
#: The symbol that ends a sentence (symbols are otherwise non-negative token or word indices).
END = -7
#: The odd multiplier that moves a history before a symbol is mixed in.
STEP = signed64(0xD6E8FEB86659FD93)


def extend(history: torch.Tensor, symbol: torch.Tensor | int) -> torch.Tensor:
    """The hash of ``history`` followed by ``symbol`` (int64 tensors, broadcast; arithmetic wraps)."""
    return mix64(history * STEP + (torch.as_tensor(symbol, device=history.device) + 11))
