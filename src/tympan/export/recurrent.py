"""Recurrent layers in exported programs: ``torch.export`` unrolls ``nn.LSTM`` and ``nn.GRU`` step by step,
which fixes their sequence length; :func:`recurrent_layers_as_loops` has it trace them as one ``while_loop``
over time instead, so that the length stays dynamic.

Example:
    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    >>> with recurrent_layers_as_loops():
    ...     program = torch.export.export(lstm, (torch.randn(2, 5, 3),), dynamic_shapes=({1: torch.export.Dim("t")},))
    >>> x = torch.randn(2, 11, 3)
    >>> torch.allclose(program.module()(x)[0], lstm(x)[0], atol=1e-6)
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["recurrent_layers_as_loops"]


@contextlib.contextmanager
def recurrent_layers_as_loops() -> Iterator[None]:
    """Within it, ``torch.export`` traces ``nn.LSTM`` and ``nn.GRU`` as one ``while_loop`` over time instead
    of unrolling them step by step, so that their sequence length stays dynamic (the exported program
    is then for inference: ``while_loop`` has no autograd).

    Example:
        >>> import torch
        >>> gru = torch.nn.GRU(3, 4, batch_first=True)
        >>> frames = torch.export.Dim("frames", min=2)
        >>> with recurrent_layers_as_loops():
        ...     program = torch.export.export(gru, (torch.randn(1, 5, 3),), dynamic_shapes=({1: frames},))
        >>> x = torch.randn(1, 9, 3)
        >>> torch.allclose(program.module()(x)[0], gru(x)[0], atol=1e-6)
        True
    """
    from torch.export._patches import register_gru_while_loop_decomposition, register_lstm_while_loop_decomposition

    with register_lstm_while_loop_decomposition(), register_gru_while_loop_decomposition():
        _forget_resolved_kernels()
        _forget_compiled_loops()
        try:
            yield
        finally:
            _forget_resolved_kernels()
            _forget_compiled_loops()


def _forget_resolved_kernels() -> None:
    """Have the recurrent operators look their kernels up again: once a model has run under ``torch.compile``
    they keep the kernel they resolved then, and would ignore a decomposition registered (or restored) since."""
    import torch

    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        op._dispatch_cache.clear()


def _forget_compiled_loops() -> None:
    """Drop what ``torch.compile`` kept of the ``while_loop`` wrapper: it compiles the wrapper once per set of
    sizes and checks a later program's loops against the sizes it saw, so a loop over a static length (200
    steps, say) in one export made the next export's dynamic length guard against that value."""
    import types

    from torch._C._dynamo.eval_frame import reset_code
    from torch._higher_order_ops.while_loop import while_loop

    for constant in while_loop.__code__.co_consts:
        if isinstance(constant, types.CodeType) and constant.co_name == "_while_loop_op_wrapper":
            reset_code(constant)
