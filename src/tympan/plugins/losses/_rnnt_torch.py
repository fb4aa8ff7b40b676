"""RNN-T loss in plain PyTorch: an anti-diagonal wavefront over the T x (U+1) lattice, on any device.

Cells on one anti-diagonal ``t + u = n`` depend only on the previous diagonal, so each diagonal is one
vectorised step over the batch and every ``u``; the Python loop runs over the ``T + U`` diagonals only.
The lattice is stored skewed (``skewed[b, n, u] = lattice[b, n - u, u]``) so a diagonal is a contiguous row.

The lattice is extended by one frame: cell ``(T_b, U_b)`` is the end state, reached from ``(T_b - 1, U_b)``
by the final blank, so ``alpha`` there and ``beta`` at the origin are both ``log P(y | x)``.

Both functions here follow the contract of :mod:`tympan.plugins.losses.rnnt`: each takes the lengths and
labels as one packed integer tensor (:func:`pack`); ``lattice`` returns the per-sample costs and a state of
``(B, T, U + 1)`` tensors (log-normaliser, blank and emit log-probabilities, alphas, betas); ``gradient`` turns
the state into the gradient with respect to the logits.

Example:
    >>> import torch
    >>> logits = torch.zeros(1, 2, 2, 3, dtype=torch.float64)
    >>> packed = pack(torch.tensor([[1]]), torch.tensor([2]), torch.tensor([1]))
    >>> costs, state = lattice(logits, packed, blank=0, fused=True, with_alphas=True)
    >>> round(costs.item(), 4)  # -log(2 paths * (1/3)**3)
    2.6027
"""

from __future__ import annotations

import torch

__all__ = ["accumulation_dtype", "gradient", "lattice", "pack", "transition_occupancy", "unpack"]

_NEG_INF = float("-inf")


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 for float64 logits, float32 for every other floating dtype.

    Example:
        >>> accumulation_dtype(torch.bfloat16)
        torch.float32
    """
    return torch.float64 if dtype == torch.float64 else torch.float32


def pack(targets: torch.Tensor, logit_lengths: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """One 1-D tensor of the ``B`` frame counts, the ``B`` label counts and the ``B x U`` labels, in order.

    Its dtype is the promotion of the three, so the packing is one copy and never loses a value.

    Example:
        >>> pack(torch.tensor([[1, 2], [3, 0]]), torch.tensor([5, 4]), torch.tensor([2, 1])).tolist()
        [5, 4, 2, 1, 1, 2, 3, 0]
    """
    dtype = torch.promote_types(torch.promote_types(logit_lengths.dtype, target_lengths.dtype), targets.dtype)
    return torch.cat([logit_lengths.to(dtype), target_lengths.to(dtype), targets.to(dtype).flatten()])


def unpack(packed: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The int64 targets ``(B, U)``, frame counts and label counts of a tensor made by :func:`pack`.

    Example:
        >>> targets, frames, labels = unpack(torch.tensor([5, 4, 2, 1, 1, 2, 3, 0]), 2)
        >>> targets.tolist(), frames.tolist(), labels.tolist()
        ([[1, 2], [3, 0]], [5, 4], [2, 1])
    """
    values = packed.long()
    return (
        values[2 * batch :].view(batch, (values.numel() - 2 * batch) // batch),
        values[:batch],
        values[batch : 2 * batch],
    )


def _skew(x: torch.Tensor, fill: float) -> torch.Tensor:
    """``(B, R, C) -> (B, R + C - 1, C)`` with ``out[b, n, u] = x[b, n - u, u]`` and ``fill`` off the lattice."""
    batch, rows, cols = x.shape
    n = torch.arange(rows + cols - 1, device=x.device)[:, None]
    t = n - torch.arange(cols, device=x.device)[None, :]
    on_lattice = (t >= 0) & (t < rows)
    gathered = x.gather(1, t.clamp(0, rows - 1).expand(batch, -1, -1))
    return gathered.masked_fill(~on_lattice, fill)


def _unskew(skewed: torch.Tensor, rows: int) -> torch.Tensor:
    """Inverse of :func:`_skew` for the first ``rows`` rows: ``out[b, t, u] = skewed[b, t + u, u]``."""
    batch, _, cols = skewed.shape
    index = torch.arange(rows, device=skewed.device)[:, None] + torch.arange(cols, device=skewed.device)[None, :]
    return skewed.gather(1, index.expand(batch, -1, -1))


def _safe_targets(targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """The int64 targets with the padding past each target length replaced by 0."""
    inside = torch.arange(targets.shape[1], device=targets.device)[None, :] < target_lengths[:, None]
    return torch.where(inside, targets, 0)


def _log_probs(
    logits: torch.Tensor, targets: torch.Tensor, blank: int, fused: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-normaliser, blank and emit log-probabilities, each ``(B, T, U + 1)`` in the accumulation dtype."""
    x = logits.detach().to(accumulation_dtype(logits.dtype))
    batch, frames, states, _ = x.shape
    log_norm = torch.logsumexp(x, dim=-1) if fused else x.new_zeros(batch, frames, states)
    index = targets[:, None, :, None].expand(-1, frames, -1, 1)
    emit = x[:, :, :-1].gather(-1, index).squeeze(-1)
    emit = torch.cat([emit, emit.new_full((batch, frames, 1), _NEG_INF)], dim=2)
    return log_norm, x[..., blank] - log_norm, emit - log_norm


def _live_masks(
    shape: torch.Size, logit_lengths: torch.Tensor, target_lengths: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean ``(B, T, U + 1)`` masks of the cells inside each sample's lattice, and of those that can emit."""
    _, frames, states = shape
    t = torch.arange(frames, device=device)[None, :, None]
    u = torch.arange(states, device=device)[None, None, :]
    inside = (t < logit_lengths[:, None, None]) & (u <= target_lengths[:, None, None])
    return inside, inside & (u < target_lengths[:, None, None])


def _extended(x: torch.Tensor) -> torch.Tensor:
    """Append the end frame (no transitions leave it) to a ``(B, T, U + 1)`` log-probability tensor."""
    return torch.cat([x, x.new_full((x.shape[0], 1, x.shape[2]), _NEG_INF)], dim=1)


def lattice(
    logits: torch.Tensor, packed: torch.Tensor, blank: int, fused: bool, with_alphas: bool
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Per-sample costs ``-log P(y | x)`` and the lattice state; alphas only when ``with_alphas``.

    Example:
        >>> logits = torch.randn(2, 4, 3, 5)
        >>> packed = pack(torch.tensor([[1, 2], [3, 0]]), torch.tensor([4, 3]), torch.tensor([2, 1]))
        >>> costs, _ = lattice(logits, packed, 0, True, False)
        >>> costs.shape
        torch.Size([2])
    """
    batch, frames, states, _ = logits.shape
    targets, logit_lengths, target_lengths = unpack(packed, batch)
    device = logits.device
    log_norm, blank_lp, emit_lp = _log_probs(logits, _safe_targets(targets, target_lengths), blank, fused)
    inside, emits = _live_masks(blank_lp.shape, logit_lengths, target_lengths, device)
    blank_lp = blank_lp.masked_fill(~inside, _NEG_INF)
    emit_lp = emit_lp.masked_fill(~emits, _NEG_INF)
    blank_s = _skew(_extended(blank_lp), _NEG_INF)
    emit_s = _skew(_extended(emit_lp), _NEG_INF)
    diagonals = blank_s.shape[1]

    at_end = torch.zeros(batch, diagonals, states, dtype=torch.bool, device=device)
    at_end[torch.arange(batch, device=device), logit_lengths + target_lengths, target_lengths] = True

    beta_s = torch.full_like(blank_s, _NEG_INF)
    beta_s[:, -1] = torch.where(at_end[:, -1], 0.0, _NEG_INF)
    for n in range(diagonals - 2, -1, -1):
        later = beta_s[:, n + 1]
        row = beta_s[:, n]
        torch.add(later, blank_s[:, n], out=row)
        torch.logaddexp(row[:, :-1], later[:, 1:] + emit_s[:, n, :-1], out=row[:, :-1])
        row.masked_fill_(at_end[:, n], 0.0)
    beta = _unskew(beta_s, frames)

    alpha = torch.full_like(beta, _NEG_INF)
    if with_alphas:
        alpha_s = torch.full_like(blank_s, _NEG_INF)
        alpha_s[:, 0, 0] = 0.0
        for n in range(1, diagonals):
            earlier = alpha_s[:, n - 1]
            row = alpha_s[:, n]
            torch.add(earlier, blank_s[:, n - 1], out=row)
            torch.logaddexp(row[:, 1:], earlier[:, :-1] + emit_s[:, n - 1, :-1], out=row[:, 1:])
        alpha = _unskew(alpha_s, frames)
    costs = -beta[:, 0, 0]
    return costs, (log_norm, blank_lp, emit_lp, alpha, beta)


def transition_occupancy(
    state: tuple[torch.Tensor, ...], logit_lengths: torch.Tensor, target_lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior probabilities of taking the blank and the emit transition out of every cell, ``(B, T, U + 1)``.

    These are minus the gradients of the cost with respect to the blank and emit log-probabilities.

    Example:
        >>> logits = torch.zeros(1, 1, 1, 2)
        >>> _, state = lattice(logits, pack(torch.zeros(1, 0), torch.tensor([1]), torch.tensor([0])), 0, True, True)
        >>> transition_occupancy(state, torch.tensor([1]), torch.tensor([0]))[0].item()
        1.0
    """
    _, blank_lp, emit_lp, alpha, beta = state
    batch, frames, states = beta.shape
    t = torch.arange(frames, device=beta.device)[None, :, None]
    u = torch.arange(states, device=beta.device)[None, None, :]
    final = (t + 1 == logit_lengths[:, None, None]) & (u == target_lengths[:, None, None])
    beta_down = torch.cat([beta[:, 1:], beta.new_full((batch, 1, states), _NEG_INF)], dim=1)
    beta_down = beta_down.masked_fill(final, 0.0)
    beta_right = torch.cat([beta[:, :, 1:], beta.new_full((batch, frames, 1), _NEG_INF)], dim=2)
    log_p = beta[:, :1, :1]
    return (alpha + blank_lp + beta_down - log_p).exp(), (alpha + emit_lp + beta_right - log_p).exp()


def gradient(
    logits: torch.Tensor,
    packed: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    scale: torch.Tensor,
    blank: int,
    clamp: float,
    fused: bool,
    inplace: bool,
) -> torch.Tensor:
    """The gradient of ``sum(scale * costs)`` with respect to the logits (written into them when ``inplace``).

    Each element of a sample's gradient is clipped to ``[-clamp, clamp]`` (when ``clamp > 0``) before its
    ``scale`` applies.

    Example:
        >>> logits = torch.randn(1, 3, 2, 4, dtype=torch.float64)
        >>> packed = pack(torch.tensor([[2]]), torch.tensor([3]), torch.tensor([1]))
        >>> _, state = lattice(logits, packed, 0, True, True)
        >>> grad = gradient(logits, packed, state, torch.ones(1, dtype=torch.float64), 0, -1.0, True, False)
        >>> abs(grad.sum().item()) < 1e-12  # each row of a softmax gradient sums to zero
        True
    """
    log_norm = state[0]
    targets, logit_lengths, target_lengths = unpack(packed, logits.shape[0])
    blank_occ, emit_occ = transition_occupancy(state, logit_lengths, target_lengths)
    work = logits.detach()
    acc = log_norm.dtype
    grad = work if inplace and work.dtype == acc else work.to(acc, copy=True)
    if fused:
        grad.sub_(log_norm[..., None]).exp_().mul_((blank_occ + emit_occ)[..., None])
    else:
        grad.zero_()
    grad.select(-1, blank).sub_(blank_occ)
    index = _safe_targets(targets, target_lengths)[:, None, :, None].expand(-1, grad.shape[1], -1, 1)
    grad[:, :, :-1].scatter_add_(-1, index, -emit_occ[:, :, :-1, None])
    if clamp > 0:
        grad.clamp_(-clamp, clamp)
    grad.mul_(scale.to(acc)[:, None, None, None])
    inside, _ = _live_masks(log_norm.shape, logit_lengths, target_lengths, logits.device)
    grad.masked_fill_(~inside[..., None], 0.0)
    if grad is work:
        return work
    if inplace:
        return work.copy_(grad)
    return grad.to(logits.dtype)
