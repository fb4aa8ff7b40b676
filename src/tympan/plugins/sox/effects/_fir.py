"""SoX's FIR effects: ``fir``, ``hilbert``, ``sinc``, ``loudness`` and ``earwax``.

The taps are designed once (:mod:`tympan.plugins.sox.functional._fir`) and applied by FFT convolution,
centred on the filter's peak, so the output is as long as the input (SoX flushes the filter's delay).
``earwax`` mixes the two channels of a 44.1 kHz stereo signal through SoX's 32-tap head-related filters.

Example:
    >>> import torch
    >>> Fir(coefficients=[0.5, 0.5])(torch.tensor([[1.0, 0.0, 0.0]])).tolist()
    [[0.5, 0.5, 0.0]]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.sox._grammar import parse_float, parse_frequency
from tympan.plugins.sox.effects._base import Signal, SoxEffect, leading_numbers, number, take_flags
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.functional._fir import (
    centered_fir,
    convolve_fft,
    fir_to_phase,
    hilbert_taps,
    loudness_taps,
    sinc_taps,
)

__all__ = ["Earwax", "Fir", "Hilbert", "Loudness", "Sinc", "read_coefficients"]

_MAX_TAPS = 32767


class _FirEffect(SoxEffect):
    """An FIR filter applied centred on its peak (``post_peak`` samples after it)."""

    sets_gain = True

    def _use(self, taps: torch.Tensor | None, post_peak: int) -> None:
        self.identity = taps is None
        self.register_buffer(
            "taps", torch.zeros(1, dtype=torch.float64) if taps is None else taps.double(), persistent=False
        )
        self.post_peak = post_peak

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The filtered waveform, as long as the input, clipped to ``[-1, 1]``."""
        if self.identity:
            return waveform
        return centered_fir(waveform, self.taps, self.post_peak)


def read_coefficients(path: str | Path) -> list[float]:
    """The coefficients of a SoX ``fir`` file: numbers separated by white space, ``#`` comments to the end of
    the line. Raises ``ValueError`` naming the file on anything else.

    Example:
        >>> import pathlib, tempfile
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "h.txt"
        >>> _ = file.write_text("# a moving average\\n0.5 0.5\\n")
        >>> read_coefficients(file)
        [0.5, 0.5]
    """
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read the coefficient file {path}: {err}") from None
    words = re.sub(r"#[^\n]*", " ", text).split()
    try:
        return [parse_float(word, "coefficient") for word in words]
    except ValueError as err:
        raise ValueError(f"error reading coefficient file {path}: {err}") from None


class Fir(_FirEffect):
    """SoX ``fir [coef-file|coefs]``: an FIR filter from its taps (given, or read from a file of numbers),
    centred on its middle tap.

    Example:
        >>> Fir(coefficients=[0.25, 0.5, 0.25]).post_peak
        1
    """

    sox_name = "fir"
    qualified_name = "sox:fir"

    def __init__(
        self,
        coefficients: Annotated[
            list[float] | None, Field(max_length=_MAX_TAPS, description="The filter's taps.")
        ] = None,
        path: Annotated[str | None, Field(description="A file of taps (# comments); instead of coefficients.")] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        taps = list(params.coefficients or []) if params.path is None else read_coefficients(params.path)
        if len(taps) > _MAX_TAPS:
            raise ValueError(f"{len(taps)} coefficients, at most {_MAX_TAPS}")
        self._use(torch.tensor(taps, dtype=torch.float64) if taps else None, len(taps) >> 1)

    @staticmethod
    def check_params(params: Any) -> None:
        """Taps or a file, not both."""
        if params.coefficients is not None and params.path is not None:
            raise ValueError("give coefficients or a path, not both")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[coef-file|coefs]`` (one argument is a file)."""
        if len(args) == 1:
            return {"path": args[0]}
        if not args:
            raise ValueError("reading coefficients from standard input is not supported; give a file or the taps")
        return {"coefficients": [parse_float(arg, "coefficient") for arg in args]}


class Hilbert(_FirEffect):
    """SoX ``hilbert [-n taps]``: a 90° phase shift by an odd-length FIR (by default as long as makes its
    pass band start near 75 Hz: ``rate / 76.5 + 2`` taps).

    Example:
        >>> Hilbert(8000).taps.shape
        torch.Size([107])
    """

    sox_name = "hilbert"
    qualified_name = "sox:hilbert"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        taps: Annotated[
            int | None, Field(ge=3, le=_MAX_TAPS, description="Odd number of taps; None: automatic.")
        ] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        count = params.taps
        if count is None:
            count = int(params.sample_rate / 76.5 + 2)
            count += 1 - count % 2
        self._use(hilbert_taps(count), count // 2)

    @staticmethod
    def check_params(params: Any) -> None:
        """An odd number of taps."""
        if params.taps is not None and params.taps % 2 == 0:
            raise ValueError("only filters with an odd number of taps are supported")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-n taps]``."""
        args = list(args)
        flags = take_flags(args, "n", with_value="n")
        if args:
            raise ValueError(f"unexpected options {' '.join(args)!r}")
        return {"taps": int(number(flags["n"], "taps", 3, _MAX_TAPS))} if "n" in flags else {}


class Sinc(_FirEffect):
    """SoX ``sinc [-a att|-b beta] [-p phase|-M|-I|-L] [-t tbw|-n taps] [freqHP][-freqLP [-t tbw|-n taps]]``:
    a Kaiser-windowed sinc high-pass from ``high_pass`` Hz, low-pass to ``low_pass`` Hz, band-pass (both,
    ``high_pass < low_pass``) or band-reject (``high_pass > low_pass``); ``att`` dB of stop band (120) or a
    Kaiser ``beta``, transition bands or tap counts for each edge, and a phase response (50 linear, 0
    minimum, 25 intermediate).

    Example:
        >>> Sinc(8000, low_pass=1000.0).taps.shape
        torch.Size([317])
    """

    sox_name = "sinc"
    qualified_name = "sox:sinc"
    example_arguments: ClassVar[str] = "low_pass=3000.0"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        high_pass: Annotated[float, Field(ge=0, le=5e6, description="High-pass edge, Hz; 0: none.")] = 0.0,
        low_pass: Annotated[float, Field(ge=0, le=5e6, description="Low-pass edge, Hz; 0: none.")] = 0.0,
        att: Annotated[float | None, Field(ge=40, le=180, description="Stop-band attenuation, dB (120).")] = None,
        beta: Annotated[float | None, Field(ge=0, le=256, description="Kaiser beta instead of att.")] = None,
        phase: Annotated[float, Field(ge=0, le=100, description="0 minimum, 25 intermediate, 50 linear.")] = 50.0,
        high_pass_transition: Annotated[float | None, Field(ge=1, le=5e6, description="High-pass band, Hz.")] = None,
        low_pass_transition: Annotated[float | None, Field(ge=1, le=5e6, description="Low-pass band, Hz.")] = None,
        high_pass_taps: Annotated[int | None, Field(ge=11, le=_MAX_TAPS, description="High-pass taps.")] = None,
        low_pass_taps: Annotated[int | None, Field(ge=11, le=_MAX_TAPS, description="Low-pass taps.")] = None,
        round_taps: Annotated[bool, Field(description="Round the tap count to whole cycles of the cutoff.")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        taps = sinc_taps(
            params.sample_rate,
            params.high_pass,
            params.low_pass,
            params.att or 120.0,
            params.beta,
            (params.high_pass_transition, params.low_pass_transition),
            (params.high_pass_taps or 0, params.low_pass_taps or 0),
            params.round_taps,
        )
        if params.phase != 50:
            taps, post_peak = fir_to_phase(taps, params.phase)
        else:
            post_peak = taps.shape[0] >> 1
        self._use(taps, post_peak)

    @staticmethod
    def check_params(params: Any) -> None:
        """Frequencies below the Nyquist frequency; att or beta, a transition band or taps, not both."""
        nyquist = params.sample_rate / 2
        if params.high_pass >= nyquist or params.low_pass >= nyquist:
            raise ValueError(f"filter frequency must be less than sample-rate / 2 ({nyquist:g} Hz)")
        if not params.high_pass and not params.low_pass:
            raise ValueError("give a high-pass or a low-pass frequency")
        if params.att is not None and params.beta is not None:
            raise ValueError("give att (-a) or beta (-b), not both")
        for side in ("high_pass", "low_pass"):
            if getattr(params, f"{side}_transition") is not None and getattr(params, f"{side}_taps") is not None:
                raise ValueError(f"give the {side.replace('_', '-')} transition band (-t) or taps (-n), not both")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """SoX's option order: options, then ``[freqHP][-freqLP]``, then the low-pass's ``-t``/``-n``."""
        args = list(args)
        kwargs: dict[str, Any] = {}
        flags = take_flags(args, "rabpMILtn", with_value="abptn")
        kwargs.update(_sinc_common(flags))
        first_band = {k: v for k, v in (("t", flags.get("t")), ("n", flags.get("n"))) if v is not None}
        if (args and not args[0].startswith("-")) or (args and re.match(r"^-\d|^-\.", args[0])):
            spec = args.pop(0)
            high, _, low = spec.partition("-") if not spec.startswith("-") else ("", "-", spec[1:])
            if high:
                kwargs["high_pass"] = parse_frequency(high)
            if low:
                kwargs["low_pass"] = parse_frequency(low)
        second = take_flags(args, "tn", with_value="tn")
        if args:
            raise ValueError(f"unexpected options {' '.join(args)!r}")
        low_band = second or (first_band if not kwargs.get("high_pass") else {})
        high_band = first_band if kwargs.get("high_pass") else {}
        for side, band in (("high_pass", high_band), ("low_pass", low_band)):
            if "t" in band:
                kwargs[f"{side}_transition"] = parse_frequency(band["t"])
            if "n" in band:
                kwargs[f"{side}_taps"] = int(number(band["n"], "taps", 11, _MAX_TAPS))
        return kwargs


def _sinc_common(flags: dict[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"round_taps": "r" in flags}
    if "a" in flags:
        kwargs["att"] = number(flags["a"], "att", 40, 180)
    if "b" in flags:
        kwargs["beta"] = number(flags["b"], "beta", 0, 256)
    for letter, phase in (("M", 0.0), ("I", 25.0), ("L", 50.0)):
        if letter in flags:
            kwargs["phase"] = phase
    if "p" in flags:
        kwargs["phase"] = number(flags["p"], "phase", 0, 100)
    return kwargs


class Loudness(_FirEffect):
    """SoX ``loudness [gain [reference]]``: ``gain`` dB (-50 to 15) with equal-loudness compensation (ISO 226)
    for a listening level of ``reference`` phons (50 to 75), by a 2047-tap zero-phase FIR.

    Example:
        >>> Loudness(16000).taps.shape
        torch.Size([2047])
    """

    sox_name = "loudness"
    qualified_name = "sox:loudness"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        gain: Annotated[float, Field(ge=-50, le=15, description="Gain, dB.")] = -10.0,
        reference: Annotated[float, Field(ge=50, le=75, description="Listening level, phons.")] = 65.0,
        taps: Annotated[int, Field(ge=127, le=2047, description="Half the filter length (taps = 2n + 1).")] = 1023,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        if params.gain == 0:
            self._use(None, 0)
        else:
            count = 2 * params.taps + 1
            self._use(loudness_taps(count, params.reference, params.gain, params.sample_rate), count >> 1)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[gain [reference [taps]]]``."""
        kwargs, rest = leading_numbers(args, [("gain", -50, 15), ("reference", 50, 75), ("taps", 127, 2047)])
        if rest:
            raise ValueError(f"unexpected options {' '.join(rest)!r}")
        if "taps" in kwargs:
            kwargs["taps"] = int(kwargs["taps"])
        return kwargs


#: SoX's earwax filter: (30° tap, 330° tap) for each of 32 delays, applied to the interleaved stereo stream.
_EARWAX = (
    (4, -6), (4, -11), (-1, -5), (3, 3), (-2, 5), (-5, 0), (9, 1), (6, 3), (-4, -1), (-5, -3), (-2, -5),
    (-7, 1), (6, -7), (30, -29), (12, -3), (-11, 4), (-3, 7), (-20, 23), (2, 0), (1, -6), (-14, -5),
    (15, -18), (6, 7), (15, -10), (-14, 22), (-7, -2), (-4, 9), (6, -12), (6, -6), (0, -11), (0, -5), (4, 0),
)  # fmt: skip


class Earwax(SoxEffect):
    """SoX ``earwax``: headphone listening of CD audio made to sound as from speakers in front (each ear gets
    both channels through head-related filters); 44.1 kHz stereo only.

    Example:
        >>> import torch
        >>> Earwax(44100)(torch.zeros(2, 10)).shape
        torch.Size([2, 10])
    """

    sox_name = "earwax"
    qualified_name = "sox:earwax"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(self, sample_rate: SampleRate = 44100) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        flat = torch.tensor([tap for pair in _EARWAX for tap in pair], dtype=torch.float64) / 64
        self.register_buffer("flat_taps", flat, persistent=False)

    @staticmethod
    def check_params(params: Any) -> None:
        """CD audio only."""
        if params.sample_rate != 44100:
            raise ValueError("works only with stereo audio sampled at 44100 Hz (i.e. CDDA)")

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """Stereo only."""
        if channels != 2:
            raise ValueError(f"works only with stereo audio sampled at 44100 Hz, got {channels} channel(s)")
        return channels

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """SoX's allowance: 4.4 dB."""
        return 10.0 ** (-4.4 / 20)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The filtered stereo waveform (the interleaved stream through the 64-tap filter), clipped."""
        if waveform.shape[-2] != 2:
            raise ValueError("earwax works only with stereo audio")
        flat_shape = list(waveform.shape[:-2])
        flat_shape.append(-1)
        interleaved = waveform.transpose(-1, -2).reshape(flat_shape)
        full = convolve_fft(interleaved.double(), self.flat_taps.to(waveform.device))
        pairs = list(waveform.shape[:-2])
        pairs += [waveform.shape[-1], 2]
        filtered = full[..., : interleaved.shape[-1]].reshape(pairs)
        return filtered.transpose(-1, -2).clamp(-1.0, 1.0).to(waveform.dtype)
