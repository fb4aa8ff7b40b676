"""First-order linear recursions solved in blocks, and the recursive filters built on them.

``y[n] = x[n] + c * y[n - 1]`` (zero initial state) is solved without a loop over samples. The signal is cut
into blocks of ``B`` samples; inside a block the recursion is a lower-triangular Toeplitz matrix
``L[i, k] = c**(i - k)`` applied as one matrix product, which gives each block's response to its own input.
Block ``j`` then still owes ``c**(m + 1) * y_end[j - 1]`` at offset ``m``, where ``y_end`` are the true
block ends. Those obey the same recursion with coefficient ``c**B`` over the blocks' local ends, so the
method recurses on a signal ``B`` times shorter until the ends fit in one block, then sweeps back down adding
the carries. Only non-negative powers of ``c`` appear, so the result is stable and accurate in float32 for
``|c| <= 1`` at any length, and every step is differentiable. The levels and blocks are laid out the same
way for every length (see :mod:`._blocks`), so ``torch.export`` traces one program right for every length.

A biquad ``(b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)`` is its FIR numerator followed by two
first-order recursions at the (possibly complex) poles of the denominator.

Example:
    >>> import torch
    >>> linear_recurrence(torch.ones(5), torch.tensor(0.5)).tolist()
    [1.0, 1.5, 1.75, 1.875, 1.9375]
"""

from __future__ import annotations

import torch

from tympan.plugins.dsp.functional._blocks import block_count, cut, pieces, scan_depth, shifted

__all__ = ["linear_recurrence", "biquad_poles", "apply_biquad", "preemphasis", "deemphasis"]

#: Samples per block of the recursion; the cost is ``B`` multiply-adds per sample and level.
BLOCK = 64


def _powers(coeff: torch.Tensor, exponents: torch.Tensor) -> torch.Tensor:
    """``coeff**exponents`` for non-negative exponents; complex powers in polar form, so that a coefficient
    that underflowed to zero gives ``0**0 = 1`` and ``0**k = 0`` rather than NaN."""
    if coeff.is_complex():
        return torch.polar(coeff.abs() ** exponents, coeff.angle() * exponents)
    return torch.pow(coeff, exponents)


def _decay_matrix(coeff: torch.Tensor, block: int, dtype: torch.dtype) -> torch.Tensor:
    """``(block, block)`` with ``[k, i] = coeff**(i - k)`` for ``i >= k`` and 0 elsewhere (right-multiplied)."""
    steps = torch.arange(block, dtype=torch.float64, device=coeff.device)
    lags = steps.unsqueeze(0) - steps.unsqueeze(1)
    powers = _powers(coeff, lags.clamp(min=0.0))
    return torch.where(lags >= 0, powers, torch.zeros_like(powers)).to(dtype)


def _result_dtype(x: torch.Tensor, coeff: torch.Tensor) -> torch.dtype:
    if not (x.is_complex() or coeff.is_complex()):
        return x.dtype
    single = x.dtype == torch.float32 or x.dtype == torch.complex64
    return torch.complex64 if single else torch.complex128


def linear_recurrence(x: torch.Tensor, coeff: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
    """Solve ``y[n] = x[n] + coeff * y[n - 1]`` along the last dimension, from a zero state.

    ``coeff`` is a 0-dim real or complex tensor (complex makes the result complex); keep ``|coeff| <= 1``
    for a stable filter. Blocks of ``block`` samples are solved by matrix products (see the module docstring).

    Example:
        >>> linear_recurrence(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), torch.tensor(-0.5), block=2).tolist()
        [[1.0, -0.5, 0.25, -0.125]]
    """
    dtype = _result_dtype(x, coeff)
    coeff = coeff.to(torch.complex128 if coeff.is_complex() else torch.float64)
    level_coeff = coeff
    current = x.to(dtype)
    last = current.dim() - 1
    depth = 1 + scan_depth(block, block)
    locals_: list[torch.Tensor] = []
    lengths: list[int] = []
    coeffs: list[torch.Tensor] = []
    while True:
        length = current.shape[-1]
        n_blocks = block_count(length, block)
        padded = torch.nn.functional.pad(current, [0, n_blocks * block - length])
        local = torch.matmul(pieces(padded, block), _decay_matrix(level_coeff, block, dtype))
        locals_.append(local)
        lengths.append(length)
        coeffs.append(level_coeff)
        if len(locals_) >= depth and length <= block:
            break
        current = local[..., -1]
        level_coeff = _powers(level_coeff, torch.tensor(float(block), dtype=torch.float64, device=x.device))
    result = cut(locals_[-1].flatten(-2), lengths[-1], last)
    for level in range(len(locals_) - 2, -1, -1):
        steps = torch.arange(1, block + 1, dtype=torch.float64, device=x.device)
        ramp = _powers(coeffs[level], steps).to(dtype)
        full = locals_[level] + shifted(result, last).unsqueeze(-1) * ramp
        result = cut(full.flatten(-2), lengths[level], last)
    return result


def biquad_poles(a1: float, a2: float) -> torch.Tensor:
    """The two roots of ``z**2 + a1 z + a2`` (the poles of ``1 / (1 + a1 z^-1 + a2 z^-2)``), complex128.

    Example:
        >>> biquad_poles(-1.0, 0.21).real.tolist()  # (z - 0.7)(z - 0.3)
        [0.7, 0.3]
    """
    discriminant = torch.scalar_tensor(a1 * a1 - 4.0 * a2, dtype=torch.float64).to(torch.complex128)
    root = torch.sqrt(discriminant)
    return torch.stack([(root - a1) / 2, (-root - a1) / 2])


def apply_biquad(x: torch.Tensor, numerator: torch.Tensor, poles: torch.Tensor) -> torch.Tensor:
    """Filter real ``(..., time)`` by ``(b0 + b1 z^-1 + b2 z^-2) / ((1 - p0 z^-1)(1 - p1 z^-1))``, zero state.

    ``numerator`` is ``(b0, b1, b2)``, ``poles`` the two poles (from :func:`biquad_poles`, conjugate or
    real, so the output is real).

    Example:
        >>> y = apply_biquad(torch.tensor([1.0, 0, 0, 0]), torch.tensor([1.0, 0, 0]), biquad_poles(-1.0, 0.21))
        >>> [round(v, 4) for v in y.tolist()]  # impulse response (0.7**(n+1) - 0.3**(n+1)) / 0.4
        [1.0, 1.0, 0.79, 0.58]
    """
    b = numerator.to(x.dtype)
    delayed = torch.nn.functional.pad(x, [2, 0])
    length = x.shape[-1]
    fir = b[0] * x + b[1] * delayed[..., 1 : 1 + length] + b[2] * delayed[..., :length]
    return linear_recurrence(linear_recurrence(fir, poles[0]), poles[1]).real.to(x.dtype)


def preemphasis(waveform: torch.Tensor, coeff: float = 0.97) -> torch.Tensor:
    """Pre-emphasis ``y[n] = x[n] - coeff * x[n - 1]`` along the last dimension (``x[-1] = 0``).

    Example:
        >>> preemphasis(torch.tensor([1.0, 1.0, 1.0]), coeff=0.5).tolist()
        [1.0, 0.5, 0.5]
    """
    head = waveform[..., :1]
    return torch.cat([head, waveform[..., 1:] - coeff * waveform[..., :-1]], dim=-1)


def deemphasis(waveform: torch.Tensor, coeff: float = 0.97) -> torch.Tensor:
    """De-emphasis, the inverse of :func:`preemphasis`: the IIR ``y[n] = x[n] + coeff * y[n - 1]``, clamped
    to ``[-1, 1]``.

    Solved in blocks without a loop over samples (see the module docstring), accurate in float32 for long
    signals. The output is clamped as torchaudio's is (its ``deemphasis`` runs ``lfilter`` with
    ``clamp=True``), so the round trip through :func:`preemphasis` is exact for signals within ``[-1, 1]``.

    Example:
        >>> x = torch.tensor([1.0, -0.5, 0.5, 0.25])
        >>> torch.allclose(deemphasis(preemphasis(x)), x)
        True
        >>> deemphasis(torch.tensor([0.9, 0.9]), coeff=0.5).tolist()
        [0.8999999761581421, 1.0]
    """
    dtype = waveform.dtype
    work = torch.float32 if dtype == torch.float16 or dtype == torch.bfloat16 else dtype
    coeff_tensor = torch.scalar_tensor(coeff, dtype=torch.float64, device=waveform.device)
    return linear_recurrence(waveform.to(work), coeff_tensor).clamp(-1.0, 1.0).to(dtype)
