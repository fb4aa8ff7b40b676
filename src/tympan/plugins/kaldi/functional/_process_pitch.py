"""Kaldi's pitch post-processing (``process-kaldi-pitch-feats``): ``(..., frames, 2)`` raw pitch to features.

From each frame's (NCCF, pitch): the probability-of-voicing feature ``pov_scale * ((1.0001 - nccf)^0.15
- 1) + pov_offset``; the log pitch less its POV-weighted mean over a window of frames, times
``pitch_scale``; the delta of the log pitch (plus a little Gaussian noise) times ``delta_pitch_scale``;
and the raw log pitch. Kaldi draws the noise from its process-wide random stream, the same for every
utterance a fresh process handles; here frame ``t``'s noise is a function of ``t`` and ``noise_seed``
(:func:`~tympan.plugins.dsp.building_blocks.counter_normal`), shared by every item of a batch: the
same on every call, and in a program exported with a dynamic length. Set ``delta_pitch_noise_stddev=0`` to compare
values with Kaldi's binaries.

Example:
    >>> import torch
    >>> raw = torch.tensor([[0.9, 200.0], [0.8, 210.0], [0.1, 100.0]])
    >>> process_pitch(raw, delta_pitch_noise_stddev=0.0).shape
    torch.Size([3, 3])
"""

from __future__ import annotations

import torch

from tympan.plugins.dsp.building_blocks import counter_normal
from tympan.plugins.kaldi.functional._checks import require_values
from tympan.plugins.kaldi.functional._context import add_deltas

__all__ = ["nccf_to_pov", "nccf_to_pov_feature", "process_pitch"]


def nccf_to_pov_feature(nccf: torch.Tensor) -> torch.Tensor:
    """Kaldi's POV feature ``(1.0001 - n)^0.15 - 1`` of the NCCF clipped to [-1, 1].

    Example:
        >>> round(nccf_to_pov_feature(torch.tensor(1.0)).item(), 4)
        -0.7488
    """
    return (1.0001 - nccf.clamp(-1.0, 1.0)).pow(0.15) - 1.0


def nccf_to_pov(nccf: torch.Tensor) -> torch.Tensor:
    """Kaldi's probability of voicing of an NCCF value (a logistic fit on voicing-marked speech).

    Example:
        >>> round(nccf_to_pov(torch.tensor(0.95, dtype=torch.float64)).item(), 4)
        0.9902
    """
    n = nccf.abs().clamp(max=1.0)
    r = (
        -5.2
        + 5.4 * torch.exp(7.5 * (n - 1.0))
        + 4.8 * n
        - 2.0 * torch.exp(-10.0 * n)
        + 4.2 * torch.exp(20.0 * (n - 1.0))
    )
    return 1.0 / (1.0 + torch.exp(-r))


def _window_sums(values: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Sums over frames ``[t - left, t + right]`` (cut to the sequence) of ``(..., frames)`` float64 values."""
    frames = values.shape[-1]
    running = torch.nn.functional.pad(values.cumsum(-1), [1, 0])
    t = torch.arange(frames, device=values.device)
    begin = (t - left).clamp(min=0)
    end = (t + right + 1).clamp(max=frames)
    return running[..., end] - running[..., begin]


def process_pitch(
    pitch: torch.Tensor,
    pitch_scale: float = 2.0,
    pov_scale: float = 2.0,
    pov_offset: float = 0.0,
    delta_pitch_scale: float = 10.0,
    delta_pitch_noise_stddev: float = 0.005,
    normalization_left_context: int = 75,
    normalization_right_context: int = 75,
    delta_window: int = 2,
    delay: int = 0,
    add_pov_feature: bool = True,
    add_normalized_log_pitch: bool = True,
    add_delta_pitch: bool = True,
    add_raw_log_pitch: bool = False,
    *,
    noise_seed: int = 0,
) -> torch.Tensor:
    """Kaldi's ``process-kaldi-pitch-feats`` on ``(..., frames, 2)`` raw pitch: ``(..., frames + delay, dim)``.

    The features, in this order, are those selected by the ``add_*`` flags (Kaldi's default: POV,
    normalised log pitch, delta pitch). ``noise_seed`` fixes the delta noise (see above). The parameters are
    described on
    :class:`~tympan.plugins.kaldi.pitch.ProcessPitch`.

    Example:
        >>> import torch
        >>> raw = torch.stack([torch.rand(2, 50), 100 + 100 * torch.rand(2, 50)], dim=-1)
        >>> process_pitch(raw, add_raw_log_pitch=True, delay=2).shape
        torch.Size([2, 52, 4])
    """
    if pitch.dim() < 2 or pitch.shape[-1] != 2 or not pitch.is_floating_point():
        raise ValueError(
            f"pitch must be floating-point (..., frames, 2) (NCCF, pitch), got {pitch.dtype} {list(pitch.shape)}"
        )
    if not (add_pov_feature or add_normalized_log_pitch or add_delta_pitch or add_raw_log_pitch):
        raise ValueError("process_pitch needs at least one of the add_* features")
    require_values(
        (pitch[..., 1] >= 0) & ~pitch.isnan().any(-1),
        "pitch must be non-negative (the second column, in Hz) and not NaN",
    )
    # A pitch of 0 (padding past an utterance's frames) reads as the smallest positive value.
    nccf, log_pitch = pitch[..., 0], pitch[..., 1].clamp(min=torch.finfo(pitch.dtype).tiny).log()
    columns = []
    if add_pov_feature:
        columns.append(pov_scale * nccf_to_pov_feature(nccf) + pov_offset)
    if add_normalized_log_pitch:
        weight = nccf_to_pov(nccf.to(torch.float32)).to(torch.float64)
        weighted = _window_sums(
            weight * log_pitch.to(torch.float64), normalization_left_context, normalization_right_context
        )
        total = _window_sums(weight, normalization_left_context, normalization_right_context)
        columns.append((log_pitch - (weighted / total).to(pitch.dtype)) * pitch_scale)
    if add_delta_pitch:
        delta = add_deltas(log_pitch.unsqueeze(-1), order=1, window=delta_window)[..., 1]
        if delta_pitch_noise_stddev != 0.0:
            frames = torch.arange(delta.shape[-1], device=delta.device)
            noise = counter_normal(noise_seed, frames, delta.dtype)
            delta = delta + noise * delta_pitch_noise_stddev
        columns.append(delta * delta_pitch_scale)
    if add_raw_log_pitch:
        columns.append(log_pitch)
    features = torch.stack(columns, dim=-1)
    if delay > 0:
        features = torch.cat([features[..., :1, :].expand(*features.shape[:-2], delay, -1), features], dim=-2)
    return features
