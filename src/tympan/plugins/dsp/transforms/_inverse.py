"""Transforms back to waveforms: the inverse STFT and Griffin-Lim phase recovery.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.transforms import Spectrogram
    >>> wave = torch.randn(2, 4000, dtype=torch.float64)
    >>> spec = Spectrogram(n_fft=512, power=None).double()(wave)
    >>> torch.allclose(InverseSpectrogram(n_fft=512).double()(spec, 4000), wave)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import Field, model_validator

from tympan.core.budget import check_buffer_bytes
from tympan.plugins.dsp.functional._inverse import griffinlim_core, overlap_add_istft, spectrogram_magnitude
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.transforms._base import StftParams, StftTransform

__all__ = ["MAX_ITERATED_POINTS", "InverseSpectrogram", "GriffinLim"]

#: Griffin-Lim's iterations times its FFT size: the points transformed per frame, bounded.
MAX_ITERATED_POINTS = 1 << 23


class InverseSpectrogram(StftTransform):
    """Waveform ``(..., time)`` of a complex spectrogram ``(..., freq, frames)``, as
    ``torchaudio.transforms.InverseSpectrogram``.

    The parameters are those of the :class:`Spectrogram` that made the input; ``normalized`` is undone and
    ``pad`` removed. ``forward(spectrogram, length)`` trims or zero-pads to the original ``length``. Equals
    ``librosa.istft`` for the same options.

    Example:
        >>> import torch
        >>> inverse = InverseSpectrogram(n_fft=400, hop_length=160)
        >>> inverse(torch.randn(3, 201, 51, dtype=torch.complex64), length=8000).shape
        torch.Size([3, 8000])
    """

    qualified_name = "dsp:inverse_spectrogram"
    produces_waveform = True

    class Params(StftParams):
        """Parameters of :class:`InverseSpectrogram`."""

        power: ClassVar[None] = None  # the input is the complex spectrum itself
        onesided: bool = Field(True, description="The input holds only the n_fft // 2 + 1 non-negative frequencies.")

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        normalized: bool | str = False,
        wkwargs: dict[str, Any] | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, None, params.onesided)

    def example_input(self, batch: int) -> torch.Tensor:
        """A random complex spectrogram ``(batch, bins, 20)`` (``n_fft // 2 + 1`` bins, or ``n_fft`` when not
        ``onesided``), for the contract checks."""
        shape = (batch, self.n_fft // 2 + 1 if self.onesided else self.n_fft, 20)
        return torch.randn(shape, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))

    def forward(self, spectrogram: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``(..., freq, frames)`` complex to ``(..., time)``; ``length`` is the original signal's length."""
        full = length + 2 * self.pad if length is not None else None
        waveform = overlap_add_istft(spectrogram, self.window, self.hop_length, self.center, full, self.onesided)
        if self.pad > 0:
            waveform = waveform[..., self.pad : waveform.shape[-1] - self.pad]
        return waveform


class GriffinLim(StftTransform):
    """Waveform ``(..., time)`` from a magnitude spectrogram ``(..., freq, frames)`` by fast Griffin-Lim, as
    ``torchaudio.transforms.GriffinLim``.

    The input is ``|STFT| ** power`` of a centred, reflect-padded, unnormalised STFT with these parameters.
    The phase starts at zero, or uniformly random (the global generator) when ``rand_init``; ``momentum`` in
    ``[0, 1)`` accelerates convergence. With ``rand_init=False`` it equals
    ``librosa.griffinlim(S, init=None, pad_mode="reflect")``; for a seeded random start, use
    :func:`~tympan.plugins.dsp.functional.griffinlim` with a ``torch.Generator``.

    Example:
        >>> import torch
        >>> from tympan.plugins.dsp.transforms import Spectrogram
        >>> wave = torch.sin(torch.arange(8000) * 0.2)
        >>> spec = Spectrogram(n_fft=512)(wave)
        >>> GriffinLim(n_fft=512, n_iter=8, length=8000, rand_init=False)(spec).shape
        torch.Size([8000])
    """

    qualified_name = "dsp:griffin_lim"
    produces_waveform = True

    class Params(StftParams):
        """Parameters of :class:`GriffinLim`."""

        # Griffin-Lim analyses with a centred, reflect-padded, unnormalised STFT.
        pad: ClassVar[int] = 0
        normalized: ClassVar[bool] = False
        center: ClassVar[bool] = True
        pad_mode: ClassVar[str] = "reflect"
        n_iter: int = Field(32, ge=0, le=10_000, description="Number of phase-recovery iterations.")
        momentum: float = Field(0.99, ge=0, lt=1, description="Fast Griffin-Lim momentum, in [0, 1); 0: classic.")
        length: int | None = Field(
            None, ge=1, le=1 << 31, description="Length of the output in samples; None: from the frames."
        )
        rand_init: bool = Field(True, description="Start from random phases (else from zero phase).")

        @model_validator(mode="after")
        def _bounded_work(self) -> GriffinLim.Params:
            if self.n_iter * self.n_fft > MAX_ITERATED_POINTS:
                raise ValueError(
                    f"n_iter * n_fft = {self.n_iter} * {self.n_fft} transforms too many points per frame "
                    f"(at most {MAX_ITERATED_POINTS}); lower n_iter or n_fft"
                )
            return self

    def __init__(
        self,
        n_fft: int = 400,
        n_iter: int = 32,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        power: float = 2.0,
        wkwargs: dict[str, Any] | None = None,
        momentum: float = 0.99,
        length: int | None = None,
        rand_init: bool = True,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, params.power, True)
        self.n_iter = params.n_iter
        self.momentum = params.momentum
        self.length = params.length
        if self.length is not None:  # float64 samples, every call
            check_buffer_bytes(self.qualified_name, {"length": self.length}, 8.0 * self.length, "output for any input")
        self.rand_init = params.rand_init

    def example_input(self, batch: int) -> torch.Tensor:
        """A random power spectrogram ``(batch, n_fft // 2 + 1, 20)``, for the contract checks."""
        return torch.rand(batch, self.n_fft // 2 + 1, 20, generator=torch.Generator().manual_seed(0))

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        """``(..., freq, frames)`` magnitude (to ``power``) to ``(..., time)``."""
        magnitude = spectrogram_magnitude(specgram.to(working_dtype(specgram.dtype)), self.power)
        turns = torch.rand_like(magnitude) if self.rand_init else torch.zeros_like(magnitude)
        angles = torch.polar(torch.ones_like(turns), turns * (2.0 * math.pi))
        window = self.window.to(magnitude.dtype)
        waveform = griffinlim_core(magnitude, angles, window, self.hop_length, self.n_iter, self.momentum, self.length)
        return as_dtype(waveform, specgram.dtype)
