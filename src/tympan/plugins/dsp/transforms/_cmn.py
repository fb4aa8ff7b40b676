"""Sliding-window cepstral mean (and variance) normalisation as a transform.

Example:
    >>> import torch
    >>> cmn = SlidingWindowCmn(cmn_window=300, center=True)
    >>> cmn(torch.randn(2, 500, 13)).shape
    torch.Size([2, 500, 13])
"""

from __future__ import annotations

import torch
from pydantic import Field

from tympan.core.params import Params
from tympan.plugins.dsp.functional._cmn import sliding_window_cmn
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["SlidingWindowCmn"]


class SlidingWindowCmn(DspTransform):
    """Sliding-window CMN of ``(..., time, freq)`` features, as ``torchaudio.transforms.SlidingWindowCmn``.

    Follows Kaldi's ``apply-cmvn-sliding``: each frame has the mean of its window subtracted (and, with
    ``norm_vars``, is divided by the window's standard deviation, variance floored at 1e-10). See
    :func:`~tympan.plugins.dsp.functional.sliding_window_cmn` for the windows.

    Example:
        >>> import torch
        >>> feats = torch.tensor([[1.0], [2.0], [4.0], [8.0]])
        >>> SlidingWindowCmn(cmn_window=1, min_cmn_window=0)(feats).squeeze(-1).tolist()
        [0.0, 0.5, 1.0, 2.0]
    """

    qualified_name = "dsp:sliding_window_cmn"

    class Params(Params):
        """Parameters of :class:`SlidingWindowCmn`."""

        cmn_window: int = Field(
            600, ge=1, le=10_000_000, description="Frames in the running window (centred: cmn_window; else +1)."
        )
        min_cmn_window: int = Field(
            100,
            ge=0,
            le=10_000_000,
            description="Least number of frames the window spans at the start (only when center is false).",
        )
        center: bool = Field(False, description="Centre the window on the frame instead of ending it there.")
        norm_vars: bool = Field(False, description="Also normalise the variance to 1.")

    def __init__(
        self, cmn_window: int = 600, min_cmn_window: int = 100, center: bool = False, norm_vars: bool = False
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.cmn_window = params.cmn_window
        self.min_cmn_window = params.min_cmn_window
        self.center = params.center
        self.norm_vars = params.norm_vars

    def example_input(self, batch: int) -> torch.Tensor:
        """Random features ``(batch, 120, 13)`` with an offset, for the contract checks."""
        return 3.0 + torch.randn(batch, 120, 13, generator=torch.Generator().manual_seed(0))

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        """``(..., time, freq)`` to normalised features of the same shape and dtype."""
        return sliding_window_cmn(specgram, self.cmn_window, self.min_cmn_window, self.center, self.norm_vars)
