"""SoX's rate changers: ``rate``, ``speed``, ``upsample`` and ``downsample``.

``rate`` resamples with the filter its quality options describe (:mod:`tympan.plugins.sox.functional._rate`)
and returns SoX's number of samples; ``speed`` plays the audio faster or slower, pitch included, by
resampling it from ``factor`` times its rate back to its rate; ``upsample`` inserts zeros and
``downsample`` drops samples, changing the rate by an integer factor without filtering.

Example:
    >>> import torch
    >>> rate = Rate(44100, new_rate=16000)
    >>> rate(torch.randn(2, 44100) * 0.1).shape, rate.output_sample_rate
    (torch.Size([2, 16000]), 16000)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
import torch.nn.functional as nnf
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.dsp.building_blocks import fft_resampling_plan
from tympan.plugins.dsp.transforms import Resample
from tympan.plugins.sox._grammar import parse_float, parse_frequency
from tympan.plugins.sox.effects._base import Signal, SoxEffect, number, take_flags
from tympan.plugins.sox.effects._fields import MAX_RATE, SampleRate
from tympan.plugins.sox.functional._rate import (
    cubic_interpolate,
    rate_design,
    rational_ratio,
    resampled_length,
)
from tympan.plugins.sox.functional._rate_phase import apply_phase_correction, phase_correction

__all__ = ["Downsample", "Rate", "Speed", "Upsample", "speed_factor"]

_Quality = Annotated[
    Literal["q", "l", "m", "h", "v"],
    Field(description="q quick (cubic), l low, m medium, h high, v very high."),
]
_InputRate = Annotated[float, Field(gt=0, le=MAX_RATE, description="Sample rate of the input, in Hz.")]


def _resampler(in_rate: float, out_rate: float, quality: str, bandwidth: float | None, aliasing: bool) -> Resample:
    design = rate_design(quality, bandwidth, aliasing)
    orig, new = rational_ratio(in_rate, out_rate)
    common = {"lowpass_filter_width": design.lowpass_filter_width, "rolloff": design.rolloff, "beta": design.beta}
    try:
        fft_resampling_plan(
            orig, new, design.lowpass_filter_width, design.rolloff, design.beta, torch.float64, torch.device("cpu")
        )
        method = "sinc_interp_kaiser_fft"
    except ValueError:  # the stop band reaches past the Nyquist frequency: apply the filter directly
        method = "sinc_interp_kaiser"
    return Resample(orig, new, method, dtype=torch.float64, **common)


class Rate(SoxEffect):
    """SoX ``rate [-q|-l|-m|-h|-v] [-s] [-a] [-b bandwidth] [-M|-I|-L|-p phase] RATE[k]``: resample to
    ``new_rate`` Hz with SoX's quality (``h`` by default: 125 dB of stop band, the pass band flat to 91 %
    of the lower Nyquist frequency), the filter's phase linear (50, ``-L``), minimum (0, ``-M``),
    intermediate (25, ``-I``) or any ``phase`` between 0 and 100 (``-p``). ``sample_rate`` may be
    fractional (after ``speed``). The output holds ``round(time * new_rate / sample_rate)`` samples.

    Example:
        >>> import torch
        >>> Rate(8000, new_rate=11025, quality="q")(torch.zeros(1, 800)).shape
        torch.Size([1, 1103])
    """

    sox_name = "rate"
    qualified_name = "sox:rate"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: _InputRate = 44100.0,
        new_rate: Annotated[int, Field(gt=0, le=MAX_RATE, description="Sample rate of the output, in Hz.")] = 44100,
        quality: _Quality = "h",
        bandwidth: Annotated[
            float | None, Field(ge=74, le=99.7, description="-3 dB point, percent of the lower Nyquist frequency.")
        ] = None,
        steep: Annotated[bool, Field(description="A steep filter: bandwidth 99 % (-s).")] = False,
        allow_aliasing: Annotated[bool, Field(description="Let the transition band alias (-a).")] = False,
        phase: Annotated[
            float, Field(ge=0, le=100, description="Filter phase: 0 minimum, 25 intermediate, 50 linear.")
        ] = 50.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.new_rate = params.new_rate
        self.identity = params.sample_rate == params.new_rate
        self.cubic = params.quality == "q"
        self.step = params.sample_rate / params.new_rate
        bandwidth = 99.0 if params.steep else params.bandwidth
        self.resampler = (
            torch.nn.Identity()
            if self.identity or self.cubic
            else _resampler(params.sample_rate, params.new_rate, params.quality, bandwidth, params.allow_aliasing)
        )
        correction, self.correction_start = torch.zeros(0, dtype=torch.float64), 0
        if params.phase != 50 and not self.identity:
            design = rate_design(params.quality, bandwidth, params.allow_aliasing)
            correction, self.correction_start = phase_correction(
                params.sample_rate, params.new_rate, design, params.phase
            )
        self.register_buffer("correction", correction, persistent=False)

    @staticmethod
    def check_params(params: Any) -> None:
        """SoX's rule: the quick and low qualities take no override options."""
        overridden = params.bandwidth is not None or params.steep or params.allow_aliasing or params.phase != 50
        if params.quality in ("q", "l") and overridden:
            raise ValueError("override options not allowed with this quality level")
        if params.bandwidth is not None and params.steep:
            raise ValueError("conflicting bandwidth options")

    @property
    def output_sample_rate(self) -> int | None:
        """``new_rate``."""
        return self.new_rate

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-q|-l|-m|-h|-v] [override options] RATE[k]``."""
        args = list(args)
        flags = take_flags(args, "qlmhvsaMILbp", with_value="bp")
        qualities = [letter for letter in flags if letter in "qlmhv"]
        kwargs: dict[str, Any] = {"quality": qualities[-1] if qualities else "h"}
        kwargs["steep"] = "s" in flags
        kwargs["allow_aliasing"] = "a" in flags
        if "b" in flags:
            kwargs["bandwidth"] = number(flags["b"], "bandwidth", 74, 99.7)
        for letter, phase in (("M", 0.0), ("I", 25.0), ("L", 50.0)):
            if letter in flags:
                kwargs["phase"] = phase
        if "p" in flags:
            kwargs["phase"] = number(flags["p"], "phase", 0, 100)
        if len(args) > 1:
            raise ValueError(f"unexpected options {' '.join(args[1:])!r}")
        if not args:
            raise ValueError("a target rate is needed (a chain supplies its output rate)")
        rate = parse_frequency(args[0], "rate")
        if rate <= 0 or rate != int(rate):
            raise ValueError(f"rate must be a positive whole number of Hz, got {args[0]!r}")
        kwargs["new_rate"] = int(rate)
        return kwargs

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """SoX's allowance for the resampling filter's overshoot (0.705)."""
        return 1.0 if self.identity else 0.705

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``round(length * new_rate / sample_rate)``."""
        return length if self.identity else resampled_length(length, self.sample_rate, self.new_rate)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The resampled waveform."""
        if self.identity:
            return waveform
        # math.floor, not int: traced, the length stays a formula of the input's (int would fix it to one value)
        length = math.floor(waveform.shape[-1] / self.step + 0.5)
        if self.cubic:
            return cubic_interpolate(waveform, self.step, length)
        signal = waveform.double()
        if self.correction.shape[0] > 0:
            signal = apply_phase_correction(signal, self.correction, self.correction_start)
        out = self.resampler(signal).to(waveform.dtype)  # float64: float32 FFTs leave a -140 dB floor
        # cut or zero-padded to `length` (a negative padding cuts), without a branch on the lengths
        return nnf.pad(out, [0, length - out.shape[-1]])


def speed_factor(text: str) -> float:
    """SoX's ``speed`` argument: a factor, or cents with a ``c`` suffix.

    Example:
        >>> speed_factor("0.9"), speed_factor("1200c")
        (0.9, 2.0)
    """
    if text.endswith("c"):
        return 2.0 ** (parse_float(text[:-1], "cents") / 1200)
    factor = parse_float(text, "factor")
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {text!r}")
    return factor


class Speed(SoxEffect):
    """SoX ``speed factor[c]``: play ``factor`` times faster (cents with ``c``), pitch and tempo together;
    the audio is resampled from ``factor * sample_rate`` back to ``sample_rate`` with ``rate``'s quality.
    In a chain, SoX's way is kept: ``speed`` only relabels the rate, and the next ``rate`` (or the one the
    chain ends with) does the resampling, once.

    Example:
        >>> import torch
        >>> Speed(16000, factor=2.0)(torch.zeros(1, 1600)).shape
        torch.Size([1, 800])
    """

    sox_name = "speed"
    qualified_name = "sox:speed"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        factor: Annotated[float, Field(gt=0, le=100, description="Speed-up factor (> 1 faster and higher).")] = 1.0,
        quality: _Quality = "h",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.factor = params.factor
        self.rate = Rate(params.sample_rate * params.factor, params.sample_rate, params.quality)

    @staticmethod
    def check_params(params: Any) -> None:
        """The sped-up rate stays within SoX's range."""
        if not 0 < params.sample_rate * params.factor <= MAX_RATE:
            raise ValueError(f"factor {params.factor} takes the rate out of range")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``factor[c]``."""
        if len(args) != 1:
            raise ValueError(f"expected one factor, got {' '.join(args)!r}")
        return {"factor": speed_factor(args[0])}

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``round(length / factor)``."""
        return self.rate.output_length(length)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform played ``factor`` times faster, at the same rate."""
        return self.rate(waveform)


class Upsample(SoxEffect):
    """SoX ``upsample [factor]``: insert ``factor - 1`` zeros after every sample, multiplying the rate (no
    filter: the spectrum's images remain).

    Example:
        >>> import torch
        >>> Upsample(8000, factor=2)(torch.tensor([1.0, 2.0])).tolist()
        [1.0, 0.0, 2.0, 0.0]
    """

    sox_name = "upsample"
    qualified_name = "sox:upsample"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        factor: Annotated[int, Field(ge=1, le=256, description="Rate multiplier.")] = 2,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.factor = params.factor

    @staticmethod
    def check_params(params: Any) -> None:
        """The new rate stays within range."""
        if params.sample_rate * params.factor > MAX_RATE:
            raise ValueError(f"factor {params.factor} takes the rate above {MAX_RATE} Hz")

    @property
    def output_sample_rate(self) -> int | None:
        """``factor * sample_rate``."""
        return self.sample_rate * self.factor

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[factor]``."""
        return _integer_factor(args, 256)

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``factor`` times the input length."""
        return length * self.factor

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with zeros inserted."""
        stuffed = nnf.pad(waveform.unsqueeze(-1), [0, self.factor - 1])
        return stuffed.flatten(-2)


class Downsample(SoxEffect):
    """SoX ``downsample [factor]``: keep every ``factor``-th sample, dividing the rate (no filter: what lies
    above the new Nyquist frequency aliases).

    Example:
        >>> import torch
        >>> Downsample(8000, factor=2)(torch.tensor([1.0, 2.0, 3.0])).tolist()
        [1.0, 3.0]
    """

    sox_name = "downsample"
    qualified_name = "sox:downsample"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        factor: Annotated[int, Field(ge=1, le=16384, description="Rate divisor.")] = 2,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.factor = params.factor
        self.exact_output_rate = params.sample_rate / params.factor

    @property
    def output_sample_rate(self) -> int | None:
        """``sample_rate / factor``, rounded to whole hertz."""
        return max(1, round(self.exact_output_rate))

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[factor]``."""
        return _integer_factor(args, 16384)

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``ceil(length / factor)``."""
        return math.ceil(length / self.factor)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Every ``factor``-th sample."""
        return waveform[..., :: self.factor]


def _integer_factor(args: Sequence[str], high: int) -> dict[str, Any]:
    if len(args) > 1:
        raise ValueError(f"expected [factor], got {' '.join(args)!r}")
    if not args:
        return {}
    value = number(args[0], "factor", 1, high)
    if value != int(value):
        raise ValueError(f"factor must be a whole number, got {args[0]!r}")
    return {"factor": int(value)}
