"""Effects whose state settles in a data-dependent number of passes stay differentiable when run eagerly."""

from __future__ import annotations

import torch

from tympan import registry


def test_compand_passes_gradients_to_its_input() -> None:
    compand = registry.create("sox:compand", sample_rate=16000)
    x = (0.3 * torch.randn(2, 3000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)).requires_grad_()
    compand(x).sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0
    # the gradient of one sample's output agrees with a central difference of the eager output
    index, step = 1234, 1e-6
    with torch.no_grad():
        up, down = x.clone(), x.clone()
        up[0, index] += step
        down[0, index] -= step
        difference = float((compand(up).sum() - compand(down).sum()) / (2 * step))
    assert abs(float(x.grad[0, index]) - difference) <= 1e-4 * max(1.0, abs(difference))
