"""The mel spectrogram transform: a ``Spectrogram`` and a ``MelScale`` held as sub-modules, as torchaudio's.

Example:
    >>> import torch
    >>> mel = MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80)
    >>> mel(torch.randn(16000)).shape, tuple(mel.mel_scale.fb.shape)
    (torch.Size([80, 101]), (201, 80))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import torch
from pydantic import Field, field_validator

from tympan.core.threads import IntraOpThreadsModule
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.transforms._base import BandHigh, BandLow, DspTransform, StftParams, band_within_nyquist
from tympan.plugins.dsp.transforms._filterbank import MelScale
from tympan.plugins.dsp.transforms._spectrogram import Spectrogram

__all__ = ["MelSpectrogram"]


class MelSpectrogram(IntraOpThreadsModule, DspTransform):
    """Mel spectrogram of ``(..., time)``: ``(..., n_mels, frames)``, as ``torchaudio.transforms.MelSpectrogram``.

    Equals ``librosa.feature.melspectrogram`` with the same options (``htk=mel_scale == "htk"``, ``norm``,
    ``pad_mode``). As in torchaudio, the sub-modules ``spectrogram`` (a :class:`Spectrogram`, holding the
    window) and ``mel_scale`` (a :class:`MelScale`, holding the filterbank ``fb`` ``(n_fft // 2 + 1, n_mels)``)
    hold the state; the forward pass applies the filterbank to each block of the STFT while it is in cache,
    without the full spectrogram in memory. ``onesided`` is accepted for torchaudio's signature (a mel
    spectrogram is always onesided; a value other than None gives a ``UserWarning``, as in torchaudio).

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
        f_min: BandLow = 0.0
        f_max: BandHigh = None
        n_mels: int = Field(128, ge=1, le=4096, description="Number of mel filters.")
        onesided: bool | None = Field(None, description="No effect: a mel spectrogram is always onesided.")
        norm: Literal["slaney"] | None = Field(None, description="'slaney': scale each filter to unit area.")
        mel_scale: Literal["htk", "slaney"] = Field("htk", description="Mel scale: 'htk' or 'slaney'.")

        _band_within_nyquist = field_validator("f_max")(band_within_nyquist)

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
        onesided: bool | None = None,
        norm: str | None = None,
        mel_scale: str = "htk",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        if onesided is not None:
            warnings.warn("onesided has no effect: a mel spectrogram is always onesided", stacklevel=2)
        self.sample_rate = params.sample_rate
        self.n_fft = params.n_fft
        self.win_length = params.win_length if params.win_length is not None else params.n_fft
        self.hop_length = params.hop_length if params.hop_length is not None else self.win_length // 2
        self.pad = params.pad
        self.power = params.power
        self.normalized = params.normalized
        self.n_mels = params.n_mels
        self.f_min = params.f_min
        self.f_max = params.f_max if params.f_max is not None else params.sample_rate / 2
        self.spectrogram = Spectrogram(
            params.n_fft,
            self.win_length,
            self.hop_length,
            params.pad,
            params.window_fn,
            params.power,
            params.normalized,
            params.wkwargs,
            params.center,
            params.pad_mode,
            True,
        )
        self.mel_scale = MelScale(
            params.n_mels,
            params.sample_rate,
            params.f_min,
            self.f_max,
            params.n_fft // 2 + 1,
            params.norm,
            params.mel_scale,
        )

    def power_mel(self, waveform: torch.Tensor) -> torch.Tensor:
        """The mel spectrogram in the working dtype (float32 for half-precision input).

        Example:
            >>> MelSpectrogram(n_mels=40)(torch.zeros(2, 4000, dtype=torch.float16)).dtype
            torch.float16
        """
        return self.spectrogram._spectrum(waveform, self.mel_scale.fb)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., n_mels, frames)``."""
        return as_dtype(self.power_mel(waveform), waveform.dtype)
