"""SoX's analysis effects ``stat`` and ``stats``: the audio passes through a chain unchanged and the numbers
are the result (the chain keeps them; ``tympan sox`` prints SoX's report). Called on their own, the modules
return the numbers of each recording (every leading index of ``(..., channels, time)``).

Example:
    >>> import torch
    >>> Stats(8000)(torch.zeros(3, 2, 100)).shape
    torch.Size([3, 14])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.sox._grammar import parse_float
from tympan.plugins.sox.effects._base import Signal, SoxEffect, number, take_flags
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.functional._stats import (
    format_stat,
    format_stats,
    stat,
    stat_numbers,
    stats,
    stats_numbers,
)

__all__ = ["Stat", "Stats"]


class _Analysis(SoxEffect):
    produces_waveform: ClassVar[bool] = False
    analysis = True
    scriptable: ClassVar[bool] = False
    sample_rate_param: ClassVar[str | None] = "sample_rate"


class Stats(_Analysis):
    """SoX ``stats [-w window-time]``: DC offset, levels, RMS (and its peak and trough over
    ``time_constant`` windows), crest and flat factors, peak count and bit depth, per channel and overall.
    As a module: the overall numbers in :data:`~tympan.plugins.sox.functional._stats.STATS_FIELDS` order
    (``Bit-depth`` as two numbers), the decibel fields as amplitudes (``10 ** (dB / 20)``, so 0 for
    silence) and the crest factor of several channels (which the sox program leaves out) as the peak over
    the RMS of them all.

    Example:
        >>> import torch
        >>> Stats(8000).observe(torch.tensor([[0.5, -0.5]]))["overall"]["Pk lev dB"] < -6
        True
    """

    sox_name = "stats"
    qualified_name = "sox:stats"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        time_constant: Annotated[float, Field(ge=0.01, le=10, description="RMS window, seconds (-w).")] = 0.05,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.time_constant = params.time_constant

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-w window-time]`` (``-b``, ``-x``, ``-s`` change only the printed scale: not supported)."""
        args = list(args)
        flags = take_flags(args, "wbxs", with_value="wbxs")
        for letter in "bxs":
            if letter in flags:
                raise ValueError(f"option -{letter} (a printing scale) is not supported")
        if args:
            raise ValueError(f"unexpected options {' '.join(args)!r}")
        return {"time_constant": number(flags["w"], "window-time", 0.01, 10)} if "w" in flags else {}

    @torch.jit.unused
    def observe(self, waveform: torch.Tensor) -> dict[str, Any]:
        """The report of one recording ``(channels, time)``: ``overall`` and per-channel numbers, and ``text``."""
        result = stats(waveform, self.sample_rate, self.time_constant)
        return {**result, "text": format_stats(result, self.time_constant)}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The numbers of each recording ``(..., 14)``, by tensor operations (so the module exports)."""
        recordings = waveform if waveform.dim() > 1 else waveform[None]
        return stats_numbers(recordings, self.sample_rate, self.time_constant)


class Stat(_Analysis):
    """SoX ``stat [-s N] [-rms] [-v]``: amplitudes, deltas, a rough frequency and the volume adjustment over
    the interleaved samples. As a module: the numbers in
    :data:`~tympan.plugins.sox.functional._stats.STAT_FIELDS` order (those the sox program cannot give,
    such as the volume adjustment of silence, as 0).

    Example:
        >>> import torch
        >>> Stat(8000)(torch.tensor([[0.5, -0.5]])).shape
        torch.Size([15])
    """

    sox_name = "stat"
    qualified_name = "sox:stat"

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        scale: Annotated[float | None, Field(gt=0, description="Divide the samples by this (-s).")] = None,
        rms: Annotated[bool, Field(description="Scale to units of the RMS (-rms).")] = False,
        volume_only: Annotated[bool, Field(description="Report only the volume adjustment (-v).")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.scale = params.scale
        self.rms = params.rms
        self.volume_only = params.volume_only

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-s N] [-rms] [-v]`` (``-freq`` and ``-d`` print spectra and dumps: not supported)."""
        args = list(args)
        kwargs: dict[str, Any] = {}
        while args:
            option = args.pop(0)
            if option == "-s" and args:
                kwargs["scale"] = parse_float(args.pop(0), "scale")
            elif option == "-rms":
                kwargs["rms"] = True
            elif option == "-v":
                kwargs["volume_only"] = True
            else:
                raise ValueError(f"unknown option {option!r} (-freq and -d are not supported)")
        return kwargs

    @torch.jit.unused
    def observe(self, waveform: torch.Tensor) -> dict[str, Any]:
        """The report of one recording ``(channels, time)``, with its ``text``."""
        result = stat(waveform, self.sample_rate, self.scale, self.rms)
        if self.volume_only:
            text = f"{result['Volume adjustment']:.3f}\n" if result["Volume adjustment"] is not None else ""
        else:
            text = format_stat(result)
        return {**result, "text": text}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The numbers of each recording ``(..., 15)``, by tensor operations (so the module exports)."""
        numbers = stat_numbers(
            waveform if waveform.dim() > 1 else waveform[None], self.sample_rate, self.scale, self.rms
        )
        return torch.where(torch.isfinite(numbers), numbers, torch.zeros_like(numbers))
