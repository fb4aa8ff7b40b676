"""The spectrogram transform.

Example:
    >>> import torch
    >>> Spectrogram(n_fft=256)(torch.randn(3, 2, 1000)).shape
    torch.Size([3, 2, 129, 8])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from pydantic import Field

from tympan.core.threads import IntraOpThreadsModule
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.transforms._base import StftParams, StftTransform

__all__ = ["Spectrogram"]


class Spectrogram(IntraOpThreadsModule, StftTransform):
    """Spectrogram of ``(..., time)``: ``(..., n_fft // 2 + 1, frames)``, as ``torchaudio.transforms.Spectrogram``.

    ``power=None`` returns the complex STFT. Equals ``abs(librosa.stft(...)) ** power`` for the same options.
    ``return_complex`` is accepted for torchaudio's signature and has no effect (a ``UserWarning`` says so, as
    torchaudio's does).

    Example:
        >>> import torch
        >>> spec = Spectrogram(n_fft=400, hop_length=160, power=2.0)
        >>> spec(torch.randn(2, 16000)).shape
        torch.Size([2, 201, 101])
    """

    qualified_name = "dsp:spectrogram"

    class Params(StftParams):
        """Parameters of :class:`Spectrogram`."""

        power: float | None = Field(
            2.0, gt=0, le=16, description="Exponent of the magnitude (1: amplitude, 2: power); None: complex."
        )
        onesided: bool = Field(True, description="Keep only the n_fft // 2 + 1 non-negative frequencies.")
        return_complex: bool | None = Field(None, description="No effect: power=None always gives complex output.")

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        power: float | None = 2.0,
        normalized: bool | str = False,
        wkwargs: dict[str, Any] | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
        return_complex: bool | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        if return_complex is not None:
            warnings.warn("return_complex has no effect: a spectrogram with power=None is always complex", stacklevel=2)
        self._setup_stft(params, params.power, params.onesided)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., freq, frames)``."""
        return as_dtype(self._spectrum(waveform, None), waveform.dtype)
