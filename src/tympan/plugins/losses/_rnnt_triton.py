"""RNN-T loss as three Triton kernels: log-normaliser, lattice (alphas and betas), fused gradient.

1. ``_normalise``: one pass over the logits computes, per lattice cell, the log-sum-exp over the
   vocabulary (online, in chunks of ``BLOCK_V``) and the blank and emit log-probabilities.
2. ``_lattice``: one program per sample and direction walks the anti-diagonals of the ``T x (U + 1)``
   lattice, alphas forwards and betas backwards at once, each diagonal a vector over ``u``.
3. ``_gradient``: one pass over the logits writes ``softmax * occupancy - transition posteriors``, clipped
   and scaled by the upstream gradient, into a fresh tensor or into the logits themselves.

Besides the logits and the gradient, the kernels keep one float32 state buffer: the log-normaliser
``(B, T, U + 1)``, four lattices (blank and emit log-probabilities, alphas, betas) stored skewed,
``(B, T + U, U + 1)`` with cell ``(t, u)`` at ``[t + u, u]`` so that an anti-diagonal is one contiguous row,
and the ``B`` costs. They read lengths and labels from the one packed integer tensor that the host validated
(:func:`._rnnt_torch.pack`), so each launch passes few arguments. All arithmetic is float32, whatever the
dtype of the logits (float32, float16, bfloat16). The lattice kernel keeps the current diagonal in registers
and shifts it by one label with ``tl.gather``. Cells outside a sample's lengths are neither read nor used, and
their gradient is zero.

With ``TRITON_INTERPRET=1`` in the environment before Triton is first imported, the kernels run on CPU
tensors through Triton's interpreter, which is how the tests check them without a GPU.

Example:
    >>> import torch
    >>> _block_sizes(1000)
    (4, 1024)
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["gradient", "lattice"]

_TILE = 4096
_MAX_BLOCK_V = 1024
_LATTICE_STAGES = 3


@triton.jit
def _log_probs(
    logits_ptr,
    targets_ptr,
    b,
    t,
    u,
    live,
    emits,
    frames,
    states,
    vocab,
    blank,
    FUSED: tl.constexpr,
    BLOCK_V: tl.constexpr,
):  # pragma: no cover - traced by Triton
    """Log-normaliser, blank and emit log-probabilities of the cells ``(b, t, u)`` (vectors of one shape)."""
    base = ((b.to(tl.int64) * frames + t) * states + u) * vocab
    norm = t.to(tl.float32) * 0.0
    if FUSED:  # online log-sum-exp over chunks of the vocabulary
        top = norm + float("-inf")
        total = norm
        for start in range(0, vocab, BLOCK_V):
            cols = start + tl.arange(0, BLOCK_V)
            mask = live[:, None] & (cols < vocab)[None, :]
            x = tl.load(logits_ptr + base[:, None] + cols[None, :], mask=mask, other=float("-inf")).to(tl.float32)
            new_top = tl.maximum(top, tl.max(x, axis=1))
            shift = tl.where(new_top == float("-inf"), 0.0, new_top)
            total = total * tl.exp(top - shift) + tl.sum(tl.exp(x - shift[:, None]), axis=1)
            top = new_top
        norm = tl.where(live, tl.where(top == float("-inf"), 0.0, top) + tl.log(total), 0.0)
    label = tl.load(targets_ptr + b * (states - 1) + u, mask=emits, other=0)
    blank_x = tl.load(logits_ptr + base + blank, mask=live, other=0.0).to(tl.float32)
    emit_x = tl.load(logits_ptr + base + label, mask=emits, other=0.0).to(tl.float32)
    return norm, tl.where(live, blank_x - norm, float("-inf")), tl.where(emits, emit_x - norm, float("-inf"))


@triton.jit
def _regions(state_ptr, batch, frames, states):  # pragma: no cover - traced by Triton
    """Pointers to the blank and emit log-probabilities, alphas, betas and costs in the state buffer."""
    plane = tl.cast(batch, tl.int64) * (frames + states - 1) * states
    blank_lp_ptr = state_ptr + tl.cast(batch, tl.int64) * frames * states
    emit_lp_ptr = blank_lp_ptr + plane
    alpha_ptr = emit_lp_ptr + plane
    beta_ptr = alpha_ptr + plane
    return blank_lp_ptr, emit_lp_ptr, alpha_ptr, beta_ptr, beta_ptr + plane


@triton.jit
def _rows(packed_ptr, batch, frames, states, BLOCK_R: tl.constexpr):  # pragma: no cover - traced by Triton
    """This program's rows of ``(B * T * (U + 1))`` cells: indices, and whether each is live and can emit."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    in_range = rows < batch * frames * states
    b = rows // (frames * states)
    t = (rows // states) % frames
    u = rows % states
    t_len = tl.load(packed_ptr + b, mask=in_range, other=0).to(tl.int32)
    u_len = tl.load(packed_ptr + batch + b, mask=in_range, other=0).to(tl.int32)
    live = in_range & (t < t_len) & (u <= u_len)
    return rows, in_range, b, t, u, t_len, u_len, live, live & (u < u_len)


@triton.jit
def _normalise(
    logits_ptr,
    packed_ptr,
    state_ptr,
    batch,
    frames,
    states,
    vocab,
    blank,
    FUSED: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_V: tl.constexpr,
):  # pragma: no cover - traced by Triton
    rows, in_range, b, t, u, _, _, live, emits = _rows(packed_ptr, batch, frames, states, BLOCK_R)
    norm, blank_lp, emit_lp = _log_probs(
        logits_ptr, packed_ptr + 2 * batch, b, t, u, live, emits, frames, states, vocab, blank, FUSED, BLOCK_V
    )
    blank_lp_ptr, emit_lp_ptr, _, _, _ = _regions(state_ptr, batch, frames, states)
    skewed = b.to(tl.int64) * (frames + states - 1) * states + (t + u) * states + u
    tl.store(state_ptr + rows, norm, mask=in_range)
    tl.store(blank_lp_ptr + skewed, blank_lp, mask=in_range)
    tl.store(emit_lp_ptr + skewed, emit_lp, mask=in_range)


@triton.jit
def _lattice(
    packed_ptr,
    state_ptr,
    batch,
    frames,
    states,
    BLOCK_U: tl.constexpr,
    STAGES: tl.constexpr,
):  # pragma: no cover - traced by Triton
    b = tl.program_id(0)
    t_len = tl.load(packed_ptr + b).to(tl.int32)
    u_len = tl.load(packed_ptr + batch + b).to(tl.int32)
    blank_lp_ptr, emit_lp_ptr, alpha_ptr, beta_ptr, costs_ptr = _regions(state_ptr, batch, frames, states)
    u = tl.arange(0, BLOCK_U)
    base = b.to(tl.int64) * (frames + states - 1) * states
    steps = t_len + u_len
    if tl.program_id(1) == 0:
        # alpha_n[u] = logaddexp(alpha_{n-1}[u] + blank_{n-1}[u], alpha_{n-1}[u-1] + emit_{n-1}[u-1])
        stay = tl.where(u == 0, 0.0, float("-inf"))  # a virtual predecessor gives alpha(0, 0) = 0
        move = tl.full([BLOCK_U], float("-inf"), dtype=tl.float32)
        for n in tl.range(0, steps, num_stages=STAGES):
            t = n - u
            live = (u <= u_len) & (t >= 0) & (t < t_len)
            cell = base + n * states + u
            log_blank = tl.load(blank_lp_ptr + cell, mask=live, other=float("-inf"))
            log_emit = tl.load(emit_lp_ptr + cell, mask=live & (u < u_len), other=float("-inf"))
            moved = tl.where(u > 0, tl.gather(move, tl.maximum(u - 1, 0), 0), float("-inf"))
            top = tl.maximum(stay, moved)
            shift = tl.where(top == float("-inf"), 0.0, top)
            alpha = tl.where(live, shift + tl.log(tl.exp(stay - shift) + tl.exp(moved - shift)), float("-inf"))
            tl.store(alpha_ptr + cell, alpha, mask=live)
            stay = alpha + log_blank
            move = alpha + log_emit
    else:
        # beta_n[u] = logaddexp(beta_{n+1}[u] + blank_n[u], beta_{n+1}[u+1] + emit_n[u]); beta(T_b, U_b) = 0
        later = tl.full([BLOCK_U], float("-inf"), dtype=tl.float32)
        for k in tl.range(0, steps, num_stages=STAGES):
            n = steps - 1 - k
            t = n - u
            live = (u <= u_len) & (t >= 0) & (t < t_len)
            cell = base + n * states + u
            log_blank = tl.load(blank_lp_ptr + cell, mask=live, other=float("-inf"))
            log_emit = tl.load(emit_lp_ptr + cell, mask=live & (u < u_len), other=float("-inf"))
            below = tl.where(t + 1 < t_len, later, tl.where((t + 1 == t_len) & (u == u_len), 0.0, float("-inf")))
            right = tl.where(u < u_len, tl.gather(later, tl.minimum(u + 1, BLOCK_U - 1), 0), float("-inf"))
            stay = below + log_blank
            move = right + log_emit
            top = tl.maximum(stay, move)
            shift = tl.where(top == float("-inf"), 0.0, top)
            beta = tl.where(live, shift + tl.log(tl.exp(stay - shift) + tl.exp(move - shift)), float("-inf"))
            tl.store(beta_ptr + cell, beta, mask=live)
            later = beta
        tl.store(costs_ptr + b, -tl.sum(tl.where(u == 0, later, 0.0), axis=0))  # -beta(0, 0)


@triton.jit
def _gradient(
    logits_ptr,
    grad_ptr,
    packed_ptr,
    state_ptr,
    scale_ptr,
    scale_stride,
    batch,
    frames,
    states,
    vocab,
    blank,
    clamp,
    FUSED: tl.constexpr,
    CLAMP: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_V: tl.constexpr,
):  # pragma: no cover - traced by Triton
    rows, in_range, b, t, u, t_len, u_len, live, emits = _rows(packed_ptr, batch, frames, states, BLOCK_R)
    blank_lp_ptr, emit_lp_ptr, alpha_ptr, beta_ptr, _ = _regions(state_ptr, batch, frames, states)
    origin = b.to(tl.int64) * (frames + states - 1) * states
    cell = origin + (t + u) * states + u
    log_p = tl.load(beta_ptr + origin, mask=in_range, other=0.0)
    alpha = tl.load(alpha_ptr + cell, mask=live, other=float("-inf"))
    below = tl.load(beta_ptr + cell + states, mask=live & (t + 1 < t_len), other=float("-inf"))
    below = tl.where((t + 1 == t_len) & (u == u_len), 0.0, below)
    right = tl.load(beta_ptr + cell + states + 1, mask=emits, other=float("-inf"))
    blank_lp = tl.load(blank_lp_ptr + cell, mask=live, other=float("-inf"))
    emit_lp = tl.load(emit_lp_ptr + cell, mask=emits, other=float("-inf"))
    blank_occ = tl.where(live, tl.exp(alpha + blank_lp + below - log_p), 0.0)
    emit_occ = tl.where(emits, tl.exp(alpha + emit_lp + right - log_p), 0.0)
    occupancy = blank_occ + emit_occ
    norm = tl.load(state_ptr + rows, mask=live, other=0.0)
    label = tl.load(packed_ptr + 2 * batch + b * (states - 1) + u, mask=emits, other=0)
    scale = tl.load(scale_ptr + b * scale_stride, mask=in_range, other=0.0).to(tl.float32)
    base = rows.to(tl.int64) * vocab
    for start in range(0, vocab, BLOCK_V):
        cols = start + tl.arange(0, BLOCK_V)
        offsets = base[:, None] + cols[None, :]
        if FUSED:
            x = tl.load(logits_ptr + offsets, mask=live[:, None] & (cols < vocab)[None, :], other=0.0)
            g = tl.exp(x.to(tl.float32) - norm[:, None]) * occupancy[:, None]
        else:
            g = tl.zeros([BLOCK_R, BLOCK_V], dtype=tl.float32)
        g -= tl.where(cols[None, :] == blank, blank_occ[:, None], 0.0)
        g -= tl.where(cols[None, :] == label[:, None], emit_occ[:, None], 0.0)
        if CLAMP:
            g = tl.minimum(tl.maximum(g, -clamp), clamp)
        g = tl.where(live[:, None], g * scale[:, None], 0.0)
        tl.store(grad_ptr + offsets, g.to(grad_ptr.dtype.element_ty), mask=in_range[:, None] & (cols < vocab)[None, :])


def _block_sizes(vocab: int, tile: int = _TILE) -> tuple[int, int]:
    """Rows and vocabulary entries per program: ``BLOCK_V`` covers ``V`` up to 1024, a tile holds ``tile`` values.

    Example:
        >>> _block_sizes(28)
        (128, 32)
    """
    block_v = min(triton.next_power_of_2(vocab), _MAX_BLOCK_V)
    return max(1, tile // block_v), block_v


def lattice(
    logits: torch.Tensor, packed: torch.Tensor, blank: int, fused: bool, with_alphas: bool
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Per-sample costs and the lattice state, one float32 buffer (alphas always: they run beside the betas).

    ``packed`` holds the frame counts, label counts and flattened targets (see :func:`._rnnt_torch.pack`).

    Example:
        >>> from tympan.functional import rnnt_loss
        >>> logits = torch.zeros(1, 2, 2, 3, device="cuda")  # doctest: +SKIP
        >>> ints = dict(dtype=torch.int32, device="cuda")  # doctest: +SKIP
        >>> rnnt_loss(logits, torch.tensor([[1]], **ints), torch.tensor([2], **ints), torch.tensor([1], **ints),
        ...           blank=0, implementation="triton")  # doctest: +SKIP
        tensor(2.6027, device='cuda:0')
    """
    logits = logits.detach().contiguous()
    batch, frames, states, vocab = logits.shape
    n_rows = batch * frames * states
    state = torch.empty(
        n_rows + 4 * batch * (frames + states - 1) * states + batch, dtype=torch.float32, device=logits.device
    )
    block_r, block_v = _block_sizes(vocab)
    _normalise[(triton.cdiv(n_rows, block_r),)](
        logits,
        packed,
        state,
        batch,
        frames,
        states,
        vocab,
        blank,
        FUSED=fused,
        BLOCK_R=block_r,
        BLOCK_V=block_v,
    )
    block_u = triton.next_power_of_2(states)
    _lattice[(batch, 2)](
        packed,
        state,
        batch,
        frames,
        states,
        BLOCK_U=block_u,
        STAGES=_LATTICE_STAGES,
        num_warps=max(2, block_u // 128),
    )
    return state[-batch:], (state,)


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
    """The gradient with respect to the logits, in their dtype, into their storage when ``inplace``.

    Example:
        >>> from tympan.functional import rnnt_loss
        >>> logits = torch.zeros(1, 2, 2, 3, device="cuda", requires_grad=True)  # doctest: +SKIP
        >>> ints = dict(dtype=torch.int32, device="cuda")  # doctest: +SKIP
        >>> rnnt_loss(logits, torch.tensor([[1]], **ints), torch.tensor([2], **ints), torch.tensor([1], **ints),
        ...           blank=0, implementation="triton").backward()  # doctest: +SKIP
        >>> logits.grad.sum().abs().item() < 1e-6  # doctest: +SKIP
        True
    """
    source = logits.detach().contiguous()
    out = source if inplace else torch.empty_like(source)
    batch, frames, states, vocab = source.shape
    block_r, block_v = _block_sizes(vocab, _TILE if vocab < 512 else _TILE // 2)
    _gradient[(triton.cdiv(batch * frames * states, block_r),)](
        source,
        out,
        packed,
        state[0],
        scale,
        scale.stride(0),
        batch,
        frames,
        states,
        vocab,
        blank,
        float(clamp),
        FUSED=fused,
        CLAMP=clamp > 0,
        BLOCK_R=block_r,
        BLOCK_V=block_v,
    )
    return out.detach() if inplace else out
