"""The block layout shared by the block recursions: the same for every signal length.

The recursions (:mod:`._iir`, :mod:`._recurrence`) cut a signal into blocks, solve the blocks by matrix
products and recurse on the blocks' final states. Their layout depends on the block lengths only, never on
the signal's length, so a program traced once (``torch.export``) is right for every length:

- the signal is zero-padded to whole blocks at the end, which leaves the earlier outputs of a causal
  recursion unchanged, and the padded tail is cut off again (:func:`cut`);
- a fixed number of levels always runs (:func:`scan_depth`), enough for :data:`LONGEST` samples;
- a level on two items or more has at least two blocks (:func:`block_count`), so no dimension that depends
  on the length is ever one (which would make the traced reshapes special to it).

Example:
    >>> block_count(100, 32), scan_depth(32, 16)
    (5, 7)
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf

__all__ = ["LONGEST", "block_count", "scan_depth", "pieces", "cut", "shifted"]

#: Samples covered by the fixed number of levels (13.5 hours at 44.1 kHz); longer signals run more levels.
LONGEST = 2**31


def block_count(count: int, block: int) -> int:
    """Blocks of ``block`` that hold ``count`` items, and at least two when ``count >= 2`` (one spare at most).

    Example:
        >>> [block_count(count, 16) for count in (1, 2, 16, 17, 32, 33)]
        [1, 2, 2, 2, 3, 3]
    """
    return (count + block - 2) // block + 1


def scan_depth(block: int, scan_block: int, longest: int = LONGEST) -> int:
    """Levels above a first one of ``block`` that reduce ``longest`` items to ends that fit in one block.

    A level on ``count`` items leaves ``block_count(count, scan_block)`` ends for the next; the last level's
    items all lie in its first block, whose final state needs no incoming one.

    Example:
        >>> scan_depth(32, 16), scan_depth(64, 64)
        (7, 5)
    """
    count, depth = block_count(longest, block), 1
    while count > scan_block:
        count, depth = block_count(count, scan_block), depth + 1
    return depth


def pieces(x: torch.Tensor, width: int) -> torch.Tensor:
    """``(..., B * width)`` as ``(..., B, width)``: consecutive pieces of ``width`` items along the last dimension.

    By ``unfold``, whose count of pieces the symbolic shapes of ``torch.export`` simplify to ``B``; a reshape
    splitting the dimension would need a divisibility guard on the length.

    Example:
        >>> pieces(torch.arange(6), 3).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    return x.unfold(-1, width, width)


def cut(x: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    """The first ``length`` items of ``x`` along ``dim`` (non-negative; at least ``length`` long there).

    A negative padding rather than a slice: ``torch.export``'s symbolic shapes take its size to be
    ``length``, where a slice would need a proof beyond them that ``length`` does not exceed the padded size.

    Example:
        >>> cut(torch.arange(6).reshape(2, 3), 2, 1).tolist()
        [[0, 1], [3, 4]]
    """
    pad: list[int] = []
    for _ in range(x.dim() - 1 - dim):
        pad.extend([0, 0])
    pad.extend([0, length - x.shape[dim]])
    return nnf.pad(x, pad)


def shifted(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` moved one place later along ``dim`` (non-negative) with a zero first: the state entering each block.

    Padded in front, then cut, so that no slice of size one appears when ``x`` has two items there.

    Example:
        >>> shifted(torch.tensor([[1.0, 2.0, 3.0]]), 1).tolist()
        [[0.0, 1.0, 2.0]]
    """
    pad: list[int] = []
    for _ in range(x.dim() - 1 - dim):
        pad.extend([0, 0])
    pad.extend([1, 0])
    return cut(nnf.pad(x, pad), x.shape[dim], dim)
