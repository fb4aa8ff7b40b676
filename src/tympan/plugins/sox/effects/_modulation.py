"""SoX's delay and modulation effects: ``echo``, ``echos``, ``chorus``, ``flanger``, ``phaser`` and ``tremolo``.

``flanger`` and ``phaser`` run the DSP plugin's implementations (SoX's tables entry for entry, feedback
solved in blocks); ``echo``, ``echos`` and ``chorus`` are sums of delayed copies
(:mod:`tympan.plugins.sox.functional._delays`) and lengthen the audio by their delay lines, as SoX drains
them; ``tremolo`` is ``synth sine fmod``.

Example:
    >>> import torch
    >>> Echo(8000, gain_in=0.8, gain_out=0.9, delays=[10.0], decays=[0.5])(torch.zeros(1, 100)).shape
    torch.Size([1, 180])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.dsp.building_blocks import apply_phaser, lfo_table, phaser_sweep
from tympan.plugins.dsp.transforms import Flanger as DspFlanger
from tympan.plugins.sox.effects._base import Signal, SoxEffect, choice, leading_numbers, number
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.functional._delays import chorus, chorus_lags, echo, echos
from tympan.plugins.sox.functional._synth import ToneSpec, combine, synthesize

__all__ = ["Chorus", "Echo", "Echos", "Flanger", "Phaser", "Tremolo"]

_GainIn = Annotated[float, Field(ge=0, le=1, description="Input gain.")]
_GainOut = Annotated[float, Field(ge=0, le=1e9, description="Output gain.")]
_Decays = Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=1, max_length=64)]
_MAX_TAPS = 64


def _single(value: float) -> float:
    """``value`` rounded to single precision, as SoX's ``float`` options hold it."""
    return float(torch.tensor(value, dtype=torch.float32))


def _pairs(args: Sequence[str], effect: str) -> dict[str, Any]:
    """``gain-in gain-out delay decay [delay decay ...]``, the delays in ms."""
    if len(args) < 4 or len(args) % 2:
        raise ValueError("expected gain-in gain-out delay decay [delay decay ...]")
    values = [number(arg, "option", -1e9, 1e9) for arg in args]
    return {"gain_in": values[0], "gain_out": values[1], "delays": values[2::2], "decays": values[3::2]}


class _Delays(SoxEffect):
    """Delays in ms turned into samples (truncated, as SoX does), each at least one sample."""

    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"
    sets_gain = True

    def _samples(self, sample_rate: int, delays: list[float]) -> list[int]:
        samples = [int(_single(delay) * sample_rate / 1000.0) for delay in delays]  # SoX holds delays as floats
        if min(samples) < 1:
            raise ValueError("delay must be positive (at least one sample)")
        return samples

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``gain-in gain-out delay decay [delay decay ...]``."""
        return _pairs(args, cls.sox_name)


class Echo(_Delays):
    """SoX ``echo gain-in gain-out delay decay [delay decay ...]``: ``gain_out (gain_in x + sum of decayed
    copies delayed by the delays, in ms)``; the audio grows by the longest delay.

    Example:
        >>> import torch
        >>> Echo(1000, 1.0, 1.0, [2.0], [0.5])(torch.tensor([1.0, 0.0])).tolist()
        [1.0, 0.0, 0.5, 0.0]
    """

    sox_name = "echo"
    qualified_name = "sox:echo"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        gain_in: _GainIn = 0.8,
        gain_out: _GainOut = 0.9,
        delays: Annotated[list[Annotated[float, Field(gt=0, le=60_000)]], Field(min_length=1, max_length=_MAX_TAPS)] = (
            1000.0,
        ),  # type: ignore[assignment]
        decays: _Decays = (0.3,),  # type: ignore[assignment]
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.gain_in, self.gain_out = params.gain_in, params.gain_out
        self.delays = self._samples(params.sample_rate, params.delays)
        self.decays = list(params.decays)

    @staticmethod
    def check_params(params: Any) -> None:
        """One decay per delay."""
        if len(params.delays) != len(params.decays):
            raise ValueError("give one decay per delay")

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The input length plus the longest delay."""
        return length + max(self.delays)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with its echoes, lengthened by the longest delay."""
        return echo(waveform, self.gain_in, self.gain_out, self.delays, self.decays)


class Echos(Echo):
    """SoX ``echos gain-in gain-out delay decay [delay decay ...]``: echoes in sequence (SoX feeds delay line
    ``j`` ``j + 1`` times the input); the audio grows by the sum of the delays.

    Example:
        >>> import torch
        >>> Echos(1000, 1.0, 1.0, [1.0, 1.0], [0.5, 0.25])(torch.tensor([1.0])).tolist()
        [1.0, 1.0, 0.0]
    """

    sox_name = "echos"
    qualified_name = "sox:echos"

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The input length plus every delay."""
        return length + sum(self.delays)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with its echoes, lengthened by the sum of the delays."""
        return echos(waveform, self.gain_in, self.gain_out, self.delays, self.decays)


class Chorus(_Delays):
    """SoX ``chorus gain-in gain-out delay decay speed depth -s|-t [delay decay speed depth -s|-t ...]``:
    voices delayed by ``delay`` ms, swept by ``depth`` ms at ``speed`` Hz, sinusoidally (``-s``) or
    triangularly (``-t``); the audio grows by the longest delay line.

    Example:
        >>> import torch
        >>> Chorus(8000, 0.7, 0.9, [55.0], [0.4], [0.25], [2.0], ["s"])(torch.zeros(2, 100)).shape
        torch.Size([2, 556])
    """

    sox_name = "chorus"
    qualified_name = "sox:chorus"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        gain_in: _GainIn = 0.7,
        gain_out: _GainOut = 0.9,
        delays: Annotated[
            list[Annotated[float, Field(ge=20, le=100)]], Field(min_length=1, max_length=8, description="Delays, ms.")
        ] = (55.0,),  # type: ignore[assignment]
        decays: _Decays = (0.4,),  # type: ignore[assignment]
        speeds: Annotated[
            list[Annotated[float, Field(ge=0.1, le=5)]], Field(min_length=1, max_length=8, description="Sweeps, Hz.")
        ] = (0.25,),  # type: ignore[assignment]
        depths: Annotated[
            list[Annotated[float, Field(ge=0, le=10)]], Field(min_length=1, max_length=8, description="Sweep, ms.")
        ] = (2.0,),  # type: ignore[assignment]
        shapes: Annotated[
            list[Literal["s", "t"]], Field(min_length=1, max_length=8, description="s sine, t triangle.")
        ] = ("s",),  # type: ignore[assignment]
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.gain_in, self.gain_out = params.gain_in, params.gain_out
        self.decays = list(params.decays)
        tables: list[torch.Tensor] = []
        longest = 0
        for delay, speed, depth, shape in zip(params.delays, params.speeds, params.depths, params.shapes, strict=True):
            delay, speed, depth = _single(delay), _single(speed), _single(depth)  # SoX holds them as floats
            line = int(_single(delay + depth) * params.sample_rate / 1000.0)
            swing = int(depth * params.sample_rate / 1000.0)
            size = int(params.sample_rate / speed)
            if shape == "s":
                table = lfo_table(True, size, 0.0, float(swing), 0.0, integer=True)
            else:
                table = lfo_table(False, size, float(line - 1 - 2 * swing), float(line - 1), 4.71238898038469, True)
            tables.append(table.to(torch.int64))
            longest = max(longest, line)
        self.line = longest
        self.tables = tables

    @staticmethod
    def check_params(params: Any) -> None:
        """Five values per voice."""
        counts = {len(params.delays), len(params.decays), len(params.speeds), len(params.depths), len(params.shapes)}
        if len(counts) != 1:
            raise ValueError("give delay, decay, speed, depth and shape for every voice")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``gain-in gain-out delay decay speed depth -s|-t ...``."""
        if len(args) < 7 or (len(args) - 2) % 5:
            raise ValueError("expected gain-in gain-out delay decay speed depth -s|-t [...]")
        kwargs: dict[str, Any] = {
            "gain_in": number(args[0], "gain-in", -1e9, 1e9),
            "gain_out": number(args[1], "gain-out", -1e9, 1e9),
        }
        names = ("delays", "decays", "speeds", "depths")
        for name in (*names, "shapes"):
            kwargs[name] = []
        for start in range(2, len(args), 5):
            for offset, name in enumerate(names):
                kwargs[name].append(number(args[start + offset], name[:-1], -1e9, 1e9))
            shape = args[start + 4]
            if shape not in ("-s", "-t"):
                raise ValueError(f"modulation must be -s or -t, got {shape!r}")
            kwargs["shapes"].append(shape[1])
        return kwargs

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The input length plus the longest delay line."""
        return length + self.line

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The chorused waveform, lengthened by the longest delay line."""
        lags = chorus_lags(self.tables, self.line, waveform.shape[-1] + self.line)
        return chorus(waveform, self.gain_in, self.gain_out, lags, self.decays, self.line)


class Flanger(SoxEffect):
    """SoX ``flanger [delay depth regen width speed shape phase interp]`` (the DSP plugin's
    :func:`~tympan.plugins.dsp.functional.flanger`, matched to SoX there): SoX accepts up to 4 channels.

    Example:
        >>> import torch
        >>> Flanger(8000)(torch.zeros(2, 100)).shape
        torch.Size([2, 100])
    """

    sox_name = "flanger"
    qualified_name = "sox:flanger"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        delay: Annotated[float, Field(ge=0, le=30, description="Base delay, ms.")] = 0.0,
        depth: Annotated[float, Field(ge=0, le=10, description="Added swept delay, ms.")] = 2.0,
        regen: Annotated[float, Field(ge=-95, le=95, description="Percent of the delayed signal fed back.")] = 0.0,
        width: Annotated[float, Field(ge=0, le=100, description="Percent of the delayed signal mixed in.")] = 71.0,
        speed: Annotated[float, Field(ge=0.1, le=10, description="Sweeps per second, Hz.")] = 0.5,
        shape: Annotated[Literal["sine", "triangle"], Field(description="Swept wave shape.")] = "sine",
        phase: Annotated[float, Field(ge=0, le=100, description="Percent of a sweep between channels.")] = 25.0,
        interp: Annotated[Literal["linear", "quadratic"], Field(description="Delay-line interpolation.")] = "linear",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        modulation = "sinusoidal" if params.shape == "sine" else "triangular"
        self.flanger = DspFlanger(
            params.sample_rate,
            **params.model_dump(include={"delay", "depth", "regen", "width", "speed", "phase"}),
            modulation=modulation,
            interpolation=params.interp,
        )

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[delay depth regen width speed shape phase interp]``."""
        kwargs, rest = leading_numbers(
            args, [("delay", 0, 30), ("depth", 0, 10), ("regen", -95, 95), ("width", 0, 100), ("speed", 0.1, 10)]
        )
        if rest and len(kwargs) == 5:
            kwargs["shape"] = choice(rest.pop(0), ("sine", "triangle"), "shape")
            more, rest = leading_numbers(rest, [("phase", 0, 100)])
            kwargs.update(more)
            if rest and "phase" in kwargs:
                kwargs["interp"] = choice(rest.pop(0), ("linear", "quadratic"), "interp")
        if rest:
            raise ValueError(f"unexpected options {' '.join(rest)!r}")
        return kwargs

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """SoX's limit: at most 4 channels."""
        if channels > 4:
            raise ValueError(f"can not operate with more than 4 channels, got {channels}")
        return channels

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The flanged waveform."""
        return self.flanger(waveform)


class Phaser(SoxEffect):
    """SoX ``phaser gain-in gain-out delay decay speed [-s|-t]`` (the DSP plugin's
    :func:`~tympan.plugins.dsp.functional.phaser`, matched to SoX there).

    Example:
        >>> import torch
        >>> Phaser(8000)(torch.zeros(1, 100)).shape
        torch.Size([1, 100])
    """

    sox_name = "phaser"
    qualified_name = "sox:phaser"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    sets_gain = True

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        gain_in: _GainIn = 0.4,
        gain_out: _GainOut = 0.74,
        delay: Annotated[float, Field(gt=0, le=5, description="Longest delay, ms (at least half a sample).")] = 3.0,
        decay: Annotated[float, Field(ge=0, le=0.99, description="Feedback gain.")] = 0.4,
        speed: Annotated[float, Field(ge=0.1, le=2, description="Sweeps per second, Hz.")] = 0.5,
        shape: Annotated[Literal["s", "t"], Field(description="s sine, t triangle.")] = "s",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.gain_in, self.gain_out, self.decay = params.gain_in, params.gain_out, params.decay
        self.sinusoidal = params.shape == "s"
        self.period, self.length = phaser_sweep(params.sample_rate, params.delay, params.speed)

    @staticmethod
    def check_params(params: Any) -> None:
        """The delay line holds at least one sample."""
        if int(params.delay * 0.001 * params.sample_rate + 0.5) < 1:
            raise ValueError(f"delay {params.delay} ms is under half a sample at {params.sample_rate} Hz")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``gain-in gain-out delay decay speed [-s|-t]``."""
        kwargs, rest = leading_numbers(
            args, [("gain_in", 0, 1), ("gain_out", 0, 1e9), ("delay", 0, 5), ("decay", 0, 0.99), ("speed", 0.1, 2)]
        )
        if rest and rest[0] in ("-s", "-t"):
            kwargs["shape"] = rest.pop(0)[1]
        if rest:
            raise ValueError(f"unexpected options {' '.join(rest)!r}")
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The phased waveform."""
        return apply_phaser(
            waveform, self.period, self.length, self.sinusoidal, self.gain_in, self.gain_out, self.decay
        )


class Tremolo(SoxEffect):
    """SoX ``tremolo speed [depth]``: the amplitude modulated by a sine of ``speed`` Hz, down by ``depth``
    percent at its troughs (SoX's ``synth sine fmod``, starting a quarter cycle in).

    Example:
        >>> import torch
        >>> Tremolo(8000, speed=4.0, depth=100.0)(torch.ones(1, 3)).tolist()
        [[1.0, 0.9999975562095642, 0.9999901056289673]]
    """

    sox_name = "tremolo"
    qualified_name = "sox:tremolo"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    sets_gain = True
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        speed: Annotated[float, Field(ge=0, le=1e5, description="Modulation frequency, Hz.")] = 5.0,
        depth: Annotated[float, Field(gt=0, le=100, description="Modulation depth, percent.")] = 40.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        offset = float(f"{100 - params.depth / 2:g}") / 100  # SoX passes the offset on as "%g" text
        self.tone = ToneSpec("sine", "fmod", params.speed, offset=offset, phase=0.25)
        self.gain = 1.0

    @torch.jit.unused
    def provides_headroom(self) -> bool:
        """Like ``synth``, SoX's tremolo scales itself for the headroom following effects ask for."""
        return True

    @torch.jit.unused
    def make_headroom(self, factor: float) -> None:
        """Scale the output by ``factor`` (SoX's headroom)."""
        self.gain *= factor

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``speed [depth]``."""
        if not 1 <= len(args) <= 2:
            raise ValueError(f"expected speed [depth], got {' '.join(args)!r}")
        kwargs = {"speed": number(args[0], "speed", 0, 1e5)}
        if len(args) > 1:
            kwargs["depth"] = number(args[1], "depth", 1e-9, 100)
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The modulated waveform."""
        modulation = synthesize([self.tone], self.sample_rate, waveform.shape[-1], 1, None)
        return combine(modulation.expand(waveform.shape[-2], -1), waveform, ["fmod"], self.gain)
