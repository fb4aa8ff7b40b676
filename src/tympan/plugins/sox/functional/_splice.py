"""SoX's ``splice``: join two parts of the audio, cross-fading where they are most alike.

At each splice position ``p`` (the end of part 1, including the ``excess``), part 1's last ``excess``
samples before ``p`` and ``excess`` after are faded out while part 2 fades in over the same
``2 * excess`` samples; part 2 starts where, within ``leeway`` samples (``2 * leeway`` of search), its
first ``2 * excess`` samples best match the fading part of part 1 (least squares over every channel).
The samples between are removed. Fades are a half cosine (``h``, constant gain), a line (``t``) or a
quarter sine (``q``, constant power).

Each splice is one search (a sliding sum of squares over the leeway, vectorised) and one cross-fade; the
loop runs over splices.

Example:
    >>> import torch
    >>> x = torch.sin(torch.arange(8000) / 8.0)[None]
    >>> splice(x, [(4000, 80, 80)], "h").shape[-1] < 8000
    True
"""

from __future__ import annotations

import math

import torch

__all__ = ["splice", "splice_fades"]


def splice_fades(overlap: int, kind: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(fade_out, fade_in)`` over ``overlap`` samples: half cosine ``h``, linear ``t`` or quarter sine ``q``.

    Example:
        >>> out, into = splice_fades(4, "t", torch.float64)
        >>> into.tolist(), out.tolist()
        ([0.0, 0.25, 0.5, 0.75], [1.0, 0.75, 0.5, 0.25])
    """
    steps = torch.arange(overlap, dtype=torch.float64)
    if kind == "q":
        angle = steps * (math.pi / 2 / overlap)
        return torch.cos(angle).to(dtype), torch.sin(angle).to(dtype)
    into = 0.5 - 0.5 * torch.cos(steps * (math.pi / overlap)) if kind == "h" else steps * (1.0 / overlap)
    return (1 - into).to(dtype), into.to(dtype)


def _best_offset(first: torch.Tensor, region: torch.Tensor, overlap: int, search: int) -> int:
    """The shift in ``[0, search)`` of ``region`` whose first ``overlap`` samples best match ``first``."""
    if search <= 1:
        return 0
    windows = region.double().unfold(-1, overlap, 1)[..., :search, :]  # (channels, search, overlap)
    differences = (windows - first.double()[..., None, :]).square().sum((0, 2))
    return int(torch.argmin(differences))


def splice(waveform: torch.Tensor, splices: list[tuple[int, int, int]], kind: str) -> torch.Tensor:
    """SoX ``splice`` on one recording ``(channels, time)``; ``splices`` are ``(start, overlap, search)`` in
    samples, ``start`` where the fade begins (the position less its excess), ``overlap`` twice the excess,
    ``search`` twice the leeway (see the module docstring). Splices that do not fit are not made.

    Example:
        >>> splice(torch.ones(1, 100), [(40, 16, 0)], "t").shape
        torch.Size([1, 84])
    """
    pieces: list[torch.Tensor] = []
    taken = 0
    for start, overlap, search in splices:
        if start < taken or start + 2 * overlap + search > waveform.shape[-1]:
            break
        pieces.append(waveform[..., taken:start])
        region = waveform[..., start : start + 2 * overlap + search]
        first = region[..., :overlap]
        offset = _best_offset(first, region[..., overlap:], overlap, search)
        second = region[..., overlap + offset : 2 * overlap + offset]
        fade_out, fade_in = splice_fades(overlap, kind, torch.float64)
        mixed = first.double() * fade_out + second.double() * fade_in
        pieces.append(mixed.clamp(-1.0, 1.0).to(waveform.dtype))
        taken = start + 2 * overlap + offset
    pieces.append(waveform[..., taken:])
    return torch.cat(pieces, -1)
