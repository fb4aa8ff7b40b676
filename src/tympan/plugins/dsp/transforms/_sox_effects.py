"""SoX's waveshaping and modulation effects as transforms: ``Contrast``, ``DCShift``, ``Overdrive``, ``Phaser``
and ``Flanger``.

Each validates its parameters with its ``Params`` model (SoX's ranges) and runs the functional form of the
same name (:mod:`tympan.plugins.dsp.functional._sox_effects`); ``Phaser`` and ``Flanger`` take the input's
``sample_rate`` and build their LFO table once, at construction, as a buffer.

Example:
    >>> import torch
    >>> Flanger(sample_rate=16000, regen=30.0)(torch.randn(2, 2, 1600) * 0.1).shape
    torch.Size([2, 2, 1600])
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.params import Params
from tympan.plugins.dsp.functional._modulated_delay import apply_flanger, apply_phaser, flanger_sweep, phaser_sweep
from tympan.plugins.dsp.functional._sox_effects import apply_contrast, apply_dcshift, apply_overdrive
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["Contrast", "DCShift", "Overdrive", "Phaser", "Flanger"]

_RATE = Field(..., gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")


class Contrast(DspTransform):
    """Contrast enhancement of ``(..., time)``, as ``torchaudio.functional.contrast`` (SoX ``contrast``).

    Example:
        >>> import torch
        >>> Contrast(enhancement_amount=50.0)(torch.zeros(2, 100)).abs().max().item()
        0.0
    """

    qualified_name = "dsp:contrast"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Contrast`."""

        enhancement_amount: float = Field(75.0, ge=0.0, le=100.0, description="Amount of enhancement, 0 to 100.")

    def __init__(self, enhancement_amount: float = 75.0) -> None:
        params = self.validated(locals())
        super().__init__()
        self.enhancement_amount = params.enhancement_amount

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The enhanced waveform, same shape and dtype."""
        return apply_contrast(waveform, self.enhancement_amount)


class DCShift(DspTransform):
    """Shift ``(..., time)`` by a constant and clip, as ``torchaudio.functional.dcshift`` (SoX ``dcshift``).

    Example:
        >>> import torch
        >>> DCShift(shift=0.25)(torch.zeros(1, 3)).tolist()
        [[0.25, 0.25, 0.25]]
    """

    qualified_name = "dsp:dcshift"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`DCShift`."""

        shift: float = Field(..., ge=-2.0, le=2.0, description="Amount added to every sample, -2 to 2.")
        limiter_gain: float | None = Field(
            None,
            ge=0.0,
            le=2.0,
            description="Limiter gain (e.g. 0.05): samples beyond 1 - (|shift| - limiter_gain) on the side of "
            "the shift stop at that threshold; None: no limiter.",
        )

    def __init__(self, shift: float, limiter_gain: float | None = None) -> None:
        params = self.validated(locals())
        super().__init__()
        self.shift = params.shift
        self.limiter_gain: float | None = params.limiter_gain

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The shifted waveform in ``[-1, 1]``, same shape and dtype."""
        return apply_dcshift(waveform, self.shift, self.limiter_gain)


class Overdrive(DspTransform):
    """Overdrive of ``(..., time)``, as ``torchaudio.functional.overdrive`` (SoX ``overdrive``).

    Example:
        >>> import torch
        >>> Overdrive(gain=30.0, colour=10.0)(torch.randn(2, 1000) * 0.1).abs().max().item() <= 1.0
        True
    """

    qualified_name = "dsp:overdrive"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Overdrive`."""

        gain: float = Field(20.0, ge=0.0, le=100.0, description="Drive in dB, 0 to 100.")
        colour: float = Field(20.0, ge=0.0, le=100.0, description="Amount of even harmonics, 0 to 100.")

    def __init__(self, gain: float = 20.0, colour: float = 20.0) -> None:
        params = self.validated(locals())
        super().__init__()
        self.gain = params.gain
        self.colour = params.colour

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The overdriven waveform in ``[-1, 1]``, same shape and dtype."""
        return apply_overdrive(waveform, self.gain, self.colour)


class Phaser(DspTransform):
    """Phaser on ``(..., time)``, as ``torchaudio.functional.phaser`` (SoX ``phaser``).

    The sweep (one LFO period of delays) is described at construction and evaluated for each input's samples,
    so its cost does not grow with the sample rate; the feedback line is solved in
    blocks of 256 samples, each by a triangular solve (see :mod:`tympan.plugins.dsp.functional._modulated_delay`).

    Example:
        >>> import torch
        >>> phaser = Phaser(sample_rate=8000, decay=0.6)
        >>> phaser(torch.randn(2, 800) * 0.1).shape, phaser.output_sample_rate
        (torch.Size([2, 800]), 8000)
    """

    qualified_name = "dsp:phaser"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Phaser` (SoX's ranges)."""

        sample_rate: int = _RATE
        gain_in: float = Field(0.4, ge=0.0, le=1.0, description="Input gain, 0 to 1.")
        gain_out: float = Field(0.74, ge=0.0, le=1e9, description="Output gain.")
        delay_ms: float = Field(3.0, gt=0.0, le=5.0, description="Longest delay in ms, up to 5 (at least 1 sample).")
        decay: float = Field(0.4, ge=0.0, le=0.99, description="Feedback gain, 0 to 0.99.")
        mod_speed: float = Field(0.5, ge=0.1, le=2.0, description="Sweeps per second (Hz), 0.1 to 2.")
        sinusoidal: bool = Field(True, description="Sine sweep (True) or triangle sweep (False).")

        @field_validator("delay_ms")
        @classmethod
        def _one_sample_at_least(cls, value: float, info: ValidationInfo) -> float:
            rate = info.data.get("sample_rate")
            if rate is not None and int(value * 0.001 * rate + 0.5) < 1:
                raise ValueError(f"must be at least half a sample ({500.0 / rate:g} ms at {rate} Hz)")
            return value

    def __init__(
        self,
        sample_rate: int,
        gain_in: float = 0.4,
        gain_out: float = 0.74,
        delay_ms: float = 3.0,
        decay: float = 0.4,
        mod_speed: float = 0.5,
        sinusoidal: bool = True,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.gain_in = params.gain_in
        self.gain_out = params.gain_out
        self.decay = params.decay
        self.sinusoidal = params.sinusoidal
        self.period, self.length = phaser_sweep(params.sample_rate, params.delay_ms, params.mod_speed)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The phased waveform in ``[-1, 1]``, same shape and dtype."""
        return apply_phaser(
            waveform, self.period, self.length, self.sinusoidal, self.gain_in, self.gain_out, self.decay
        )


class Flanger(DspTransform):
    """Flanger on ``(..., channels, time)``, as ``torchaudio.functional.flanger`` (SoX ``flanger``).

    Channel ``c`` runs ``c * phase`` percent of a sweep ahead. The sweep (one LFO period of delays) is
    described at construction and evaluated for each input's samples, so its cost does not grow with the
    sample rate; with ``regen`` the feedback line is solved in blocks of 256 samples, each
    by a triangular solve (see :mod:`tympan.plugins.dsp.functional._modulated_delay`).

    Example:
        >>> import torch
        >>> Flanger(sample_rate=8000, delay=1.0, interpolation="quadratic")(torch.randn(2, 800)).shape
        torch.Size([2, 800])
    """

    qualified_name = "dsp:flanger"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Flanger` (SoX's ranges)."""

        sample_rate: int = _RATE
        delay: float = Field(0.0, ge=0.0, le=30.0, description="Base delay in ms, 0 to 30.")
        depth: float = Field(2.0, ge=0.0, le=10.0, description="Swept delay added to the base, in ms, 0 to 10.")
        regen: float = Field(0.0, ge=-95.0, le=95.0, description="Percent of the delayed signal fed back, -95 to 95.")
        width: float = Field(71.0, ge=0.0, le=100.0, description="Percent of the delayed signal mixed in, 0 to 100.")
        speed: float = Field(0.5, ge=0.1, le=10.0, description="Sweeps per second (Hz), 0.1 to 10.")
        phase: float = Field(25.0, ge=0.0, le=100.0, description="Percent of a sweep between channels, 0 to 100.")
        modulation: Literal["sinusoidal", "triangular"] = Field("sinusoidal", description="Sweep shape.")
        interpolation: Literal["linear", "quadratic"] = Field("linear", description="Delay-line interpolation.")

    def __init__(
        self,
        sample_rate: int,
        delay: float = 0.0,
        depth: float = 2.0,
        regen: float = 0.0,
        width: float = 71.0,
        speed: float = 0.5,
        phase: float = 25.0,
        modulation: str = "sinusoidal",
        interpolation: str = "linear",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.phase = params.phase / 100
        self.regen = params.regen / 100
        self.width = params.width / 100
        self.quadratic = params.interpolation == "quadratic"
        self.sinusoidal = params.modulation == "sinusoidal"
        self.period, self.low, self.high = flanger_sweep(params.sample_rate, params.delay, params.depth, params.speed)

    def example_input(self, batch: int) -> torch.Tensor:
        """A tenth of a second of stereo noise ``(batch, 2, time)``, at most 2**20 samples, for the contract checks."""
        generator = torch.Generator().manual_seed(0)
        return 0.3 * torch.randn(batch, 2, min(self.sample_rate // 10, 1 << 20), generator=generator)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The flanged waveform in ``[-1, 1]``, same shape and dtype."""
        return apply_flanger(
            waveform,
            self.period,
            self.low,
            self.high,
            self.sinusoidal,
            self.phase,
            self.regen,
            self.width,
            self.quadratic,
        )
