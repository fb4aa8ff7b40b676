"""The resampling transform: a cached polyphase kernel held as buffers.

Example:
    >>> import torch
    >>> Resample(orig_freq=48000, new_freq=16000)(torch.randn(2, 4800)).shape
    torch.Size([2, 1600])
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.errors import InvalidParameterError
from tympan.core.fields import TorchDtype
from tympan.core.params import Params
from tympan.core.threads import IntraOpThreadsModule
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype
from tympan.plugins.dsp.functional._resample import FFT_METHOD, _check, apply_resampling, resampling_plan
from tympan.plugins.dsp.functional._resample_fft import apply_fft_resampling, fft_resampling_plan
from tympan.plugins.dsp.functional._resample_phases import resample_by_phases
from tympan.plugins.dsp.functional._sinc import DEFAULT_KAISER_BETA
from tympan.plugins.dsp.transforms._base import DspTransform
from tympan.plugins.dsp.transforms._resample_step import ResampleStep

__all__ = ["Resample"]


class Resample(IntraOpThreadsModule, DspTransform):
    """Resample ``(..., time)`` from ``orig_freq`` to ``new_freq``, as ``torchaudio.transforms.Resample``.

    Band-limited windowed-sinc interpolation with a polyphase kernel sized by the reduced ratio
    (see :func:`tympan.plugins.dsp.functional.resample`; ``"sinc_interp_kaiser_fft"`` applies a long Kaiser
    filter by FFT blocks); ``ceil(time * new_freq / orig_freq)`` samples come out. The kernel (or the FFT
    method's frequency response) is a buffer of ``dtype`` (float32 by default; float64 for float64-exact
    results). For ratios whose kernel would be too large to hold (coprime rates in the megahertz) there is
    no kernel: the taps are computed phase by phase as they are needed, so memory stays bounded.

    Example:
        >>> import torch
        >>> resample = Resample(orig_freq=44100, new_freq=16000)
        >>> resample(torch.randn(2, 44100)).shape, resample.output_sample_rate
        (torch.Size([2, 16000]), 16000)
    """

    qualified_name = "dsp:resample"
    sample_rate_param: ClassVar[str | None] = "orig_freq"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Resample`."""

        orig_freq: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")
        new_freq: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the output, in Hz.")
        resampling_method: Literal["sinc_interp_hann", "sinc_interp_kaiser", "sinc_interp_kaiser_fft"] = Field(
            "sinc_interp_hann",
            description="Window of the sinc kernel: Hann or Kaiser; Kaiser applied by FFT blocks for long filters.",
        )
        lowpass_filter_width: int = Field(
            6, ge=1, le=1024, description="Sinc zero crossings kept on each side (sharper filter, more taps)."
        )
        rolloff: float = Field(
            0.99, gt=0, le=1, description="Cutoff as a fraction of the lower Nyquist frequency (anti-aliasing margin)."
        )
        beta: float | None = Field(None, ge=0, le=100, description="Kaiser window shape; None: 14.769656459379492.")
        dtype: TorchDtype | None = Field(None, description="dtype the kernel is built in; None: float32.")

    def __init__(
        self,
        orig_freq: int = 16000,
        new_freq: int = 16000,
        resampling_method: str = "sinc_interp_hann",
        lowpass_filter_width: int = 6,
        rolloff: float = 0.99,
        beta: float | None = None,
        *,
        dtype: torch.dtype | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.orig_freq = params.orig_freq
        self.new_freq = params.new_freq
        self.resampling_method = params.resampling_method
        self.lowpass_filter_width = params.lowpass_filter_width
        self.rolloff = params.rolloff
        self.beta = params.beta
        self.hann = self.resampling_method == "sinc_interp_hann"
        self.kaiser_beta = DEFAULT_KAISER_BETA if self.beta is None else float(self.beta)
        try:
            _check(self.orig_freq, self.new_freq, self.lowpass_filter_width, self.rolloff, self.resampling_method)
        except InvalidParameterError as exc:
            raise InvalidParameterError(self.qualified_name, exc.problems) from None
        dtype = params.dtype or torch.float32
        cpu = torch.device("cpu")
        self.fft = False
        self.block, self.guard = 0, 0
        fft_plan = _fft_plan(self, dtype, cpu) if self.resampling_method == FFT_METHOD else None
        if fft_plan is not None:
            self.fft = True
            self.orig, self.new, self.width, self.dense, self.by_phases = fft_plan.orig, fft_plan.new, 0, False, False
            self.block, self.guard = fft_plan.block, fft_plan.guard
            kernel, tap_index = fft_plan.response, torch.zeros(0, dtype=torch.int64)
        else:
            method = "sinc_interp_kaiser" if self.resampling_method == FFT_METHOD else self.resampling_method
            plan = resampling_plan(
                self.orig_freq, self.new_freq, self.lowpass_filter_width, self.rolloff, method, self.beta, dtype, cpu
            )
            self.orig, self.new, self.width, self.dense = plan.orig, plan.new, plan.width, plan.dense
            self.by_phases = plan.by_phases
            kernel, tap_index = plan.kernel, plan.tap_index
        self.register_buffer("kernel", kernel.clone(), persistent=False)
        self.register_buffer("tap_index", tap_index.clone(), persistent=False)

    @property
    def output_sample_rate(self) -> int | None:
        """``new_freq``: the sample rate of what ``forward`` returns."""
        return self.new_freq

    def streaming_step(self, chunk_samples: int, dtype: torch.dtype = torch.float32) -> ResampleStep:
        """The step resampling ``chunk_samples`` input samples a call (a multiple of ``orig``), for export.

        Example:
            >>> Resample(48000, 16000).streaming_step(480).output_size
            160
        """
        return ResampleStep(self, chunk_samples, dtype)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., ceil(time * new_freq / orig_freq))``."""
        if self.orig_freq == self.new_freq:
            return waveform
        signal = waveform.to(working_dtype(waveform.dtype))
        if self.fft:
            out = apply_fft_resampling(signal, self.kernel, self.orig, self.new, self.block, self.guard)
            return as_dtype(out, waveform.dtype)
        if self.by_phases:
            out = resample_by_phases(
                signal, self.orig, self.new, self.lowpass_filter_width, self.rolloff, self.hann, self.kaiser_beta
            )
            return as_dtype(out, waveform.dtype)
        out = apply_resampling(
            signal,
            self.kernel,
            self.tap_index,
            self.orig,
            self.new,
            self.width,
            self.dense,
        )
        return as_dtype(out, waveform.dtype)


def _fft_plan(module: Resample, dtype: torch.dtype, device: torch.device) -> Any:
    """The FFT method's plan for ``module``'s settings (``None``: too long blocks); a filter the method
    cannot use is an ``InvalidParameterError``."""
    try:
        return fft_resampling_plan(
            module.orig_freq, module.new_freq, module.lowpass_filter_width, module.rolloff, module.beta, dtype, device
        )
    except ValueError as exc:
        raise InvalidParameterError(module.qualified_name, [f"lowpass_filter_width, rolloff: {exc}"]) from exc
