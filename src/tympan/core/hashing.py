"""splitmix64's finaliser over int64 tensors (whose arithmetic wraps), the 64-bit mixing step behind the
hashes of beam-search histories and the counter-based noise generators.

Example:
    >>> import torch
    >>> mix64(torch.tensor([0, 1])).tolist()[0], bool(mix64(torch.tensor([1])) != mix64(torch.tensor([2])))
    (0, True)
"""

from __future__ import annotations

import torch

__all__ = ["GOLDEN", "MIX1", "MIX2", "mix64", "shift_right", "signed64"]


def signed64(value: int) -> int:
    """The int64 with the bits of the unsigned 64-bit ``value``.

    Example:
        >>> signed64(0xFFFFFFFFFFFFFFFF)
        -1
    """
    return value - (1 << 64) if value >= 1 << 63 else value


#: 2**64 divided by the golden ratio, splitmix64's increment.
GOLDEN = signed64(0x9E3779B97F4A7C15)
#: The multipliers of splitmix64's finaliser.
MIX1 = signed64(0xBF58476D1CE4E5B9)
MIX2 = signed64(0x94D049BB133111EB)


def shift_right(value: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical (unsigned) right shift of int64 values.

    Example:
        >>> shift_right(torch.tensor([-1]), 60).tolist()
        [15]
    """
    return (value >> bits) & ((1 << (64 - bits)) - 1)


def mix64(z: torch.Tensor) -> torch.Tensor:
    """splitmix64's finaliser of each int64 value: a bijection whose every output bit depends on every input bit.

    Example:
        >>> mix64(torch.tensor([1])).tolist()
        [6238072747940578789]
    """
    z = (z ^ shift_right(z, 30)) * MIX1
    z = (z ^ shift_right(z, 27)) * MIX2
    return z ^ shift_right(z, 31)
