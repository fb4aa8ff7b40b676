"""Masks from sequence lengths, shared by the models that take padded batches.

Example:
    >>> import torch
    >>> lengths_to_padding_mask(torch.tensor([3, 1])).tolist()
    [[False, False, False], [False, True, True]]
"""

from __future__ import annotations

import torch

__all__ = ["lengths_to_padding_mask"]


def lengths_to_padding_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """``(B, max_length)`` booleans, true where frame ``t`` is at or past ``lengths[b]`` (padding).

    ``max_length`` defaults to the longest length.

    Example:
        >>> import torch
        >>> lengths_to_padding_mask(torch.tensor([2]), max_length=3).tolist()
        [[False, False, True]]
    """
    if max_length is None:
        max_length = int(lengths.max().item())
    positions = torch.arange(max_length, device=lengths.device, dtype=lengths.dtype)
    return positions[None, :] >= lengths[:, None]
