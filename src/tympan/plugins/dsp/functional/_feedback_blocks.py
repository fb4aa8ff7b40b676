"""The blocks of :func:`~tympan.plugins.dsp.functional._modulated_delay.feedback_delay`: one block's solve, and
all blocks as one traced scan.

(No ``from __future__ import annotations`` here: TorchScript reads the signature of the function it leaves
unused, :func:`scanned_feedback_delay`, and needs its annotations as types.)

Example:
    >>> import torch
    >>> drive, lags = torch.tensor([[[1.0, 0.0, 0.0]]]), torch.ones(1, 1, 3, dtype=torch.int64)
    >>> block_step(torch.zeros(1, 1, 2), drive, lags, torch.full((1, 1, 3), 0.5), True).tolist()
    [[[1.0, 0.5, 0.25]]]
"""

import torch
import torch.nn.functional as nnf

from tympan.plugins.dsp.functional._blocks import block_count, cut

__all__ = ["block_step", "scanned_feedback_delay"]


def block_step(
    history: torch.Tensor, drive: torch.Tensor, lag: torch.Tensor, weight: torch.Tensor, solve: bool
) -> torch.Tensor:
    """One block of :func:`feedback_delay`: ``drive`` ``(R, C, S)``, ``lag`` and ``weight`` ``(C, K, S)``, the
    last ``reach`` solved samples ``history`` ``(R, C, reach)``; with ``solve`` the taps inside the block
    are solved for (a triangular system), else none stays inside it.

    Example:
        >>> lag = torch.ones(1, 1, 3, dtype=torch.int64)  # e[n] = u[n] + 0.5 e[n - 1]
        >>> block_step(torch.ones(1, 1, 1), torch.zeros(1, 1, 3), lag, torch.full((1, 1, 3), 0.5), True).tolist()
        [[[0.5, 0.25, 0.125]]]
    """
    rows, channels, size = drive.shape
    taps, reach = lag.shape[1], history.shape[-1]
    offset = torch.arange(size, device=lag.device) - lag  # source sample relative to the block start
    earlier = offset < 0
    index = (offset + reach).clamp(0, reach - 1).to(drive.device)
    past = torch.gather(
        history.unsqueeze(2).expand(rows, channels, taps, reach),
        3,
        index.expand(rows, channels, taps, size),
    )
    known = drive + (past * (weight * earlier.to(weight.dtype))).sum(2)
    if not solve:
        return known
    # the taps inside the block: -weight at (i, i - lag), a strictly lower-triangular matrix
    cells = torch.arange(size, device=offset.device) * size + offset.clamp(min=0)
    within = weight * (~earlier).to(weight.dtype)
    system = torch.zeros(lag.shape[0], size * size, dtype=weight.dtype, device=weight.device)
    system = system.scatter_add(1, cells.reshape(lag.shape[0], -1), -within.reshape(lag.shape[0], -1))
    solved = torch.linalg.solve_triangular(
        system.reshape(-1, size, size).to(drive.device),
        known.permute(1, 2, 0),
        upper=False,
        unitriangular=True,
    )
    return solved.permute(2, 0, 1)


@torch.jit.unused
def scanned_feedback_delay(
    drive: torch.Tensor, lags: torch.Tensor, weights: torch.Tensor, block: int, reach: int
) -> torch.Tensor:
    """:func:`feedback_delay` as one traced scan over whole blocks (the signal zero-padded to them, the padded
    taps weighing 0), so that the program holds for every length: every block is solved. ``reach`` is at
    least the longest lag.

    Example:
        >>> drive, lags = torch.tensor([[[1.0, 0.0, 0.0, 0.0, 0.0]]]), torch.full((1, 1, 5), 2)
        >>> scanned_feedback_delay(drive, lags, torch.full((1, 1, 5), -1.0), 4, 2).tolist()
        [[[1.0, 0.0, -1.0, 0.0, 1.0]]]
    """
    from torch._higher_order_ops.scan import scan

    time = drive.shape[-1]
    count = block_count(time, block)
    spare = count * block - time
    pieces = [
        nnf.pad(drive, [0, spare]),
        nnf.pad(lags, [0, spare], value=1),
        nnf.pad(weights, [0, spare]),
    ]
    blocks = [piece.unfold(-1, block, block).permute(2, 0, 1, 3) for piece in pieces]  # (count, ., ., block)

    def step(history: torch.Tensor, parts: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        piece = block_step(history, parts[0], parts[1], parts[2], True)
        # a new tensor with the initial history's strides, as the scan requires of its carry
        return torch.cat([history, piece], -1)[:, :, -reach:].clone(memory_format=torch.contiguous_format), piece

    history = drive.new_zeros(drive.shape[0], drive.shape[1], reach)
    _, solved = scan(step, history, blocks)
    joined = solved.permute(1, 2, 0, 3).flatten(2)
    return cut(joined, time, 2)
