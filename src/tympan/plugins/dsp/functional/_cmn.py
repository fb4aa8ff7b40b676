"""Sliding-window cepstral mean (and variance) normalisation, as Kaldi's ``apply-cmvn-sliding``.

Each frame has the mean of a window of frames around it (or before it) subtracted, and optionally is
divided by that window's standard deviation. The window sums come from cumulative sums along time, so
every frame is normalised at once.

Example:
    >>> import torch
    >>> feats = torch.tensor([[1.0], [2.0], [4.0], [8.0]])  # (time, freq)
    >>> sliding_window_cmn(feats, cmn_window=1, min_cmn_window=0).squeeze(-1).tolist()  # x[t] - mean(x[t-1:t+1])
    [0.0, 0.5, 1.0, 2.0]
"""

from __future__ import annotations

import torch

__all__ = ["cmn_window_bounds", "longest_cmn_window", "sliding_window_cmn"]


def cmn_window_bounds(
    num_frames: int, cmn_window: int, min_cmn_window: int, center: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """First and one-past-last frame ``(start, end)`` of each frame's normalisation window, int64 ``(num_frames,)``.

    ``center``: ``cmn_window`` frames from ``t - cmn_window // 2``; otherwise the ``cmn_window + 1`` frames
    ending at ``t``, extended to the first ``min_cmn_window`` frames at the start. A window that runs past an
    edge slides back inside the input and is cut to its length.

    Example:
        >>> start, end = cmn_window_bounds(5, 2, 3, False, torch.device("cpu"))
        >>> start.tolist(), end.tolist()
        ([0, 0, 0, 1, 2], [3, 3, 3, 4, 5])
    """
    t = torch.arange(num_frames, dtype=torch.int64, device=device)
    if center:
        start = t - cmn_window // 2
        end = start + cmn_window - start.clamp(max=0)
        start = start.clamp(min=0)
    else:
        start = (t - cmn_window).clamp(min=0)
        end = (t + 1).clamp(min=min_cmn_window)
    overshoot = (end - num_frames).clamp(min=0)
    return (start - overshoot).clamp(min=0), end.clamp(max=num_frames)


def longest_cmn_window(num_frames: int, cmn_window: int, min_cmn_window: int, center: bool) -> int:
    """The most frames any window of :func:`cmn_window_bounds` spans.

    Example:
        >>> longest_cmn_window(1000, 600, 100, False), longest_cmn_window(300, 600, 100, True)
        (601, 300)
    """
    longest = cmn_window if center else max(cmn_window + 1, min_cmn_window)
    return max(min(longest, num_frames), 1)


def _window_sums(values: torch.Tensor, start: torch.Tensor, end: torch.Tensor, span: int) -> torch.Tensor:
    """Sums of ``values`` ``(rows, time, feats)`` over frames ``start[t] .. end[t] - 1``: ``(rows, frames, feats)``.

    Running sums restart every ``span`` frames (at least the longest window), so a window meets at most one
    restart and each sum is a difference of partial sums of at most ``span`` frames: the rounding error
    depends on the window length, not on how far into the input the window lies.
    """
    rows, num_frames, feats = values.shape
    chunks = (num_frames + span - 1) // span
    padded = torch.nn.functional.pad(values, [0, 0, 0, chunks * span - num_frames])
    running = padded.reshape(rows, chunks, span, feats).cumsum(dim=2).reshape(rows, chunks * span, feats)
    last = end - 1
    before_start = running.index_select(1, start) - values.index_select(1, start)
    chunk_total = running.index_select(1, (start // span + 1) * span - 1)
    crosses = (last // span > start // span).to(values.dtype).unsqueeze(-1)
    return running.index_select(1, last) - before_start + crosses * chunk_total


def sliding_window_cmn(
    specgram: torch.Tensor,
    cmn_window: int = 600,
    min_cmn_window: int = 100,
    center: bool = False,
    norm_vars: bool = False,
) -> torch.Tensor:
    """Sliding-window cepstral mean (and variance) normalisation of ``(..., time, freq)`` features.

    Follows Kaldi's ``apply-cmvn-sliding``: frame ``t`` has the mean of its window subtracted. With
    ``center`` the window is the ``cmn_window`` frames centred on ``t``; otherwise it is the
    ``cmn_window + 1`` frames up to and including ``t``, but at least the first ``min_cmn_window`` frames
    (latency at the start only). Windows are moved inside the input at its edges and cut to its length.
    ``norm_vars`` also divides by the window's standard deviation (variance floored at 1e-10, as Kaldi;
    a one-frame window gives 0). Statistics are accumulated in float64; the result has the input's dtype.

    Example:
        >>> import torch
        >>> feats = torch.randn(2, 300, 13)
        >>> out = sliding_window_cmn(feats, cmn_window=600, center=True)
        >>> out.shape, bool(out.mean(dim=-2).abs().max() < 1e-5)
        (torch.Size([2, 300, 13]), True)
    """
    if cmn_window < 1:
        raise ValueError(f"cmn_window must be at least 1, got {cmn_window}")
    if min_cmn_window < 0:
        raise ValueError(f"min_cmn_window must not be negative, got {min_cmn_window}")
    if specgram.dim() < 2:
        raise ValueError(f"specgram must be (..., time, freq), got shape {list(specgram.shape)}")
    if specgram.is_complex() or not specgram.is_floating_point():
        raise ValueError(f"specgram must be a real floating-point tensor, got {specgram.dtype}")
    shape = specgram.shape
    num_frames = shape[-2]
    if num_frames == 0 or specgram.numel() == 0:
        return specgram.clone()
    rows = specgram.reshape(-1, num_frames, shape[-1]).to(torch.float64)
    # Window means and variances do not change when a constant is removed from a feature: centring each
    # feature on its utterance mean keeps the running sums small, so their differences stay accurate.
    rows = rows - rows.mean(dim=1, keepdim=True)
    start, end = cmn_window_bounds(num_frames, cmn_window, min_cmn_window, center, specgram.device)
    span = longest_cmn_window(num_frames, cmn_window, min_cmn_window, center)
    count = (end - start).to(torch.float64).unsqueeze(-1)
    mean = _window_sums(rows, start, end, span) / count
    normalised = rows - mean
    if norm_vars:
        variance = _window_sums(rows * rows, start, end, span) / count - mean * mean
        normalised = normalised * variance.clamp(min=1e-10).rsqrt()  # Kaldi's variance floor
        normalised = torch.where(count == 1.0, torch.zeros_like(normalised), normalised)
    return normalised.to(specgram.dtype).reshape(shape)
