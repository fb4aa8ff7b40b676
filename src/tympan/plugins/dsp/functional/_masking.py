"""Random masks along the frequency or time axis of spectrograms (SpecAugment), with explicit randomness.

A mask covers ``width = floor(u * mask_param)`` consecutive bins or frames starting at
``floor(v * (length - width + 1))``, for ``u`` and ``v`` uniform on ``[0, 1)``: widths are uniform on
``[0, mask_param)`` and starts uniform over every position where the mask fits, the last included
(torchaudio draws the start as ``floor(v * (length - u * mask_param))``, which never masks the last bin or
frame). With ``p < 1`` the bound ``mask_param`` is lowered to ``int(length * p)`` (at most that proportion
of the axis). Masks are built by comparing ``arange(length)`` with each start and end, so any number of
examples and masks is drawn and applied at once.

Every random number comes from :func:`draw_uniform`: from the ``torch.Generator`` given, else torch's global
generator. Numbers are drawn in float64 whatever the spectrogram's dtype, so one seed gives the same masks
in every dtype and on every device.

Example:
    >>> import torch
    >>> spec = torch.ones(2, 40, 100)
    >>> masked = mask_along_axis_iid(spec, 30, 0.0, 2, generator=torch.Generator().manual_seed(0))
    >>> masked.shape, bool((masked == 0).any())
    (torch.Size([2, 40, 100]), True)
"""

from __future__ import annotations

import torch

__all__ = ["mask_along_axis", "mask_along_axis_iid"]


def draw_uniform(shape: list[int], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """``shape`` numbers uniform on ``[0, 1)`` in float64 on ``device``, drawn from ``generator``.

    With a generator, the numbers are drawn on the generator's device (always the CPU under TorchScript,
    which cannot query it) and moved; without one, torch's global generator for ``device`` draws them.

    Example:
        >>> a = draw_uniform([3], torch.Generator().manual_seed(1), torch.device("cpu"))
        >>> b = draw_uniform([3], torch.Generator().manual_seed(1), torch.device("cpu"))
        >>> a.dtype, bool(torch.equal(a, b))
        (torch.float64, True)
    """
    if generator is None:
        return torch.rand(shape, dtype=torch.float64, device=device)
    home = torch.device("cpu")
    if not torch.jit.is_scripting():
        home = generator.device
    return torch.rand(shape, generator=generator, dtype=torch.float64, device=home).to(device)


def effective_mask_param(mask_param: int, p: float, length: int) -> int:
    """The largest mask width plus one: ``mask_param``, lowered to ``int(length * p)`` when ``p < 1``.

    Example:
        >>> effective_mask_param(80, 1.0, 100), effective_mask_param(80, 0.2, 100)
        (80, 20)
    """
    if p == 1.0:
        return mask_param
    return min(mask_param, int(length * p))


def check_mask_arguments(dim: int, axis: int, p: float, min_dim: int) -> int:
    """``axis`` as a non-negative index after checking it names one of the last two of ``dim`` dimensions.

    Example:
        >>> check_mask_arguments(3, -1, 1.0, 2)
        2
    """
    if dim < min_dim:
        raise ValueError(f"the spectrogram needs at least {min_dim} dimensions (..., freq, time), got {dim}")
    position = axis + dim if axis < 0 else axis
    if position != dim - 2 and position != dim - 1:
        raise ValueError(f"axis must be the frequency ({dim - 2}) or time ({dim - 1}) axis, got {axis}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    return position


def band_masks(
    leading: list[int],
    n_masks: int,
    mask_param: int,
    length: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """Boolean ``(*leading, length)``: the union of ``n_masks`` random bands per leading index.

    Each band is ``floor(u * mask_param)`` wide (in ``[0, mask_param)``) and starts at
    ``floor(v * (length - width + 1))``, for ``u``, ``v`` uniform; all bands are drawn at once.

    Example:
        >>> masks = band_masks([4], 2, 10, 50, torch.Generator().manual_seed(0), torch.device("cpu"))
        >>> masks.shape, bool((masks.sum(-1) <= 18).all())
        (torch.Size([4, 50]), True)
    """
    shape = list(leading)
    shape.extend([n_masks, 2])
    draws = draw_uniform(shape, generator, device)
    width = (draws[..., 0] * mask_param).floor()
    start = (draws[..., 1] * (length - width + 1)).floor()
    end = start + width
    positions = torch.arange(length, device=device, dtype=torch.float64)
    inside = (positions >= start.unsqueeze(-1)) & (positions < end.unsqueeze(-1))
    return inside.any(dim=-2)


def place_mask(mask: torch.Tensor, axis: int, dim: int) -> torch.Tensor:
    """``mask`` ``(..., length)`` shaped to broadcast along ``axis`` of a ``dim``-dimensional spectrogram.

    Example:
        >>> place_mask(torch.ones(2, 5, dtype=torch.bool), 1, 3).shape
        torch.Size([2, 5, 1])
    """
    return mask.unsqueeze(-1) if axis == dim - 2 else mask.unsqueeze(-2)


def _mask_one_band(
    specgram: torch.Tensor,
    mask_param: int,
    mask_value: float,
    axis: int,
    p: float,
    generator: torch.Generator | None,
    iid: bool,
) -> torch.Tensor:
    """One random band of ``axis`` filled with ``mask_value``: the same for the whole batch, or (``iid``)
    drawn for each index of the leading dimensions, which must then exist."""
    dim = specgram.dim()
    position = check_mask_arguments(dim, axis, p, 3 if iid else 2)
    length = specgram.shape[position]
    bound = effective_mask_param(mask_param, p, length)
    if bound < 1:
        return specgram
    leading: list[int] = []
    if iid:
        leading = list(specgram.shape[:-2])
    mask = band_masks(leading, 1, bound, length, generator, specgram.device)
    return specgram.masked_fill(place_mask(mask, position, dim), mask_value)


def mask_along_axis(
    specgram: torch.Tensor,
    mask_param: int,
    mask_value: float,
    axis: int,
    p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill one random band of ``axis`` with ``mask_value``, the same band in every spectrogram of the batch.

    ``specgram`` is ``(..., freq, time)``; ``axis`` is ``specgram.dim() - 2`` (frequency) or
    ``specgram.dim() - 1`` (time); negative values count from the end. The band is
    ``[0, min(mask_param, int(length * p)))`` wide (``p`` is the largest proportion of the axis masked) and
    lies inside the axis; ``mask_param`` below 1 leaves the input unchanged. As
    ``torchaudio.functional.mask_along_axis``, with the randomness drawn from ``generator`` (the global
    generator when None).

    Example:
        >>> spec = torch.ones(3, 20, 50)
        >>> out = mask_along_axis(spec, 10, 0.0, 1, generator=torch.Generator().manual_seed(3))
        >>> bool(torch.equal(out[0], out[1])), int((out[0, :, 0] == 0).sum()) < 10
        (True, True)
    """
    return _mask_one_band(specgram, mask_param, mask_value, axis, p, generator, False)


def mask_along_axis_iid(
    specgrams: torch.Tensor,
    mask_param: int,
    mask_value: float,
    axis: int,
    p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill one random band of ``axis`` with ``mask_value`` in each spectrogram, drawn independently.

    ``specgrams`` is ``(..., freq, time)`` with at least one leading dimension; each index of the leading
    dimensions (example, channel) gets its own band. Otherwise as :func:`mask_along_axis`, and as
    ``torchaudio.functional.mask_along_axis_iid`` with the randomness drawn from ``generator``.

    Example:
        >>> spec = torch.ones(8, 20, 50)
        >>> out = mask_along_axis_iid(spec, 30, 0.0, 2, generator=torch.Generator().manual_seed(0))
        >>> len({tuple((out[i, 0] == 0).nonzero().flatten().tolist()) for i in range(8)}) > 1
        True
    """
    return _mask_one_band(specgrams, mask_param, mask_value, axis, p, generator, True)
