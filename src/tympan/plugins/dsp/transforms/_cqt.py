"""Constant-Q, variable-Q and inverse constant-Q transforms.

The octave kernels are a buffer (real and imaginary parts in a trailing dimension of 2, so ``.double()``
and ``.to(dtype)`` convert them); the frame geometry is plain attributes. See
:mod:`tympan.plugins.dsp.functional._cqt` for the algorithm and how it compares with librosa.

Example:
    >>> import torch
    >>> CQT(sample_rate=22050, n_bins=48, f_min=65.4)(torch.randn(2, 22050)).shape
    torch.Size([2, 48, 44])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.fields import WindowFunction
from tympan.core.params import Params
from tympan.plugins.dsp.functional._cqt import (
    C1_HZ,
    constant_q_core,
    constant_q_plan,
    inverse_constant_q_core,
    inverse_constant_q_plan,
    magnitude_power,
)
from tympan.plugins.dsp.functional._cqt_kernels import check_geometry
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["CQT", "VQT", "InverseCQT"]


def _check_nyquist(n_bins: int, gamma: float | None, info: ValidationInfo) -> None:
    """Raise ``ValueError`` when the filters of ``n_bins`` bins reach above the Nyquist frequency."""
    data = info.data
    needed = ("sample_rate", "f_min", "bins_per_octave", "filter_scale", "tuning", "window_fn")
    if any(name not in data for name in needed):
        return
    check_geometry(
        data["sample_rate"],
        data["f_min"],
        n_bins,
        data["bins_per_octave"],
        data["filter_scale"],
        gamma,
        data["tuning"],
        data["window_fn"],
    )


class _ConstantQParams(Params):
    """The filter geometry shared by the constant-Q transforms and the inverse (librosa's names in brackets)."""

    sample_rate: int = Field(22050, gt=0, le=10_000_000, description="Sample rate of the audio, in Hz [sr].")
    hop_length: int = Field(512, ge=1, le=1 << 20, description="Samples between frames.")
    f_min: float = Field(C1_HZ, gt=0, description="Centre of the lowest bin in Hz [fmin]; default C1 (32.70 Hz).")
    bins_per_octave: int = Field(12, ge=1, le=1024, description="Bins per octave.")
    filter_scale: float = Field(1.0, gt=0, le=100, description="Filter length factor (< 1: shorter filters).")
    tuning: float = Field(0.0, ge=-0.5, le=0.5, description="Shift of every bin, in fractions of a bin.")
    window_fn: WindowFunction = Field(
        "hann", validate_default=True, description="Window of the filters: a name or a factory window_fn(length)."
    )
    norm: float | None = Field(
        1.0, gt=0, allow_inf_nan=True, description="p-norm each filter is normalised to (inf: peak); None: none."
    )
    sparsity: float = Field(0.01, ge=0, lt=1, description="Fraction of each kernel's magnitude dropped.")
    scale: bool = Field(True, description="Divide each bin by the square root of its filter length.")

    @field_validator("n_bins", check_fields=False)
    @classmethod
    def _within_nyquist(cls, value: int, info: ValidationInfo) -> int:
        # ``n_bins`` is each subclass's last field, so that this check sees the others (``gamma`` included).
        _check_nyquist(value, info.data.get("gamma") if "gamma" in cls.model_fields else 0.0, info)
        return value


class _ForwardParams(_ConstantQParams):
    """Parameters of the forward transforms (``n_bins`` last: its check needs the others)."""

    pad_mode: Literal["constant", "reflect", "replicate", "circular"] = Field(
        "constant", description="How frames beyond the ends of the signal are padded."
    )
    power: float | None = Field(
        None, gt=0, le=16, description="None: the complex transform; else |.| ** power (1: magnitude, 2: power)."
    )


class _OctaveKernels(DspTransform):
    """Holds the octave kernels of a transform's plan: a buffer, and the octaves' geometry as lists."""

    def _store(
        self,
        kernels: torch.Tensor,
        octave_bins: list[int],
        n_ffts: list[int],
        first: list[int],
        widths: list[int],
        hops: list[int],
        levels: list[int],
    ) -> None:
        self.register_buffer("kernels", torch.view_as_real(kernels).to(torch.float32), persistent=False)
        self.octave_bins = list(octave_bins)
        self.n_ffts = list(n_ffts)
        self.first = list(first)
        self.widths = list(widths)
        self.hops = list(hops)
        self.levels = list(levels)


class _ConstantQTransform(_OctaveKernels):
    """Holds the octave kernels of a forward transform and computes it."""

    def _setup(self, params: Any, gamma: float | None) -> None:
        self.sample_rate = params.sample_rate
        self.hop_length = params.hop_length
        self.f_min = params.f_min
        self.n_bins = params.n_bins
        self.bins_per_octave = params.bins_per_octave
        self.gamma = gamma
        self.filter_scale = params.filter_scale
        self.tuning = params.tuning
        self.norm = params.norm
        self.sparsity = params.sparsity
        self.scale = params.scale
        self.pad_mode = params.pad_mode
        self.power = params.power
        plan = constant_q_plan(
            float(self.sample_rate),
            self.hop_length,
            self.f_min,
            self.n_bins,
            self.bins_per_octave,
            gamma,
            self.filter_scale,
            self.norm,
            self.sparsity,
            params.window_fn,
            self.scale,
            self.tuning,
            torch.float64,
            torch.device("cpu"),
        )
        self._store(plan.kernels, plan.octave_bins, plan.n_ffts, plan.first, plan.widths, plan.hops, plan.levels)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., n_bins, 1 + time // hop_length)``: complex, or real when ``power`` is set."""
        dtype = working_dtype(waveform.dtype)
        shape = waveform.shape
        signals = waveform.reshape(-1, shape[-1]).to(dtype)
        result = constant_q_core(
            signals,
            torch.view_as_complex(self.kernels),
            self.octave_bins,
            self.n_ffts,
            self.first,
            self.widths,
            self.hops,
            self.levels,
            self.pad_mode,
        )
        result = magnitude_power(result, self.power)
        return as_dtype(result.reshape(shape[:-1] + result.shape[-2:]), waveform.dtype)


class CQT(_ConstantQTransform):
    """Constant-Q transform of ``(..., time)``: ``(..., n_bins, 1 + time // hop_length)``, as ``librosa.cqt``.

    ``power`` None (the default, as librosa) gives the complex transform; 1.0 the magnitude, 2.0 the power.
    Parameter names follow torchaudio where it has them (``sample_rate`` is librosa's ``sr``, ``f_min`` its
    ``fmin``); ``tuning`` is fixed at construction (librosa's default ``tuning=0``). Agrees with librosa to
    about 1e-4 of each bin's magnitude, and exactly when ``hop_length`` is odd (see
    :func:`tympan.plugins.dsp.functional.cqt`).

    Example:
        >>> import torch
        >>> cqt = CQT(sample_rate=22050, hop_length=256, power=1.0)
        >>> cqt(torch.randn(3, 22050)).shape
        torch.Size([3, 84, 87])
    """

    qualified_name = "dsp:cqt"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    class Params(_ForwardParams):
        """Parameters of :class:`CQT`."""

        n_bins: int = Field(84, ge=1, le=4096, description="Number of bins, from f_min upwards.")

    def __init__(
        self,
        sample_rate: int = 22050,
        hop_length: int = 512,
        f_min: float = C1_HZ,
        n_bins: int = 84,
        bins_per_octave: int = 12,
        filter_scale: float = 1.0,
        norm: float | None = 1.0,
        sparsity: float = 0.01,
        window_fn: Callable[..., torch.Tensor] | str = "hann",
        scale: bool = True,
        pad_mode: str = "constant",
        tuning: float = 0.0,
        power: float | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup(params, 0.0)


class VQT(_ConstantQTransform):
    """Variable-Q transform of ``(..., time)``: ``(..., n_bins, 1 + time // hop_length)``, as ``librosa.vqt``.

    The filter of a bin at ``f`` Hz has bandwidth ``alpha * f + gamma``: ``gamma`` 0 is the constant-Q
    transform, None (the default, as librosa) makes every bandwidth the same fraction of the equivalent
    rectangular bandwidth ``24.7 + 0.108 f``. Otherwise as :class:`CQT`.

    Example:
        >>> import torch
        >>> VQT(sample_rate=16000, f_min=55.0, n_bins=60, power=2.0)(torch.randn(16000)).shape
        torch.Size([60, 32])
    """

    qualified_name = "dsp:vqt"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    class Params(_ForwardParams):
        """Parameters of :class:`VQT`."""

        gamma: float | None = Field(
            None, ge=0, le=1e5, description="Bandwidth offset in Hz (0: constant-Q); None: ERB-proportional."
        )
        n_bins: int = Field(84, ge=1, le=4096, description="Number of bins, from f_min upwards.")

    def __init__(
        self,
        sample_rate: int = 22050,
        hop_length: int = 512,
        f_min: float = C1_HZ,
        n_bins: int = 84,
        bins_per_octave: int = 12,
        gamma: float | None = None,
        filter_scale: float = 1.0,
        norm: float | None = 1.0,
        sparsity: float = 0.01,
        window_fn: Callable[..., torch.Tensor] | str = "hann",
        scale: bool = True,
        pad_mode: str = "constant",
        tuning: float = 0.0,
        power: float | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup(params, params.gamma)


class InverseCQT(_OctaveKernels):
    """Waveform ``(..., time)`` of a complex constant-Q transform ``(..., n_bins, frames)``, as ``librosa.icqt``.

    The parameters must be those of the forward :class:`CQT`. ``forward(cqt, length)`` trims or zero-pads
    to ``length`` samples (default ``hop_length * (frames - 1)``). Agrees with librosa to about 1e-6 of the
    peak away from the first and last filter length of the signal (about 5e-3 there, where soxr and this
    module's interpolation treat the ends differently), exactly when ``hop_length`` is odd.

    Example:
        >>> import torch
        >>> wave = torch.randn(2, 22050, dtype=torch.float64)
        >>> spectrum = CQT(sample_rate=22050).double()(wave)
        >>> InverseCQT(sample_rate=22050).double()(spectrum, 22050).shape
        torch.Size([2, 22050])
    """

    qualified_name = "dsp:inverse_cqt"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    produces_waveform: ClassVar[bool] = True

    class Params(_ConstantQParams):
        """Parameters of :class:`InverseCQT`."""

        n_bins: int = Field(84, ge=1, le=4096, description="Number of bins of the transform.")

    def __init__(
        self,
        sample_rate: int = 22050,
        hop_length: int = 512,
        f_min: float = C1_HZ,
        n_bins: int = 84,
        bins_per_octave: int = 12,
        filter_scale: float = 1.0,
        norm: float | None = 1.0,
        sparsity: float = 0.01,
        window_fn: Callable[..., torch.Tensor] | str = "hann",
        scale: bool = True,
        tuning: float = 0.0,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.hop_length = params.hop_length
        self.f_min = params.f_min
        self.n_bins = params.n_bins
        self.bins_per_octave = params.bins_per_octave
        self.filter_scale = params.filter_scale
        self.norm = params.norm
        self.sparsity = params.sparsity
        self.scale = params.scale
        self.tuning = params.tuning
        plan = inverse_constant_q_plan(
            float(self.sample_rate),
            self.hop_length,
            self.f_min,
            self.n_bins,
            self.bins_per_octave,
            self.filter_scale,
            self.norm,
            self.sparsity,
            params.window_fn,
            self.scale,
            self.tuning,
            torch.float64,
            torch.device("cpu"),
        )
        self._store(plan.kernels, plan.octave_bins, plan.n_ffts, plan.first, plan.widths, plan.hops, plan.levels)
        self.longest = plan.longest

    def example_input(self, batch: int) -> torch.Tensor:
        """A random complex transform ``(batch, n_bins, 12)``, for the contract checks."""
        generator = torch.Generator().manual_seed(0)
        return torch.complex(
            torch.randn(batch, self.n_bins, 12, generator=generator),
            torch.randn(batch, self.n_bins, 12, generator=generator),
        )

    def forward(self, cqt: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``(..., n_bins, frames)`` complex to ``(..., time)``."""
        if not cqt.is_complex() or cqt.dim() < 2 or cqt.shape[-2] != self.n_bins:
            raise ValueError(f"expected a complex transform (..., {self.n_bins}, frames), got {cqt.dtype} {cqt.shape}")
        shape = cqt.shape
        kernels = torch.view_as_complex(self.kernels)
        signals = inverse_constant_q_core(
            cqt.reshape(-1, shape[-2], shape[-1]).to(working_dtype(cqt.dtype)),
            kernels,
            self.octave_bins,
            self.n_ffts,
            self.first,
            self.widths,
            self.hops,
            self.levels,
            self.longest,
            length,
        )
        return signals.reshape(shape[:-2] + signals.shape[-1:])
