"""``ZeroCrossingRate``: the fraction of sign changes in each frame, as ``librosa.feature.zero_crossing_rate``.

Example:
    >>> import torch
    >>> zcr = ZeroCrossingRate(frame_length=4, hop_length=4, center=False)
    >>> zcr(torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0])).tolist()
    [0.75, 0.0]
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from tympan.core import Params, Transform, validate_params

__all__ = ["ZeroCrossingRate", "zero_crossing_rate"]


def zero_crossing_rate(
    waveform: torch.Tensor,
    frame_length: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    threshold: float = 1e-10,
) -> torch.Tensor:
    """Per-frame zero-crossing rate of ``waveform`` (..., time) -> (..., frames).

    Samples with magnitude at most ``threshold`` count as zero, and zero counts as positive. With
    ``center``, the signal is padded by repeating its edge samples ``frame_length // 2`` times.

    Example:
        >>> zero_crossing_rate(torch.tensor([1.0, -1.0, 1.0, -1.0]), frame_length=4, center=False).tolist()
        [0.75]
    """
    shape = waveform.shape
    flat = waveform.reshape(-1, 1, shape[-1])
    if center:
        flat = F.pad(flat, (frame_length // 2, frame_length // 2), mode="replicate")
    frames = flat[:, 0].unfold(-1, frame_length, hop_length)
    negative = torch.signbit(torch.where(frames.abs() <= threshold, torch.zeros_like(frames), frames))
    crossings = (negative[..., 1:] != negative[..., :-1]).sum(-1)
    rate = crossings.to(waveform.dtype) / frame_length
    return rate.reshape(shape[:-1] + rate.shape[-1:])


class ZeroCrossingRate(Transform):
    """Zero-crossing rate per frame of ``frame_length`` samples every ``hop_length`` samples.

    Example:
        >>> import torch
        >>> ZeroCrossingRate()(torch.zeros(3, 16000)).shape
        torch.Size([3, 32])
    """

    class Params(Params):
        frame_length: int = Field(2048, gt=1, description="Samples per frame.")
        hop_length: int = Field(512, gt=0, description="Samples between frame starts.")
        center: bool = Field(True, description="Pad by frame_length // 2 edge samples on each side.")
        threshold: float = Field(1e-10, ge=0, description="Magnitudes up to this count as zero.")

        @model_validator(mode="after")
        def _hop_within_frame(self) -> Any:
            if self.hop_length > self.frame_length:
                raise ValueError(f"hop_length {self.hop_length} exceeds frame_length {self.frame_length}")
            return self

    def __init__(
        self, frame_length: int = 2048, hop_length: int = 512, center: bool = True, threshold: float = 1e-10
    ) -> None:
        super().__init__()
        validate_params(
            type(self),
            {"frame_length": frame_length, "hop_length": hop_length, "center": center, "threshold": threshold},
            name="example:zero_crossing_rate",
        )
        self.frame_length = frame_length
        self.hop_length = hop_length
        self.center = center
        self.threshold = threshold

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Frames' zero-crossing rates: (..., time) -> (..., frames)."""
        return zero_crossing_rate(waveform, self.frame_length, self.hop_length, self.center, self.threshold)
