"""High-order IIR filters as a numerator FIR followed by a cascade of second-order all-pole sections.

A transfer function ``B(z) / A(z)`` of order above two is filtered as ``B`` (a causal FIR, exact to
rounding) followed by ``1 / A`` factored into real second-order sections ``1 / (1 + c1 z^-1 + c2 z^-2)``:
the poles of ``A`` (the eigenvalues of its companion matrix, computed in float64) are grouped into complex
conjugate pairs and pairs of real poles, with one first-order section when the order is odd. Each section
runs through the exact block recursion of a biquad, whose small state has no transient growth; a single
high-order recursion in the companion basis has a state that grows by many orders of magnitude before it
decays (for clustered poles, as in a ``butter(9)``), which makes any block method lose all its digits.

The factoring is differentiable (eigenvalues, then their sums and products), so gradients reach the
denominator's coefficients wherever its poles are distinct.

Example:
    >>> import torch
    >>> a = torch.tensor([[1.0, -0.6, 0.11, -0.006]], dtype=torch.float64)  # poles 0.1, 0.2, 0.3
    >>> sections = pole_sections(a)
    >>> product = torch.nn.functional.conv1d(sections[:, :1], sections[0, 1:2].flip(-1).unsqueeze(0),
    ...                                      padding=2)
    >>> [round(c, 12) for c in product.flatten().tolist()]
    [1.0, -0.6, 0.11, -0.006, 0.0]
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf

__all__ = ["pole_sections", "fir_rows"]


def _companion(a: torch.Tensor) -> torch.Tensor:
    """The companion matrices ``(F, N, N)`` of the monic denominators ``a`` ``(F, N + 1)``."""
    filters, order = a.shape[0], a.shape[1] - 1
    shift = torch.eye(order - 1, order, dtype=a.dtype, device=a.device).expand(filters, order - 1, order)
    return torch.cat([-a[:, 1:].unsqueeze(1), shift], 1)


def pole_sections(a: torch.Tensor) -> torch.Tensor:
    """Second-order all-pole sections ``(F, ceil(N / 2), 3)``, rows ``[1, c1, c2]``, whose product is ``a``.

    ``a`` is ``(F, N + 1)`` with ``a0 = 1``, in float64. Complex poles come in exact conjugate pairs (the
    eigenvalues of a real matrix); each pair makes one section, the real poles are paired in order of their
    value, and an odd one out makes a first-order section (``c2 = 0``).

    Example:
        >>> import torch
        >>> pole_sections(torch.tensor([[1.0, -0.5]], dtype=torch.float64)).tolist()
        [[[1.0, -0.5, 0.0]]]
    """
    filters, order = a.shape[0], a.shape[1] - 1
    count = (order + 1) // 2
    if order == 1:
        return torch.cat([torch.ones_like(a[:, :1]), a[:, 1:], torch.zeros_like(a[:, :1])], 1).unsqueeze(1)
    poles = torch.linalg.eigvals(_companion(a))  # (F, N), complex
    upper = poles.imag > 0
    real = poles.imag == 0
    # upper half-plane poles first, then the real ones, then the lower half-plane conjugates, each by value
    by_value = torch.sort(poles.real.detach(), dim=1, stable=True).indices
    category = torch.where(upper, 0, torch.where(real, 1, 2)).gather(1, by_value)
    order_index = by_value.gather(1, torch.sort(category, dim=1, stable=True).indices)
    ordered = poles.gather(1, order_index)
    pairs = upper.sum(1, keepdim=True)  # (F, 1)
    reals = real.sum(1, keepdim=True)
    section = torch.arange(count, device=a.device).unsqueeze(0)  # (1, S)
    is_pair = section < pairs
    first_real = (pairs + 2 * (section - pairs)).clamp(0, order - 1)
    second_real = first_real + 1
    has_second = second_real < pairs + reals
    first = torch.where(is_pair, ordered.gather(1, section.expand(filters, count)), ordered.gather(1, first_real))
    second_value = ordered.gather(1, second_real.clamp(max=order - 1))
    second = torch.where(is_pair, first.conj(), torch.where(has_second, second_value, torch.zeros_like(second_value)))
    c1 = -(first + second).real
    c2 = (first * second).real
    return torch.stack([torch.ones_like(c1), c1, c2], -1)


def fir_rows(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Causal FIR filtering of ``x`` ``(F, R, T)``: row ``r`` of group ``f`` by the taps ``b[f]`` (``(F, M + 1)``).

    The taps are cast to ``x``'s dtype and device.

    Example:
        >>> import torch
        >>> fir_rows(torch.tensor([[[1.0, 2.0, 3.0]]]), torch.tensor([[1.0, -1.0]])).tolist()
        [[[1.0, 1.0, 1.0]]]
    """
    filters = x.shape[0]
    taps = b.to(device=x.device, dtype=x.dtype)
    if taps.shape[1] == 1:
        return x * taps[:, :, None]
    padded = nnf.pad(x.transpose(0, 1), (taps.shape[1] - 1, 0))  # (R, F, T + M)
    out = nnf.conv1d(padded, taps.flip(-1).unsqueeze(1), groups=filters)
    return out.transpose(0, 1)
