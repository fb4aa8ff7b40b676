"""SoX's channel effects: ``channels``, ``remix``, ``swap`` and ``oops``, each a mixing matrix.

``remix`` reads SoX's specifications: an output channel is ``0`` (silence) or input channels separated by
commas, each a number or a range (``1-3``, ``2-`` to the last, ``-2`` from the first) optionally followed
by ``v`` and a linear volume, ``p`` and a gain in dB, or ``i`` and a gain in dB with the polarity inverted.
Unspecified volumes are 1 in manual mode (``-m``), ``1/n`` for ``n`` inputs in automatic mode (``-a``,
``1/sqrt(n)`` with ``-p``), and in the default mode ``1/n`` unless the output gives some volume itself.

Example:
    >>> import torch
    >>> Remix(outputs=["1,2", "0"])(torch.tensor([[1.0], [0.5]])).tolist()
    [[0.75], [0.0]]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.sox._grammar import parse_float
from tympan.plugins.sox.effects._base import Signal, SoxEffect, take_flags

__all__ = ["Channels", "Oops", "Remix", "Swap", "remix_matrix"]

_MAX_CHANNELS = 1024
_ENTRY = re.compile(r"^(\d*)(?:(-)(\d*))?(?:([vpi])(.*))?$")


def _parse_output(spec: str, channels: int | None) -> tuple[list[tuple[int, float | None]], bool, int, bool]:
    """``([(input channel, volume or None)], gave a volume, highest channel named, needs the count)``."""
    if spec.strip() == "0":
        return [], False, 0, False
    entries: list[tuple[int, float | None]] = []
    gave_volume = needs_count = False
    highest = 0
    for part in spec.split(","):
        match = _ENTRY.match(part.strip())
        if not match or (not match.group(1) and not match.group(2)):
            raise ValueError(f"remix: bad output channel specification {spec!r}")
        first_text, dash, last_text, kind, volume_text = match.groups()
        first = int(first_text) if first_text else 1
        if dash and not last_text:
            needs_count = True
        last = int(last_text) if last_text else (channels or first if dash else first)
        if first < 1 or last < 1:
            raise ValueError(f"remix: channel numbers start at 1, got {part!r}")
        volume: float | None = None
        if kind:
            value = parse_float(volume_text, "remix volume") if volume_text else 0.0
            volume = value if kind == "v" else (1.0 if kind == "p" else -1.0) * 10.0 ** (value / 20)
            gave_volume = True
        low, high = min(first, last), max(first, last)
        entries += [(channel - 1, volume) for channel in range(low, high + 1)]
        highest = max(highest, high)
    return entries, gave_volume, highest, needs_count


def remix_matrix(outputs: Sequence[str], mode: str, power: bool, channels: int | None) -> torch.Tensor:
    """The ``(outputs, inputs)`` mixing matrix (float64) of SoX ``remix`` specifications.

    ``mode`` is ``"default"``, ``"manual"`` (``-m``) or ``"automatic"`` (``-a``); ``power`` (``-p``) mixes
    unspecified volumes by ``1/sqrt(n)``. ``channels`` (the input count) is needed by open ranges such as
    ``2-``; without it the matrix has as many columns as the highest channel named.

    Example:
        >>> remix_matrix(["1-2", "2v0.5"], "default", False, 2).tolist()
        [[0.5, 0.5], [0.0, 0.5]]
    """
    parsed = [_parse_output(spec, channels) for spec in outputs]
    if any(needs for _, _, _, needs in parsed) and channels is None:
        raise ValueError("remix: an open channel range (such as 2-) needs the number of input channels")
    width = channels if channels is not None else max((highest for _, _, highest, _ in parsed), default=0)
    matrix = torch.zeros(len(outputs), width, dtype=torch.float64)
    for row, (entries, gave_volume, highest, _) in enumerate(parsed):
        if highest > width:
            raise ValueError(f"too few input channels: remix uses channel {highest} of {width}")
        count = len(entries)
        share = 1.0 / (math.sqrt(count) if power else count) if count else 0.0
        automatic = mode == "automatic" or (mode == "default" and not gave_volume)
        for channel, volume in entries:
            matrix[row, channel] += volume if volume is not None else (share if automatic else 1.0)
    return matrix


class _Mix(SoxEffect):
    """A fixed mixing matrix ``(outputs, inputs)``; inputs beyond its width are ignored."""

    declares_channels = True

    def _use(self, matrix: torch.Tensor) -> None:
        self.register_buffer("matrix", matrix, persistent=False)
        self.inputs = int(matrix.shape[1])

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """The inverse of the largest sum of volumes into one output, when above 1."""
        return 1.0 / max(float(self.matrix.abs().sum(1).max()) if self.matrix.numel() else 0.0, 1.0)

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """The number of rows of the matrix; the input needs as many channels as it uses."""
        if channels < self.inputs:
            raise ValueError(f"too few input channels: {channels}, this mix needs {self.inputs}")
        return int(self.matrix.shape[0])

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The mixed channels, clipped to ``[-1, 1]``."""
        if waveform.shape[-2] < self.inputs:
            raise ValueError("too few input channels for this mix")
        used = waveform[..., : self.inputs, :]
        mixed = torch.matmul(self.matrix.to(used.dtype), used)
        return mixed.clamp(-1.0, 1.0)


class Remix(_Mix):
    """SoX ``remix [-m|-a] [-p] <0|in-chan[v|p|i volume]{,in-chan[v|p|i volume]}>`` (see the module docstring).

    Example:
        >>> Remix(outputs=["2", "1"]).matrix.tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """

    sox_name = "remix"
    qualified_name = "sox:remix"
    sets_gain = True

    def __init__(
        self,
        outputs: Annotated[
            list[str], Field(min_length=1, max_length=_MAX_CHANNELS, description="One specification per output.")
        ] = ("1",),  # type: ignore[assignment]
        mode: Annotated[
            Literal["default", "manual", "automatic"], Field(description="How unspecified volumes are set.")
        ] = "default",
        power: Annotated[bool, Field(description="Mix unspecified volumes by power, 1/sqrt(n) (-p).")] = False,
        channels: Annotated[
            int | None, Field(ge=1, le=_MAX_CHANNELS, description="Input channels (needed by open ranges).")
        ] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self._use(remix_matrix(params.outputs, params.mode, params.power, params.channels))

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-m|-a] [-p] spec...``."""
        args = list(args)
        flags = take_flags(args, "map")
        if not args:
            raise ValueError("must specify at least one output channel")
        mode = "manual" if "m" in flags else "automatic" if "a" in flags else "default"
        return {"outputs": args, "mode": mode, "power": "p" in flags, "channels": signal.channels}


class Oops(_Mix):
    """SoX ``oops``: both outputs ``left - right`` ("out of phase stereo", ``remix 1,2i 1,2i``).

    Example:
        >>> Oops().matrix.tolist()
        [[1.0, -1.0], [1.0, -1.0]]
    """

    sox_name = "oops"
    qualified_name = "sox:oops"
    sets_gain = True

    def __init__(self) -> None:
        validated_arguments(type(self), locals())
        super().__init__()
        self._use(remix_matrix(["1,2i", "1,2i"], "default", False, None))


class Channels(SoxEffect):
    """SoX ``channels number``: fewer channels average the inputs ``j, j + n, j + 2n, ...`` into output
    ``j``; more channels repeat the inputs cyclically.

    Example:
        >>> import torch
        >>> Channels(channels=1)(torch.tensor([[1.0], [0.0]])).tolist()
        [[0.5]]
    """

    sox_name = "channels"
    qualified_name = "sox:channels"
    declares_channels = True

    def __init__(
        self, channels: Annotated[int, Field(ge=1, le=_MAX_CHANNELS, description="Output channels.")] = 1
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.channels = params.channels

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``number``."""
        if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 1:
            raise ValueError(f"expected a positive number of channels, got {' '.join(args)!r}")
        return {"channels": int(args[0])}

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """The requested number."""
        return self.channels

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with ``channels`` channels."""
        inputs = waveform.shape[-2]
        if inputs == self.channels:
            return waveform
        if inputs < self.channels:
            index = torch.arange(self.channels, device=waveform.device) % inputs
            return waveform.index_select(-2, index)
        source = torch.arange(inputs, device=waveform.device)
        target = source % self.channels
        counts = torch.bincount(target, minlength=self.channels).to(waveform.dtype)
        matrix = target.unsqueeze(0) == torch.arange(self.channels, device=waveform.device).unsqueeze(1)
        weights = matrix.to(waveform.dtype) / counts.unsqueeze(1)
        return torch.matmul(weights, waveform)


class Swap(SoxEffect):
    """SoX ``swap``: swap channels 1 and 2, 3 and 4, ... (an odd last channel stays).

    Example:
        >>> import torch
        >>> Swap()(torch.tensor([[1.0], [2.0], [3.0]])).tolist()
        [[2.0], [1.0], [3.0]]
    """

    sox_name = "swap"
    qualified_name = "sox:swap"

    def __init__(self) -> None:
        validated_arguments(type(self), locals())
        super().__init__()

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform with pairs of channels swapped."""
        channels = waveform.shape[-2]
        index = torch.arange(channels, device=waveform.device)
        paired = channels - channels % 2
        index = torch.where(index < paired, index + 1 - 2 * (index % 2), index)
        return waveform.index_select(-2, index)
