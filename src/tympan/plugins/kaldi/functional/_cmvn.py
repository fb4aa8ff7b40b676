"""Kaldi's cepstral mean and variance normalisation: statistics, their application, and the sliding form.

Statistics have Kaldi's layout, a float64 ``(2, dim + 1)`` matrix: row 0 holds the sums of each dimension
and the frame count, row 1 the sums of squares (:func:`compute_cmvn_stats`). Statistics add up, so a
speaker's are the sum of its utterances'. :func:`apply_cmvn` normalises with them as ``apply-cmvn`` does
(means, and with ``norm_vars`` variances, floored at 1e-20; ``reverse`` undoes it); ``apply_cmvn_sliding``
is ``apply-cmvn-sliding``.

Example:
    >>> import torch
    >>> feats = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> stats = compute_cmvn_stats(feats)
    >>> stats.tolist()
    [[4.0, 40.0, 2.0], [10.0, 1000.0, 0.0]]
    >>> apply_cmvn(feats, stats, norm_vars=True).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
"""

from __future__ import annotations

import torch

from tympan.plugins.dsp.functional import sliding_window_cmn
from tympan.plugins.kaldi.functional._checks import require_values

__all__ = ["apply_cmvn", "apply_cmvn_sliding", "compute_cmvn_stats"]

#: Kaldi's floor under a variance before it divides.
VARIANCE_FLOOR = 1.0e-20


def compute_cmvn_stats(features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Kaldi's CMVN statistics ``(..., 2, dim + 1)`` (float64) of ``(..., frames, dim)`` features.

    ``lengths`` ``(...)`` counts only each item's first frames. Sum the statistics over a speaker's
    utterances for per-speaker normalisation, as ``compute-cmvn-stats --spk2utt``.

    Example:
        >>> import torch
        >>> compute_cmvn_stats(torch.ones(2, 5, 3), lengths=torch.tensor([5, 2]))[:, 0, -1].tolist()
        [5.0, 2.0]
    """
    if features.dim() < 2 or not features.is_floating_point():
        raise ValueError(
            f"features must be floating-point (..., frames, dim), got {features.dtype} {list(features.shape)}"
        )
    values = features.to(torch.float64)
    if lengths is None:
        # a sum of ones rather than float(frames), which would fix the number of frames in a traced program
        count = torch.ones(features.shape[:-1], dtype=torch.float64, device=features.device).sum(-1)
    else:
        valid = torch.arange(features.shape[-2], device=features.device) < lengths.to(features.device).unsqueeze(-1)
        values = torch.where(valid.unsqueeze(-1), values, torch.zeros_like(values))
        count = valid.sum(-1).to(torch.float64)
    sums = torch.cat([values.sum(-2), count.unsqueeze(-1)], dim=-1)
    squares = torch.cat([values.square().sum(-2), torch.zeros_like(count).unsqueeze(-1)], dim=-1)
    return torch.stack([sums, squares], dim=-2)


def apply_cmvn(
    features: torch.Tensor,
    stats: torch.Tensor,
    norm_means: bool = True,
    norm_vars: bool = False,
    reverse: bool = False,
) -> torch.Tensor:
    """Normalise ``(..., frames, dim)`` features with Kaldi statistics ``(..., 1 or 2, dim + 1)``, as ``apply-cmvn``.

    The statistics broadcast against the features' leading dimensions (one global matrix, or one per item
    for per-utterance or per-speaker statistics). Subtracts the mean; ``norm_vars`` also divides by the
    standard deviation (needs the squares row); ``reverse`` undoes the normalisation; ``norm_means=False``
    leaves the features unchanged (Kaldi refuses variance without mean normalisation). The parameters are
    described on :class:`~tympan.plugins.kaldi.postprocess.Cmvn`.

    Example:
        >>> import torch
        >>> stats = torch.tensor([[6.0, 3.0]], dtype=torch.float64)  # sum 6 over 3 frames
        >>> apply_cmvn(torch.tensor([[1.0], [2.0], [3.0]]), stats).flatten().tolist()
        [-1.0, 0.0, 1.0]
    """
    stats = torch.as_tensor(stats, dtype=torch.float64, device=features.device)
    if features.dim() < 2 or not features.is_floating_point():
        raise ValueError(
            f"features must be floating-point (..., frames, dim), got {features.dtype} {list(features.shape)}"
        )
    dim = features.shape[-1]
    if stats.dim() < 2 or stats.shape[-2] not in (1, 2) or stats.shape[-1] != dim + 1:
        raise ValueError(f"stats must be (..., 2, dim + 1) = (..., 2, {dim + 1}), got shape {list(stats.shape)}")
    if norm_vars and not norm_means:
        raise ValueError("norm_vars needs norm_means (Kaldi cannot normalise the variance but not the mean)")
    if norm_vars and stats.shape[-2] < 2:
        raise ValueError("norm_vars needs the sums of squares, the second row of the statistics")
    if not norm_means:
        return features
    count = stats[..., 0, dim : dim + 1]
    require_values(
        count >= 1.0, lambda: f"insufficient statistics for CMVN: a frame count of {float(count.min())} (< 1)"
    )
    mean = stats[..., 0, :dim] / count
    if not norm_vars:
        shift = (mean if reverse else -mean).to(features.dtype).unsqueeze(-2)
        return features + shift
    variance = (stats[..., 1, :dim] / count - mean * mean).clamp(min=VARIANCE_FLOOR)
    if reverse:
        scale, offset = variance.sqrt(), mean
    else:
        scale = variance.rsqrt()
        offset = -mean * scale
    return features * scale.to(features.dtype).unsqueeze(-2) + offset.to(features.dtype).unsqueeze(-2)


def apply_cmvn_sliding(
    features: torch.Tensor,
    cmn_window: int = 600,
    min_cmn_window: int = 100,
    center: bool = False,
    norm_vars: bool = False,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Kaldi's ``apply-cmvn-sliding`` on ``(..., frames, dim)``: each frame less the mean of a window around it.

    See :func:`tympan.plugins.dsp.functional.sliding_window_cmn` for the windows. ``lengths`` ``(...)``
    normalises each item of a padded batch over its own frames (padding stays 0).

    Example:
        >>> import torch
        >>> apply_cmvn_sliding(torch.randn(2, 300, 13), cmn_window=100, center=True).shape
        torch.Size([2, 300, 13])
    """
    if lengths is None:
        return sliding_window_cmn(features, cmn_window, min_cmn_window, center, norm_vars)
    flat = features.reshape(-1, *features.shape[-2:])
    output = torch.zeros_like(flat)
    for length in sorted(set(lengths.reshape(-1).tolist())):
        items = (lengths.reshape(-1) == length).nonzero().flatten().to(features.device)
        part = flat.index_select(0, items)[:, :length]
        output[items, :length] = sliding_window_cmn(part, cmn_window, min_cmn_window, center, norm_vars)
    return output.reshape(features.shape)
