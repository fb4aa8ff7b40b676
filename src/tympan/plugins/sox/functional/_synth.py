"""SoX's ``synth``: tones (sine, square, sawtooth, triangle, trapezium, exp), optionally swept, noises
(white, TPDF, pink, brown) and plucked strings, made from nothing or combined with the input.

A tone's phase at sample ``n`` (time ``t = n / rate``) is, for a sweep from ``f1`` to ``f2`` over ``N``
samples: ``(f1 + n m) t`` with ``m = (f2 - f1) / 2N`` (linear, ``:``), ``(f1 + sign(m) (n m)²) t`` with
``m = sqrt|f2 - f1| / N / sqrt(3)`` (``+``), ``f1 / k exp(k t)`` with ``k = ln(f2 / f1) / N * rate`` (``/``),
or cycle by cycle at the frequency ``f1 exp(n ln(f2 / f1) / N)`` reached (``-``); then the channel's phase
offset is added, modulo 1. The waveform is read at that phase; ``offset`` shifts it (scaled to stay in
``[-1, 1]``). Noises come from a ``torch.Generator`` (seeded: reproducible); they match SoX's in their
distributions and spectra, not sample by sample (SoX draws from its own generator). Brown noise is a
random walk kept in ``[-1, 1]`` by reflection, pink noise Paul Kellet's filter of white noise, a pluck a
Karplus-Strong string (its loop filters solved in the frequency domain).

Example:
    >>> import torch
    >>> tone = ToneSpec("sine", frequency=1000.0)
    >>> [round(v, 3) for v in synthesize([tone], 8000, 4, 1, None)[0].tolist()]
    [0.0, 0.707, 1.0, 0.707]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tympan.plugins.dsp.building_blocks import linear_recurrence
from tympan.plugins.dsp.functional import lfilter

__all__ = ["COMBINES", "NOISES", "SWEEPS", "TONES", "ToneSpec", "combine", "synthesize"]

TONES = ("sine", "square", "sawtooth", "triangle", "trapezium", "exp")
NOISES = ("whitenoise", "tpdfnoise", "pinknoise", "brownnoise", "pluck")
COMBINES = ("create", "mix", "amod", "fmod")
#: Sweep markers between two frequencies: linear, square, exponential, exponential by cycles.
SWEEPS = {":": "linear", "+": "square", "/": "exponential", "-": "cycles"}


@dataclass(frozen=True)
class ToneSpec:
    """One channel of ``synth``: the ``kind`` of sound, how it ``combines`` with the input, its frequency
    (``frequency2`` and ``sweep`` for a sweep), ``offset`` (-1 to 1), ``phase`` (0 to 1 of a cycle) and the
    shape parameters ``p1 p2 p3`` (fractions; ``None``: SoX's defaults for the shape).

    Example:
        >>> ToneSpec("square").shape_parameters()
        (0.5, None, None)
    """

    kind: str = "sine"
    combines: str = "create"
    frequency: float = 440.0
    frequency2: float | None = None
    sweep: str = "linear"
    offset: float = 0.0
    phase: float = 0.0
    p1: float | None = None
    p2: float | None = None
    p3: float | None = None

    def shape_parameters(self) -> tuple[float | None, float | None, float | None]:
        """``(p1, p2, p3)`` with SoX's defaults filled in for the shape.

        Example:
            >>> ToneSpec("trapezium", p1=0.2).shape_parameters()
            (0.2, 0.3, 0.5)
        """
        p1, p2, p3 = self.p1, self.p2, self.p3
        if self.kind in ("square", "triangle"):
            p1 = 0.5 if p1 is None else p1
        elif self.kind == "trapezium":
            if p1 is None:
                p1, p2, p3 = 0.1, 0.5, 0.6
            elif p2 is None:
                p2, p3 = ((1 - 2 * p1) / 2, (1 - 2 * p1) / 2 + p1) if p1 <= 0.5 else (p1, 1.0)
            elif p3 is None:
                p3 = 1.0
        elif self.kind == "exp":
            p1 = 0.5 if p1 is None else p1
            p2 = 0.5 if p2 is None else p2
        elif self.kind == "pluck":
            p1 = 0.4 if p1 is None else p1
            if p2 is None:
                p2, p3 = 0.2, 0.9
        return p1, p2, p3


def _tone_phase(spec: ToneSpec, rate: float, length: int, total: int) -> torch.Tensor:
    """The phase in ``[0, 1)`` at each of ``length`` samples of a tone lasting ``total`` samples."""
    # (the products are rounded in SoX's order: a square wave's edges fall where SoX's do)
    n = torch.arange(length, dtype=torch.float64)
    f1 = spec.frequency
    f2 = spec.frequency if spec.frequency2 is None else spec.frequency2
    if spec.sweep == "linear":
        mult = (f2 - f1) / total / 2 if total else 0.0
        phase = (f1 + n * mult) * n / rate
    elif spec.sweep == "square":
        mult = math.sqrt(abs(f2 - f1)) / total / math.sqrt(3.0) if total else 0.0
        mult = -mult if f1 > f2 else mult
        phase = (f1 + math.copysign(1.0, mult) * (n * mult) ** 2) * n / rate
    elif spec.sweep == "exponential":
        mult = math.log(f2 / f1) / total * rate if total else 1.0
        phase = f1 / mult * torch.exp(mult * n / rate)
    else:
        phase = _cycle_phase(f1, f2, rate, length, total)
    return torch.remainder(phase + spec.phase, 1.0)


def _cycle_phase(f1: float, f2: float, rate: float, length: int, total: int) -> torch.Tensor:
    """The ``-`` sweep: each cycle runs at the frequency reached when it starts (one step per cycle)."""
    mult = (math.log(f2) - math.log(f1)) / total if total else 1.0
    n = torch.arange(length, dtype=torch.float64)
    t = n / rate
    frequency = f1 * torch.exp(n * mult)
    start = torch.zeros(length, dtype=torch.float64)
    cycle_start, index = 0.0, 0
    while index < length:
        elapsed = t[index:] - cycle_start
        crossed = torch.nonzero(frequency[index:] * elapsed >= 1)
        if crossed.numel() == 0:
            start[index:] = cycle_start
            break
        at = index + int(crossed[0])
        start[index:at] = cycle_start
        cycle_start += 1 / float(frequency[at])
        index = at
    return frequency * (t - start)


def _tone(spec: ToneSpec, phase: torch.Tensor) -> torch.Tensor:
    p1, p2, p3 = spec.shape_parameters()
    if spec.kind == "sine":
        return torch.sin(2 * math.pi * phase)
    if spec.kind == "square":
        return torch.where(phase < p1, 1.0, -1.0).to(phase.dtype)
    if spec.kind == "sawtooth":
        return -1 + 2 * phase
    if spec.kind == "triangle":
        return torch.where(phase < p1, -1 + 2 * phase / p1, 1 - 2 * (phase - p1) / (1 - p1))
    if spec.kind == "trapezium":
        rising = -1 + 2 * phase / p1
        falling = 1 - 2 * (phase - p2) / (p3 - p2)
        high = torch.ones_like(phase)
        return torch.where(phase < p1, rising, torch.where(phase < p2, high, torch.where(phase < p3, falling, -high)))
    floor = 10.0 ** (p2 * -200 / 20)
    rise = floor * torch.exp(phase * math.log(1 / floor) / p1)
    fall = floor * torch.exp((1 - phase) * math.log(1 / floor) / (1 - p1))
    return torch.where(phase < p1, rise, fall) * 2 - 1


def _uniform(shape: int, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform in ``[-1, 1)``, as SoX's ``DRANQD1``."""
    return torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1


def _pink(length: int, generator: torch.Generator | None) -> torch.Tensor:
    """Paul Kellet's refined pink filter of white noise, as SoX runs it (six one-pole sections and a tap)."""
    white = _uniform(length, generator) / 8
    poles = (0.99886, 0.99332, 0.96900, 0.86650, 0.55000, -0.7616)
    gains = (0.0555179, 0.0750759, 0.1538520, 0.3104856, 0.5329522, -0.0168980)
    out = white * 0.5362
    for pole, gain in zip(poles, gains, strict=True):
        out = out + linear_recurrence(white * gain, torch.tensor(pole, dtype=torch.float64))
    delayed = torch.nn.functional.pad(white[:-1], [1, 0]) * 0.115926
    return out + delayed


def _brown(length: int, generator: torch.Generator | None) -> torch.Tensor:
    """A random walk of steps uniform in ``[-1/16, 1/16)``, folded into ``[-1, 1]`` by reflection."""
    walk = torch.cumsum(_uniform(length, generator) / 16, 0)
    folded = torch.remainder(walk + 1, 4.0)
    return torch.where(folded <= 2, folded - 1, 3 - folded)


def _pluck(spec: ToneSpec, rate: float, length: int, generator: torch.Generator | None) -> torch.Tensor:
    """A Karplus-Strong string: a burst of filtered noise in a delay line of one period, whose loop low-pass
    and fractional-delay all-pass make the tone decay; the output is DC-blocked and clipped."""
    if not 44100 <= rate <= 48000:
        raise ValueError("the sample rate for pluck must be 44100-48000 Hz; resample with rate")
    p1, p2, p3 = spec.shape_parameters()
    frequency = spec.frequency
    decay_frequency = min(912.0, 266 + 106 * math.log(frequency))
    d = (10.0 ** (-2 / frequency / 20)) ** 2
    d = (d * math.cos(2 * math.pi * decay_frequency / rate) - 1) / (d - 1)
    c0 = d - math.sqrt(d * d - 1)
    c1 = (1 - c0) * math.exp(-2e4 / (0.05 + p1) / frequency / rate)
    c2 = math.exp(-2 * math.pi * 10 / rate)
    c3 = (1 + c2) * 0.5
    d = c0 / (c0 + c1)
    period = int(rate / frequency - d)
    fraction = rate / frequency - d - period
    c4 = (1 - fraction) / (1 + fraction)
    excitation = torch.zeros(period, dtype=torch.float64)
    for index, level in enumerate((p2, p3)):
        if level is None or level < 0:
            break
        colour = 2.0 ** (4 * (level - 1))
        steps = _uniform(period, generator) * colour
        burst = torch.cumsum(steps, 0) if colour != 1 else steps
        excitation += burst.clamp(-1, 1) * (1 - 0.3 * index)
    # graduation: the burst fades into its loop-filtered copy along the line
    lowpassed = lfilter(
        excitation,
        torch.tensor([1.0, -c0], dtype=torch.float64),
        torch.tensor([c1, 0.0], dtype=torch.float64),
        clamp=False,
    )
    allpassed = lfilter(
        lowpassed,
        torch.tensor([1.0, c4], dtype=torch.float64),
        torch.tensor([c4, 1.0], dtype=torch.float64),
        clamp=False,
    )
    weight = torch.arange(period, dtype=torch.float64) / period
    excitation = excitation * (1 - weight) + allpassed * weight
    excitation = (2 * excitation - excitation.max() - excitation.min()) / (excitation.max() - excitation.min())
    size = 1 << max(math.ceil(math.log2(4 * length + 8 * period)), 4)
    z = torch.exp(-2j * math.pi * torch.arange(size // 2 + 1, dtype=torch.float64) / size)
    loop = c1 * (c4 + z) / ((1 - c0 * z) * (1 + c4 * z)) * z**period
    line = torch.fft.irfft(torch.fft.rfft(excitation, n=size) / (1 - loop), n=size)[:length]
    blocked = torch.fft.irfft(torch.fft.rfft(line, n=size) * c3 * (1 - z) / (1 - c2 * z), n=size)[:length]
    return blocked.clamp(-1, 1)


def synthesize(
    specs: list[ToneSpec], rate: float, length: int, channels: int, generator: torch.Generator | None, total: int = 0
) -> torch.Tensor:
    """``(channels, length)`` samples of the specs (channel ``c`` takes spec ``c % len(specs)``), after
    ``offset``; ``total`` is the sweep's length in samples (``length`` when 0).

    Example:
        >>> synthesize([ToneSpec("square", frequency=2000.0)], 8000, 4, 2, None).tolist()
        [[1.0, 1.0, -1.0, -1.0], [1.0, 1.0, -1.0, -1.0]]
    """
    total = total or length
    rows = []
    for channel in range(channels):
        spec = specs[channel % len(specs)]
        if spec.kind in TONES:
            value = _tone(spec, _tone_phase(spec, rate, length, total))
        elif spec.kind == "whitenoise":
            value = _uniform(length, generator)
        elif spec.kind == "tpdfnoise":
            value = 0.5 * (_uniform(length, generator) + _uniform(length, generator))
        elif spec.kind == "pinknoise":
            value = _pink(length, generator)
        elif spec.kind == "brownnoise":
            value = _brown(length, generator)
        else:
            value = _pluck(spec, rate, length, generator)
        rows.append(value * (1 - abs(spec.offset)) + spec.offset)
    return torch.stack(rows) if rows else torch.zeros(0, length, dtype=torch.float64)


def combine(synthesized: torch.Tensor, waveform: torch.Tensor, how: list[str], gain: float) -> torch.Tensor:
    """Combine ``synthesized`` ``(channels, time)`` with ``waveform`` ``(..., channels, time)`` channel by
    channel: ``create`` replaces it, ``mix`` averages, ``amod`` modulates its amplitude by ``(s + 1) / 2``,
    ``fmod`` multiplies; then ``gain`` (SoX's headroom) and clipping.

    Example:
        >>> combine(torch.tensor([[0.5]]), torch.tensor([[0.5]]), ["fmod"], 1.0).tolist()
        [[0.25]]
    """
    s = synthesized.to(waveform.dtype).to(waveform.device)
    rows = []
    for channel in range(s.shape[0]):
        x = waveform[..., channel, :]
        value = s[channel]
        kind = how[channel % len(how)]
        if kind == "mix":
            value = (value + x) * 0.5
        elif kind == "amod":
            value = (value + 1) * x * 0.5
        elif kind == "fmod":
            value = value * x
        else:
            value = value.expand_as(x)
        rows.append(value)
    return (torch.stack(rows, -2) * gain).clamp(-1.0, 1.0)
