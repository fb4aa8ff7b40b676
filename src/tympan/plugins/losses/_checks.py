"""Input checks shared by the loss functions: each problem becomes an ``InvalidParameterError`` naming the argument.

Checks run before any kernel is launched, so a bad call never reaches device code.

Example:
    >>> import torch
    >>> check_tensor("si_snr", "preds", torch.zeros(2, 3), floating=True).shape
    torch.Size([2, 3])
    >>> check_tensor("si_snr", "preds", [1.0])
    Traceback (most recent call last):
        ...
    tympan.core.errors.InvalidParameterError: invalid parameters for si_snr:
      preds: expected a torch.Tensor (got list)
"""

from __future__ import annotations

from collections.abc import Collection

import torch

from tympan.core.errors import InvalidParameterError

__all__ = ["check_choice", "check_tensor", "invalid"]

_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_INTEGER = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)


def invalid(function: str, argument: str, message: str) -> InvalidParameterError:
    """The error for one bad argument of ``function``, as ``argument: message``.

    Example:
        >>> print(invalid("rnnt_loss", "blank", "out of range (got 7)"))
        invalid parameters for rnnt_loss:
          blank: out of range (got 7)
    """
    return InvalidParameterError(function, [f"{argument}: {message}"])


def check_tensor(
    function: str,
    argument: str,
    value: object,
    ndim: int | Collection[int] | None = None,
    floating: bool = False,
    integer: bool = False,
) -> torch.Tensor:
    """Return ``value`` if it is a tensor with an allowed rank and dtype kind, else raise naming ``argument``.

    Example:
        >>> check_tensor("ctc_loss", "targets", torch.zeros(2, 3, dtype=torch.long), ndim=(1, 2), integer=True).ndim
        2
    """
    if not isinstance(value, torch.Tensor):
        raise invalid(function, argument, f"expected a torch.Tensor (got {type(value).__name__})")
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if ranks is not None and value.ndim not in ranks:
        wanted = " or ".join(str(r) for r in sorted(ranks))
        raise invalid(function, argument, f"expected {wanted} dimensions (got shape {tuple(value.shape)})")
    if floating and value.dtype not in _FLOATING:
        raise invalid(function, argument, f"expected a floating-point tensor (got {value.dtype})")
    if integer and value.dtype not in _INTEGER:
        raise invalid(function, argument, f"expected an integer tensor (got {value.dtype})")
    return value


def check_choice(function: str, argument: str, value: object, choices: Collection[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise listing them.

    Example:
        >>> check_choice("sdr", "reduction", "mean", ("none", "mean", "sum"))
        'mean'
    """
    if value not in choices:
        raise invalid(function, argument, f"expected one of {', '.join(map(repr, choices))} (got {value!r})")
    return str(value)
