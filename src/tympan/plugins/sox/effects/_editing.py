"""SoX's editing effects: ``pad``, ``trim``, ``reverse``, ``repeat``, ``fade`` and ``delay``.

Positions follow SoX's grammar (see :mod:`tympan.plugins.sox._grammar`): they are resolved to samples at
construction, those relative to the end of the audio (``-0.5``) when the length is known, in ``forward``.
:meth:`~tympan.plugins.sox.effects.SoxEffect.check_length` refuses, before any work, a length SoX refuses
(a pad position after the end, a fade-out overlapping the fade-in).

Example:
    >>> import torch
    >>> Pad(8000, pads=[0.001, "2s"])(torch.ones(1, 3)).tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
import torch.nn.functional as nnf
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.sox._grammar import parse_float, parse_time, time_text
from tympan.plugins.sox.effects._base import Signal, SoxEffect, position_at, resolve_positions
from tympan.plugins.sox.effects._fields import PositionSpec, SampleRate, TimeSpec

__all__ = ["Delay", "Fade", "Pad", "Repeat", "Reverse", "Trim", "fade_curve"]

_MAX_ITEMS = 1024


def _split_pad(spec: str | float) -> tuple[str, str | None]:
    text = time_text(spec)
    length, _, position = text.partition("@")
    return length, (position or None)


def _check_pad(spec: str | float) -> str | float:
    length, position = _split_pad(spec)
    parse_time(length, 1000.0)
    if position is not None:
        resolve_positions([position], 1000.0, "=")
    return spec


class Pad(SoxEffect):
    """SoX ``pad {length[@position]}``: insert silence. The first pad without a position goes at the start,
    later ones at the end; ``@position`` inserts at that position of the input (``=`` by default, ``+``
    after the previous pad's position, ``-`` before the end).

    Example:
        >>> import torch
        >>> Pad(8000, pads=["1s@2s"])(torch.ones(1, 3)).tolist()
        [[1.0, 1.0, 0.0, 1.0]]
    """

    sox_name = "pad"
    qualified_name = "sox:pad"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        pads: Annotated[
            list[Annotated[str | float, Field()]],
            Field(max_length=_MAX_ITEMS, description="Silences: length[@position], a time and a position."),
        ] = (),  # type: ignore[assignment]
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        lengths, at_end, anchors = [], [], []
        for index, spec in enumerate(params.pads):
            _check_pad(spec)
            length, position = _split_pad(spec)
            lengths.append(parse_time(length, params.sample_rate))
            at_end.append(position is None and index > 0)
            anchors.append("=0" if position is None else position)
        resolved = resolve_positions(anchors, params.sample_rate, "=")
        self.count = len(lengths)
        # TorchScript types a list by its items: an unused entry keeps each one non-empty
        self.lengths = [*lengths, 0]
        self.at_end = [*at_end, True]
        self.from_end = [where[0] for where in resolved] + [False]
        self.offsets = [where[1] for where in resolved] + [0]
        self.per_item = any(self.from_end) or self._has_middle()

    def _has_middle(self) -> bool:
        return any(not end and offset > 0 for end, offset in zip(self.at_end, self.offsets, strict=True))

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``{length[@position]}``."""
        for arg in args:
            _check_pad(arg)
        return {"pads": list(args)}

    @torch.jit.unused
    def check_length(self, length: int) -> None:
        """SoX's check: every pad position lies within the audio, in increasing order."""
        self._starts(length)

    def _starts(self, length: int) -> list[int]:
        starts: list[int] = []
        for index in range(self.count):
            start = length if self.at_end[index] else position_at((self.from_end[index], self.offsets[index]), length)
            if start > length:
                raise ValueError(f"pad position after end of audio ({start} > {length} samples)")
            if starts and start < starts[-1]:
                raise ValueError("pad positions must be in increasing order")
            starts.append(start)
        return starts

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The input length plus every pad."""
        return length + sum(self.lengths[: self.count])

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with the silences inserted."""
        length = waveform.shape[-1]
        pieces: list[torch.Tensor] = []
        taken = 0
        for index in range(self.count):
            start = length
            if not self.at_end[index]:
                start = self.offsets[index]
                if self.from_end[index]:
                    start = max(length + start, 0)
            if start > length or start < taken:
                raise ValueError("pad position after end of audio, or pad positions out of order")
            pieces.append(waveform[..., taken:start])
            shape = list(waveform.shape[:-1])
            shape.append(self.lengths[index])
            pieces.append(waveform.new_zeros(shape))
            taken = start
        pieces.append(waveform[..., taken:])
        return torch.cat(pieces, -1)


class Trim(SoxEffect):
    """SoX ``trim {position}``: keep the audio from the first position to the second, from the third to the
    fourth, ...; positions default to ``+`` (after the previous one).

    Example:
        >>> import torch
        >>> Trim(10, positions=["0.2", "0.3"])(torch.arange(10.0)).tolist()
        [2.0, 3.0, 4.0]
    """

    sox_name = "trim"
    qualified_name = "sox:trim"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        positions: Annotated[
            list[PositionSpec], Field(min_length=1, max_length=_MAX_ITEMS, description="Start, end, start, ...")
        ] = ("0",),  # type: ignore[assignment]
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        resolved = resolve_positions([time_text(p) for p in params.positions], params.sample_rate, "+")
        self.from_end = [where[0] for where in resolved]
        self.offsets = [where[1] for where in resolved]
        self.per_item = any(self.from_end)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``{position}``."""
        if not args:
            raise ValueError("expected at least one position")
        return {"positions": list(args)}

    def _bounds(self, length: int) -> list[int]:
        bounds: list[int] = []
        for index in range(len(self.offsets)):
            where = self.offsets[index]
            if self.from_end[index]:
                where = max(length + where, 0)
            if bounds and where < bounds[-1]:
                raise ValueError(f"trim position {index + 1} is before the previous one")
            bounds.append(min(where, length))
        if len(bounds) % 2 == 1:
            bounds.append(length)
        return bounds

    @torch.jit.unused
    def check_length(self, length: int) -> None:
        """SoX's check: positions are in increasing order."""
        self._bounds(length)

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The total length of the kept stretches."""
        bounds = self._bounds(length)
        return sum(bounds[i + 1] - bounds[i] for i in range(0, len(bounds), 2))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The kept stretches, joined."""
        bounds = self._bounds(waveform.shape[-1])
        pieces = [waveform[..., bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2)]
        return torch.cat(pieces, -1)


class Reverse(SoxEffect):
    """SoX ``reverse``: the audio backwards.

    Example:
        >>> import torch
        >>> Reverse()(torch.tensor([1.0, 2.0, 3.0])).tolist()
        [3.0, 2.0, 1.0]
    """

    sox_name = "reverse"
    qualified_name = "sox:reverse"
    lengths_policy = "items"

    def __init__(self) -> None:
        validated_arguments(type(self), locals())
        super().__init__()

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The time-reversed waveform."""
        return waveform.flip(-1)


class Repeat(SoxEffect):
    """SoX ``repeat [count]``: the audio followed by ``count`` more copies of itself.

    Example:
        >>> import torch
        >>> Repeat(count=2)(torch.tensor([1.0, 2.0])).tolist()
        [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]
    """

    sox_name = "repeat"
    qualified_name = "sox:repeat"
    lengths_policy = "items"

    def __init__(self, count: Annotated[int, Field(ge=0, le=100_000, description="Extra copies.")] = 1) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.count = params.count

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[count]`` (SoX's endless ``-`` has no tensor to fill)."""
        if len(args) > 1:
            raise ValueError(f"expected [count], got {' '.join(args)!r}")
        if args and args[0] == "-":
            raise ValueError("endless repetition (-) cannot be held in a tensor")
        if not args:
            return {}
        value = parse_float(args[0], "count")
        if value != int(value):
            raise ValueError(f"count must be a whole number, got {args[0]!r}")
        return {"count": int(value)}

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """``count + 1`` times the input length."""
        return length * (self.count + 1)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform, ``count + 1`` times over."""
        repeats = [1] * (waveform.dim() - 1)
        repeats.append(self.count + 1)
        return waveform.repeat(repeats)


FADE_TYPES = {"q": "quarter sine", "h": "half sine", "t": "linear", "l": "logarithmic", "p": "inverted parabola"}


def fade_curve(position: torch.Tensor, fade_type: str) -> torch.Tensor:
    """SoX's fade gain at ``position`` in ``[0, 1]`` of a fade-in: ``t`` linear, ``q`` quarter sine, ``h`` half
    sine, ``l`` logarithmic (from -100 dB), ``p`` inverted parabola.

    Example:
        >>> [round(v, 4) for v in fade_curve(torch.tensor([0.0, 0.5, 1.0]), "q").tolist()]
        [0.0, 0.7071, 1.0]
    """
    x = position.clamp(0.0, 1.0)
    if fade_type == "t":
        return x
    if fade_type == "q":
        return torch.sin(x * (math.pi / 2))
    if fade_type == "h":
        return (1 - torch.cos(x * math.pi)) / 2
    if fade_type == "l":
        return torch.pow(0.1, (1 - x) * 5)
    return 1 - (1 - x) * (1 - x)


class Fade(SoxEffect):
    """SoX ``fade [type] fade-in-length [stop-position [fade-out-length]]``: fade in over the first
    ``fade_in``, and, with ``stop``, fade out over ``fade_out`` (default: as long as the fade-in) ending at
    ``stop``, where the audio is cut (``0``: at its end; past the end, silence is added).

    Example:
        >>> import torch
        >>> Fade(4, fade_in="1s", fade_type="t")(torch.ones(3)).tolist()
        [0.0, 1.0, 1.0]
    """

    sox_name = "fade"
    qualified_name = "sox:fade"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "same"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        fade_in: TimeSpec = 0.0,
        stop: Annotated[
            PositionSpec | None, Field(description="Where the fade-out ends and the audio stops; 0: at the end.")
        ] = None,
        fade_out: Annotated[TimeSpec | None, Field(description="Fade-out length; None: the fade-in's.")] = None,
        fade_type: Annotated[
            Literal["q", "h", "t", "l", "p"],
            Field(description="q quarter sine, h half sine, t linear, l logarithmic, p inverted parabola."),
        ] = "l",
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.fade_type = params.fade_type
        self.in_stop = parse_time(time_text(params.fade_in), params.sample_rate)
        self.fades_out = params.stop is not None
        stop = resolve_positions([time_text(params.stop if params.stop is not None else 0)], params.sample_rate, "=")
        self.stop_from_end, self.stop_offset = stop[0]
        self.truncates = self.fades_out and (self.stop_from_end or self.stop_offset > 0)
        out_text = time_text(params.fade_out) if params.fade_out is not None else None
        self.out_length = parse_time(out_text, params.sample_rate) if out_text is not None else self.in_stop
        self.per_item = self.fades_out

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[type] fade-in-length [stop-position [fade-out-length]]``."""
        args = list(args)
        kwargs: dict[str, Any] = {}
        if args and args[0][:1] in FADE_TYPES:
            kwargs["fade_type"] = args.pop(0)[0]
        if not 1 <= len(args) <= 3:
            raise ValueError(f"expected [type] fade-in-length [stop-position [fade-out-length]], got {args}")
        for name, value in zip(("fade_in", "stop", "fade_out")[: len(args)], args, strict=True):
            kwargs[name] = value
        return kwargs

    def _geometry(self, length: int) -> tuple[int, int, int, int]:
        """``(in_stop, out_start, out_stop, output length)`` for an input of ``length`` samples."""
        in_stop = self.in_stop
        out_stop = 0
        out_start = 0
        total = length
        if self.fades_out:
            out_stop = self.stop_offset
            if self.stop_from_end:
                out_stop = max(length + out_stop, 0)
            if out_stop == 0:
                out_stop = length
            else:
                total = out_stop
            out_start = max(out_stop - self.out_length, 0)
            if out_start > 0 and in_stop > out_start:
                in_stop -= 1  # SoX's one sample of grace for rounding
                if in_stop > out_start:
                    raise ValueError("fade-out overlaps fade-in")
        return in_stop, out_start, out_stop, total

    @torch.jit.unused
    def check_length(self, length: int) -> None:
        """SoX's check: the fade-out does not overlap the fade-in."""
        self._geometry(length)

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The stop position when one is given, else the input length."""
        return self._geometry(length)[3]

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The faded waveform, cut (or padded with silence) at the stop position."""
        in_stop, out_start, out_stop, total = self._geometry(waveform.shape[-1])
        if total > waveform.shape[-1]:
            waveform = nnf.pad(waveform, [0, total - waveform.shape[-1]])
        x = waveform[..., :total]
        index = torch.arange(total, device=x.device, dtype=torch.float64)
        gain = torch.ones_like(index)
        if in_stop > 0:
            gain = torch.where(index < in_stop, fade_curve(index / in_stop, self.fade_type), gain)
        if self.fades_out and out_stop > out_start:
            fading = fade_curve((out_stop - index) / (out_stop - out_start), self.fade_type)
            gain = torch.where((index >= out_start) & (index >= in_stop), fading, gain)
        return x * gain.to(x.dtype)


class Delay(SoxEffect):
    """SoX ``delay {position}``: delay channel ``c`` by the ``c``-th time; every channel is then padded to the
    longest delay, so the audio grows by it.

    Example:
        >>> import torch
        >>> Delay(4, delays=["0.5", "0"])(torch.ones(2, 2)).tolist()
        [[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]]
    """

    sox_name = "delay"
    qualified_name = "sox:delay"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "mapped"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        delays: Annotated[
            list[PositionSpec], Field(max_length=_MAX_ITEMS, description="One delay per channel (a time).")
        ] = (),  # type: ignore[assignment]
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        resolved = resolve_positions([time_text(d) for d in params.delays], params.sample_rate, "=")
        self.count = len(resolved)
        # TorchScript types a list by its items: an unused entry keeps each one non-empty
        self.from_end = [where[0] for where in resolved] + [False]
        self.offsets = [where[1] for where in resolved] + [0]
        self.per_item = any(self.from_end)

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``{position}``."""
        return {"delays": list(args)}

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """SoX's check: no more delays than channels."""
        if self.count > channels:
            raise ValueError(f"too few input channels: {self.count} delays for {channels} channel(s)")
        return channels

    def _delays(self, length: int) -> list[int]:
        delays: list[int] = []
        for index in range(self.count):
            where = self.offsets[index]
            delays.append(max(length + where, 0) if self.from_end[index] else where)
        return delays

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The input length plus the longest delay."""
        return length + max(self._delays(length), default=0)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Each channel delayed by its own delay, all padded to the longest."""
        delays = self._delays(waveform.shape[-1])
        longest = max(delays) if len(delays) > 0 else 0
        if longest == 0:
            return waveform
        channels = waveform.shape[-2]
        if len(delays) > channels:
            raise ValueError("too few input channels for the delays given")
        rows: list[torch.Tensor] = []
        for channel in range(channels):
            delay = delays[channel] if channel < len(delays) else 0
            rows.append(nnf.pad(waveform[..., channel, :], [delay, longest - delay]))
        return torch.stack(rows, -2)
