"""Spectrogram and mel spectrogram transforms.

Example:
    >>> import torch
    >>> Spectrogram(n_fft=256)(torch.randn(3, 2, 1000)).shape
    torch.Size([3, 2, 129, 8])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.plugins.dsp.functional._filterbanks import melscale_fbanks
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.transforms._base import (
    StftParams,
    StftTransform,
    check_band,
    check_filterbank,
    finite_filterbank,
)

__all__ = ["Spectrogram", "MelSpectrogram"]


class Spectrogram(StftTransform):
    """Spectrogram of ``(..., time)``: ``(..., n_fft // 2 + 1, frames)``, as ``torchaudio.transforms.Spectrogram``.

    ``power=None`` returns the complex STFT. Equals ``abs(librosa.stft(...)) ** power`` for the same options.

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
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, params.power, params.onesided)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., freq, frames)``."""
        return as_dtype(self._spectrum(waveform, None), waveform.dtype)


class MelSpectrogram(StftTransform):
    """Mel spectrogram of ``(..., time)``: ``(..., n_mels, frames)``, as ``torchaudio.transforms.MelSpectrogram``.

    Equals ``librosa.feature.melspectrogram`` with the same options (``htk=mel_scale == "htk"``, ``norm``,
    ``pad_mode``). The window and the filterbank ``fb`` ``(n_fft // 2 + 1, n_mels)`` are buffers.

    Example:
        >>> import torch
        >>> mel = MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80)
        >>> mel(torch.randn(16000)).shape
        torch.Size([80, 101])
    """

    qualified_name = "dsp:mel_spectrogram"

    class Params(StftParams):
        """Parameters of :class:`MelSpectrogram`."""

        sample_rate: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")
        f_min: float = Field(0.0, ge=0, description="Lowest filter edge, in Hz.")
        f_max: float | None = Field(
            None,
            gt=0,
            validate_default=True,
            description="Highest filter edge in Hz (<= sample_rate / 2); None: half the sample rate.",
        )
        n_mels: int = Field(128, ge=1, le=4096, description="Number of mel filters.")
        norm: Literal["slaney"] | None = Field(None, description="'slaney': scale each filter to unit area.")
        mel_scale: Literal["htk", "slaney"] = Field("htk", description="Mel scale: 'htk' or 'slaney'.")

        @field_validator("f_max")
        @classmethod
        def _band_within_nyquist(cls, value: float | None, info: ValidationInfo) -> float | None:
            check_band(info.data.get("f_min"), value, info.data.get("sample_rate"))
            return value

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        pad: int = 0,
        n_mels: int = 128,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        power: float = 2.0,
        normalized: bool | str = False,
        wkwargs: dict[str, Any] | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        norm: str | None = None,
        mel_scale: str = "htk",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, params.power, True)
        self.sample_rate = params.sample_rate
        self.f_min = params.f_min
        self.f_max = params.f_max if params.f_max is not None else params.sample_rate / 2
        self.n_mels = params.n_mels
        self.norm = params.norm
        self.mel_scale = params.mel_scale
        check_filterbank(
            self.qualified_name, {"n_fft": self.n_fft, "n_mels": self.n_mels}, self.n_fft // 2 + 1, self.n_mels
        )
        fb = melscale_fbanks(
            self.n_fft // 2 + 1, self.f_min, self.f_max, self.n_mels, self.sample_rate, self.norm, self.mel_scale
        )
        self.register_buffer("fb", finite_filterbank(self.qualified_name, "f_min, f_max", fb), persistent=False)

    def power_mel(self, waveform: torch.Tensor) -> torch.Tensor:
        """The mel spectrogram in the working dtype (float32 for half-precision input).

        Example:
            >>> MelSpectrogram(n_mels=40)(torch.zeros(2, 4000, dtype=torch.float16)).dtype
            torch.float16
        """
        return self._spectrum(waveform, self.fb)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., n_mels, frames)``."""
        return as_dtype(self.power_mel(waveform), waveform.dtype)
