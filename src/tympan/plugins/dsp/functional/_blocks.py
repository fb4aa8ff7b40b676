"""The block layout shared by the block recursions: the same for every signal length.

The recursions (:mod:`._iir`, :mod:`._recurrence`) cut a signal into blocks, solve the blocks by matrix
products and recurse on the blocks' final states. Their layout depends on the block lengths only, never on
the signal's length, so a program traced once (``torch.export``) is right for every length:

- the signal is zero-padded to whole blocks at the end, which leaves the earlier outputs of a causal
  recursion unchanged, and the padded tail is cut off again (:func:`cut`);
- a fixed number of levels always runs (:func:`scan_depth`), enough for :data:`LONGEST` samples;
- a level on two items or more has at least two blocks (:func:`block_count`), so no dimension that depends
  on the length is ever one (which would make the traced reshapes special to it).

Run eagerly (not traced), the same helpers take the layout that copies least for the length at hand: a
block length that divides the length when one is near (:func:`block_length`), no spare block, levels until
one block is left, and views instead of copies (:func:`cut`). The arithmetic is the same either way.

Example:
    >>> block_count(100, 32), block_length(100, 2, 32)
    (4, 25)
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch.autograd import forward_ad

from tympan.core.tracing import recorded, traced

__all__ = [
    "LONGEST",
    "block_count",
    "block_length",
    "scan_depth",
    "pieces",
    "cut",
    "shifted",
    "readable",
]

#: Samples covered by the fixed number of levels (13.5 hours at 44.1 kHz); longer signals run more levels.
LONGEST = 2**31


def readable(*tensors: torch.Tensor) -> bool:
    """Whether ``tensors`` may be read by value (matrices built from coefficients kept, a signal filtered
    outside torch): run eagerly (neither traced into a graph nor by ``torch.jit.trace``, which would record what
    is read as constants) on plain tensors through which nothing is differentiated, in reverse mode or forward
    mode (dual or functorch tensors).

    Example:
        >>> readable(torch.zeros(2)), readable(torch.zeros(2, requires_grad=True))
        (True, False)
    """
    if recorded():
        return False
    for tensor in tensors:
        if tensor.requires_grad or type(tensor) is not torch.Tensor:
            return False
        if (
            torch._C._functorch.is_functorch_wrapped_tensor(tensor)
            or forward_ad.unpack_dual(tensor).tangent is not None
        ):
            return False
    return True


def block_length(count: int, least: int, block: int) -> int:
    """The first-level block length for ``count`` items: ``block``, or run eagerly a divisor of ``count``
    within ``block // 2`` of it (longer than ``least``) when there is one, so that no padding is copied.

    Example:
        >>> block_length(441000, 2, 32), block_length(7, 2, 32)
        (30, 32)
    """
    if traced() or least >= block:
        return max(block, least)
    for offset in range(block // 2):
        for size in (block - offset, block + offset):
            if size > least and count % size == 0:
                return size
    return block


def block_count(count: int, block: int) -> int:
    """Blocks of ``block`` that hold ``count`` items; traced, at least two when ``count >= 2`` (one spare at
    most), so that no length-dependent dimension is one.

    Example:
        >>> [block_count(count, 16) for count in (1, 2, 16, 17, 32, 33)]
        [1, 1, 1, 2, 2, 3]
    """
    if traced():
        return _with_spare(count, block)
    return max(1, (count + block - 1) // block)


def _with_spare(count: int, block: int) -> int:
    """The traced block count: at least two blocks of ``block`` for ``count >= 2`` items."""
    return (count + block - 2) // block + 1


def scan_depth(block: int, scan_block: int, longest: int = LONGEST) -> int:
    """Traced, the levels above a first one of ``block`` that reduce ``longest`` items to ends that fit in one
    block (run eagerly, 0: none are forced, the levels stop when one block is left).

    A level on ``count`` items leaves ``block_count(count, scan_block)`` ends for the next; the last level's
    items all lie in its first block, whose final state needs no incoming one.

    Example:
        >>> scan_depth(32, 16)
        0
    """
    if not traced():
        return 0
    count, depth = _with_spare(longest, block), 1
    while count > scan_block:
        count, depth = _with_spare(count, scan_block), depth + 1
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

    Traced, a negative padding rather than a slice: ``torch.export``'s symbolic shapes take its size to be
    ``length``, where a slice would need a proof beyond them that ``length`` does not exceed the padded size.
    Run eagerly, a view.

    Example:
        >>> cut(torch.arange(6).reshape(2, 3), 2, 1).tolist()
        [[0, 1], [3, 4]]
    """
    if not traced():
        return x.narrow(dim, 0, length)
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
