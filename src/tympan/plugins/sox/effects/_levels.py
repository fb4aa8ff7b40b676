"""SoX's level effects: ``gain``, ``norm``, ``vol``, ``dcshift``, ``contrast`` and ``overdrive``.

``dcshift``, ``contrast`` and ``overdrive`` run the DSP plugin's implementations (matched to the ``sox``
program there); ``gain`` and ``norm`` scan each signal (its peak, or each channel's peak or RMS) before
applying the gain, as SoX does with its temporary file.

Example:
    >>> import torch
    >>> Norm(level=-6.0)(torch.tensor([[0.25, -0.125]])).tolist()
    [[0.5011872053146362, -0.2505936026573181]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import torch
from pydantic import Field

from tympan.core.errors import ExportError
from tympan.core.params import validated_arguments
from tympan.core.streaming import StreamingStep
from tympan.plugins.dsp.building_blocks import apply_contrast, apply_dcshift, apply_overdrive
from tympan.plugins.sox._grammar import parse_float
from tympan.plugins.sox.effects._base import PointwiseEffect, Signal, SoxEffect, number, take_flags
from tympan.plugins.sox.functional._gain import apply_gain

__all__ = ["Contrast", "DCShift", "Gain", "Norm", "Overdrive", "Vol"]

_Db = Annotated[float, Field(ge=-200, le=200, description="Gain in dB.")]


class Gain(PointwiseEffect, SoxEffect):
    """SoX ``gain [-e|-B|-b|-r] [-n] [-l|-h] [gain-dB]``.

    ``normalize`` (``-n``) brings each signal's peak to 0 dBFS before ``gain_db`` (then usually negative);
    ``equalize`` (``-e``) brings every channel's peak to the loudest channel's (with ``-n``: each channel to
    0 dBFS); ``balance`` ``"B"`` brings every channel's RMS to the loudest's, ``"b"`` the same with clip
    protection; ``reclaim`` (``-r``) amplifies as much as ``headroom`` allows without clipping;
    ``limiter`` (``-l``) is SoX's simple limiter; ``headroom_for_next`` (``-h``) lowers the gain by what the
    following effects of a chain need to stay clear of clipping (a chain sets it).

    Example:
        >>> import torch
        >>> Gain(gain_db=-6.0, normalize=True)(torch.tensor([[0.1, -0.05]])).tolist()[0][0] > 0.49
        True
    """

    sox_name = "gain"
    qualified_name = "sox:gain"
    sets_gain = True

    def __init__(
        self,
        gain_db: _Db = 0.0,
        normalize: Annotated[bool, Field(description="Normalise the peak to 0 dBFS first (-n).")] = False,
        equalize: Annotated[bool, Field(description="Equalise the channels' peaks (-e).")] = False,
        balance: Annotated[
            Literal["B", "b"] | None, Field(description="Balance the channels' RMS: B, or b with clip protection.")
        ] = None,
        reclaim: Annotated[bool, Field(description="Reclaim the headroom a previous gain -h made (-r).")] = False,
        limiter: Annotated[bool, Field(description="Apply SoX's simple limiter (-l).")] = False,
        headroom_for_next: Annotated[bool, Field(description="Make headroom for the following effects (-h).")] = False,
        headroom: Annotated[
            float | None,
            Field(gt=0, le=1, description="The linear gain a previous gain -h applied; -r reclaims its inverse."),
        ] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self._configure(params.gain_db, params.normalize, params.equalize, params.balance, params.limiter)
        self.reclaim = 1.0 / params.headroom if params.reclaim and params.headroom is not None else -1.0
        self.headroom_for_next = params.headroom_for_next

    def _configure(self, gain_db: float, normalize: bool, equalize: bool, balance: str | None, limiter: bool) -> None:
        self.gain_db = gain_db
        self.fixed_gain = 10.0 ** (gain_db / 20)
        self.normalize = normalize
        self.equalize = equalize
        self.balance = {None: 0, "B": 1, "b": 2}[balance]
        self.reclaim = -1.0
        self.limiter = limiter
        self.headroom_for_next = False
        self.per_item = self.balance > 0

    @staticmethod
    def check_params(params: Any) -> None:
        """SoX's exclusions: one of -e, -B, -b, -r; not -n with -r; not -l with -h; -r needs headroom."""
        if params.equalize + (params.balance is not None) + params.reclaim > 1:
            raise ValueError("only one of -e, -B, -b, -r may be given")
        if params.normalize and params.reclaim:
            raise ValueError("only one of -n, -r may be given")
        if params.limiter and params.headroom_for_next:
            raise ValueError("only one of -l, -h may be given")
        if params.reclaim and (params.headroom is None or params.headroom >= 1):
            raise ValueError("can't reclaim headroom: no gain -h made any before this effect")

    @torch.jit.unused
    def make_headroom(self, factor: float) -> None:
        """Multiply the gain by ``factor`` (< 1): a following effect asks for headroom (``-h``).

        Example:
            >>> gain = Gain(headroom_for_next=True)
            >>> gain.make_headroom(0.5)
            >>> gain.fixed_gain
            0.5
        """
        self.fixed_gain *= factor

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-e|-B|-b|-r] [-n] [-l|-h] [gain-dB]``."""
        args = list(args)
        flags = take_flags(args, "neBbrlh")
        kwargs: dict[str, Any] = {
            "normalize": "n" in flags,
            "equalize": "e" in flags,
            "balance": "B" if "B" in flags else "b" if "b" in flags else None,
            "reclaim": "r" in flags,
            "limiter": "l" in flags,
            "headroom_for_next": "h" in flags,
        }
        if len(args) > 1:
            raise ValueError(f"unexpected options {' '.join(args[1:])!r}")
        if args:
            kwargs["gain_db"] = parse_float(args[0], "gain-dB")
        return kwargs

    def streaming_step(self, chunk_samples: int, dtype: torch.dtype = torch.float64) -> StreamingStep:
        """A fixed gain per chunk, for export; the options that scan the signal first cannot stream.

        Example:
            >>> Gain(gain_db=-3.0).streaming_step(160).output_size
            160
        """
        scanning = {"normalize": self.normalize, "equalize": self.equalize, "balance": self.balance > 0}
        scans = [name for name, used in {**scanning, "reclaim": self.reclaim > 0}.items() if used]
        if scans:
            reason = f"{', '.join(scans)} scans the whole signal first, so it cannot stream"
            raise ExportError([f"{self.qualified_name}: {reason}"])
        return super().streaming_step(chunk_samples, dtype)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform times the gain (after the scan), clipped to ``[-1, 1]`` (or limited)."""
        return apply_gain(
            waveform, self.fixed_gain, self.normalize, self.equalize, self.balance, self.reclaim, self.limiter
        )


class Norm(Gain):
    """SoX ``norm [level]``: ``gain -n [level]``, each signal's peak brought to ``level`` dBFS.

    Example:
        >>> Norm().normalize
        True
    """

    sox_name = "norm"
    qualified_name = "sox:norm"

    def __init__(self, level: Annotated[float, Field(ge=-200, le=200, description="Peak level, dBFS.")] = 0.0) -> None:
        params = validated_arguments(type(self), locals())
        SoxEffect.__init__(self)
        self._configure(params.level, True, False, None, False)

    @staticmethod
    def check_params(params: Any) -> None:
        """Nothing to cross-check: ``norm`` has one option."""

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[level]``."""
        if len(args) > 1:
            raise ValueError(f"expected [level], got {' '.join(args)!r}")
        return {"level": parse_float(args[0], "level")} if args else {}


class Vol(PointwiseEffect, SoxEffect):
    """SoX ``vol GAIN [TYPE [LIMITERGAIN]]``: a gain as an amplitude ratio (negative inverts), a power ratio
    or dB, clipped, with an optional peak limiter (``limiter_gain`` < 1, for gains above 1).

    Example:
        >>> import torch
        >>> Vol(gain=6.0, gain_type="db")(torch.tensor([[0.25]])).item() > 0.49
        True
    """

    sox_name = "vol"
    qualified_name = "sox:vol"
    sets_gain = True

    def __init__(
        self,
        gain: Annotated[float, Field(ge=-1e6, le=1e6, description="The gain, in the unit of gain_type.")] = 1.0,
        gain_type: Annotated[
            Literal["amplitude", "power", "db"], Field(description="amplitude ratio, power ratio or dB.")
        ] = "amplitude",
        limiter_gain: Annotated[
            float | None, Field(gt=0, lt=1, description="Gain of the peak limiter (e.g. 0.05); None: no limiter.")
        ] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        if params.gain_type == "db":
            linear = 10.0 ** (params.gain / 20)
        elif params.gain_type == "power":
            linear = abs(params.gain) ** 0.5 * (1.0 if params.gain > 0 else -1.0)
        else:
            linear = params.gain
        self.linear = float(linear)
        self.limiter_gain = -1.0 if params.limiter_gain is None else params.limiter_gain
        self.threshold = 2.0
        if params.limiter_gain is not None:
            self.threshold = (1.0 - params.limiter_gain) / (abs(linear) - params.limiter_gain)

    @staticmethod
    def check_params(params: Any) -> None:
        """The limiter needs a gain of magnitude at least 1."""
        if params.limiter_gain is not None:
            scale = 10.0 ** (params.gain / 20) if params.gain_type == "db" else abs(params.gain)
            scale = scale**0.5 if params.gain_type == "power" else scale
            if scale < 1:
                raise ValueError("a limiter needs a gain of at least 1")

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``GAIN [TYPE [LIMITERGAIN]]`` (the type may follow the gain directly: ``6dB``)."""
        args = list(args)
        if not 1 <= len(args) <= 3:
            raise ValueError(f"expected GAIN [TYPE [LIMITERGAIN]], got {' '.join(args)!r}")
        head = args.pop(0)
        stripped = head.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if stripped.endswith(("e", "E")) and stripped != head:
            stripped = stripped[:-1]
        unit = head[len(stripped) :]
        kwargs: dict[str, Any] = {"gain": parse_float(stripped, "gain")}
        if not unit and args:
            unit = args.pop(0)
        if unit:
            kwargs["gain_type"] = _vol_type(unit)
        if args:
            kwargs["limiter_gain"] = number(args.pop(0), "limiter gain", 0, 1)
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform times the gain, clipped to ``[-1, 1]`` (or limited)."""
        if self.linear == 1.0:
            return waveform
        out = waveform * self.linear
        if self.limiter_gain > 0:
            top = 1.0 - self.limiter_gain * (1.0 - waveform)
            bottom = -(1.0 - self.limiter_gain * (1.0 + waveform))
            out = torch.where(waveform > self.threshold, top, torch.where(waveform < -self.threshold, bottom, out))
        return out.clamp(-1.0, 1.0)


def _vol_type(text: str) -> str:
    for name in ("amplitude", "power", "db"):
        if name.startswith(text.lower()):
            return name
    raise ValueError(f"unknown gain type {text!r} (amplitude, power or dB)")


class DCShift(PointwiseEffect, SoxEffect):
    """SoX ``dcshift shift [limitergain]``: adds ``shift`` and clips, with an optional limiter (the DSP
    plugin's :func:`~tympan.plugins.dsp.functional.dcshift`).

    Example:
        >>> import torch
        >>> DCShift(shift=0.25)(torch.zeros(1, 2)).tolist()
        [[0.25, 0.25]]
    """

    sox_name = "dcshift"
    qualified_name = "sox:dcshift"
    sets_gain = True

    def __init__(
        self,
        shift: Annotated[float, Field(ge=-2, le=2, description="Amount added to every sample.")] = 0.0,
        limiter_gain: Annotated[
            float | None, Field(ge=0, le=2, description="Limiter gain (e.g. 0.05); None: no limiter.")
        ] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.shift = params.shift
        self.limiter_gain: float | None = params.limiter_gain

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``shift [limitergain]``."""
        if not 1 <= len(args) <= 2:
            raise ValueError(f"expected shift [limitergain], got {' '.join(args)!r}")
        kwargs: dict[str, Any] = {"shift": number(args[0], "shift", -2, 2)}
        if len(args) > 1:
            kwargs["limiter_gain"] = number(args[1], "limitergain", 0, 2)
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The shifted waveform in ``[-1, 1]``."""
        return apply_dcshift(waveform, self.shift, self.limiter_gain)


class Contrast(PointwiseEffect, SoxEffect):
    """SoX ``contrast [enhancement (75)]`` (the DSP plugin's :func:`~tympan.plugins.dsp.functional.contrast`).

    Example:
        >>> import torch
        >>> Contrast()(torch.zeros(1, 3)).tolist()
        [[0.0, 0.0, 0.0]]
    """

    sox_name = "contrast"
    qualified_name = "sox:contrast"

    def __init__(
        self, enhancement: Annotated[float, Field(ge=0, le=100, description="Amount of enhancement.")] = 75.0
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.enhancement = params.enhancement

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[enhancement]``."""
        if len(args) > 1:
            raise ValueError(f"expected [enhancement], got {' '.join(args)!r}")
        return {"enhancement": number(args[0], "enhancement", 0, 100)} if args else {}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The enhanced waveform."""
        return apply_contrast(waveform, self.enhancement)


class Overdrive(SoxEffect):
    """SoX ``overdrive [gain [colour]]`` (the DSP plugin's :func:`~tympan.plugins.dsp.functional.overdrive`;
    like SoX, a gain of 0 dB is no effect).

    Example:
        >>> import torch
        >>> Overdrive(gain=20.0)(torch.zeros(1, 2)).abs().max().item() < 0.1  # the colour's offset, DC-blocked
        True
    """

    sox_name = "overdrive"
    qualified_name = "sox:overdrive"
    sets_gain = True

    def __init__(
        self,
        gain: Annotated[float, Field(ge=0, le=100, description="Drive in dB.")] = 20.0,
        colour: Annotated[float, Field(ge=0, le=100, description="Amount of even harmonics.")] = 20.0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.gain = params.gain
        self.colour = params.colour

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[gain [colour]]``."""
        if len(args) > 2:
            raise ValueError(f"expected [gain [colour]], got {' '.join(args)!r}")
        names = ("gain", "colour")
        return {name: number(text, name, 0, 100) for name, text in zip(names[: len(args)], args, strict=True)}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The overdriven waveform in ``[-1, 1]``."""
        if self.gain == 0.0:
            return waveform
        return apply_overdrive(waveform, self.gain, self.colour)
