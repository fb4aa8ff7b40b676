"""SoX's ``reverb``: Freeverb's room (see :mod:`tympan.plugins.sox.functional._reverb`), its impulse response
computed once per rate and applied by FFT convolution.

Mono input with a stereo depth comes out in stereo; stereo input with a depth mixes both channels into each
side's reverb; other inputs are reverberated channel by channel. The audio keeps its length (SoX does not
drain the tail).

Example:
    >>> import torch
    >>> Reverb(8000)(torch.zeros(1, 800)).shape  # mono in, stereo out
    torch.Size([2, 800])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from tympan.core.budget import check_buffer_bytes
from tympan.core.params import validated_arguments
from tympan.core.tracing import traced
from tympan.plugins.sox.effects._base import Signal, SoxEffect, leading_numbers, take_flags
from tympan.plugins.sox.effects._fields import SampleRate
from tympan.plugins.sox.functional._fir import convolve_fft
from tympan.plugins.sox.functional._reverb import filter_lengths, reverb_gains, reverb_response

__all__ = ["Reverb"]

_Percent = Annotated[float, Field(ge=0, le=100)]


class Reverb(SoxEffect):
    """SoX ``reverb [-w|--wet-only] [reverberance [HF-damping [room-scale [stereo-depth [pre-delay
    [wet-gain]]]]]]``: percentages (50, 50, 100, 100), pre-delay in ms (0-500) and wet gain in dB (-10 to
    10); ``wet_only`` leaves the dry signal out.

    Example:
        >>> import torch
        >>> Reverb(8000, stereo_depth=0.0)(torch.zeros(3, 800)).shape
        torch.Size([3, 800])
    """

    sox_name = "reverb"
    qualified_name = "sox:reverb"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        reverberance: Annotated[float, Field(ge=0, le=100, description="Reverberance, percent.")] = 50.0,
        hf_damping: Annotated[float, Field(ge=0, le=100, description="High-frequency damping, percent.")] = 50.0,
        room_scale: Annotated[float, Field(ge=0, le=100, description="Room size, percent.")] = 100.0,
        stereo_depth: Annotated[float, Field(ge=0, le=100, description="Stereo depth, percent.")] = 100.0,
        pre_delay: Annotated[float, Field(ge=0, le=500, description="Pre-delay, ms.")] = 0.0,
        wet_gain: Annotated[float, Field(ge=-10, le=10, description="Gain of the reverb, dB.")] = 0.0,
        wet_only: Annotated[bool, Field(description="Leave out the dry signal (-w).")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.depth = params.stereo_depth / 100
        self.pre_delay = int(params.pre_delay / 1000 * params.sample_rate + 0.5)
        self.wet_only = params.wet_only
        self.wet_gain_db = params.wet_gain
        feedback, _, _ = reverb_gains(params.reverberance, params.hf_damping, params.wet_gain)
        longest = max(filter_lengths(params.sample_rate, params.room_scale, self.depth)[0])
        check_buffer_bytes(
            self.qualified_name,
            {"sample_rate": params.sample_rate, "room_scale": params.room_scale},
            longest * 1200 * 8 * 4,
        )
        settings = (params.sample_rate, params.reverberance, params.hf_damping, params.room_scale, params.wet_gain)
        self.register_buffer("left", reverb_response(*settings, 0.0).clone(), persistent=False)
        right = reverb_response(*settings, self.depth).clone() if self.depth else self.left
        self.register_buffer("right", right, persistent=False)
        self.feedback = feedback

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-w|--wet-only] [reverberance [HF-damping [room-scale [stereo-depth [pre-delay [wet-gain]]]]]]``."""
        args = list(args)
        wet_only = False
        if args and args[0] == "--wet-only":
            wet_only = True
            args.pop(0)
        elif args:
            wet_only = "w" in take_flags(args, "w")
        specs = [
            ("reverberance", 0, 100),
            ("hf_damping", 0, 100),
            ("room_scale", 0, 100),
            ("stereo_depth", 0, 100),
            ("pre_delay", 0, 500),
            ("wet_gain", -10, 10),
        ]
        kwargs, rest = leading_numbers(args, specs)
        if rest:
            raise ValueError(f"unexpected options {' '.join(rest)!r}")
        return {**kwargs, "wet_only": wet_only}

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """Mono with a stereo depth becomes stereo; otherwise the channels are kept."""
        return 2 if channels == 1 and self.depth > 0 else channels

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """SoX's allowance for the dry and wet signals adding up."""
        return 1.0 / ((0.0 if self.wet_only else 1.0) + 2 * 10.0 ** (max(0.0, self.wet_gain_db) / 20))

    def _wet(self, signal: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        length = signal.shape[-1]
        delayed = torch.nn.functional.pad(signal.double(), [self.pre_delay, 0])[..., :length]
        # The first `length` outputs read only the first `length` taps. Traced, the whole response: a kernel of
        # one length for every signal keeps the FFT size a plain formula of the signal's length.
        taps = response if traced() else response[:length]
        return convolve_fft(delayed, taps.to(signal.device))[..., :length]

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The reverberated waveform (stereo for mono input with a depth), clipped."""
        dry = 0.0 if self.wet_only else 1.0
        x = waveform.double()
        channels = x.shape[-2]
        if self.depth > 0 and channels == 2:
            mixed = x.sum(-2) * 0.5
            out = torch.stack(
                [x[..., 0, :] * dry + self._wet(mixed, self.left), x[..., 1, :] * dry + self._wet(mixed, self.right)],
                -2,
            )
        elif self.depth > 0 and channels == 1:
            out = torch.stack(
                [
                    x[..., 0, :] * dry + self._wet(x[..., 0, :], self.left),
                    x[..., 0, :] * dry + self._wet(x[..., 0, :], self.right),
                ],
                -2,
            )
        else:
            out = x * dry + self._wet(x, self.left)
        return out.clamp(-1.0, 1.0).to(waveform.dtype)
