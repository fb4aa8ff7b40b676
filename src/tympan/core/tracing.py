"""Whether the running code is being traced or recorded rather than run, for code that must not depend on
what a trace would freeze (a thread count, a value read from a tensor).

Example:
    >>> traced(), recorded()
    (False, False)
"""

from __future__ import annotations

import torch

__all__ = ["recorded", "traced"]


def traced() -> bool:
    """Whether the running code is being traced into a graph (``torch.export``, ``torch.compile``).

    Example:
        >>> traced()
        False
    """
    return torch.compiler.is_compiling()


def recorded() -> bool:
    """Whether the running code is recorded rather than run: traced into a graph (:func:`traced`) or by
    ``torch.jit.trace``, which records the tensor operations and holds any value read as a constant.

    Example:
        >>> recorded()
        False
    """
    return traced() or torch.jit.is_tracing()  # type: ignore[attr-defined,no-untyped-call]
