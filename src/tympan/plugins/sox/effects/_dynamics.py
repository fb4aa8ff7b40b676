"""SoX's dynamics effects: ``compand`` and ``mcompand`` (see :mod:`tympan.plugins.sox.functional._dynamics`).

``mcompand`` splits the audio into bands with 4th-order Linkwitz-Riley crossovers (the DSP plugin's
Butterworth biquads, squared), compands each band on its own and adds them up.

Example:
    >>> import torch
    >>> effect = Compand(16000, attacks=[0.01], decays=[0.2], points="6:-70,-60,-20", gain=-5.0)
    >>> effect(torch.randn(2, 1600) * 0.1).shape
    torch.Size([2, 1600])
"""

from __future__ import annotations

import itertools
import math
import shlex
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, NamedTuple

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.dsp.building_blocks import highpass_coefficients, lowpass_coefficients
from tympan.plugins.dsp.functional import sosfilt
from tympan.plugins.sox._grammar import parse_float, parse_frequency
from tympan.plugins.sox.effects._base import Signal, SoxEffect
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.functional._dynamics import TransferFunction, band_compand, compand, rate_coefficient

__all__ = ["Compand", "MCompand", "parse_compand"]

_Times = Annotated[list[Annotated[float, Field(ge=0, le=3600)]], Field(min_length=1, max_length=64)]


class CompandSettings(NamedTuple):
    """One compander's options: attack and decay times (s), transfer points, gain (dB), initial level (dB),
    look-ahead delay (s).

    Example:
        >>> parse_compand(["0.3,1", "6:-70,-60,-20", "-5"]).gain
        -5.0
    """

    attacks: list[float]
    decays: list[float]
    points: str
    gain: float
    initial_volume: float | None
    delay: float


def parse_compand(args: Sequence[str]) -> CompandSettings:
    """SoX's compander options: ``attack1,decay1{,attack2,decay2} points [gain [initial-volume-dB [delay]]]``.

    Example:
        >>> parse_compand(["0.1,0.2,0.3,0.4", "-60,-40"]).decays
        [0.2, 0.4]
    """
    if not 2 <= len(args) <= 5:
        raise ValueError("expected attack,decay[,...] transfer-points [gain [initial-volume-dB [delay]]]")
    times = [parse_float(text, "attack/decay time") for text in args[0].split(",")]
    if len(times) % 2:
        raise ValueError("there must be an even number of attack/decay parameters")
    if min(times) < 0:
        raise ValueError("attack & decay times can't be less than 0 seconds")
    names = ("gain", "initial volume", "delay")
    numbers = [parse_float(text, name) for text, name in zip(args[2:], names[: len(args) - 2], strict=True)]
    initial = numbers[1] if len(numbers) > 1 else None
    if initial is not None and initial > 0:
        raise ValueError("initial volume is relative to maximum volume so can't exceed 0dB")
    delay = numbers[2] if len(numbers) > 2 else 0.0
    if delay < 0:
        raise ValueError("delay can't be less than 0 seconds")
    TransferFunction.parse(args[1], 0.0)
    return CompandSettings(times[0::2], times[1::2], args[1], numbers[0] if numbers else 0.0, initial, delay)


class Compand(SoxEffect):
    """SoX ``compand attack1,decay1{,attack2,decay2} [soft-knee-dB:]in-dB1[,out-dB1]{,in-dB2,out-dB2} [gain
    [initial-volume-dB [delay]]]``: a compressor/expander. One attack/decay pair makes every channel follow
    the loudest; one pair per channel companders each alone. ``delay`` (s) applies each gain that much
    early (look-ahead).

    Example:
        >>> Compand(8000, attacks=[0.0], decays=[0.0], points="-60,-60").initial
        1.0
    """

    sox_name = "compand"
    qualified_name = "sox:compand"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    sets_gain = True
    scriptable: ClassVar[bool] = False
    lengths_policy = "items"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        attacks: _Times = (0.3,),  # type: ignore[assignment]
        decays: _Times = (0.8,),  # type: ignore[assignment]
        points: Annotated[str, Field(max_length=4096, description="[knee-dB:]in-dB[,out-dB]{,in-dB,out-dB}.")] = (
            "6:-70,-60,-20"
        ),
        gain: Annotated[float, Field(ge=-200, le=200, description="Gain after the transfer function, dB.")] = 0.0,
        initial_volume: Annotated[float, Field(ge=-200, le=0, description="Initial envelope level, dB.")] = 0.0,
        delay: Annotated[float, Field(ge=0, le=60, description="Look-ahead, seconds.")] = 0.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.attack_rates = [rate_coefficient(t, params.sample_rate) for t in params.attacks]
        self.decay_rates = [rate_coefficient(t, params.sample_rate) for t in params.decays]
        self.transfer = TransferFunction.parse(params.points, params.gain)
        self.initial = 10.0 ** (params.initial_volume / 20)
        self.delay_seconds = params.delay

    @staticmethod
    def check_params(params: Any) -> None:
        """One decay per attack; the transfer points parse."""
        if len(params.attacks) != len(params.decays):
            raise ValueError("give one decay per attack")
        TransferFunction.parse(params.points, params.gain)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``attack1,decay1{,...} points [gain [initial-volume-dB [delay]]]``."""
        settings = parse_compand(args)
        kwargs = settings._asdict()
        if kwargs["initial_volume"] is None:
            del kwargs["initial_volume"]
        return kwargs

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """One attack/decay pair, or one per channel."""
        if len(self.attack_rates) not in (1, channels):
            raise ValueError(
                f"{len(self.attack_rates)} attack/decay pairs for {channels} channels (give 1 or one each)"
            )
        return channels

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The companded waveform, clipped."""
        delay = int(self.delay_seconds * self.sample_rate * waveform.shape[-2])
        return compand(waveform, self.attack_rates, self.decay_rates, self.transfer, self.initial, delay)


class MCompand(SoxEffect):
    """SoX ``mcompand "compand-args" [crossover "compand-args" ...]``: a compander per frequency band, the
    bands split at the crossover frequencies by 4th-order Linkwitz-Riley filters; each band's arguments are
    ``compand``'s (initial volume 0 dB by default), given as one string.

    Example:
        >>> import torch
        >>> bands = ["0.005,0.1 -47,-40,-34,-34,-17,-33", "0.003,0.05 -47,-40,-34,-34,-15,-33"]
        >>> MCompand(16000, bands=bands, crossovers=[1600.0])(torch.zeros(2, 160)).shape
        torch.Size([2, 160])
    """

    sox_name = "mcompand"
    qualified_name = "sox:mcompand"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    sets_gain = True
    scriptable: ClassVar[bool] = False
    lengths_policy = "items"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        bands: Annotated[
            list[str], Field(min_length=1, max_length=32, description="Each band's compand arguments, one string.")
        ] = ("0.005,0.1 -47,-40,-34,-34,-17,-33",),  # type: ignore[assignment]
        crossovers: Annotated[
            list[Annotated[float, Field(gt=0)]], Field(max_length=31, description="Crossover frequencies, Hz.")
        ] = (),  # type: ignore[assignment]
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.settings = [parse_compand(shlex.split(band)) for band in params.bands]
        self.crossovers = list(params.crossovers)
        self.transfers = [TransferFunction.parse(s.points, s.gain) for s in self.settings]
        q = math.sqrt(0.5)
        self.sections = [
            (
                torch.stack([lowpass_coefficients(params.sample_rate, f, q)] * 2),
                torch.stack([highpass_coefficients(params.sample_rate, f, q)] * 2),
            )
            for f in self.crossovers
        ]

    @staticmethod
    def check_params(params: Any) -> None:
        """One crossover between each two bands, increasing, below the Nyquist frequency; bands parse."""
        if len(params.crossovers) != len(params.bands) - 1:
            raise ValueError("give one crossover frequency between each two bands")
        if any(b < a for a, b in itertools.pairwise(params.crossovers)):
            raise ValueError("crossover frequencies must be increasing")
        if any(f > params.sample_rate / 2 for f in params.crossovers):
            raise ValueError("crossover frequency must not exceed half the sample rate")
        for band in params.bands:
            if parse_compand(shlex.split(band)).delay:
                raise ValueError("a compander delay within mcompand is not supported (nor by SoX)")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``"compand-args" [crossover "compand-args" ...]``."""
        if not len(args) % 2:
            raise ValueError('expected "compand args" [crossover "compand args" ...]')
        return {"bands": list(args[0::2]), "crossovers": [parse_frequency(arg) for arg in args[1::2]]}

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """Each band: one attack/decay pair, or one per channel."""
        for settings in self.settings:
            if len(settings.attacks) not in (1, channels):
                raise ValueError(f"{len(settings.attacks)} attack/decay pairs for {channels} channels")
        return channels

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The sum of the companded bands, clipped after each band is added."""
        rest = waveform.double()
        channels = waveform.shape[-2]
        out = torch.zeros_like(rest)
        for index, settings in enumerate(self.settings):
            if index < len(self.sections):
                low, high = self.sections[index]
                band, rest = sosfilt(rest, low).clamp(-1, 1), sosfilt(rest, high).clamp(-1, 1)
            else:
                band = rest
            attacks = [rate_coefficient(t, self.sample_rate) for t in settings.attacks]
            decays = [rate_coefficient(t, self.sample_rate) for t in settings.decays]
            initial = 10.0 ** (settings.initial_volume / 20) if settings.initial_volume is not None else 1.0
            delay = int(settings.delay * self.sample_rate * channels)
            companded = band_compand(band, attacks, decays, self.transfers[index], initial, delay)
            out = (out + companded.clamp(-1, 1)).clamp(-1, 1)
        return out.to(waveform.dtype)
