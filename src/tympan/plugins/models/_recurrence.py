"""Recurrences for ``torch.export``: a Python loop over time steps unrolls to the traced length, so an exported
model runs its recurrence as one ``scan``, which keeps the number of steps symbolic.

Eager and scripted models keep their step-by-step loop (or their fused RNN); under :func:`exporting` they run
the same step function through :func:`scan_states` instead. The functions here are left out of TorchScript
(their annotations are real objects, so that the stubs TorchScript makes of them type-check).

Example:
    >>> import torch
    >>> outputs, [last] = scan_states(lambda x, state: [state[0] + x], [torch.zeros(2)], torch.ones(3, 2))
    >>> outputs[:, 0].tolist(), last.tolist()
    ([1.0, 2.0, 3.0], [3.0, 3.0])
"""

from typing import Any

import torch

__all__ = ["exporting", "lstm_scan", "relu_rnn_scan", "scan_states", "scan_steps"]


@torch.jit.unused
def exporting() -> bool:
    """Whether ``torch.export`` is tracing the caller; scripted callers test ``torch.jit.is_scripting()`` first.

    Example:
        >>> exporting()
        False
    """
    return torch.compiler.is_exporting()


@torch.jit.unused
def scan_steps(
    step: Any, initial: list[torch.Tensor], inputs: torch.Tensor
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run ``state, outputs = step(inputs[t], state)`` over the first dimension of ``inputs`` from ``initial``:
    each of the step's outputs stacked over the steps ``(T, ...)``, and the last states.

    Example:
        >>> import torch
        >>> [sums, doubled], [total] = scan_steps(lambda x, s: ([s[0] + x], [s[0] + x, 2 * x]),
        ...                                       [torch.zeros(1)], torch.tensor([[2.0], [1.0], [3.0]]))
        >>> sums.flatten().tolist(), doubled.flatten().tolist(), total.item()
        ([2.0, 3.0, 6.0], [4.0, 2.0, 6.0], 6.0)
    """
    from torch._higher_order_ops.scan import scan

    def body(state: list[torch.Tensor], x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        new_state, outputs = step(x, state)
        return list(new_state), [output.clone() for output in outputs]

    last, outputs = scan(body, list(initial), inputs)
    return list(outputs), list(last)


@torch.jit.unused
def scan_states(
    step: Any, initial: list[torch.Tensor], inputs: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run ``state = step(inputs[t], state)`` over the first dimension of ``inputs`` from ``initial``: every
    step's first state, stacked ``(T, ...)``, and the last states.

    Example:
        >>> import torch
        >>> outputs, [h, count] = scan_states(lambda x, s: [torch.maximum(s[0], x), s[1] + 1],
        ...                                   [torch.zeros(1), torch.zeros(1)], torch.tensor([[2.0], [1.0], [3.0]]))
        >>> outputs.flatten().tolist(), h.item(), count.item()
        ([2.0, 2.0, 3.0], 3.0, 3.0)
    """

    def with_first(x: torch.Tensor, state: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        new_state = list(step(x, state))
        return new_state, new_state[:1]

    [outputs], last = scan_steps(with_first, initial, inputs)
    return outputs, last


@torch.jit.unused
def relu_rnn_scan(
    inputs: torch.Tensor, weight_ih: torch.Tensor, bias_ih: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor
) -> torch.Tensor:
    """One direction of a ReLU RNN from a zero state over ``inputs`` ``(T, B, input)``: ``h_t = relu(W_ih x_t +
    b_ih + W_hh h_(t-1) + b_hh)`` for every step, ``(T, B, hidden)``.

    Example:
        >>> import torch
        >>> rnn = torch.nn.RNN(3, 4, nonlinearity="relu")
        >>> x = torch.randn(5, 2, 3)
        >>> out = relu_rnn_scan(x, rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0)
        >>> torch.allclose(out, rnn(x)[0], atol=1e-6)
        True
    """
    projected = torch.nn.functional.linear(inputs, weight_ih, bias_ih) + bias_hh
    initial = [inputs.new_zeros(inputs.size(1), weight_hh.size(0))]
    outputs, _ = scan_states(
        lambda step, state: [torch.relu(step + torch.nn.functional.linear(state[0], weight_hh))], initial, projected
    )
    return outputs


@torch.jit.unused
def lstm_scan(
    cell: Any, input_gates: torch.Tensor, h: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``cell._step(gates, h, c) -> (h, c)`` over ``input_gates`` ``(T, B, 4 * hidden)`` from ``h`` and ``c``:
    every step's ``h`` ``(T, B, hidden)`` and the last ``[h, c]``.

    Example:
        >>> import torch
        >>> class Decay:
        ...     def _step(self, gates, h, c):
        ...         return 0.5 * h + gates, c + 1
        >>> outputs, [h, c] = lstm_scan(Decay(), torch.ones(3, 1), torch.zeros(1), torch.zeros(1))
        >>> outputs.flatten().tolist(), c.item()
        ([1.0, 1.5, 1.75], 3.0)
    """
    return scan_states(lambda gates, state: list(cell._step(gates, state[0], state[1])), [h, c], input_gates)
