"""The Viterbi pass of pYIN as two traced scans (forward over the frames, then the backtrack), so that one
exported program decodes any number of frames; run eagerly, :mod:`._pyin_model` loops over the frames.

(No ``from __future__ import annotations`` here: TorchScript reads the signature of the function it leaves
unused, :func:`scanned_viterbi`, and needs its annotations as types.)

Example:
    >>> import torch
    >>> log_obs = torch.log(torch.tensor([[[0.9, 0.1], [0.2, 0.8], [0.1, 0.9]]], dtype=torch.float64))
    >>> log_trans = torch.log(torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=torch.float64))
    >>> scanned_viterbi(log_obs, log_trans, -0.69).tolist()
    [[0, 1, 1]]
"""

import torch

__all__ = ["scanned_viterbi"]


@torch.jit.unused
def scanned_viterbi(log_obs: torch.Tensor, log_trans: torch.Tensor, log_start: float) -> torch.Tensor:
    """Most likely state sequence ``(batch, frames)`` from ``log_obs`` ``(batch, frames, states)`` (at least two
    frames) and ``log_trans`` ``(states, states)``, each state starting at ``log_start``; ties go to the lowest
    state. The same steps as the eager loop, as scans.

    Example:
        >>> log_obs = torch.zeros(2, 4, 3, dtype=torch.float64)
        >>> scanned_viterbi(log_obs, torch.zeros(3, 3, dtype=torch.float64), 0.0).tolist()
        [[0, 0, 0, 0], [0, 0, 0, 0]]
    """
    from torch._higher_order_ops.scan import scan

    incoming = log_trans.t().contiguous()  # (to, from)

    def forward(value: torch.Tensor, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        best, source = (value.unsqueeze(1) + incoming).max(dim=-1)
        return (frame + best).clone(memory_format=torch.contiguous_format), source

    def backward(state: torch.Tensor, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        earlier = source.gather(-1, state.unsqueeze(-1)).squeeze(-1)
        return earlier.clone(memory_format=torch.contiguous_format), earlier

    start = (log_obs[:, 0] + log_start).clone(memory_format=torch.contiguous_format)
    value, pointers = scan(forward, start, log_obs[:, 1:].transpose(0, 1))  # pointers: (frames - 1, batch, states)
    last = value.argmax(dim=-1)
    _, earlier = scan(backward, last, pointers, reverse=True)  # earlier[t]: the state at frame t
    return torch.cat([earlier, last.unsqueeze(0)], dim=0).transpose(0, 1)
