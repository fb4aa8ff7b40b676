"""A float64 brute-force RNN-T reference: the explicit lattice recursion, one cell at a time.

Gradients come from autograd through the recursion, independently of the alpha-beta formulas under test.
"""

from __future__ import annotations

import torch


def reference_costs(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    fused: bool = True,
) -> torch.Tensor:
    """Per-sample ``-log P(y | x)`` in float64, differentiable with respect to ``logits``."""
    log_probs = logits.double().log_softmax(-1) if fused else logits.double()
    blank = blank % logits.shape[-1]
    costs = []
    for b in range(logits.shape[0]):
        frames, labels = int(logit_lengths[b]), int(target_lengths[b])
        alpha: dict[tuple[int, int], torch.Tensor] = {}
        for t in range(frames):
            for u in range(labels + 1):
                paths = []
                if t == 0 and u == 0:
                    paths.append(log_probs.new_zeros(()))
                if t > 0:
                    paths.append(alpha[t - 1, u] + log_probs[b, t - 1, u, blank])
                if u > 0:
                    paths.append(alpha[t, u - 1] + log_probs[b, t, u - 1, int(targets[b, u - 1])])
                alpha[t, u] = torch.logsumexp(torch.stack(paths), 0)
        costs.append(-(alpha[frames - 1, labels] + log_probs[b, frames - 1, labels, blank]))
    return torch.stack(costs)


def reference_gradient(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    weights: torch.Tensor,
    fused: bool = True,
    clamp: float = -1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Costs and the gradient of ``sum(weights * costs)``, each sample's gradient clipped to ``clamp`` first."""
    x = logits.detach().double().requires_grad_()
    costs = reference_costs(x, targets, logit_lengths, target_lengths, blank, fused)
    grads = []
    for b in range(costs.shape[0]):
        (g,) = torch.autograd.grad(costs[b], x, retain_graph=True)
        if clamp > 0:
            g = g.clamp(-clamp, clamp)
        grads.append(g * float(weights[b]))
    return costs.detach(), torch.stack(grads).sum(0)


def random_problem(
    generator: torch.Generator,
    batch: int,
    frames: int,
    labels: int,
    vocab: int,
    blank: int,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random logits, targets avoiding the blank, and ragged lengths whose maxima may fall short of the tensors."""
    blank = blank % vocab
    logits = torch.randn(batch, frames, labels + 1, vocab, generator=generator, dtype=torch.float64) * 2
    others = torch.tensor([v for v in range(vocab) if v != blank])
    targets = others[torch.randint(len(others), (batch, labels), generator=generator)].to(torch.int32)
    logit_lengths = torch.randint(1, frames + 1, (batch,), generator=generator, dtype=torch.int32)
    target_lengths = torch.randint(0, labels + 1, (batch,), generator=generator, dtype=torch.int32)
    return logits.to(dtype), targets, logit_lengths, target_lengths
