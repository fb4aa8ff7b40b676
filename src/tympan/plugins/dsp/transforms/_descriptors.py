"""Frame-wise descriptor transforms: delta coefficients and the spectral centroid.

Example:
    >>> import torch
    >>> ComputeDeltas()(torch.randn(2, 13, 50)).shape, SpectralCentroid(16000)(torch.randn(2, 8000)).shape
    (torch.Size([2, 13, 50]), torch.Size([2, 41]))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.params import Params
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.functional._spectral_extra import centroid_of, delta_kernel, deltas_with_kernel
from tympan.plugins.dsp.transforms._base import DspTransform, StftParams, StftTransform

__all__ = ["ComputeDeltas", "SpectralCentroid"]


class ComputeDeltas(DspTransform):
    """Delta coefficients of ``(..., freq, time)`` along time, as ``torchaudio.transforms.ComputeDeltas``.

    The least-squares slope over ``win_length`` frames, edges padded with ``mode``; equals
    ``librosa.feature.delta(width=win_length, mode="nearest")`` for the default ``replicate``.

    Example:
        >>> import torch
        >>> ComputeDeltas(win_length=3)(torch.tensor([[0.0, 1.0, 4.0, 9.0, 16.0]])).tolist()
        [[0.5, 2.0, 4.0, 6.0, 3.5]]
    """

    qualified_name = "dsp:compute_deltas"

    class Params(Params):
        """Parameters of :class:`ComputeDeltas`."""

        win_length: int = Field(
            5, ge=3, le=4097, description="Frames in the regression window (odd; even rounds down)."
        )
        mode: Literal["replicate", "constant", "reflect", "circular"] = Field(
            "replicate", description="How the time axis is padded at the edges."
        )

    def __init__(self, win_length: int = 5, mode: str = "replicate") -> None:
        params = self.validated(locals())
        super().__init__()
        self.win_length = params.win_length
        self.mode = params.mode
        self.register_buffer("kernel", delta_kernel(self.win_length), persistent=False)

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        """``(..., freq, time)`` to deltas of the same shape."""
        return deltas_with_kernel(specgram, self.kernel, self.mode)


class SpectralCentroid(StftTransform):
    """Spectral centroid in Hz of ``(..., time)``: ``(..., frames)``, as ``torchaudio.transforms.SpectralCentroid``.

    The magnitude-weighted mean frequency of each frame of a centred, reflect-padded magnitude spectrogram;
    equals ``librosa.feature.spectral_centroid(pad_mode="reflect")``. Silent frames give 0.

    Example:
        >>> import torch
        >>> tone = torch.sin(torch.arange(16000) * (2 * torch.pi * 2000 / 16000))
        >>> round(float(SpectralCentroid(16000, n_fft=512)(tone)[20]), -1)
        2000.0
    """

    qualified_name = "dsp:spectral_centroid"

    class Params(StftParams):
        """Parameters of :class:`SpectralCentroid`."""

        # The centroid weighs a centred, reflect-padded, unnormalised magnitude spectrogram.
        power: ClassVar[float] = 1.0
        normalized: ClassVar[bool] = False
        center: ClassVar[bool] = True
        pad_mode: ClassVar[str] = "reflect"
        sample_rate: int = Field(..., gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        wkwargs: dict[str, Any] | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, params.power, True)
        self.sample_rate = params.sample_rate

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., frames)``, in Hz."""
        magnitude = self._spectrum(waveform, None)
        return as_dtype(centroid_of(magnitude, float(self.sample_rate)), waveform.dtype)
