"""A second-order recursion run sample by sample in compiled code: the CPU's eager path for ``lfilter``.

Each row is filtered in direct form I, ``y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a2 y[n-2] - a1 y[n-1]``, in
float64 whatever the signal's dtype (a float32 signal is read and written as float32). Rows run two at a time
in one loop over time: a row's next output waits for its last one (a fused multiply-add), and two
independent rows fill that wait. The signal is read once and the output written once, so on one core this
runs at about the speed of copying the signal, where the block recursion of :mod:`._iir` moves it through
several matrix products.

It is used eagerly on the CPU when nothing differentiates through the call; autograd, tracing, TorchScript
and GPUs take the block recursion (see :func:`._iir.filter_rows`).

Example:
    >>> import torch
    >>> x = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]])
    >>> a = torch.tensor([[1.0, -0.5, 0.0]], dtype=torch.float64)
    >>> b = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    >>> loop_rows(x, a, b).tolist()
    [[[1.0, 0.5, 0.25, 0.125]]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tympan.core.compiled_loops import compiled_lazily

__all__ = ["loop_rows"]

#: One second-order section's ``(b0, b1, b2, a1, a2)``.
_Section = tuple[float, float, float, float, float]


def _section(a: np.ndarray, b: np.ndarray, f: int) -> _Section:
    """``(b0, b1, b2, a1, a2)`` of filter ``f``."""
    return b[f, 0], b[f, 1], b[f, 2], a[f, 1], a[f, 2]


def _output(x0: float, x1: float, x2: float, y1: float, y2: float, c: _Section) -> float:
    """The next output from the last three inputs and two outputs of a section ``c`` (see :func:`_section`)."""
    return (c[0] * x0 + c[1] * x1 + c[2] * x2 - c[4] * y2) - c[3] * y1


def _filter_pairs(x: Any, a: Any, b: Any, out: Any) -> None:
    """Filter ``x`` ``(F, R, T)`` into ``out`` by ``b[f] / a[f]`` (``(F, 3)``, ``a0 = 1``), two rows per pass.

    Rows are numbered ``f * R + r``; pass ``i`` runs rows ``2 i`` and ``2 i + 1`` (the last row twice when
    their count is odd).
    """
    filters, rows, time = x.shape
    total = filters * rows
    for first in range(0, total, 2):
        second = min(first + 1, total - 1)
        f0, r0 = divmod(first, rows)
        f1, r1 = divmod(second, rows)
        c, d = _section(a, b, f0), _section(a, b, f1)
        p1 = p2 = q1 = q2 = u1 = u2 = v1 = v2 = 0.0
        for n in range(time):
            p0, u0 = float(x[f0, r0, n]), float(x[f1, r1, n])
            q0, v0 = _output(p0, p1, p2, q1, q2, c), _output(u0, u1, u2, v1, v2, d)
            out[f0, r0, n] = q0
            out[f1, r1, n] = v0
            p2, p1, q2, q1 = p1, p0, q1, q0
            u2, u1, v2, v1 = u1, u0, v1, v0


# fused multiply-adds: a row's next output waits for one (4 cycles) instead of a product and a subtraction
_kernel = compiled_lazily(_filter_pairs, (_section, _output), fused=True)


def loop_rows(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Filter ``x`` ``(F, R, T)`` (float32 or float64, on the CPU, nothing requiring grad): row ``r`` of group
    ``f`` by ``b[f] / a[f]``, float64 ``(F, 3)`` rows with ``a0 = 1`` (``F`` may be 1 for every row).

    Example:
        >>> import torch
        >>> a = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
        >>> b = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64)
        >>> loop_rows(torch.tensor([[[2.0, 4.0, 6.0]], [[1.0, 1.0, 1.0]]]), a, b).tolist()
        [[[1.0, 3.0, 5.0]], [[0.5, 1.0, 1.0]]]
    """
    # numpy asks the kernel for huge pages for large arrays: the first writes to a fresh 56 MB output (16 x 10 s
    # at 44.1 kHz in float64) took a third of the time they took in torch's allocation (small pages).
    out = torch.from_numpy(np.empty(x.shape, dtype=np.float64 if x.dtype == torch.float64 else np.float32))
    denominators = a.expand(x.shape[0], 3).contiguous().numpy()
    numerators = b.expand(x.shape[0], 3).contiguous().numpy()
    _kernel()(x.numpy(), denominators, numerators, out.numpy())
    return out
