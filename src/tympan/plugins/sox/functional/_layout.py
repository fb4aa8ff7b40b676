"""Joining pieces back into a signal in a form ``torch.export``'s symbolic shapes follow for every length.

Example:
    >>> import torch
    >>> joined(torch.arange(12).reshape(2, 2, 3), 5).tolist()
    [[0, 1, 2, 3, 4], [6, 7, 8, 9, 10]]
"""

from __future__ import annotations

import torch

__all__ = ["joined"]


def joined(pieces: torch.Tensor, length: int) -> torch.Tensor:
    """The pieces ``(..., count, width)`` end to end, their first ``length`` items ``(..., length)``.

    The pieces are joined through one flat dimension and the items gathered rather than sliced: the symbolic
    shapes of a program exported for every length prove neither a direct join of the last two dimensions
    (``count`` divides ``count * width``) nor whether a slice is the whole.
    """
    count, width = pieces.shape[-2], pieces.shape[-1]
    flat = pieces.contiguous().reshape(-1)
    if pieces.dim() > 2:
        flat = flat.reshape(-1, count * width).unflatten(0, pieces.shape[:-2])
    return flat.index_select(-1, torch.arange(length, device=pieces.device))
