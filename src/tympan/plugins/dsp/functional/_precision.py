"""The dtype policy: half-precision input is computed in float32 (complex32 in complex64) and real results
are returned in the input's own dtype.

Example:
    >>> import torch
    >>> x = torch.ones(3, dtype=torch.bfloat16)
    >>> as_dtype(x.to(working_dtype(x.dtype)) * 2, x.dtype).dtype
    torch.bfloat16
"""

from __future__ import annotations

import torch

__all__ = ["working_dtype", "as_dtype"]


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a computation runs in: float32 for half-precision input, complex64 for complex32, else the
    input's own.

    Example:
        >>> working_dtype(torch.bfloat16), working_dtype(torch.float64), working_dtype(torch.complex32)
        (torch.float32, torch.float64, torch.complex64)
    """
    if dtype == torch.float16 or dtype == torch.bfloat16:
        return torch.float32
    if dtype == torch.complex32:
        return torch.complex64
    return dtype


def as_dtype(result: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``result`` cast back to the caller's real ``dtype``; complex results, and real results of complex
    input, keep their own dtype.

    Example:
        >>> as_dtype(torch.ones(2), torch.float16).dtype
        torch.float16
    """
    complex_input = dtype == torch.complex32 or dtype == torch.complex64 or dtype == torch.complex128
    if result.is_complex() or result.dtype == dtype or complex_input:  # (TorchScript has no dtype.is_complex)
        return result
    return result.to(dtype)
