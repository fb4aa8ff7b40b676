"""The designed biquads as transforms: ``LowpassBiquad``, ``HighpassBiquad``, ... ``RiaaBiquad``.

Each class pairs a ``Params`` model with the design function of the same parameter names (see
:mod:`tympan.plugins.dsp.functional._biquad_design`): construction validates, designs once, and holds the
coefficients as buffers; ``forward`` filters and clamps to ``[-1, 1]`` as the functional forms do.
Frequencies must lie strictly between 0 and the Nyquist frequency ``sample_rate / 2``.

Example:
    >>> import torch
    >>> LowpassBiquad(sample_rate=16000, cutoff_freq=1000.0)(torch.randn(2, 1600) * 0.1).shape
    torch.Size([2, 1600])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.params import Params
from tympan.plugins.dsp.functional import _biquad_design as design
from tympan.plugins.dsp.transforms._filters import IirTransform

__all__ = [
    "DesignedBiquad",
    "LowpassBiquad",
    "HighpassBiquad",
    "AllpassBiquad",
    "BandpassBiquad",
    "BandrejectBiquad",
    "BandBiquad",
    "BassBiquad",
    "TrebleBiquad",
    "EqualizerBiquad",
    "DeemphBiquad",
    "RiaaBiquad",
]

_Q = Field(0.707, gt=0, le=1000, description="Quality factor: centre (or cutoff) frequency over bandwidth.")
_GAIN = Field(..., ge=-120, le=120, description="Gain in dB (negative to cut).")


class _RateParams(Params):
    sample_rate: int = Field(..., gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")


class _TunedParams(_RateParams):
    """A rate and a frequency (under any of torchaudio's three names) strictly below the Nyquist frequency."""

    @field_validator("cutoff_freq", "central_freq", "center_freq", check_fields=False)
    @classmethod
    def _below_nyquist(cls, value: float, info: ValidationInfo) -> float:
        rate = info.data.get("sample_rate")
        if rate is not None and value >= rate / 2:
            raise ValueError(f"must be below the Nyquist frequency sample_rate / 2 = {rate / 2:g} Hz")
        return value


def _freq(default: Any, what: str) -> Any:
    return Field(default, gt=0, description=f"{what} frequency in Hz, below sample_rate / 2.")


class DesignedBiquad(IirTransform):
    """A biquad designed at construction by ``design(**params)``; subclasses name the design and ``Params``.

    Example:
        >>> HighpassBiquad(8000, 300.0).output_sample_rate
        8000
    """

    sample_rate_param: ClassVar[str | None] = "sample_rate"
    design: ClassVar[Callable[..., torch.Tensor]]
    __jit_ignored_attributes__: ClassVar[list[str]] = ["design"]

    def _build(self, params: Params) -> None:
        super().__init__()
        coefficients = type(self).design(**params.kwargs())
        self._hold([coefficients[3:].tolist()], [coefficients[:3].tolist()], True)
        self.sample_rate: int = params.kwargs()["sample_rate"]

    @property
    def output_sample_rate(self) -> int | None:
        """The input's sample rate: filtering does not change it."""
        return self.sample_rate


class LowpassBiquad(DesignedBiquad):
    """Two-pole low-pass, as ``torchaudio.functional.lowpass_biquad`` (SoX ``lowpass``).

    Example:
        >>> LowpassBiquad(16000, 1000.0, Q=0.5).a.shape
        torch.Size([1, 3])
    """

    qualified_name = "dsp:lowpass_biquad"
    design = staticmethod(design.lowpass_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`LowpassBiquad`."""

        cutoff_freq: float = _freq(..., "Cutoff")
        Q: float = _Q

    def __init__(self, sample_rate: int, cutoff_freq: float, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


class HighpassBiquad(DesignedBiquad):
    """Two-pole high-pass, as ``torchaudio.functional.highpass_biquad`` (SoX ``highpass``).

    Example:
        >>> HighpassBiquad(16000, 100.0).sample_rate
        16000
    """

    qualified_name = "dsp:highpass_biquad"
    design = staticmethod(design.highpass_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`HighpassBiquad`."""

        cutoff_freq: float = _freq(..., "Cutoff")
        Q: float = _Q

    def __init__(self, sample_rate: int, cutoff_freq: float, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


class AllpassBiquad(DesignedBiquad):
    """Two-pole all-pass, as ``torchaudio.functional.allpass_biquad`` (SoX ``allpass``).

    Example:
        >>> AllpassBiquad(16000, 1000.0, Q=2.0).b.shape
        torch.Size([1, 3])
    """

    qualified_name = "dsp:allpass_biquad"
    design = staticmethod(design.allpass_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`AllpassBiquad`."""

        central_freq: float = _freq(..., "Centre")
        Q: float = _Q

    def __init__(self, sample_rate: int, central_freq: float, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


class BandpassBiquad(DesignedBiquad):
    """Two-pole band-pass, as ``torchaudio.functional.bandpass_biquad`` (SoX ``bandpass [-c]``).

    Example:
        >>> BandpassBiquad(16000, 1000.0, const_skirt_gain=True).b[0, 1].item()
        0.0
    """

    qualified_name = "dsp:bandpass_biquad"
    design = staticmethod(design.bandpass_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`BandpassBiquad`."""

        central_freq: float = _freq(..., "Centre")
        Q: float = _Q
        const_skirt_gain: bool = Field(False, description="Skirt gain Q (SoX -c) instead of peak gain 1.")

    def __init__(
        self,
        sample_rate: int,
        central_freq: float,
        Q: float = 0.707,
        const_skirt_gain: bool = False,
    ) -> None:
        self._build(self.validated(locals()))


class BandrejectBiquad(DesignedBiquad):
    """Two-pole band-reject (notch), as ``torchaudio.functional.bandreject_biquad`` (SoX ``bandreject``).

    Example:
        >>> BandrejectBiquad(16000, 1000.0).b[0, 0].item() > 0
        True
    """

    qualified_name = "dsp:bandreject_biquad"
    design = staticmethod(design.bandreject_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`BandrejectBiquad`."""

        central_freq: float = _freq(..., "Centre")
        Q: float = _Q

    def __init__(self, sample_rate: int, central_freq: float, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


class BandBiquad(DesignedBiquad):
    """Two-pole resonator, as ``torchaudio.functional.band_biquad`` (SoX ``band [-n]``).

    Example:
        >>> BandBiquad(16000, 1000.0, noise=True).a.shape
        torch.Size([1, 3])
    """

    qualified_name = "dsp:band_biquad"
    design = staticmethod(design.band_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`BandBiquad`."""

        central_freq: float = _freq(..., "Centre")
        Q: float = _Q
        noise: bool = Field(False, description="Gain for unit noise power (unpitched audio, SoX -n).")

    def __init__(
        self,
        sample_rate: int,
        central_freq: float,
        Q: float = 0.707,
        noise: bool = False,
    ) -> None:
        self._build(self.validated(locals()))


class BassBiquad(DesignedBiquad):
    """Low shelf, as ``torchaudio.functional.bass_biquad`` (SoX ``bass``).

    Example:
        >>> BassBiquad(16000, gain=6.0).sample_rate
        16000
    """

    qualified_name = "dsp:bass_biquad"
    design = staticmethod(design.bass_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`BassBiquad`."""

        gain: float = _GAIN
        central_freq: float = _freq(100.0, "Shelf")
        Q: float = _Q

    def __init__(self, sample_rate: int, gain: float, central_freq: float = 100, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


class TrebleBiquad(DesignedBiquad):
    """High shelf, as ``torchaudio.functional.treble_biquad`` (SoX ``treble``).

    Example:
        >>> TrebleBiquad(16000, gain=-3.0).sample_rate
        16000
    """

    qualified_name = "dsp:treble_biquad"
    design = staticmethod(design.treble_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`TrebleBiquad`."""

        gain: float = _GAIN
        central_freq: float = _freq(3000.0, "Shelf")
        Q: float = _Q

    def __init__(self, sample_rate: int, gain: float, central_freq: float = 3000, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


class EqualizerBiquad(DesignedBiquad):
    """Peaking equaliser, as ``torchaudio.functional.equalizer_biquad`` (SoX ``equalizer``).

    Example:
        >>> EqualizerBiquad(16000, center_freq=1000.0, gain=3.0).a.shape
        torch.Size([1, 3])
    """

    qualified_name = "dsp:equalizer_biquad"
    design = staticmethod(design.equalizer_coefficients)

    class Params(_TunedParams):
        """Parameters of :class:`EqualizerBiquad`."""

        center_freq: float = _freq(..., "Centre")
        gain: float = _GAIN
        Q: float = _Q

    def __init__(self, sample_rate: int, center_freq: float, gain: float, Q: float = 0.707) -> None:
        self._build(self.validated(locals()))


def _rate_among(rates: Any, what: str) -> Any:
    """A validator accepting only the sample rates a fixed-curve filter is defined at."""

    def check(cls: type, value: int) -> int:
        if value not in rates:
            raise ValueError(f"{what} is defined at {', '.join(str(r) for r in sorted(rates))} Hz only")
        return value

    return field_validator("sample_rate")(classmethod(check))  # type: ignore[arg-type]


class DeemphBiquad(DesignedBiquad):
    """CD de-emphasis, as ``torchaudio.functional.deemph_biquad`` (SoX ``deemph``).

    Example:
        >>> DeemphBiquad(44100).a.shape
        torch.Size([1, 3])
    """

    qualified_name = "dsp:deemph_biquad"
    design = staticmethod(design.deemph_coefficients)

    class Params(_RateParams):
        """Parameters of :class:`DeemphBiquad`."""

        _rates = _rate_among(design.DEEMPH_RATES, "de-emphasis")

    def __init__(self, sample_rate: int) -> None:
        self._build(self.validated(locals()))


class RiaaBiquad(DesignedBiquad):
    """RIAA playback equalisation, as ``torchaudio.functional.riaa_biquad`` (SoX ``riaa``).

    Example:
        >>> RiaaBiquad(48000).a.shape
        torch.Size([1, 3])
    """

    qualified_name = "dsp:riaa_biquad"
    design = staticmethod(design.riaa_coefficients)

    class Params(_RateParams):
        """Parameters of :class:`RiaaBiquad`."""

        _rates = _rate_among(design.RIAA_RATES, "RIAA equalisation")

    def __init__(self, sample_rate: int) -> None:
        self._build(self.validated(locals()))
