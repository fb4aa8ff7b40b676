"""Phase-vocoder transforms: time stretch of complex spectrograms (fixed or random rate) and pitch shift.

Example:
    >>> import torch
    >>> spec = torch.randn(2, 201, 100, dtype=torch.complex64)
    >>> TimeStretch(fixed_rate=2.0)(spec).shape
    torch.Size([2, 201, 50])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import Field, ValidationInfo, field_validator, model_validator

from tympan.core.errors import InvalidParameterError
from tympan.core.params import Params
from tympan.plugins.dsp.functional._masking import draw_uniform
from tympan.plugins.dsp.functional._phase_vocoder import (
    fit_length,
    phase_advance,
    phase_vocoder,
    shift_rates,
    stretch_fraction,
    stretch_waveform,
    stretched_frames,
    stretched_length,
)
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.transforms._augment import RandomTransform, seed_field
from tympan.plugins.dsp.transforms._base import DspTransform, StftParams, StftTransform
from tympan.plugins.dsp.transforms._resample import Resample

__all__ = ["TimeStretch", "RandomTimeStretch", "PitchShift"]


#: The slowest stretch (20 times longer): slower ones turn any input into gigabytes.
MIN_RATE = 0.05


class _VocoderParams(Params):
    """The spectrogram geometry a phase vocoder needs."""

    hop_length: int | None = Field(None, ge=1, le=1 << 20, description="Hop of the STFT; None: n_fft // 2.")
    n_freq: int = Field(201, ge=2, le=(1 << 19) + 1, description="Frequency bins of the input, n_fft // 2 + 1.")


def _setup_vocoder(module: torch.nn.Module, hop_length: int | None, n_freq: int) -> None:
    """Give ``module`` ``n_freq`` and ``hop_length`` (None: ``n_fft // 2`` with ``n_fft = 2 (n_freq - 1)``)."""
    module.n_freq = n_freq
    module.hop_length = hop_length if hop_length is not None else n_freq - 1


def _complex_example(batch: int, n_freq: int) -> torch.Tensor:
    """A random complex spectrogram ``(batch, n_freq, 20)``, for the contract checks."""
    return torch.randn((batch, n_freq, 20), dtype=torch.complex64, generator=torch.Generator().manual_seed(0))


class TimeStretch(DspTransform):
    """Speed up complex spectrograms ``(..., freq, frames)`` by a rate without changing the pitch, as
    ``torchaudio.transforms.TimeStretch``.

    ``forward(complex_specgrams, overriding_rate=None)`` uses ``overriding_rate``, else ``fixed_rate``
    (one of them is needed) and returns ``(..., freq, ceil(frames / rate))`` by the
    :func:`~tympan.plugins.dsp.functional.phase_vocoder`; rate 1 returns the input. ``n_freq`` and
    ``hop_length`` (default ``n_fft // 2`` with ``n_fft = 2 (n_freq - 1)``) are those of the STFT. The
    bins' expected phase advances are computed in float64 at each call rather than held as a buffer, so
    converting the module to float32 cannot round them (the rounding would accumulate over the frames).

    Example:
        >>> import torch
        >>> stretch = TimeStretch(hop_length=128, n_freq=257)
        >>> stretch(torch.randn(3, 257, 40, dtype=torch.complex64), overriding_rate=0.8).shape
        torch.Size([3, 257, 50])
    """

    qualified_name = "dsp:time_stretch"

    class Params(_VocoderParams):
        """Parameters of :class:`TimeStretch`."""

        fixed_rate: float | None = Field(
            None, ge=MIN_RATE, le=1000.0, description="Rate used when forward gets none (> 1 faster); None: required."
        )

    def __init__(self, hop_length: int | None = None, n_freq: int = 201, fixed_rate: float | None = None) -> None:
        params = self.validated(locals())
        super().__init__()
        _setup_vocoder(self, params.hop_length, params.n_freq)
        self.fixed_rate = params.fixed_rate

    def example_input(self, batch: int) -> torch.Tensor:
        """A random complex spectrogram ``(batch, n_freq, 20)``, for the contract checks."""
        return _complex_example(batch, self.n_freq)

    def forward(self, complex_specgrams: torch.Tensor, overriding_rate: float | None = None) -> torch.Tensor:
        """``(..., freq, frames)`` complex to ``(..., freq, ceil(frames / rate))``."""
        rate = overriding_rate if overriding_rate is not None else self.fixed_rate
        if rate is None:
            raise InvalidParameterError("dsp:time_stretch", ["fixed_rate: None, so every call needs overriding_rate"])
        if rate == 1.0:
            return complex_specgrams
        advance = phase_advance(self.n_freq, self.hop_length, torch.float64, complex_specgrams.device)
        return phase_vocoder(complex_specgrams, rate, advance)


class RandomTimeStretch(RandomTransform):
    """Time-stretch complex spectrograms ``(..., freq, frames)`` by a rate drawn uniformly from
    ``[min_rate, max_rate]`` at each call (one rate for the whole batch, so the output stays one tensor).

    The stretch is :class:`TimeStretch`'s phase vocoder; ``n_freq`` and ``hop_length`` describe the STFT.
    ``forward(complex_specgrams, generator=None)``; see :class:`RandomTransform` for where the rate is drawn.
    ``min_rate == max_rate`` makes it deterministic; otherwise the output length changes from call to call and
    it declares ``data_dependent_length`` (not exportable with a dynamic frame dimension).

    Example:
        >>> import torch
        >>> stretch = RandomTimeStretch(min_rate=0.8, max_rate=1.25, n_freq=257, seed=0)
        >>> 32 <= stretch(torch.randn(2, 257, 40, dtype=torch.complex64)).shape[-1] <= 50
        True
    """

    qualified_name = "dsp:random_time_stretch"

    class Params(_VocoderParams):
        """Parameters of :class:`RandomTimeStretch`."""

        min_rate: float = Field(0.8, ge=MIN_RATE, le=1000.0, description="Lowest rate drawn (> 1 faster).")
        max_rate: float = Field(1.25, ge=MIN_RATE, le=1000.0, description="Highest rate drawn, at least min_rate.")
        seed: int | None = seed_field()

        @field_validator("max_rate")
        @classmethod
        def _ordered(cls, value: float, info: ValidationInfo) -> float:
            low = info.data.get("min_rate")
            if low is not None and value < low:
                raise ValueError(f"max_rate must be at least min_rate ({low})")
            return value

    def __init__(
        self,
        min_rate: float = 0.8,
        max_rate: float = 1.25,
        hop_length: int | None = None,
        n_freq: int = 201,
        *,
        seed: int | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        _setup_vocoder(self, params.hop_length, params.n_freq)
        self.min_rate = params.min_rate
        self.max_rate = params.max_rate
        self._setup_random(params.seed)
        if self.min_rate != self.max_rate:
            # no one length formula holds for every call: it cannot be exported with a dynamic time dimension
            self.data_dependent_length = "its output length depends on the rate drawn at each call"

    def example_input(self, batch: int) -> torch.Tensor:
        """A random complex spectrogram ``(batch, n_freq, 20)``, for the contract checks."""
        return _complex_example(batch, self.n_freq)

    def forward(self, complex_specgrams: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(..., freq, frames)`` complex to ``(..., freq, ceil(frames / rate))`` at a random rate."""
        draw = draw_uniform([1], self._generator(generator), torch.device("cpu"))
        rate = self.min_rate
        if self.max_rate != self.min_rate:  # one rate: the draw advances the generator but is not read
            rate = rate + (self.max_rate - self.min_rate) * float(draw.item())
        if rate == 1.0:
            return complex_specgrams
        advance = phase_advance(self.n_freq, self.hop_length, torch.float64, complex_specgrams.device)
        return phase_vocoder(complex_specgrams, rate, advance)


class PitchShift(StftTransform):
    """Shift the pitch of ``(..., time)`` by ``n_steps`` steps of ``1 / bins_per_octave`` octave, as
    ``torchaudio.transforms.PitchShift``.

    The waveform is time-stretched by ``rate = 2 ** (-n_steps / bins_per_octave)`` with the phase vocoder
    (centred STFT with reflect padding; ``win_length`` defaults to ``n_fft``, ``hop_length`` to
    ``win_length // 4``), resampled from ``int(sample_rate / rate)`` to ``sample_rate`` Hz and cut or
    zero-padded to the input's length (see :func:`~tympan.plugins.dsp.functional.pitch_shift`). The window and
    resampling kernel are buffers built at construction.

    Example:
        >>> import torch
        >>> t = torch.arange(16000) / 16000
        >>> down = PitchShift(sample_rate=16000, n_steps=-12)(torch.sin(2 * torch.pi * 880 * t))
        >>> down.shape, int(torch.fft.rfft(down).abs().argmax())  # an octave down: 440 Hz
        (torch.Size([16000]), 440)
    """

    qualified_name = "dsp:pitch_shift"
    produces_waveform: ClassVar[bool] = True

    class Params(StftParams):
        """Parameters of :class:`PitchShift`."""

        # The stretch analyses with a centred, reflect-padded, unnormalised STFT.
        pad: ClassVar[int] = 0
        power: ClassVar[None] = None
        normalized: ClassVar[bool] = False
        center: ClassVar[bool] = True
        pad_mode: ClassVar[str] = "reflect"
        sample_rate: int = Field(gt=0, le=10_000_000, description="Sample rate of the input and output, in Hz.")
        n_steps: float = Field(ge=-1e6, le=1e6, description="Steps to shift by (> 0 up); need not be whole.")
        bins_per_octave: int = Field(12, ge=1, le=10_000, description="Steps per octave.")
        n_fft: int = Field(512, ge=2, le=1 << 20, description="FFT size of the stretch.")
        hop_length: int | None = Field(None, ge=1, le=1 << 20, description="Hop of the stretch; None: win_length // 4.")

        @model_validator(mode="after")
        def _resampling_is_feasible(self) -> PitchShift.Params:
            rate, source = shift_rates(self.sample_rate, self.n_steps, self.bins_per_octave)
            if source > 10_000_000 or not MIN_RATE <= rate <= 1000.0:
                raise ValueError(
                    f"n_steps = {self.n_steps} shifts too far: the stretch would run at rate {rate:.4g} and "
                    f"resample from {source} Hz"
                )
            win_length = self.win_length if self.win_length is not None else self.n_fft
            if self.hop_length is None and win_length // 4 < 1:
                raise ValueError(f"win_length // 4 is 0 for win_length = {win_length}; give hop_length")
            return self

    def __init__(
        self,
        sample_rate: int,
        n_steps: float,
        bins_per_octave: int = 12,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn: Callable[..., torch.Tensor] | str = torch.hann_window,
        wkwargs: dict[str, Any] | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_stft(params, None, True)
        if params.hop_length is None:
            self.hop_length = self.win_length // 4
        self.sample_rate = params.sample_rate
        self.n_steps = params.n_steps
        self.bins_per_octave = params.bins_per_octave
        self.rate, source = shift_rates(self.sample_rate, self.n_steps, self.bins_per_octave)
        # round(length / rate) as an integer formula: length * stretch_num / stretch_den, halves to even
        self.stretch_num, self.stretch_den = stretch_fraction(self.rate)
        # torchaudio's names for the resampling's source rate and its gcd with the output rate
        self.orig_freq = source
        self.gcd = math.gcd(source, self.sample_rate)
        self.resampler = Resample(source, self.sample_rate)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` shifted in pitch, same shape."""
        length = waveform.shape[-1]
        work = waveform.to(working_dtype(waveform.dtype))
        window = self.window.to(work.dtype)
        target = stretched_length(length, self.stretch_num, self.stretch_den)
        advance = phase_advance(self.n_fft // 2 + 1, self.hop_length, torch.float64, work.device)
        frames = stretched_frames(length, self.hop_length, self.stretch_num, self.stretch_den)
        stretched = stretch_waveform(work, self.rate, window, self.hop_length, advance, target, frames)
        shifted = self.resampler(stretched)
        return as_dtype(fit_length(shifted, length), waveform.dtype)
