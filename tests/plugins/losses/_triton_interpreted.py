"""Runs the Triton RNN-T kernels under Triton's CPU interpreter and prints their errors as JSON.

``TRITON_INTERPRET=1`` must be set before Triton is first imported, so this runs as its own process
(``python _triton_interpreted.py``); :mod:`test_rnnt_triton` starts it once and checks every result.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

CASES = {  # name: batch, frames, labels, vocab, blank, dtype, fused, clamp
    "float32": (3, 6, 4, 7, 0, "float32", True, -1.0),
    "log_probs_given": (2, 5, 3, 6, -1, "float32", False, -1.0),
    "clamp": (3, 4, 2, 5, 2, "float32", True, 0.05),
    "vocabulary_in_chunks": (2, 3, 2, 1100, 7, "float32", True, -1.0),
    "large_vocabulary_log_probs_clamp": (2, 4, 3, 1030, 5, "float32", False, 0.02),
    "float16": (2, 5, 3, 6, 1, "float16", True, -1.0),
    "bfloat16": (2, 5, 3, 6, 1, "bfloat16", True, -1.0),
    "no_labels": (1, 2, 0, 3, 0, "float32", True, -1.0),
}


def _run_case(case: tuple) -> dict[str, float]:
    import torch
    from _rnnt_reference import random_problem, reference_gradient

    from tympan.functional import rnnt_loss

    batch, frames, labels, vocab, blank, dtype_name, fused, clamp = case
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(batch * 100 + frames * 10 + labels)
    logits, targets, t_len, u_len = random_problem(generator, batch, frames, labels, vocab, blank)
    if not fused:
        logits = logits.log_softmax(-1)
    weights = torch.linspace(0.5, 2.0, batch, dtype=torch.float64)
    want_costs, want_grad = reference_gradient(logits, targets, t_len, u_len, blank, weights, fused, clamp)
    x = logits.to(dtype).requires_grad_()
    costs = rnnt_loss(
        x,
        targets,
        t_len,
        u_len,
        blank=blank,
        clamp=clamp,
        reduction="none",
        fused_log_softmax=fused,
        implementation="triton",
    )
    (costs * weights.to(dtype)).sum().backward()
    return {
        "costs": (costs.double() - want_costs).abs().max().item(),
        "grad": (x.grad.double() - want_grad).abs().max().item(),
    }


def _run_inplace(reduction: str) -> dict[str, float]:
    import torch
    from _rnnt_reference import random_problem

    from tympan.functional import rnnt_loss

    generator = torch.Generator().manual_seed(21)
    logits, targets, t_len, u_len = random_problem(generator, 3, 5, 3, 6, -1, dtype=torch.float32)
    x = logits.clone().requires_grad_()
    want = rnnt_loss(x, targets, t_len, u_len, reduction=reduction, implementation="torch")
    want.sum().backward()
    joint = logits.clone().requires_grad_()
    y = joint * 1.0
    got = rnnt_loss(y, targets, t_len, u_len, reduction=reduction, inplace_gradient=True, implementation="triton")
    got.sum().backward()
    return {
        "costs": (got - want).abs().max().item(),
        "grad": (joint.grad - x.grad).abs().max().item(),
        "storage": (y.detach() - x.grad).abs().max().item(),
    }


def main() -> None:
    os.environ["TRITON_INTERPRET"] = "1"
    sys.path.insert(0, str(Path(__file__).parent))
    import warnings

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    results = {name: _run_case(case) for name, case in CASES.items()}
    results.update({f"inplace_{r}": _run_inplace(r) for r in ("mean", "sum", "none")})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
