"""SoX's time and pitch effects: ``tempo``, ``pitch``, ``stretch`` and ``bend``.

``tempo`` is WSOLA and ``stretch`` plain overlap-add (:mod:`tympan.plugins.sox.functional._tempo`);
``pitch`` is ``tempo`` by the inverse factor followed by ``rate`` back to the input's rate (in a chain,
as in SoX, the rate is relabelled and the next ``rate`` resamples); ``bend`` is a phase vocoder
(:mod:`tympan.plugins.sox.functional._bend`).

Example:
    >>> import torch
    >>> Tempo(16000, factor=1.25)(torch.zeros(1, 16000)).shape
    torch.Size([1, 12800])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.sox._grammar import parse_float
from tympan.plugins.sox.effects._base import Signal, SoxEffect, leading_numbers, number, resolve_positions, take_flags
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.effects._rate import Rate
from tympan.plugins.sox.functional._bend import bend
from tympan.plugins.sox.functional._tempo import stretch, stretch_geometry, tempo_geometry, wsola

__all__ = ["Bend", "Pitch", "Stretch", "Tempo", "tempo_settings"]

#: ``tempo``'s profiles: segment (ms), its power of the factor, and the segment's ratios to overlap and search.
_PROFILES = {
    "default": (82.0, 0.0, 6.833, 5.587),
    "music": (82.0, 1.0, 7.0, 6.0),
    "speech": (35.0, 0.33, 2.5, 2.14),
    "linear": (20.0, 1.0, 2.0, 2.0),
}
_Profile = Annotated[
    Literal["default", "music", "speech", "linear"],
    Field(description="Defaults for the segments: default, music (-m), speech (-s), linear (-l: no search)."),
]
_Ms = Annotated[float | None, Field(ge=0, le=120, description="In ms; None: the profile's.")]
_ShortMs = Annotated[float | None, Field(ge=0, le=30, description="In ms; None: the profile's.")]
#: The trailing ``[segment-ms [search-ms [overlap-ms]]]`` of ``tempo`` and ``pitch``, with SoX's ranges.
_TIMING_OPTIONS = (("segment", 10, 120), ("search", 0, 30), ("overlap", 0, 30))


def tempo_settings(
    factor: float, profile: str, segment: float | None, search: float | None, overlap: float | None
) -> tuple[float, float, float]:
    """``(segment, search, overlap)`` in ms, SoX's profile defaults filled in.

    Example:
        >>> [round(v, 2) for v in tempo_settings(1.25, "default", None, None, None)]
        [82.0, 14.68, 12.0]
    """
    base, power, overlap_ratio, search_ratio = _PROFILES[profile]
    if segment is None:
        segment = max(10.0, base / max(factor**power, 1.0))
    if overlap is None:
        overlap = segment / overlap_ratio
    if search is None:
        search = 0.0 if profile == "linear" else segment / search_ratio
    return segment, search, min(overlap, segment / 2)


def _tempo_options(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    flags = take_flags(args, "qmsl")
    profile = "default"
    for letter, name in (("m", "music"), ("s", "speech"), ("l", "linear")):
        if letter in flags:
            profile = name
    return {"quick": "q" in flags, "profile": profile}, args


class Tempo(SoxEffect):
    """SoX ``tempo [-q] [-m|-s|-l] factor [segment-ms [search-ms [overlap-ms]]]``: play ``factor`` times
    faster (0.1 to 100) at the same pitch, by WSOLA; the output holds ``round(time / factor)`` samples.

    Example:
        >>> Tempo(16000, factor=0.8, profile="speech").segment
        560
    """

    sox_name = "tempo"
    qualified_name = "sox:tempo"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "items"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        factor: Annotated[float, Field(ge=0.1, le=100, description="Speed-up (> 1 faster, shorter).")] = 1.0,
        quick: Annotated[bool, Field(description="Search coarse to fine instead of every offset (-q).")] = False,
        profile: _Profile = "default",
        segment: _Ms = None,
        search: _ShortMs = None,
        overlap: _ShortMs = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.factor = params.factor
        self.quick = params.quick
        timing = tempo_settings(params.factor, params.profile, params.segment, params.search, params.overlap)
        self.segment, self.search, self.overlap = tempo_geometry(params.sample_rate, params.factor, *timing)

    @staticmethod
    def check_params(params: Any) -> None:
        """A segment of 10 to 120 ms when given."""
        if params.segment is not None and not 10 <= params.segment <= 120:
            raise ValueError("segment must be between 10 and 120 ms")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-q] [-m|-s|-l] factor [segment-ms [search-ms [overlap-ms]]]``."""
        kwargs, rest = _tempo_options(list(args))
        numbers, rest = leading_numbers(rest, [("factor", 0.1, 100), *_TIMING_OPTIONS])
        if rest or "factor" not in numbers:
            raise ValueError("expected [-q] [-m|-s|-l] factor [segment-ms [search-ms [overlap-ms]]]")
        return {**kwargs, **numbers}

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``round(length / factor)``."""
        return length if self.factor == 1 else int(length / self.factor + 0.5)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform at ``factor`` times the tempo."""
        if self.factor == 1:
            return waveform
        return wsola(waveform, self.factor, self.segment, self.search, self.overlap, self.quick)


class Pitch(SoxEffect):
    """SoX ``pitch [-q] shift-in-cents [segment-ms [search-ms [overlap-ms]]]``: shift the pitch by ``cents``
    at the same tempo: ``tempo`` by ``2 ** (-cents / 1200)`` then ``rate`` back to ``sample_rate``.

    Example:
        >>> import torch
        >>> Pitch(16000, cents=200.0)(torch.zeros(1, 16000)).shape
        torch.Size([1, 16000])
    """

    sox_name = "pitch"
    qualified_name = "sox:pitch"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "items"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        cents: Annotated[float, Field(ge=-12000, le=12000, description="Shift in cents (100 a semitone).")] = 0.0,
        quick: Annotated[bool, Field(description="Search coarse to fine (-q).")] = False,
        segment: _Ms = None,
        search: _ShortMs = None,
        overlap: _ShortMs = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        # SoX hands the factor on as "%g" text: six significant digits
        self.factor = float(f"{1 / 2.0 ** (params.cents / 1200):g}")
        self.tempo = Tempo(
            params.sample_rate, self.factor, params.quick, "default", params.segment, params.search, params.overlap
        )
        self.relabelled_rate = params.sample_rate / self.factor
        self.rate = Rate(self.relabelled_rate, params.sample_rate)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-q] shift-in-cents [segment-ms [search-ms [overlap-ms]]]``."""
        args = list(args)
        quick = bool(args) and args[0] == "-q"
        if quick:
            args.pop(0)
        if not args:
            raise ValueError("expected the shift in cents")
        kwargs: dict[str, Any] = {"quick": quick, "cents": parse_float(args.pop(0), "shift-in-cents")}
        numbers, rest = leading_numbers(args, _TIMING_OPTIONS)
        if rest:
            raise ValueError(f"unexpected options {' '.join(rest)!r}")
        return {**kwargs, **numbers}

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The input length, after tempo and rate round it as SoX does."""
        return self.rate.output_length(self.tempo.output_length(length))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The pitch-shifted waveform."""
        return self.rate(self.tempo(waveform))


class Stretch(SoxEffect):
    """SoX ``stretch factor [window fade shift fading]``: lengthen (``factor`` > 1) or shorten the audio by
    overlap-adding ``window`` ms frames (20) with linear fades, without searching (``tempo`` sounds better).

    Example:
        >>> import torch
        >>> Stretch(8000, factor=2.0)(torch.zeros(1, 800)).shape[-1]
        1568
    """

    sox_name = "stretch"
    qualified_name = "sox:stretch"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "items"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        factor: Annotated[float, Field(gt=0, le=100, description="Stretch factor (> 1 longer).")] = 1.0,
        window: Annotated[float, Field(gt=0, le=1000, description="Frame length, ms.")] = 20.0,
        shift: Annotated[float | None, Field(gt=0, le=1, description="Frame shift, fraction of a frame.")] = None,
        fading: Annotated[float | None, Field(ge=0, le=0.5, description="Fade length, fraction of a frame.")] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.factor = params.factor
        shift = params.shift if params.shift is not None else (1.0 if params.factor <= 1 else 0.8)
        fading = params.fading
        if fading is None:
            fading = min(1.0 - params.factor * shift if params.factor < 1 else 1.0 - shift, 0.5)
        self.geometry = stretch_geometry(params.sample_rate, params.factor, params.window, shift, fading)
        if min(self.geometry[:3]) < 1:
            raise ValueError(f"a {params.window} ms window is too short at {params.sample_rate} Hz")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``factor [window fade shift fading]`` (fade ``lin``, the only one)."""
        args = list(args)
        if not args:
            raise ValueError("expected a factor")
        kwargs: dict[str, Any] = {"factor": number(args.pop(0), "factor", 1e-9, 100)}
        if args:
            kwargs["window"] = number(args.pop(0), "window", 1e-9, 1000)
        if args and not args.pop(0).lower().startswith("l"):
            raise ValueError("the only fade is lin")
        for name in ("shift", "fading"):
            if args:
                kwargs[name] = number(args.pop(0), name, 0, 1)
        if args:
            raise ValueError(f"unexpected options {' '.join(args)!r}")
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The stretched waveform."""
        if self.factor == 1:
            return waveform
        return stretch(waveform, *self.geometry)


class Bend(SoxEffect):
    """SoX ``bend [-f frame-rate] [-o over-sample] {start,cents,end}``: pitch bends of ``cents`` from
    ``start`` to ``end`` (positions, each after the previous by default), by a phase vocoder with
    ``frame_rate`` frames a second (10 to 80) oversampled ``oversample`` times (4 to 32).

    Example:
        >>> import torch
        >>> Bend(8000, bends=["0.1,300,0.2"])(torch.zeros(1, 8000)).shape
        torch.Size([1, 8000])
    """

    sox_name = "bend"
    qualified_name = "sox:bend"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        bends: Annotated[list[str], Field(max_length=1024, description="start,cents,end for each bend.")] = (),  # type: ignore[assignment]
        frame_rate: Annotated[int, Field(ge=10, le=80, description="Frames per second (-f).")] = 25,
        oversample: Annotated[int, Field(ge=4, le=32, description="Frames per frame length (-o).")] = 16,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.frame_rate = params.frame_rate
        self.oversample = params.oversample
        self.bends = _bend_plan(params.bends, params.sample_rate)

    @staticmethod
    def check_params(params: Any) -> None:
        """Each bend parses and starts after the previous one; none ends before it starts."""
        _bend_plan(params.bends, params.sample_rate)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-f frame-rate] [-o over-sample] {start,cents,end}``."""
        args = list(args)
        flags = take_flags(args, "fo", with_value="fo")
        kwargs: dict[str, Any] = {"bends": args}
        if "f" in flags:
            kwargs["frame_rate"] = int(number(flags["f"], "frame-rate", 10, 80))
        if "o" in flags:
            kwargs["oversample"] = int(number(flags["o"], "over-sample", 4, 32))
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The bent waveform, as long as the input."""
        if not any(duration for _, _, duration in self.bends):
            return waveform
        return bend(waveform, self.sample_rate, self.bends, self.frame_rate, self.oversample)


def _bend_plan(specs: Sequence[str], rate: float) -> list[tuple[int, float, int]]:
    """``(start, cents, duration)`` in samples for each ``start,cents,end``."""
    texts: list[str] = []
    plan: list[tuple[int, float, int]] = []
    for spec in specs:
        parts = spec.split(",")
        if len(parts) != 3:
            raise ValueError(f"bend {spec!r}: expected start,cents,end")
        cents = parse_float(parts[1], "cents")
        if cents == 0:
            raise ValueError(f"bend {spec!r}: cents must not be 0")
        texts += [parts[0], parts[2]]
        resolved = resolve_positions(texts, rate, "+")
        (start_end, start), (end_end, end) = resolved[-2], resolved[-1]
        if start_end or end_end:
            raise ValueError(f"bend {spec!r}: positions relative to the end are not supported")
        if end < start:
            raise ValueError(f"bend {spec!r} has negative width")
        if plan and start < plan[-1][0]:
            raise ValueError(f"bend {spec!r} overlaps with the previous one")
        plan.append((start, cents, end - start))
    return plan
