"""SoX's noise reduction: ``noiseprof`` (an analysis: it returns, and may write, a noise profile) and
``noisered`` (spectral gating by a profile). See :mod:`tympan.plugins.sox.functional._noise`.

Example:
    >>> import torch
    >>> noise = 0.01 * torch.randn(1, 8192, generator=torch.Generator().manual_seed(0))
    >>> profile = NoiseProf()(noise)
    >>> NoiseRed(profile=profile.tolist(), amount=0.3)(noise).shape
    torch.Size([1, 7168])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from tympan.core.files import atomic_write
from tympan.core.params import validated_arguments
from tympan.plugins.sox.effects._base import Signal, SoxEffect, number
from tympan.plugins.sox.functional._noise import (
    WINDOW,
    denoised_length,
    format_profile,
    noise_profile,
    parse_profile,
    reduce_noise,
)

__all__ = ["NoiseProf", "NoiseRed"]


class NoiseProf(SoxEffect):
    """SoX ``noiseprof [profile-file]``: the noise profile of the audio, ``(..., channels, 1025)`` mean log
    powers. In a chain the audio passes through unchanged; the profile is written to ``path`` (SoX's text
    format) when one is given, and kept as the chain's measurement.

    Example:
        >>> import torch
        >>> NoiseProf()(torch.zeros(2, 1, 4096)).shape
        torch.Size([2, 1, 1025])
    """

    sox_name = "noiseprof"
    qualified_name = "sox:noiseprof"
    produces_waveform: ClassVar[bool] = False
    analysis = True
    scriptable: ClassVar[bool] = False

    def __init__(
        self, path: Annotated[str | None, Field(description="Where to write the profile (SoX's text format).")] = None
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.path = params.path

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[profile-file]`` (``-`` for standard output is not supported)."""
        if len(args) > 1:
            raise ValueError(f"expected [profile-file], got {' '.join(args)!r}")
        if args and args[0] == "-":
            raise ValueError("writing the profile to standard output is not supported; give a file")
        return {"path": args[0]} if args else {}

    @torch.jit.unused
    def observe(self, waveform: torch.Tensor) -> dict[str, Any]:
        """Measure ``(channels, time)`` and write the profile to ``path`` (atomically); returns it.

        Example:
            >>> import torch
            >>> NoiseProf().observe(torch.zeros(1, 2048))["profile"].shape
            torch.Size([1, 1025])
        """
        profile = self(waveform)
        if self.path is not None:
            if profile.dim() != 2:
                raise ValueError("a profile file holds one signal: give (channels, time)")
            with atomic_write(self.path) as handle:
                handle.write(format_profile(profile).encode())
        return {"profile": profile}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The noise profile ``(..., channels, 1025)``."""
        return noise_profile(waveform).to(waveform.dtype)


class NoiseRed(SoxEffect):
    """SoX ``noisered [profile-file [amount]]``: spectral noise gating with a ``noiseprof`` profile (a file,
    or the rows of values), ``amount`` 0 to 1 (0.5). The output is shorter by SoX's half window.

    Example:
        >>> import torch
        >>> NoiseRed(profile=[[0.0] * 1025])(torch.zeros(1, 4096)).shape
        torch.Size([1, 3072])
    """

    sox_name = "noisered"
    qualified_name = "sox:noisered"
    lengths_policy = "mapped"
    scriptable: ClassVar[bool] = False
    example_arguments: ClassVar[str] = "profile=[[-20.0] * 1025] * 2"
    #: Three hops and a sample: an exported program needs every dimension that follows the length to have
    #: two entries or more, and the frames after the first (``length / 1024 - 2`` of them) are one.
    export_min_frames: ClassVar[int] = 3 * WINDOW // 2 + 1

    def __init__(
        self,
        profile: Annotated[
            str | list[list[float]],
            Field(description="A noiseprof file, or its values: one row of 1025 per channel."),
        ] = "noise.prof",
        amount: Annotated[float, Field(ge=0, le=1, description="How much noise to remove.")] = 0.5,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        rows = parse_profile(params.profile) if isinstance(params.profile, str) else params.profile
        if any(len(row) != 1025 for row in rows):
            raise ValueError("a noise profile has 1025 values per channel")
        self.register_buffer("profile", torch.tensor(rows, dtype=torch.float64), persistent=False)
        self.amount = params.amount

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[profile-file [amount]]`` (the profile must be a file)."""
        if not 1 <= len(args) <= 2:
            raise ValueError("expected profile-file [amount] (a profile from standard input is not supported)")
        kwargs: dict[str, Any] = {"profile": args[0]}
        if len(args) > 1:
            kwargs["amount"] = number(args[1], "amount", 0, 1)
        return kwargs

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """As many channels as the profile has."""
        if channels != self.profile.shape[0]:
            raise ValueError(f"the noise profile has {self.profile.shape[0]} channel(s), the audio {channels}")
        return channels

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """SoX's length (:func:`~tympan.plugins.sox.functional._noise.denoised_length`)."""
        return denoised_length(length, int(self.profile.shape[0]))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The denoised waveform, 1024 samples shorter."""
        return reduce_noise(waveform, self.profile, self.amount)
