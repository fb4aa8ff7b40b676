"""Checks on the values of an input (not its shape), the same in eager runs and in traced programs.

Eager, a failed check raises ``ValueError``. A traced program (``torch.export``, ``torch.compile``) cannot
branch on values, so there the check becomes an assertion inside the graph: the program keeps it and
raises when it runs on such an input.

Example:
    >>> import torch
    >>> require_values(torch.tensor([1.0, 2.0]) > 0, "must be positive")
    >>> require_values(torch.tensor([1.0, -2.0]) > 0, "must be positive")
    Traceback (most recent call last):
    ...
    ValueError: must be positive
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["require_values"]


def require_values(holds: torch.Tensor, message: str | Callable[[], str]) -> None:
    """Raise ``ValueError(message)`` unless every element of the boolean tensor ``holds`` is true.

    ``message`` may be a function building it (called only on failure, eagerly). Traced, the check is an
    assertion in the graph with the message ``"invalid input values"`` when ``message`` is a function.

    Example:
        >>> import torch
        >>> require_values(torch.ones(3, dtype=torch.bool), lambda: "never built")
    """
    if torch.compiler.is_compiling():
        torch._assert_async(holds.all(), message if isinstance(message, str) else "invalid input values")
        return
    if not bool(holds.all()):
        raise ValueError(message if isinstance(message, str) else message())
