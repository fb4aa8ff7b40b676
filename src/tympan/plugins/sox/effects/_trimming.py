"""SoX's effects whose output length depends on the audio: ``silence``, ``vad`` and ``splice``.

Each treats its input ``(..., channels, time)`` as the channels of one recording, as SoX treats a file
(every leading index is a channel: one decision for all, the same samples removed from each);
``forward_with_lengths`` takes a batch of recordings and decides for each on its own.

Example:
    >>> import torch
    >>> x = torch.cat([torch.zeros(1, 800), 0.5 * torch.ones(1, 800)], -1)
    >>> Silence(8000, above_periods=1, above_duration="10s", above_threshold=1.0)(x).shape
    torch.Size([1, 800])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import AfterValidator, Field

from tympan.core.params import validated_arguments
from tympan.plugins.dsp.functional import vad
from tympan.plugins.dsp.transforms import Vad as _DspVad
from tympan.plugins.sox._grammar import check_time, parse_float, parse_time, time_text
from tympan.plugins.sox.effects._base import Signal, SoxEffect, number, resolve_positions, take_flags
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.functional._silence import silence
from tympan.plugins.sox.functional._splice import splice

__all__ = ["Silence", "Splice", "Vad"]

#: ``silence``'s durations: SoX reads a bare number as samples.
_Samples = Annotated[
    str | float,
    AfterValidator(lambda v: check_time(v, default="s") if isinstance(v, str) else v),
    Field(description="A duration: seconds, or SoX's syntax (a bare number counts samples)."),
]


def _flatten(waveform: torch.Tensor) -> torch.Tensor:
    return waveform.reshape(-1, waveform.shape[-1])


class _OneRecording(SoxEffect):
    """An effect deciding once for all channels of a recording, batches item by item."""

    lengths_policy = "items"
    data_dependent_length = True
    scriptable: ClassVar[bool] = False


def _threshold(text: str) -> tuple[float, str]:
    unit = text[-1] if text and text[-1] in "d%" else "%"
    value = parse_float(text[:-1] if text and text[-1] in "d%" else text, "threshold")
    return value, unit


class Silence(_OneRecording):
    """SoX ``silence [-l] above_periods [duration threshold[d|%]] [below_periods duration threshold[d|%]]``:
    trim silence from the start (after ``above_periods`` stretches of ``above_duration`` above
    ``above_threshold``), and stop at (or, with negative ``below_periods``, remove every) silence of
    ``below_duration`` below ``below_threshold``; thresholds in percent of full scale or in dB.

    Example:
        >>> import torch
        >>> Silence(8000, above_periods=0, below_periods=-1, below_duration=0.01, below_threshold=-40.0,
        ...         below_unit="d")(torch.zeros(1, 800)).shape
        torch.Size([1, 0])
    """

    sox_name = "silence"
    qualified_name = "sox:silence"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        above_periods: Annotated[int, Field(ge=0, le=1_000_000, description="Stretches that start the audio.")] = 1,
        above_duration: _Samples = "0",
        above_threshold: Annotated[float, Field(ge=-200, le=100, description="Start threshold.")] = 1.0,
        above_unit: Annotated[Literal["%", "d"], Field(description="% of full scale, or d for dB.")] = "%",
        below_periods: Annotated[
            int, Field(ge=-1_000_000, le=1_000_000, description="Silences that stop it (negative: remove all).")
        ] = 0,
        below_duration: _Samples = "0",
        below_threshold: Annotated[float, Field(ge=-200, le=100, description="Stop threshold.")] = 1.0,
        below_unit: Annotated[Literal["%", "d"], Field(description="% of full scale, or d for dB.")] = "%",
        leave_silence: Annotated[bool, Field(description="Keep the silences counted (-l).")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.settings = (
            params.above_periods,
            _duration(params.above_duration, params.sample_rate),
            params.above_threshold,
            params.above_unit,
            params.below_periods,
            _duration(params.below_duration, params.sample_rate),
            params.below_threshold,
            params.below_unit,
            params.leave_silence,
        )

    @staticmethod
    def check_params(params: Any) -> None:
        """SoX's ranges: percentages from 0 to 100, dB below 0."""
        for side in ("above", "below"):
            value, unit = getattr(params, f"{side}_threshold"), getattr(params, f"{side}_unit")
            if unit == "%" and not 0 <= value <= 100:
                raise ValueError("silence threshold should be between 0.0 and 100.0 %")
            if unit == "d" and value >= 0:
                raise ValueError("silence threshold should be less than 0.0 dB")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-l] above_periods [duration threshold] [below_periods duration threshold]``."""
        args = list(args)
        kwargs: dict[str, Any] = {"leave_silence": bool(args) and args[0] == "-l"}
        if kwargs["leave_silence"]:
            args.pop(0)
        if not args:
            raise ValueError("expected above_periods")
        kwargs["above_periods"] = _count(args.pop(0))
        if kwargs["above_periods"] < 0:
            raise ValueError("periods must not be negative")
        if kwargs["above_periods"] > 0:
            if len(args) < 2:
                raise ValueError("expected a duration and a threshold after above_periods")
            kwargs["above_duration"] = check_time(args.pop(0), default="s")
            kwargs["above_threshold"], kwargs["above_unit"] = _threshold(args.pop(0))
        if args:
            if len(args) != 3:
                raise ValueError("expected below_periods duration threshold")
            kwargs["below_periods"] = _count(args[0])
            kwargs["below_duration"] = check_time(args[1], default="s")
            kwargs["below_threshold"], kwargs["below_unit"] = _threshold(args[2])
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with its silences removed (one decision for every leading index)."""
        rows = silence(_flatten(waveform), self.sample_rate, *self.settings)
        return rows.reshape(*waveform.shape[:-1], rows.shape[-1])


def _count(text: str) -> int:
    value = parse_float(text, "periods")
    if value != int(value):
        raise ValueError(f"periods must be a whole number, got {text!r}")
    return int(value)


def _duration(value: str | float, rate: float) -> int:
    return parse_time(value, rate, default="s") if isinstance(value, str) else int(value * rate + 0.5)


_VAD_OPTIONS = {
    "t": "trigger_level",
    "T": "trigger_time",
    "s": "search_time",
    "g": "allowed_gap",
    "p": "pre_trigger_time",
    "b": "boot_time",
    "N": "noise_up_time",
    "n": "noise_down_time",
    "r": "noise_reduction_amount",
    "f": "measure_freq",
    "m": "measure_duration",
    "M": "measure_smooth_time",
    "h": "hp_filter_freq",
    "l": "lp_filter_freq",
    "H": "hp_lifter_freq",
    "L": "lp_lifter_freq",
}


class Vad(_OneRecording):
    """SoX ``vad [options]``: trim the leading silence and noise before speech (the DSP plugin's
    :func:`~tympan.plugins.dsp.functional.vad`, matched to SoX there; its parameters, SoX's option letters:
    ``-t -T -s -g -p -b -N -n -r -f -m -M -h -l -H -L``).

    Example:
        >>> import torch
        >>> Vad(16000)(torch.zeros(1, 16000)).shape
        torch.Size([1, 0])
    """

    sox_name = "vad"
    qualified_name = "sox:vad"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    Params = _DspVad.Params  # the parameters are declared once, on the DSP plugin's Vad

    def __init__(
        self,
        sample_rate: int = 44100,
        trigger_level: float = 7.0,
        trigger_time: float = 0.25,
        search_time: float = 1.0,
        allowed_gap: float = 0.25,
        pre_trigger_time: float = 0.0,
        boot_time: float = 0.35,
        noise_up_time: float = 0.1,
        noise_down_time: float = 0.01,
        noise_reduction_amount: float = 1.35,
        measure_freq: float = 20.0,
        measure_duration: float | None = None,
        measure_smooth_time: float = 0.4,
        hp_filter_freq: float = 50.0,
        lp_filter_freq: float = 6000.0,
        hp_lifter_freq: float = 150.0,
        lp_lifter_freq: float = 2000.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.options = params.kwargs()  # the DSP plugin's Params checked the geometry already

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-t level] [-T time] ...`` (one letter per option, each followed by its value)."""
        args = list(args)
        letters = "".join(_VAD_OPTIONS)
        flags = take_flags(args, letters, with_value=letters)
        if args:
            raise ValueError(f"unexpected options {' '.join(args)!r}")
        return {_VAD_OPTIONS[letter]: number(value, _VAD_OPTIONS[letter]) for letter, value in flags.items()}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform from the detected start of activity (empty if none)."""
        return vad(waveform, **self.options)


class Splice(_OneRecording):
    """SoX ``splice [-h|-t|-q] {position[,excess[,leeway]]}``: join the audio before each position (part 1,
    ``excess`` included) to what follows, cross-faded over ``2 * excess`` where the parts match best
    within ``leeway`` (default 0.005 s each; no search for ``q``); fade ``h`` half cosine, ``t`` linear,
    ``q`` quarter sine. With a search the output length depends on the audio (``data_dependent_length``);
    without (no splice, ``q``, a leeway of 0) it is the input's less each splice's overlap.

    Example:
        >>> import torch
        >>> Splice(8000, splices=["0.5"])(torch.zeros(1, 8000)).shape
        torch.Size([1, 7920])
    """

    sox_name = "splice"
    qualified_name = "sox:splice"
    sample_rate_param: ClassVar[str | None] = "sample_rate"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        splices: Annotated[
            list[str], Field(max_length=1024, description="position[,excess[,leeway]] for each splice.")
        ] = (),  # type: ignore[assignment]
        fade: Annotated[Literal["h", "t", "q"], Field(description="h half cosine, t linear, q quarter sine.")] = "h",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.fade = params.fade
        self.plan = _splice_plan(params.splices, params.sample_rate, params.fade)
        # only the search for the best match makes the length depend on the audio; without one (no splice,
        # "q", a leeway of 0) each splice shortens the audio by its overlap
        self.data_dependent_length = any(search > 0 for _, _, search in self.plan)

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``length`` less each splice's overlap (when no splice searches; else the audio decides)."""
        return length - sum(overlap for _, overlap, _ in self.plan)

    @staticmethod
    def check_params(params: Any) -> None:
        """Each splice parses; positions increase and leave room for the fade."""
        _splice_plan(params.splices, params.sample_rate, params.fade)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-h|-t|-q] {position[,excess[,leeway]]}``."""
        args = list(args)
        kwargs: dict[str, Any] = {}
        if args and args[0] in ("-h", "-t", "-q"):
            kwargs["fade"] = args.pop(0)[1]
        return {**kwargs, "splices": args}

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """SoX's allowance for the quarter-sine (constant power) fade."""
        return 0.5**0.5 if self.fade == "q" else 1.0

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The spliced waveform."""
        rows = splice(_flatten(waveform), self.plan, self.fade)
        return rows.reshape(*waveform.shape[:-1], rows.shape[-1])


def _splice_plan(specs: Sequence[str], rate: float, fade: str) -> list[tuple[int, int, int]]:
    """``(fade start, overlap, search)`` in samples for each splice, as SoX sizes them."""
    plan: list[tuple[int, int, int]] = []
    previous = -1
    positions: list[str] = []
    for spec in specs:
        position, *rest = spec.split(",")
        if len(rest) > 2:
            raise ValueError(f"splice {spec!r}: expected position[,excess[,leeway]]")
        positions.append(position)
        overlap = int(rate * 0.01 + 0.5)
        search = 0 if fade == "q" else overlap
        if rest:
            overlap = parse_time(rest[0], rate) * 2
            if len(rest) > 1:
                search = parse_time(rest[1], rate) * 2
        overlap = max(overlap + 4, 16) & ~7
        where = resolve_positions(positions, rate, "=")[-1]
        if where[0]:
            raise ValueError(f"splice {spec!r}: positions relative to the end are not supported")
        start = where[1]
        if start <= previous:
            raise ValueError("splice positions must increase")
        if start < overlap:
            raise ValueError(f"splice position {time_text(position)} is within the fade ({overlap} samples)")
        previous = start
        plan.append((start - overlap, overlap, search))
    return plan
