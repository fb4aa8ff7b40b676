"""Chroma transforms: a spectrogram folded onto the pitch classes, and the chroma spectrogram of a waveform.

Example:
    >>> import torch
    >>> ChromaSpectrogram(sample_rate=16000, n_fft=400)(torch.randn(2, 16000)).shape
    torch.Size([2, 12, 81])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import Field

from tympan.core.params import Params
from tympan.plugins.dsp.functional._chroma import chroma_weights
from tympan.plugins.dsp.functional._filterbank_ops import mel_scale
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.transforms._base import DspTransform, StftParams, StftTransform, check_filterbank

__all__ = ["ChromaScale", "ChromaSpectrogram"]


class _ChromaParams(Params):
    """The chroma filterbank's parameters (``librosa.filters.chroma``'s)."""

    sample_rate: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the audio, in Hz.")
    n_chroma: int = Field(12, ge=1, le=1024, description="Number of chroma bins (pitch classes) per octave.")
    tuning: float = Field(0.0, ge=-0.5, le=0.5, description="Tuning offset from A440, in fractions of a chroma bin.")
    ctroct: float = Field(5.0, ge=-10, le=20, description="Centre of the octave weighting, in octaves above A0.")
    octwidth: float | None = Field(
        2.0, gt=0, le=100, description="Width (standard deviation) of the octave weighting in octaves; None: flat."
    )
    norm: float | None = Field(
        2.0, gt=0, allow_inf_nan=True, description="p-norm (inf: peak) of each frequency's weights; None: none."
    )
    base_c: bool = Field(True, description="Chroma 0 is C (else A).")

    def filterbank(self, n_fft: int) -> torch.Tensor:
        """The weights ``(n_fft // 2 + 1, n_chroma)`` in float32 for an ``n_fft``-point spectrum."""
        return chroma_weights(
            self.sample_rate, n_fft, self.n_chroma, self.tuning, self.ctroct, self.octwidth, self.norm, self.base_c
        ).to(torch.float32)


def _hold_chroma(module: Any, params: _ChromaParams, n_fft: int) -> None:
    """Store the chroma parameters on ``module`` and its filterbank ``fb`` ``(n_fft // 2 + 1, n_chroma)``."""
    module.sample_rate = params.sample_rate
    module.n_chroma = params.n_chroma
    module.tuning = params.tuning
    module.ctroct = params.ctroct
    module.octwidth = params.octwidth
    module.norm = params.norm
    module.base_c = params.base_c
    sizes = {"n_fft": n_fft, "n_chroma": params.n_chroma}
    check_filterbank(module.qualified_name, sizes, n_fft // 2 + 1, params.n_chroma)
    module.register_buffer("fb", params.filterbank(n_fft), persistent=False)


class ChromaScale(DspTransform):
    """Spectrogram ``(..., n_freqs, time)`` to chromagram ``(..., n_chroma, time)``, as
    ``torchaudio.prototype.transforms.ChromaScale``.

    One matmul with ``fb`` ``(n_freqs, n_chroma)``, ``librosa.filters.chroma(sr=sample_rate,
    n_fft=2 * (n_freqs - 1), ...)`` transposed (see :func:`tympan.plugins.dsp.functional.chroma_filterbank`).

    Example:
        >>> import torch
        >>> ChromaScale(sample_rate=16000, n_freqs=201)(torch.rand(3, 201, 20)).shape
        torch.Size([3, 12, 20])
    """

    qualified_name = "dsp:chroma_scale"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    class Params(_ChromaParams):
        """Parameters of :class:`ChromaScale`."""

        n_freqs: int = Field(201, ge=2, le=1 << 19, description="Frequency bins of the spectrogram (n_fft // 2 + 1).")

    def __init__(
        self,
        sample_rate: int = 16000,
        n_freqs: int = 201,
        *,
        n_chroma: int = 12,
        tuning: float = 0.0,
        ctroct: float = 5.0,
        octwidth: float | None = 2.0,
        norm: float | None = 2.0,
        base_c: bool = True,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.n_freqs = params.n_freqs
        _hold_chroma(self, params, 2 * (self.n_freqs - 1))

    def example_input(self, batch: int) -> torch.Tensor:
        """A random power spectrogram ``(batch, n_freqs, 20)``, for the contract checks."""
        return torch.rand(batch, self.n_freqs, 20, generator=torch.Generator().manual_seed(0))

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        """``(..., n_freqs, time)`` to ``(..., n_chroma, time)``."""
        return mel_scale(specgram, self.fb)


class ChromaSpectrogram(StftTransform):
    """Chromagram of ``(..., time)``: ``(..., n_chroma, frames)``, as
    ``torchaudio.prototype.transforms.ChromaSpectrogram``.

    The spectrogram ``|STFT| ** power`` (:class:`~tympan.plugins.dsp.transforms.Spectrogram`'s parameters)
    through the chroma filterbank of its ``n_fft`` bins, applied block by block. Equals
    ``librosa.feature.chroma_stft(y, sr=sample_rate, n_fft=n_fft, ..., tuning=tuning, norm=None)`` for
    ``power=2``; no per-frame normalisation (librosa's ``norm``) is applied.

    Example:
        >>> import torch
        >>> ChromaSpectrogram(sample_rate=22050, n_fft=2048, hop_length=512)(torch.randn(22050)).shape
        torch.Size([12, 44])
    """

    qualified_name = "dsp:chroma_spectrogram"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    class Params(StftParams, _ChromaParams):
        """Parameters of :class:`ChromaSpectrogram`."""

        n_fft: int = Field(400, ge=2, le=1 << 20, description="FFT size; the spectrum has n_fft // 2 + 1 bins.")

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        *,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        power: float = 2.0,
        normalized: bool | str = False,
        wkwargs: dict[str, Any] | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        n_chroma: int = 12,
        tuning: float = 0.0,
        ctroct: float = 5.0,
        octwidth: float | None = 2.0,
        norm: float | None = 2.0,
        base_c: bool = True,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, params.power, True)
        _hold_chroma(self, params, self.n_fft)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., n_chroma, frames)``."""
        return as_dtype(self._spectrum(waveform, self.fb), waveform.dtype)
