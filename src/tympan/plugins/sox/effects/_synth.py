"""SoX's generators: ``synth`` (tones, sweeps, noises, plucks; made from nothing or combined with the input)
and ``dither``.

Both draw their noise from a ``torch.Generator`` seeded with ``seed``: the same seed gives the same
output, call after call; every item of a batch gets the same noise.

Example:
    >>> import torch
    >>> Synth(8000, tones=[{"kind": "square", "frequency": 2000.0}])(torch.zeros(1, 4)).tolist()
    [[1.0, 1.0, -1.0, -1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from tympan.core.params import validated_arguments
from tympan.plugins.sox._grammar import parse_float, parse_note_frequency, parse_time, time_text
from tympan.plugins.sox.effects._base import Signal, SoxEffect, choice, take_flags
from tympan.plugins.sox.effects._fields import SampleRate, TimeSpec
from tympan.plugins.sox.functional._dither import SHAPING_FILTERS, dither, shaping_filter
from tympan.plugins.sox.functional._synth import COMBINES, NOISES, SWEEPS, TONES, ToneSpec, combine, synthesize

__all__ = ["Dither", "Synth", "Tone"]

_Fraction = Annotated[float | None, Field(ge=0, le=1, description="Shape parameter, 0 to 1; None: SoX's default.")]


class Tone(BaseModel):
    """One channel of ``synth`` (see :class:`~tympan.plugins.sox.functional._synth.ToneSpec`).

    Example:
        >>> Tone(kind="pinknoise").frequency
        440.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[
        "sine",
        "square",
        "sawtooth",
        "triangle",
        "trapezium",
        "exp",
        "whitenoise",
        "tpdfnoise",
        "pinknoise",
        "brownnoise",
        "pluck",
    ] = Field("sine", description="The waveform or noise.")
    combines: Literal["create", "mix", "amod", "fmod"] = Field(
        "create", description="create (replace the input), mix, amod or fmod (modulate it)."
    )
    frequency: float = Field(440.0, ge=0, le=1e6, description="Frequency in Hz (the start of a sweep).")
    frequency2: float | None = Field(None, ge=0, le=1e6, description="The end of a sweep, Hz.")
    sweep: Literal["linear", "square", "exponential", "cycles"] = Field("linear", description="How it sweeps.")
    offset: float = Field(0.0, ge=-1, le=1, description="DC offset, -1 to 1.")
    phase: float = Field(0.0, ge=0, le=1, description="Phase offset, a fraction of a cycle.")
    p1: _Fraction = None
    p2: _Fraction = None
    p3: _Fraction = None

    def spec(self) -> ToneSpec:
        """The functional form's description of this channel.

        Example:
            >>> Tone(kind="square").spec().kind
            'square'
        """
        return ToneSpec(**self.model_dump())


_DEFAULT_TONES = (Tone(),)


def _tone_arguments(args: list[str], master: dict[str, Any]) -> list[dict[str, Any]]:
    """SoX's ``{type [combine] [[%]freq[k][:|+|/|-[%]freq2[k]] [offset [phase [p1 [p2 [p3]]]]]]}``."""
    tones: list[dict[str, Any]] = []
    kinds = (*TONES, *NOISES, "noise", "trapetz")
    while args:
        word = args.pop(0)
        kind = choice(word, kinds, "type")
        kind = {"noise": "whitenoise", "trapetz": "trapezium"}.get(kind, kind)
        tone = {**master, "kind": kind}
        if args and args[0] in COMBINES:
            tone["combines"] = args.pop(0)
        if args and not args[0].startswith("-") and not any(k.startswith(args[0]) for k in kinds):
            text = args.pop(0)
            cut = next((i for i, c in enumerate(text) if i and c in SWEEPS and text[i - 1] not in "eE"), None)
            if cut is not None:
                if kind in NOISES:
                    raise ValueError(f"can't sweep {kind}")
                tone["frequency2"] = parse_note_frequency(text[cut + 1 :])
                tone["sweep"] = SWEEPS[text[cut]]
                text = text[:cut]
            tone["frequency"] = parse_note_frequency(text)
        tone.update(_percentages(args))
        tones.append(tone)
    return tones


def _percentages(args: list[str]) -> dict[str, Any]:
    """``[offset [phase [p1 [p2 [p3]]]]]`` in percent, as fractions."""
    found: dict[str, Any] = {}
    for name, low in (("offset", -100), ("phase", 0), ("p1", 0), ("p2", 0), ("p3", 0)):
        if not args or not (
            args[0][:1].isdigit() or (args[0][:1] in "-." and args[0][1:2].replace(".", "0").isdigit())
        ):
            break
        value = parse_float(args.pop(0), name)
        if not low <= value <= 100:
            raise ValueError(f"{name} must be between {low} and 100, got {value:g}")
        found[name] = value / 100
    return found


class Synth(SoxEffect):
    """SoX ``synth [-n] [length [offset [phase [p1 [p2 [p3]]]]]] {type [combine] [freq[:|+|/|-freq2]]
    [offset [phase [p1 [p2 [p3]]]]]}``: tones, sweeps and noises, replacing the input (``create``) or
    combined with it (``mix``, ``amod``, ``fmod``); one ``tones`` entry per channel, repeated cyclically.
    ``length`` cuts the output (a sweep spans it); without it the input's length is used. The output is
    scaled down when following effects ask for headroom, unless ``no_headroom`` (``-n``).

    Example:
        >>> import torch
        >>> noise = Synth(8000, tones=[{"kind": "whitenoise"}], seed=3)
        >>> torch.equal(noise(torch.zeros(1, 100)), noise(torch.zeros(1, 100)))
        True
    """

    sox_name = "synth"
    qualified_name = "sox:synth"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    lengths_policy = "items"
    sets_gain = True
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        tones: Annotated[
            list[Tone], Field(min_length=1, max_length=64, description="One entry per channel.")
        ] = _DEFAULT_TONES,  # type: ignore[assignment]
        length: Annotated[TimeSpec | None, Field(description="Output length; None: the input's.")] = None,
        no_headroom: Annotated[bool, Field(description="Leave the level alone when effects ask for headroom.")] = False,
        seed: Annotated[int, Field(ge=0, le=2**63 - 1, description="Seed of the noise generator.")] = 0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.tones = [tone.spec() for tone in params.tones]
        self.length = parse_time(time_text(params.length), params.sample_rate) if params.length is not None else -1
        self.no_headroom = params.no_headroom
        self.seed = params.seed
        self.gain = 1.0

    @staticmethod
    def check_params(params: Any) -> None:
        """SoX's rules: a sweep needs a length; plucks need 27.5 to 4220 Hz; exponential sweeps no zero."""
        for tone in params.tones:
            if tone.frequency2 is not None and params.length is None:
                raise ValueError("a length must be given when sweeping to a second frequency")
            if tone.kind == "pluck" and not 27.5 <= tone.frequency <= 4220:
                raise ValueError(f"a pluck's frequency must be between 27.5 and 4220 Hz, got {tone.frequency:g}")
            if tone.sweep in ("exponential", "cycles") and tone.frequency * (tone.frequency2 or 1) == 0:
                raise ValueError("an exponential sweep cannot start or end at 0 Hz")

    @torch.jit.unused
    def provides_headroom(self) -> bool:
        """Whether following effects may scale the output down for headroom (unless ``-n``)."""
        return not self.no_headroom

    @torch.jit.unused
    def make_headroom(self, factor: float) -> None:
        """Scale the output by ``factor`` (SoX's headroom)."""
        self.gain *= factor

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-n] [length [offset [phase [p1 [p2 [p3]]]]]] {type [combine] [freq] [offset ...]}``."""
        args = list(args)
        if "-j" in args[:3]:
            raise ValueError("option -j (just intonation) is not supported")
        flags = take_flags(args, "n")
        kwargs: dict[str, Any] = {"no_headroom": "n" in flags}
        if args and (args[0][:1].isdigit() or args[0][:1] == "."):
            kwargs["length"] = args.pop(0)
        master = _percentages(args)
        kwargs["tones"] = _tone_arguments(args, master) or [{**master}]
        return kwargs

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The given length, at most the input's."""
        return length if self.length < 0 else min(length, self.length)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The synthesised (or combined) audio, as long as the input or ``length``, whichever is shorter."""
        total = waveform.shape[-1] if self.length < 0 else self.length
        length = min(total, waveform.shape[-1])
        generator = torch.Generator().manual_seed(self.seed)
        sound = synthesize(self.tones, self.sample_rate, length, waveform.shape[-2], generator, total=total)
        how = [tone.combines for tone in self.tones]
        return combine(sound, waveform[..., :length], how, self.gain)


class Dither(SoxEffect):
    """SoX ``dither [-S|-s|-f filter] [-a] [-p precision]``: TPDF noise before rounding to ``precision`` bits
    (16 by default; the sox command uses its output's), sloped (``-S``) or noise-shaped (``-s`` Shibata, or
    ``-f`` a named filter; plain or sloped TPDF where no filter is designed for the rate).

    Example:
        >>> import torch
        >>> y = Dither(44100, precision=8, seed=1)(torch.zeros(1, 4000))
        >>> bool(((y * 128).round() == y * 128).all())
        True
    """

    sox_name = "dither"
    qualified_name = "sox:dither"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_rate: SampleRate = 44100,
        precision: Annotated[int, Field(ge=2, le=24, description="Target bits per sample.")] = 16,
        sloped: Annotated[bool, Field(description="Sloped TPDF, rising with frequency (-S).")] = False,
        shaping: Annotated[
            Literal[
                "lipshitz",
                "f-weighted",
                "modified-e-weighted",
                "improved-e-weighted",
                "gesemann",
                "shibata",
                "low-shibata",
                "high-shibata",
            ]
            | None,
            Field(description="Noise-shaping filter (-s: shibata, -f NAME); None: no shaping."),
        ] = None,
        auto: Annotated[bool, Field(description="Dither only where the audio needs it (-a).")] = False,
        seed: Annotated[int, Field(ge=0, le=2**63 - 1, description="Seed of the noise generator.")] = 0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.precision = params.precision
        self.auto = params.auto
        self.seed = params.seed
        self.filter = shaping_filter(params.shaping, params.sample_rate) if params.shaping else None
        self.mode = (
            "sloped"
            if params.sloped or (params.shaping and not self.filter and params.sample_rate >= 22050)
            else "tpdf"
        )

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """``[-S|-s|-f filter] [-a] [-p precision]``."""
        args = list(args)
        flags = take_flags(args, "Ssfap", with_value="fp")
        if args:
            raise ValueError(f"unexpected options {' '.join(args)!r}")
        kwargs: dict[str, Any] = {"sloped": "S" in flags, "auto": "a" in flags}
        if "s" in flags:
            kwargs["shaping"] = "shibata"
        if "f" in flags:
            kwargs["shaping"] = choice(flags["f"], tuple(SHAPING_FILTERS), "filter")
        if "p" in flags:
            value = parse_float(flags["p"], "precision")
            if value != int(value) or not 1 <= value <= 24:
                raise ValueError(f"precision must be a whole number of bits from 1 to 24, got {flags['p']!r}")
            kwargs["precision"] = int(value)
        return kwargs

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The waveform dithered and rounded to ``precision`` bits."""
        return dither(waveform, self.precision, self.mode, self.filter, self.auto, self.seed)
