"""What every SoX effect shares: the ``SoxEffect`` base, the signal an effect is built for, and the step from
SoX's command-line options to validated parameters.

An effect class declares its parameters once, in its constructor's signature (SoX's options with SoX's
defaults and bounds), and turns SoX's argument list into those parameters in :meth:`SoxEffect.from_sox`.
:func:`build_effect` runs both and reports any problem as a
:class:`~tympan.plugins.sox.errors.SoxEffectError` naming the effect and the option.

Batches of signals of different lengths carry ``lengths``: :meth:`SoxEffect.forward_with_lengths` maps them
by the class's ``lengths_policy``:

- ``"same"``: the length is kept and the valid part of each signal never depends on what follows it;
- ``"mapped"``: the length changes by :meth:`SoxEffect.output_length`, and each signal's valid part is what
  it would be alone (zeros after the end are what SoX feeds when it flushes);
- ``"items"``: the effect depends on the whole signal (its end, its RMS, its content), so each signal
  is processed on its own, then padded again. An instance whose options make it so (a position relative
  to the end, say) sets ``per_item``.

Example:
    >>> import torch
    >>> from tympan.plugins.sox.effects import Gain
    >>> effect = build_effect(Gain, ["-6"], Signal(16000, 2))
    >>> round(effect.gain_db, 1), effect(torch.full((2, 4), 0.5))[0, 0].item() < 0.26
    (-6.0, True)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as nnf

from tympan.core.components import Effect, input_rate_parameter
from tympan.core.errors import InvalidParameterError
from tympan.core.streaming import PointwiseStep, StreamingStep, check_chunk_samples
from tympan.plugins.sox._grammar import parse_float, parse_position
from tympan.plugins.sox.errors import SoxEffectError

_NUMERIC_START = re.compile(r"^[+-]?(\d|\.\d)")

__all__ = [
    "PointwiseEffect",
    "Signal",
    "choice",
    "leading_numbers",
    "SoxEffect",
    "build_effect",
    "number",
    "resolve_positions",
    "take_flags",
]


class Signal(NamedTuple):
    """What is known of the audio entering an effect: its rate, channels and (per channel) length.

    ``sample_rate`` may be fractional after ``speed``; ``channels`` and ``length`` are ``None`` when unknown
    (a module built once for many batches).

    Example:
        >>> Signal(44100, 2).length is None
        True
    """

    sample_rate: float
    channels: int | None = None
    length: int | None = None


class PointwiseEffect:
    """Mixin of the effects that map each sample on its own: their streaming step is the effect per chunk.

    Example:
        >>> from tympan.plugins.sox.effects import Vol
        >>> Vol(gain=0.5).streaming_step(160).state_size
        0
    """

    def streaming_step(self, chunk_samples: int, dtype: torch.dtype = torch.float64) -> StreamingStep:
        """The effect applied to each chunk of ``chunk_samples`` samples, for export."""
        check_chunk_samples(self.qualified_name, chunk_samples, 1, "samples")  # type: ignore[attr-defined]
        return PointwiseStep(self, chunk_samples, dtype)  # type: ignore[arg-type]


class SoxEffect(Effect):
    """Base of the SoX effects: a waveform ``(..., channels, time)`` to a waveform.

    Subclasses set ``sox_name`` and ``qualified_name``, declare their parameters in ``__init__`` and parse
    SoX's options in :meth:`from_sox`.

    Example:
        >>> from tympan.plugins.sox.effects import Reverse
        >>> Reverse.sox_name, Reverse.lengths_policy
        ('reverse', 'items')
    """

    sox_name: ClassVar[str] = ""
    qualified_name: ClassVar[str] = ""
    lengths_policy: ClassVar[str] = "same"
    #: Whether the effect passes audio through unchanged and measures it (its numbers are its result).
    analysis: ClassVar[bool] = False
    #: Whether the output length depends on the audio itself (``silence``, ``vad``, ``splice``).
    data_dependent_length: ClassVar[bool] = False
    #: Whether the effect sets the level itself (SoX's gain flag): a ``gain -h`` before it makes no
    #: headroom for what follows it.
    sets_gain: ClassVar[bool] = False
    #: Whether the effect's options set the number of output channels (``channels``, ``remix``): a chain
    #: ends with the channels of the last such effect, as the ``sox`` program writes them.
    declares_channels: ClassVar[bool] = False
    #: Keyword arguments the generated functional form's example passes (for effects with no usable defaults).
    example_arguments: ClassVar[str] = ""

    @classmethod
    def from_sox(cls, args: Sequence[str], signal: Signal) -> dict[str, Any]:
        """The constructor's keyword arguments for SoX's options ``args`` (``ValueError`` when they are bad).

        Example:
            >>> from tympan.plugins.sox.effects import Reverse
            >>> Reverse.from_sox([], Signal(8000))
            {}
        """
        if args:
            raise ValueError(f"takes no options, got {' '.join(args)!r}")
        return {}

    @torch.jit.unused
    def output_channels(self, channels: int) -> int:
        """The number of channels the effect outputs for ``channels`` in (``ValueError`` if it cannot take them).

        Example:
            >>> from tympan.plugins.sox.effects import Reverse
            >>> Reverse().output_channels(2)
            2
        """
        return channels

    @torch.jit.unused
    def headroom_factor(self) -> float:
        """The factor a preceding ``gain -h`` scales its gain by, to leave this effect room (SoX's headroom).

        Example:
            >>> from tympan.plugins.sox.effects import Reverse
            >>> Reverse().headroom_factor()
            1.0
        """
        return 1.0

    @torch.jit.unused
    def output_length(self, length: int) -> int:
        """The output length (per channel) for ``length`` samples in, where it depends on the length only.

        Example:
            >>> from tympan.plugins.sox.effects import Reverse
            >>> Reverse().output_length(100)
            100
        """
        return length

    @torch.jit.unused
    def forward_with_lengths(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the effect to a batch ``(batch, channels, time)`` whose item ``i`` holds ``lengths[i]`` samples
        (zeros after them); returns the output and its lengths (see the module docstring).

        Example:
            >>> import torch
            >>> from tympan.plugins.sox.effects import Reverse
            >>> out, n = Reverse().forward_with_lengths(torch.tensor([[[1.0, 2.0, 0.0]]]), torch.tensor([2]))
            >>> out.tolist(), n.tolist()
            ([[[2.0, 1.0]]], [2])
        """
        if waveform.dim() != 3 or lengths.shape != waveform.shape[:1]:
            raise ValueError(
                f"{self.sox_name}: expected a batch (batch, channels, time) and lengths (batch,), "
                f"got {tuple(waveform.shape)} and {tuple(lengths.shape)}"
            )
        policy = "items" if getattr(self, "per_item", False) else self.lengths_policy
        if policy == "items":
            items = [self(waveform[i, :, : int(n)]) for i, n in enumerate(lengths.tolist())]
            longest = max((item.shape[-1] for item in items), default=0)
            out = torch.stack([nnf.pad(item, [0, longest - item.shape[-1]]) for item in items])
            return out, torch.tensor([item.shape[-1] for item in items], dtype=lengths.dtype)
        out = self(waveform)
        if policy == "mapped":
            lengths = torch.tensor([self.output_length(int(n)) for n in lengths.tolist()], dtype=lengths.dtype)
            out = out[..., : int(lengths.max()) if lengths.numel() else 0]
        # what a filter rings on with, or a resampler spreads, past each end is not part of that signal
        valid = torch.arange(out.shape[-1], device=out.device) < lengths.to(out.device)[:, None, None]
        return out * valid, lengths


def build_effect(cls: type[SoxEffect], args: Sequence[str], signal: Signal, **extra: Any) -> SoxEffect:
    """The effect ``cls`` built from SoX's options ``args`` for ``signal`` (``extra`` overrides arguments).

    Raises :class:`~tympan.plugins.sox.errors.SoxEffectError` naming the effect and the problem.

    Example:
        >>> from tympan.plugins.sox.effects import Gain
        >>> build_effect(Gain, ["-x"], Signal(8000))
        Traceback (most recent call last):
        ...
        tympan.plugins.sox.errors.SoxEffectError: sox gain: invalid option '-x'
    """
    try:
        kwargs = cls.from_sox(list(args), signal)
        rate_param = input_rate_parameter(cls)
        if rate_param is not None and rate_param not in kwargs:
            kwargs[rate_param] = _rate_argument(signal.sample_rate)
        kwargs.update(extra)
        effect = cls(**kwargs)
        if signal.channels is not None:
            effect.output_channels(signal.channels)
    except InvalidParameterError as err:
        raise SoxEffectError(cls.sox_name, "; ".join(_plain_problem(p) for p in err.problems)) from None
    except (ValueError, TypeError) as err:
        raise SoxEffectError(cls.sox_name, str(err)) from None
    return effect


def _plain_problem(problem: str) -> str:
    """A parameter problem as SoX-style text: a cross-field rule's message without pydantic's framing."""
    if problem.startswith("<root>: "):
        problem = problem.removeprefix("<root>: ").removeprefix("Value error, ")
        return problem.split(" (got {", 1)[0]
    return problem


def _rate_argument(rate: float) -> int:
    rounded = round(rate)
    if rounded <= 0:
        raise ValueError(f"sample rate {rate:g} Hz is too low")
    return rounded


def number(text: str, what: str, low: float = float("-inf"), high: float = float("inf")) -> float:
    """A number option in ``[low, high]``, or ``ValueError`` naming it.

    Example:
        >>> number("0.5", "depth", 0, 1)
        0.5
        >>> number("2", "depth", 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: depth must be between 0 and 1, got '2'
    """
    value = parse_float(text, what)
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {text!r}")
    return value


def leading_numbers(args: Sequence[str], specs: Sequence[tuple[str, float, float]]) -> tuple[dict[str, Any], list[str]]:
    """SoX's optional positional numbers: each read while the next argument starts like a number (then it
    must be one, in ``[low, high]``); the remaining arguments are returned.

    Example:
        >>> leading_numbers(["0.5", "2", "sine"], [("depth", 0, 1), ("speed", 0, 10), ("phase", 0, 1)])
        ({'depth': 0.5, 'speed': 2.0}, ['sine'])
    """
    found: dict[str, Any] = {}
    rest = list(args)
    for name, low, high in specs:
        if not rest or not _NUMERIC_START.match(rest[0]):
            break
        found[name] = number(rest.pop(0), name, low, high)
    return found, rest


def choice(text: str, names: Sequence[str], what: str) -> str:
    """A name by SoX's rule: exact, or the only name ``text`` is a prefix of (case-insensitive).

    Example:
        >>> choice("tri", ("sine", "triangle"), "shape")
        'triangle'
    """
    lowered = text.lower()
    exact = [name for name in names if name == lowered]
    found = exact or [name for name in names if name.startswith(lowered)]
    if len(found) != 1:
        raise ValueError(f"{what} must be one of {', '.join(names)}, got {text!r}")
    return found[0]


def take_flags(args: list[str], allowed: str, with_value: str = "") -> dict[str, str]:
    """Remove leading ``-x`` options (letters of ``allowed``; those in ``with_value`` take the next argument)
    from ``args``; returns ``{letter: value}`` (``""`` for flags). Stops at a number such as ``-3`` (unless
    its digit is an allowed option, as ``lowpass -1``).

    Example:
        >>> args = ["-q", "-b", "90", "16k"]
        >>> take_flags(args, "qb", with_value="b"), args
        ({'q': '', 'b': '90'}, ['16k'])
    """
    found: dict[str, str] = {}
    while args and args[0].startswith("-") and len(args[0]) > 1 and (args[0][1] in allowed or args[0][1].isalpha()):
        flag = args.pop(0)
        letters = flag[1:]
        for position, letter in enumerate(letters):
            if letter not in allowed:
                raise ValueError(f"invalid option '-{letter}'")
            if letter in with_value:
                rest = letters[position + 1 :]
                if rest:
                    found[letter] = rest
                elif args:
                    found[letter] = args.pop(0)
                else:
                    raise ValueError(f"option '-{letter}' needs a value")
                break
            found[letter] = ""
    return found


def resolve_positions(texts: Sequence[str], rate: float, anchor: str) -> list[tuple[bool, int]]:
    """SoX positions as ``(from_end, samples)``: ``samples`` from the start, or (``from_end``) added to the
    length; ``+`` positions follow the previous one, ``=`` count from the start, ``-`` from the end.

    Example:
        >>> resolve_positions(["1", "+0.5", "-0.25"], 8, anchor="+")
        [(False, 8), (False, 12), (True, -2)]
    """
    resolved: list[tuple[bool, int]] = []
    for text in texts:
        text = text.strip()
        which = anchor
        if text[:1] in ("=", "+", "-"):
            which, text = text[0], text[1:]
        sign = "+"
        if which != "=" and text[:1] in ("+", "-"):
            sign, text = text[0], text[1:]
        offset = _signed_samples(text, rate, sign)
        if which == "=":
            resolved.append((False, max(offset, 0)))
        elif which == "+":
            from_end, latest = resolved[-1] if resolved else (False, 0)
            resolved.append((from_end, latest + offset))
        else:
            resolved.append((True, -offset))
    return resolved


def _signed_samples(text: str, rate: float, first_sign: str) -> int:
    """A sum of time parts with signs, in samples (SoX's grammar, not floored at zero)."""
    parse_position("=" + text, rate, 0, None)  # the syntax check
    total, sign, start = 0, first_sign, 0
    for index, char in enumerate(text + "+"):
        if char in "+-" and index > start and text[index - 1 : index] not in ("e", "E"):
            samples = parse_position("=" + text[start:index], rate, 0, None)
            total += samples if sign == "+" else -samples
            sign, start = char, index + 1
    return total


def position_at(position: tuple[bool, int], length: int) -> int:
    """A resolved position (:func:`resolve_positions`) in a signal of ``length`` samples.

    Example:
        >>> position_at((True, -2), 10), position_at((False, 3), 10)
        (8, 3)
    """
    from_end, samples = position
    return max(length + samples, 0) if from_end else samples
