"""SoX's biquad filters: ``allpass``, ``band``, ``bandpass``, ``bandreject``, ``bass``, ``biquad``, ``deemph``,
``equalizer``, ``highpass``, ``lowpass``, ``riaa`` and ``treble``.

Each designs its coefficients once (the DSP plugin's audio-EQ-cookbook designs, with SoX's widths turned
into the equivalent Q by :mod:`tympan.plugins.sox.functional._biquad`) and filters every channel with the
DSP plugin's block-recursive IIR filter, clipping the output to ``[-1, 1]`` as SoX does (the filter state
keeps the unclipped values, as SoX's does). A shelf or peak of 0 dB is no effect at all, as in SoX.

Example:
    >>> import torch
    >>> Lowpass(8000, frequency=1000.0)(torch.randn(2, 800) * 0.1).shape
    torch.Size([2, 800])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.dsp import building_blocks as design
from tympan.plugins.dsp.building_blocks import IirStep, filter_waveform
from tympan.plugins.sox._grammar import parse_float, parse_frequency, parse_width
from tympan.plugins.sox.effects._base import Signal, SoxEffect, take_flags
from tympan.plugins.sox.effects._fields import Frequency, SampleRate, WidthType
from tympan.plugins.sox.functional._biquad import (
    band_bandwidth,
    equivalent_q,
    experimental_allpass_coefficients,
    one_pole_coefficients,
)

__all__ = [
    "Allpass",
    "Band",
    "Bandpass",
    "Bandreject",
    "Bass",
    "Biquad",
    "BiquadEffect",
    "Deemph",
    "Equalizer",
    "Highpass",
    "Lowpass",
    "Riaa",
    "Treble",
]

_Width = Annotated[float, Field(gt=0, le=1e6, description="Filter width, in the unit of width_type.")]
#: SoX's default Q of the two-pole low- and high-pass (Butterworth).
BUTTERWORTH_Q = math.sqrt(0.5)
_ShelfGain = Annotated[float, Field(ge=-200, le=200, description="Gain in dB (negative to cut).")]
#: The width units of the filters without a shelf (no slope).
_PeakWidthType = Literal["q", "o", "h"]


class BiquadEffect(SoxEffect):
    """A second-order IIR filter with fixed coefficients ``b / a`` (``a0 = 1``), clipping its output.

    Example:
        >>> Biquad(b0=0.5, b1=0.0, b2=0.0, a0=1.0, a1=0.0, a2=0.0)(torch.ones(1, 2)).tolist()
        [[0.5, 0.5]]
    """

    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def _use(self, sample_rate: int, coefficients: torch.Tensor | None) -> None:
        """Filter by ``[b0, b1, b2, a0, a1, a2]``; ``None`` passes the audio through untouched."""
        self.sample_rate = sample_rate
        self.identity = coefficients is None
        unity = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], dtype=torch.float64)
        row = (unity if coefficients is None else coefficients).detach().to(torch.float64)
        self.boost = 1.0
        self.register_buffer("a", (row[3:] / row[3]).unsqueeze(0), persistent=False)
        self.register_buffer("b", (row[:3] / row[3]).unsqueeze(0), persistent=False)

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """The inverse of the filter's boost (its gain when positive; RIAA's gain at DC)."""
        return 1.0 / self.boost

    def streaming_step(self, chunk_samples: int, dtype: torch.dtype = torch.float64) -> IirStep:
        """The step filtering ``chunk_samples`` samples a call (in float64 by default, as SoX), for export.

        Example:
            >>> Highpass(16000, frequency=300.0).streaming_step(160).state_size
            4
        """
        return IirStep(self.qualified_name, self.a, self.b, not self.identity, chunk_samples, dtype)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The filtered waveform, clipped to ``[-1, 1]`` (computed in float64, as SoX computes it)."""
        if self.identity:
            return waveform
        return filter_waveform(waveform.double(), self.a, self.b, True).to(waveform.dtype)


def _below_nyquist(sample_rate: int, frequency: float) -> None:
    if frequency > sample_rate / 2:
        raise ValueError(f"frequency {frequency:g} Hz must be less than half the sample rate ({sample_rate / 2:g} Hz)")


def _tuned(args: list[str], count: int, widths: str, gain_at: int | None = None) -> dict[str, Any]:
    """``frequency [width] [gain]``-style options: the first ``count`` are required."""
    if not count <= len(args) <= (3 if gain_at is not None else 2):
        raise ValueError(f"expected {count} to {3 if gain_at is not None else 2} options, got {len(args)}")
    kwargs: dict[str, Any] = {"frequency": parse_frequency(args[0])}
    if len(args) > 1:
        kwargs["width"], kwargs["width_type"] = parse_width(args[1], widths)
    if gain_at is not None and len(args) > gain_at:
        kwargs["gain"] = parse_float(args[gain_at], "gain")
    return kwargs


def _cookbook_q(params: Any) -> float:
    """The cookbook Q of ``params``' width at its frequency and sample rate."""
    return equivalent_q(params.sample_rate, params.frequency, params.width, params.width_type)


class _Tuned(BiquadEffect):
    """A filter with a frequency below the Nyquist frequency."""

    @staticmethod
    def check_params(params: Any) -> None:
        """The frequency lies at or below the Nyquist frequency."""
        _below_nyquist(params.sample_rate, params.frequency)


class Lowpass(_Tuned):
    """SoX ``lowpass [-1|-2] frequency [width[q|o|h|k]]``: a two-pole Butterworth-like low-pass (Q 0.707 by
    default), or a one-pole one (``poles=1``, no width).

    Example:
        >>> Lowpass(16000, frequency=1000.0, poles=1).b.shape
        torch.Size([1, 3])
    """

    sox_name = "lowpass"
    qualified_name = "sox:lowpass"
    _high: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        frequency: Frequency = 1000.0,
        width: _Width = BUTTERWORTH_Q,
        width_type: _PeakWidthType = "q",
        poles: Annotated[Literal[1, 2], Field(description="1 for a single-pole filter, 2 for a biquad.")] = 2,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        if params.poles == 1:
            coefficients = one_pole_coefficients(params.sample_rate, params.frequency, self._high)
        else:
            q = _cookbook_q(params)
            make = design.highpass_coefficients if self._high else design.lowpass_coefficients
            coefficients = make(params.sample_rate, params.frequency, q)
        self._use(params.sample_rate, coefficients)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-1|-2] frequency [width[q|o|h|k]]``."""
        args = list(args)
        flags = take_flags(args, "12")
        poles = 1 if "1" in flags else 2
        kwargs = _tuned(args, 1, "qohk")
        if poles == 1 and "width" in kwargs:
            raise ValueError("a single-pole filter takes no width")
        return {**kwargs, "poles": poles}


class Highpass(Lowpass):
    """SoX ``highpass [-1|-2] frequency [width[q|o|h|k]]``.

    Example:
        >>> Highpass(16000, frequency=300.0).sox_name
        'highpass'
    """

    sox_name = "highpass"
    qualified_name = "sox:highpass"
    _high = True


class Bandpass(_Tuned):
    """SoX ``bandpass [-c] frequency width[h|k|q|o]``: 0 dB peak gain, or constant skirt gain (``-c``).

    Example:
        >>> Bandpass(16000, frequency=1000.0, width=2.0).sox_name
        'bandpass'
    """

    sox_name = "bandpass"
    qualified_name = "sox:bandpass"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        frequency: Frequency = 1000.0,
        width: _Width = 0.707,
        width_type: _PeakWidthType = "q",
        constant_skirt_gain: Annotated[bool, Field(description="Constant skirt gain, peak gain Q (-c).")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        q = _cookbook_q(params)
        coefficients = design.bandpass_coefficients(params.sample_rate, params.frequency, q, constant_skirt_gain)
        self._use(params.sample_rate, coefficients)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-c] frequency width``."""
        args = list(args)
        flags = take_flags(args, "c")
        return {**_tuned(args, 2, "hkqo"), "constant_skirt_gain": "c" in flags}


class Bandreject(_Tuned):
    """SoX ``bandreject frequency width[h|k|q|o]``: a notch.

    Example:
        >>> Bandreject(16000, frequency=1000.0, width=100.0, width_type="h").sox_name
        'bandreject'
    """

    sox_name = "bandreject"
    qualified_name = "sox:bandreject"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        frequency: Frequency = 1000.0,
        width: _Width = 0.707,
        width_type: _PeakWidthType = "q",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        q = _cookbook_q(params)
        self._use(params.sample_rate, design.bandreject_coefficients(params.sample_rate, params.frequency, q))

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``frequency width``."""
        return _tuned(list(args), 2, "hkqo")


class Allpass(_Tuned):
    """SoX ``allpass [-1|-2] frequency width[h|k|q|o]``: the cookbook all-pass, or SoX's experimental one- and
    two-pole all-passes (``poles``; they take no width).

    Example:
        >>> Allpass(16000, frequency=1000.0).sox_name
        'allpass'
    """

    sox_name = "allpass"
    qualified_name = "sox:allpass"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        frequency: Frequency = 1000.0,
        width: _Width = 0.707,
        width_type: _PeakWidthType = "q",
        poles: Annotated[
            Literal[0, 1, 2], Field(description="0: the cookbook all-pass; 1 or 2: SoX's experimental ones.")
        ] = 0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        if params.poles:
            coefficients = experimental_allpass_coefficients(params.sample_rate, params.frequency, params.poles)
        else:
            q = _cookbook_q(params)
            coefficients = design.allpass_coefficients(params.sample_rate, params.frequency, q)
        self._use(params.sample_rate, coefficients)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-1|-2] frequency [width]``."""
        args = list(args)
        flags = take_flags(args, "12")
        poles = 1 if "1" in flags else 2 if "2" in flags else 0
        if poles:
            if len(args) != 1:
                raise ValueError("the experimental all-passes take a frequency only")
            return {"frequency": parse_frequency(args[0]), "poles": poles}
        return _tuned(args, 2, "hkqo")


class Band(_Tuned):
    """SoX ``band [-n] center [width[h|k|q|o]]``: a resonator of the given bandwidth (half the centre
    frequency by default), peak gain 1, or unit noise gain (``-n``) for unpitched audio.

    Example:
        >>> Band(16000, frequency=1000.0).sox_name
        'band'
    """

    sox_name = "band"
    qualified_name = "sox:band"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        frequency: Frequency = 1000.0,
        width: Annotated[float | None, Field(gt=0, le=1e6, description="Bandwidth; None: frequency / 2 Hz.")] = None,
        width_type: _PeakWidthType = "h",
        noise: Annotated[bool, Field(description="Unit gain for noise rather than for tones (-n).")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        bandwidth = band_bandwidth(params.frequency, params.width, params.width_type)
        q = params.frequency / bandwidth
        self._use(params.sample_rate, design.band_coefficients(params.sample_rate, params.frequency, q, noise))

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-n] center [width]``."""
        args = list(args)
        flags = take_flags(args, "n")
        return {**_tuned(args, 1, "hkqo"), "noise": "n" in flags}


class Bass(_Tuned):
    """SoX ``bass gain [frequency [width[s|h|k|q|o]]]``: a low shelf, slope 0.5 at 100 Hz by default.

    Example:
        >>> Bass(16000, gain=0.0).identity  # 0 dB: SoX drops the effect
        True
    """

    sox_name = "bass"
    qualified_name = "sox:bass"
    _high: ClassVar[bool] = False
    _default_frequency: ClassVar[float] = 100.0

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        gain: _ShelfGain = 0.0,
        frequency: Frequency = 100.0,
        width: _Width = 0.5,
        width_type: WidthType = "s",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.gain = params.gain
        coefficients = None
        if params.gain != 0:
            q = equivalent_q(params.sample_rate, params.frequency, params.width, params.width_type, params.gain)
            make = design.treble_coefficients if self._high else design.bass_coefficients
            coefficients = make(params.sample_rate, params.gain, params.frequency, q)
        self._use(params.sample_rate, coefficients)
        self.boost = 10.0 ** (max(params.gain, 0.0) / 20)

    @staticmethod
    def check_params(params: Any) -> None:
        """The frequency lies at or below the Nyquist frequency; a slope is at most 1."""
        _below_nyquist(params.sample_rate, params.frequency)
        if params.width_type == "s" and params.width > 1:
            raise ValueError(f"a slope must be at most 1, got {params.width}")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``gain [frequency [width]]``."""
        args = list(args)
        if not 1 <= len(args) <= 3:
            raise ValueError(f"expected gain [frequency [width]], got {' '.join(args)!r}")
        kwargs: dict[str, Any] = {"gain": parse_float(args[0], "gain"), "frequency": cls._default_frequency}
        if len(args) > 1:
            kwargs["frequency"] = parse_frequency(args[1])
        if len(args) > 2:
            kwargs["width"], kwargs["width_type"] = parse_width(args[2], "shkqo")
        return kwargs


class Treble(Bass):
    """SoX ``treble gain [frequency [width[s|h|k|q|o]]]``: a high shelf, slope 0.5 at 3 kHz by default.

    Example:
        >>> Treble(16000, gain=-3.0).sox_name
        'treble'
    """

    sox_name = "treble"
    qualified_name = "sox:treble"
    _high = True
    _default_frequency = 3000.0

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        gain: _ShelfGain = 0.0,
        frequency: Frequency = 3000.0,
        width: _Width = 0.5,
        width_type: WidthType = "s",
    ) -> None:
        super().__init__(sample_rate, gain, frequency, width, width_type)


class Equalizer(_Tuned):
    """SoX ``equalizer frequency width[q|o|h|k] gain``: a peaking filter (no effect at 0 dB).

    Example:
        >>> Equalizer(16000, frequency=1000.0, width=1.0, gain=3.0).sox_name
        'equalizer'
    """

    sox_name = "equalizer"
    qualified_name = "sox:equalizer"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        frequency: Frequency = 1000.0,
        width: _Width = 0.707,
        width_type: _PeakWidthType = "q",
        gain: _ShelfGain = 0.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        coefficients = None
        if params.gain != 0:
            q = _cookbook_q(params)
            coefficients = design.equalizer_coefficients(params.sample_rate, params.frequency, params.gain, q)
        self._use(params.sample_rate, coefficients)
        self.boost = 10.0 ** (max(params.gain, 0.0) / 20)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``frequency width gain``."""
        if len(args) != 3:
            raise ValueError(f"expected frequency width gain, got {' '.join(args)!r}")
        return _tuned(list(args), 3, "qohk", gain_at=2)


class Biquad(BiquadEffect):
    """SoX ``biquad b0 b1 b2 a0 a1 a2``: the filter ``(b0 + b1/z + b2/z²) / (a0 + a1/z + a2/z²)``.

    Example:
        >>> Biquad(b0=1.0, b1=0.0, b2=0.0, a0=2.0, a1=0.0, a2=0.0).b.tolist()
        [[0.5, 0.0, 0.0]]
    """

    sox_name = "biquad"
    qualified_name = "sox:biquad"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        b0: Annotated[float, Field(description="Numerator coefficient of z^0.")] = 1.0,
        b1: Annotated[float, Field(description="Numerator coefficient of z^-1.")] = 0.0,
        b2: Annotated[float, Field(description="Numerator coefficient of z^-2.")] = 0.0,
        a0: Annotated[float, Field(description="Denominator coefficient of z^0 (not zero).")] = 1.0,
        a1: Annotated[float, Field(description="Denominator coefficient of z^-1.")] = 0.0,
        a2: Annotated[float, Field(description="Denominator coefficient of z^-2.")] = 0.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        row = torch.tensor([params.b0, params.b1, params.b2, params.a0, params.a1, params.a2], dtype=torch.float64)
        self._use(params.sample_rate, row)

    @staticmethod
    def check_params(params: Any) -> None:
        """``a0`` is not zero."""
        if params.a0 == 0:
            raise ValueError("a0 must not be zero")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``b0 b1 b2 a0 a1 a2``."""
        if len(args) != 6:
            raise ValueError(f"expected six coefficients b0 b1 b2 a0 a1 a2, got {len(args)}")
        names = ("b0", "b1", "b2", "a0", "a1", "a2")
        return {name: parse_float(text, name) for name, text in zip(names, args, strict=True)}


class _PublishedRates(BiquadEffect):
    """A fixed filter published for a few sample rates: ``_design(sample_rate)`` gives its coefficients,
    ``_boost(coefficients)`` the gain :meth:`headroom_factor` undoes (1 unless a subclass says otherwise)."""

    _design: ClassVar[Callable[[int], torch.Tensor]]

    def __init__(self, sample_rate: SampleRate = 44100) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        coefficients = self._design(params.sample_rate)
        self._use(params.sample_rate, coefficients)
        self.boost = self._boost(coefficients)

    @staticmethod
    def _boost(coefficients: torch.Tensor) -> float:
        return 1.0


class Deemph(_PublishedRates):
    """SoX ``deemph``: CD de-emphasis (a -9.5 dB treble shelf); the rate must be 44100 or 48000 Hz.

    Example:
        >>> Deemph(44100).sox_name
        'deemph'
    """

    sox_name = "deemph"
    qualified_name = "sox:deemph"
    _design = staticmethod(design.deemph_coefficients)

    @staticmethod
    def check_params(params: Any) -> None:
        """The rate is one of CD de-emphasis's."""
        if params.sample_rate not in design.DEEMPH_RATES:
            raise ValueError("sample rate must be 44100 (audio-CD) or 48000 (DAT)")


class Riaa(_PublishedRates):
    """SoX ``riaa``: RIAA vinyl playback equalisation, 0 dB at 1 kHz; the rate must be 44.1, 48, 88.2 or 96 kHz.

    Example:
        >>> Riaa(48000).sox_name
        'riaa'
    """

    sox_name = "riaa"
    qualified_name = "sox:riaa"
    _design = staticmethod(design.riaa_coefficients)

    @staticmethod
    def _boost(coefficients: torch.Tensor) -> float:
        """The gain at DC."""
        return float(coefficients[:3].sum() / coefficients[3:].sum())

    @staticmethod
    def check_params(params: Any) -> None:
        """The rate is one RIAA's coefficients are published for."""
        if params.sample_rate not in design.RIAA_RATES:
            raise ValueError(f"sample rate must be one of {', '.join(str(r) for r in sorted(design.RIAA_RATES))}")
