"""Effect chains: SoX's effect language parsed into an ``nn.Module`` that applies the effects in order.

A chain is written as SoX writes it on its command line, ``"gain -n speed 0.8 rate 16k pad 0 1.5"`` (a
word that names an effect starts the next one; quote an argument that holds spaces, as ``mcompand``'s),
or as argv-style lists, ``[["gain", "-n"], ["speed", "0.8"]]``. :class:`EffectChain` builds every effect
for the rate and channels reaching it, so a bad option or a signal an effect cannot take fails before any
audio is processed, and then runs on tensors of any batch.

The chain treats rates and channels as the ``sox`` program does: ``speed`` relabels the rate, and the
next ``rate`` resamples from the relabelled rate in one step; when the chain ends at another rate than the
output's (the last ``rate`` effect's, or the input's, or ``output_rate``), a ``rate`` is added, as SoX adds
one before writing its output file; and when it ends with other channels than the last ``channels`` or
``remix`` asked for (or the input's, when the chain knows them), ``channels`` mixes them back.

Example:
    >>> import torch
    >>> chain = EffectChain("gain -n speed 0.8 rate 16k pad 0 0.5", sample_rate=44100)
    >>> chain.step_names, chain.output_sample_rate
    (['gain', 'rate', 'pad'], 16000)
    >>> chain(torch.randn(2, 44100) * 0.1).shape
    torch.Size([2, 28000])
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import Effect
from tympan.core.params import validated_arguments
from tympan.core.streaming import ChainStep, chain_of
from tympan.plugins.sox.effects import EFFECTS, Signal, SoxEffect, build_effect
from tympan.plugins.sox.effects._channels import Channels
from tympan.plugins.sox.effects._levels import Gain
from tympan.plugins.sox.effects._rate import Rate, speed_factor
from tympan.plugins.sox.errors import SoxEffectError, UnknownEffectError

__all__ = ["EffectChain", "EffectsSpec", "parse_effects"]

#: A chain as SoX's command-line text, or one argument list per effect.
EffectsSpec = str | Sequence[Sequence[str]]

#: SoX effects this plugin does not provide (they write files, play audio or host plug-ins).
NOT_PROVIDED = frozenset({"ladspa", "spectrogram", "newfile", "restart", "divide", "multiply", "firfit"})


def parse_effects(effects: EffectsSpec) -> list[tuple[str, list[str]]]:
    """``[(name, arguments)]`` of a chain given as text or as argument lists.

    Raises :class:`~tympan.plugins.sox.errors.UnknownEffectError` (with close matches) for a name SoX's
    effects do not include, and :class:`~tympan.plugins.sox.errors.SoxEffectError` for an empty chain.

    Example:
        >>> parse_effects("highpass 300 gain -3")
        [('highpass', ['300']), ('gain', ['-3'])]
        >>> parse_effects([["trim", "0", "2"]])
        [('trim', ['0', '2'])]
    """
    if isinstance(effects, str):
        try:
            words = shlex.split(effects)
        except ValueError as err:
            raise SoxEffectError(None, f"cannot split the chain {effects!r}: {err}") from None
        parsed: list[tuple[str, list[str]]] = []
        for word in words:
            if word in EFFECTS or word in NOT_PROVIDED or not parsed:
                parsed.append((word, []))
            else:
                parsed[-1][1].append(word)
    else:
        parsed = []
        for effect in effects:
            if isinstance(effect, str) or not effect:
                raise SoxEffectError(None, f"each effect is a list [name, option, ...], got {effect!r}")
            parsed.append((str(effect[0]), [str(arg) for arg in effect[1:]]))
    if not parsed:
        raise SoxEffectError(None, "the effect chain is empty")
    for name, _ in parsed:
        if name in NOT_PROVIDED:
            raise SoxEffectError(name, "this SoX effect is not provided (it writes files or hosts plug-ins)")
        if name not in EFFECTS:
            raise UnknownEffectError(name, difflib.get_close_matches(name, sorted(EFFECTS), n=3, cutoff=0.6))
    return parsed


class EffectChain(Effect):
    """A SoX effect chain as one module: ``(..., channels, time)`` in, the chain's output out.

    ``sample_rate`` is the input's rate; ``channels``, when given, lets effects that depend on the channel
    count (``remix``'s open ranges, ``delay``, ``earwax`` ...) check it before any audio arrives;
    ``output_rate`` sets the rate the chain ends at (SoX's ``-r``; by default the last ``rate`` effect's,
    else the input's). Registered as ``sox:sox``, so a pipeline step reads ``- sox: {effects: "..."}``.

    Example:
        >>> import torch
        >>> chain = EffectChain([["highpass", "300"], ["gain", "-3"]], sample_rate=16000)
        >>> chain(torch.zeros(1, 2, 160)).shape
        torch.Size([1, 2, 160])
    """

    qualified_name = "sox:sox"
    sample_rate_param: ClassVar[str | None] = "sample_rate"
    __jit_ignored_attributes__: ClassVar[list[str]] = ["measurements"]

    def __init__(
        self,
        effects: Annotated[
            str | list[list[str]],
            Field(description="The chain: SoX's command-line text, or one [name, option, ...] list per effect."),
        ] = "gain 0",
        sample_rate: Annotated[int, Field(gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")] = 44100,
        channels: Annotated[
            int | None, Field(ge=1, le=1024, description="Channels of the input, when known in advance.")
        ] = None,
        output_rate: Annotated[
            int | None, Field(gt=0, le=10_000_000, description="Rate the chain ends at; None: as SoX decides.")
        ] = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.input_channels = params.channels
        steps, names, rate = self._build(
            parse_effects(params.effects), params.sample_rate, params.channels, params.output_rate
        )
        self.steps = nn.ModuleList(steps)
        self.step_names = names
        self.final_rate = rate
        self.has_analysis = any(step.analysis for step in steps)
        self.scriptable = all(getattr(step, "scriptable", True) for step in steps) and not self.has_analysis
        #: What the analysis effects (``stat``, ``stats``, ``noiseprof``) measured in the last call: one
        #: ``(name, results)`` per effect.
        self.measurements = []

    @staticmethod
    def _build(
        parsed: list[tuple[str, list[str]]], sample_rate: int, channels: int | None, output_rate: int | None
    ) -> tuple[list[SoxEffect], list[str], int]:
        steps: list[SoxEffect] = []
        names: list[str] = []
        rate = float(sample_rate)
        last_explicit: int | None = None
        declared = channels
        headroom: Any = None
        for name, args in parsed:
            signal = Signal(rate, channels)
            if name == "pitch":  # as SoX: the tempo changes, the rate is relabelled, a later rate resamples
                pitch = build_effect(EFFECTS[name], args, signal)
                steps.append(pitch.tempo)
                names.append(name)
                rate = rate / pitch.factor
                continue
            if name == "speed":
                try:
                    factor = speed_factor(args[0]) if len(args) == 1 else None
                except ValueError as err:
                    raise SoxEffectError(name, str(err)) from None
                if factor is None:
                    raise SoxEffectError(name, f"expected one factor, got {' '.join(args)!r}")
                rate *= factor
                continue
            extra: dict[str, Any] = {}
            if name == "rate":
                extra["sample_rate"] = rate
                if not [arg for arg in args if not arg.startswith("-")]:
                    extra["new_rate"] = output_rate or sample_rate
            if name == "gain" and "r" in "".join(arg for arg in args if arg.startswith("-") and arg[1:2].isalpha()):
                extra["headroom"] = _provided_gain(headroom)
            effect = build_effect(EFFECTS[name], args, signal, **extra)
            headroom = _track_headroom(headroom, effect)
            if channels is not None:
                try:
                    channels = effect.output_channels(channels)
                except ValueError as err:
                    raise SoxEffectError(name, str(err)) from None
                if effect.declares_channels:
                    declared = channels
            out_rate = getattr(effect, "exact_output_rate", None) or effect.output_sample_rate
            if name == "rate":
                last_explicit = int(effect.output_sample_rate or 0)
            rate = float(out_rate) if out_rate is not None else rate
            steps.append(effect)
            names.append(name)
        if channels is not None and declared is not None and channels != declared:
            steps.append(Channels(declared))  # as SoX mixes to the output file's channels
            names.append("channels")
        target = output_rate or last_explicit or sample_rate
        if rate != target:
            steps.append(Rate(rate, target))
            names.append("rate")
        return steps, names, int(target)

    @property
    def output_sample_rate(self) -> int | None:
        """The rate of the chain's output."""
        return self.final_rate

    @torch.jit.unused
    def check(self, channels: int, length: int | None = None) -> None:
        """Check, before any work, that every effect can take the signal reaching it (``channels`` channels
        of ``length`` samples): raises :class:`~tympan.plugins.sox.errors.SoxEffectError` naming the effect.

        Example:
            >>> EffectChain("remix 3", sample_rate=8000).check(channels=2)
            Traceback (most recent call last):
            ...
            tympan.plugins.sox.errors.SoxEffectError: sox remix: too few input channels: 2, this mix needs 3
        """
        for name, step in zip(self.step_names, self.steps, strict=True):
            try:
                channels = step.output_channels(channels)
                if length is not None:
                    checker = getattr(step, "check_length", None)
                    if checker is not None:
                        checker(length)
                    length = None if step.data_dependent_length else step.output_length(length)
            except ValueError as err:
                raise SoxEffectError(name, str(err)) from None

    @torch.jit.unused
    def streaming_step(self, chunk_samples: int, dtype: torch.dtype | None = None) -> ChainStep:
        """The chain a chunk of ``chunk_samples`` samples at a time (each row of a chunk one channel's
        stream), for export; an effect that cannot stream raises :class:`~tympan.core.errors.ExportError`
        naming it.

        Example:
            >>> EffectChain("highpass 300 gain -3", sample_rate=16000).streaming_step(160).delay
            0
        """
        named = zip(self.step_names, self.steps, strict=True)
        parts = [(f"effects[{index}].{name}", step) for index, (name, step) in enumerate(named)]
        return chain_of(parts, chunk_samples, dtype)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Apply every effect in order to ``(..., channels, time)``."""
        if not torch.jit.is_scripting() and self.has_analysis:
            return self._observing(waveform)
        for step in self.steps:
            waveform = step(waveform)
        return waveform

    @torch.jit.unused
    def _observing(self, waveform: torch.Tensor) -> torch.Tensor:
        """Apply the chain, letting audio through the analysis effects and keeping what they measure."""
        self.measurements = []
        for name, step in zip(self.step_names, self.steps, strict=True):
            if step.analysis:
                self.measurements.append((name, step.observe(waveform)))
            else:
                waveform = step(waveform)
        return waveform

    @torch.jit.unused
    def forward_with_lengths(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the chain to a batch ``(batch, channels, time)`` of signals ``lengths`` long (zeros after);
        returns the output and its lengths.

        Example:
            >>> import torch
            >>> chain = EffectChain("pad 0 2s", sample_rate=8000)
            >>> out, n = chain.forward_with_lengths(torch.ones(2, 1, 3), torch.tensor([3, 1]))
            >>> out.tolist(), n.tolist()
            ([[[1.0, 1.0, 1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0, 0.0, 0.0]]], [5, 3])
        """
        valid = torch.arange(waveform.shape[-1], device=waveform.device) < lengths.to(waveform.device)[:, None, None]
        waveform = waveform * valid
        for step in self.steps:
            waveform, lengths = step.forward_with_lengths(waveform, lengths)
        return waveform, lengths


def _provided_gain(provider: Any) -> float | None:
    """The linear gain an effect that makes headroom applies now (what ``gain -r`` reclaims)."""
    if provider is None:
        return None
    return float(provider.fixed_gain if isinstance(provider, Gain) else provider.gain)


def _track_headroom(headroom: Any, effect: SoxEffect) -> Any:
    """SoX's headroom protocol: ``gain -h`` (or ``synth``, ``tremolo``) lowers its gain by what every
    following effect asks for, up to an effect that sets the gain itself."""
    if headroom is not None:
        factor = effect.headroom_factor()
        if factor != 1.0:
            headroom.make_headroom(factor)
    if isinstance(effect, Gain):
        return effect if effect.headroom_for_next else None
    provides = getattr(effect, "provides_headroom", None)
    if provides is not None and provides():
        return effect  # type: ignore[return-value]
    return None if effect.sets_gain else headroom
