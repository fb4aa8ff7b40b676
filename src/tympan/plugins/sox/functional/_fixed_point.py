"""Fixed-point iteration with a data-dependent number of passes. Run eagerly, a plain loop (which autograd
follows); traced, torch's ``while_loop`` operator, a loop node in the exported program, so that the number of
passes (unknown until the data is seen) needs no Python branch on tensor values.

Example:
    >>> import torch
    >>> halve = lambda state, floor: (state * 2, torch.maximum(state // 2, floor))
    >>> fixed_point(halve, torch.tensor([40, 7]), 10, torch.tensor([3, 3]))
    (tensor([6, 6]), tensor([3, 3]))
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch._higher_order_ops.while_loop import while_loop_op

from tympan.core.tracing import traced

__all__ = ["fixed_point"]

Step = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def fixed_point(
    step: Step, state: torch.Tensor, limit: int, *operands: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Iterate ``value, state = step(state, *operands)`` until the state stops changing or ``limit`` passes
    have run; the last ``(value, state)``. ``step`` must keep the shapes and dtypes of its results and use
    only its arguments (``operands`` carry every other tensor it reads).
    """
    value, current = step(state, *operands)
    if not traced():
        for _ in range(limit - 1):
            if torch.equal(current, state):
                break
            state = current
            value, current = step(state, *operands)
        return value, current
    count = torch.ones((), dtype=torch.int64, device=state.device)
    bound = count * limit

    def unfinished(
        previous: torch.Tensor, current: torch.Tensor, value: torch.Tensor, count: torch.Tensor, *rest: torch.Tensor
    ) -> torch.Tensor:
        return (previous != current).any() & (count < rest[0])

    def once(
        previous: torch.Tensor, current: torch.Tensor, value: torch.Tensor, count: torch.Tensor, *rest: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        value, following = step(current, *rest[1:])
        return current.clone(), following, value, count + 1

    result = while_loop_op(unfinished, once, (state, current, value, count), (bound, *operands))
    return result[2], result[1]
