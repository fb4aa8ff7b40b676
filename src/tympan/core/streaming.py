"""The streaming step a component can give: ``(chunk, state) -> (output, state)`` with fixed shapes.

A :class:`StreamingStep` processes one chunk of ``chunk_samples`` samples per call for a batch of streams,
carrying everything later chunks need in one ``(batch, state_size)`` tensor. Its shapes never depend on the
signal, so ``torch.export`` turns it into a program a deployed front end calls as audio arrives (see
:mod:`tympan.export.streaming`). Every call returns ``output_size`` outputs (samples or frames, along
dimension 1); the first ``delay`` of the whole stream come before the signal's first output and are
dropped, and a stream is finished by calls on silence until ``delay + output_length(samples)`` outputs
have come out. The outputs kept equal the component's offline result.

Example:
    >>> import torch
    >>> class Halve(StreamingStep):
    ...     def forward(self, chunk, state):
    ...         return chunk / 2, state
    >>> step = Halve(chunk_samples=4, state_size=0, output_size=4, delay=0)
    >>> out, state = step(torch.ones(1, 4), step.initial_state(1))
    >>> out.tolist(), tuple(state.shape), step.output_length(10)
    ([[0.5, 0.5, 0.5, 0.5]], (1, 0), 10)
"""

from __future__ import annotations

from typing import cast

import torch

from tympan.core.errors import ExportError, InvalidParameterError

__all__ = ["ChainStep", "PointwiseStep", "StreamingStep", "chain_of", "check_chunk_samples", "step_of"]


def check_chunk_samples(component: str, chunk_samples: int, multiple: int, unit: str) -> None:
    """:class:`InvalidParameterError` unless ``chunk_samples`` is a positive multiple of ``multiple``.

    Example:
        >>> check_chunk_samples("kaldi:fbank", 480, 160, "the frame shift")
        >>> check_chunk_samples("kaldi:fbank", 500, 160, "the frame shift")
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for kaldi:fbank:
          chunk_samples=500: must be a positive multiple of 160 (the frame shift)
    """
    if chunk_samples < 1 or chunk_samples % multiple:
        problem = f"chunk_samples={chunk_samples}: must be a positive multiple of {multiple} ({unit})"
        raise InvalidParameterError(component, [problem])


class StreamingStep(torch.nn.Module):
    """One call of a stream: ``forward(chunk, state)`` returns ``(output, new_state)``.

    ``chunk`` is ``(batch, chunk_samples)``, ``state`` ``(batch, state_size)`` in ``state_dtype`` (start from
    :meth:`initial_state`), ``output`` ``(batch, output_size, ...)``. ``chunk_samples`` is a multiple of
    ``chunk_multiple``, the input a whole number of outputs takes (a frame shift, a resampling ratio's
    ``orig``). Subclasses implement ``forward`` and,
    where the output is not one value per input sample, :meth:`output_length`.

    Example:
        >>> step = StreamingStep(chunk_samples=160, state_size=240, output_size=1, delay=1)
        >>> step.initial_state(3).shape
        torch.Size([3, 240])
    """

    def __init__(
        self,
        chunk_samples: int,
        state_size: int,
        output_size: int,
        delay: int,
        state_dtype: torch.dtype = torch.float32,
        chunk_multiple: int = 1,
    ) -> None:
        super().__init__()
        self.chunk_samples = chunk_samples
        self.chunk_multiple = chunk_multiple
        self.state_size = state_size
        self.output_size = output_size
        self.delay = delay
        self.state_dtype = state_dtype

    def initial_state(self, batch: int = 1, device: torch.device | str | None = None) -> torch.Tensor:
        """The state before the first chunk of ``batch`` streams: zeros (silence before the signal)."""
        return torch.zeros(batch, self.state_size, dtype=self.state_dtype, device=device)

    def output_length(self, num_samples: int) -> int:
        """The length of the offline output for ``num_samples`` input samples (here: the same)."""
        return num_samples

    def end_input(self, state: torch.Tensor, num_samples: int | torch.Tensor) -> torch.Tensor:
        """``state`` once the signal's length is known, before the calls that flush the delay (here: as is)."""
        return state

    def calls_for(self, num_samples: int) -> int:
        """Calls that take ``num_samples`` samples (the last chunk padded with silence) and flush the delay.

        Example:
            >>> StreamingStep(chunk_samples=160, state_size=0, output_size=160, delay=200).calls_for(1000)
            8
        """
        needed = self.delay + self.output_length(num_samples)
        return max(-(-num_samples // self.chunk_samples), -(-needed // self.output_size))


class PointwiseStep(StreamingStep):
    """The step of a module that maps each sample on its own (a gain, a clipper): the module on each chunk.

    Example:
        >>> import torch
        >>> step = PointwiseStep(torch.nn.Tanh(), chunk_samples=4)
        >>> step(torch.zeros(2, 4), step.initial_state(2))[0].shape
        torch.Size([2, 4])
    """

    def __init__(self, module: torch.nn.Module, chunk_samples: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(chunk_samples, 0, chunk_samples, 0, dtype)
        self.module = module

    def forward(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The module's output for ``chunk``; the state stays empty."""
        return self.module(chunk), state


class ChainStep(StreamingStep):
    """Streaming steps in series, each fed the previous one's output, with their delays lined up.

    A step that answers late (a resampler) puts ``delay`` outputs before the signal's first one: the chain
    zeroes them, so the next step sees silence before the signal, as its offline form does, and holds back
    just enough more silence (a delay line) that the signal starts on a whole ``chunk_multiple`` of the next
    step. The chain's delay is then the last step's, grown by what came before. Once :meth:`end_input` has
    told the state how long the signal is, the outputs past the end of each intermediate signal are zeroed
    too (a filter's tail is not what its offline form hands on). The state, float64, holds the count of calls,
    the intermediate outputs still to pass, each delay line and each step's own state.

    Example:
        >>> import torch
        >>> from tympan.plugins.dsp.transforms import LFilter, Resample
        >>> chain = ChainStep([LFilter([1.0, -0.5], [1.0]).streaming_step(441),
        ...                    Resample(44100, 16000).streaming_step(441)])
        >>> chain.output_size, chain.delay, chain.output_length(44100)
        (160, 160, 16000)
    """

    def __init__(self, steps: list[StreamingStep]) -> None:
        # A chain within the chain is spliced in: its steps are lined up with the outer delays like any other
        # (on its own it would not know how late its input starts, nor where the outer signal ends).
        steps = [part for step in steps for part in (step.parts if isinstance(step, ChainStep) else [step])]
        lines: list[int] = []
        delays: list[int] = []
        late = 0
        for index, step in enumerate(steps):
            if index and steps[index - 1].output_size != step.chunk_samples:
                raise ValueError(
                    f"step {index} takes chunks of {step.chunk_samples} samples, "
                    f"step {index - 1} gives {steps[index - 1].output_size}"
                )
            line = (-late) % step.chunk_multiple if index else 0
            late = step.delay + (late + line) * step.output_size // step.chunk_samples
            lines.append(line)
            delays.append(late)
        self.inner = len(steps) - 1
        state_size = 1 + self.inner + sum(lines) + sum(step.state_size for step in steps)
        first, last = steps[0], steps[-1]
        super().__init__(first.chunk_samples, state_size, last.output_size, late, torch.float64, first.chunk_samples)
        self.steps = torch.nn.ModuleList(steps)
        self.lines = lines
        self.delays = delays

    @property
    def parts(self) -> list[StreamingStep]:
        """The steps in order, typed."""
        return [cast(StreamingStep, step) for step in self.steps]

    def initial_state(self, batch: int = 1, device: torch.device | str | None = None) -> torch.Tensor:
        """No calls yet, no end of the signal known yet (the largest float64, a finite number so that the state
        can be written as JSON), silent delay lines and each step's initial state."""
        parts = [torch.zeros(batch, 1, dtype=torch.float64, device=device)]
        unknown = torch.finfo(torch.float64).max
        parts.append(torch.full((batch, self.inner), unknown, dtype=torch.float64, device=device))
        for line, step in zip(self.lines, self.parts, strict=True):
            parts.append(torch.zeros(batch, line, dtype=torch.float64, device=device))
            parts.append(step.initial_state(batch, device).to(torch.float64))
        return torch.cat(parts, dim=1)

    def end_input(self, state: torch.Tensor, num_samples: int | torch.Tensor) -> torch.Tensor:
        """``state`` told that each stream's signal has ``num_samples`` samples in all (an int, or one per item).

        Call it before the calls that flush the delay, once the length is known.
        """
        counts = torch.as_tensor(num_samples).expand(state.shape[0]).tolist()
        lengths = [int(count) for count in counts]
        state = state.clone()
        position = 1 + self.inner
        for index, step in enumerate(self.parts):
            position += self.lines[index]
            own = state[:, position : position + step.state_size].to(step.state_dtype)
            state[:, position : position + step.state_size] = step.end_input(own, torch.tensor(lengths))
            position += step.state_size
            lengths = [step.output_length(length) for length in lengths]
            if index < self.inner:
                total = torch.tensor(lengths, dtype=torch.float64, device=state.device) + self.delays[index]
                state[:, 1 + index] = total - state[:, 0] * step.output_size
        return state

    def output_length(self, num_samples: int) -> int:
        """The offline length after every step."""
        for step in self.parts:
            num_samples = step.output_length(num_samples)
        return num_samples

    def forward(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The last step's output for ``chunk``, and the whole chain's next state."""
        calls = state[:, :1]
        remaining = state[:, 1 : 1 + self.inner]
        position = 1 + self.inner
        kept: list[torch.Tensor] = [calls + 1]
        passed: list[torch.Tensor] = []
        signal = chunk
        for index, step in enumerate(self.parts):
            line = self.lines[index]
            if line:
                joined = torch.cat([state[:, position : position + line].to(signal.dtype), signal], dim=1)
                signal = joined[:, : joined.shape[1] - line]
                kept.append(joined[:, joined.shape[1] - line :].to(self.state_dtype))
                position += line
            own = state[:, position : position + step.state_size].to(step.state_dtype)
            position += step.state_size
            signal, own = step(signal, own)
            kept.append(own.to(self.state_dtype))
            if index < self.inner:
                offsets = torch.arange(step.output_size, dtype=torch.float64, device=state.device)
                early = calls * step.output_size + offsets < self.delays[index]
                late = offsets >= remaining[:, index : index + 1]
                signal = torch.where(early | late, torch.zeros_like(signal), signal)
                passed.append(remaining[:, index : index + 1] - step.output_size)
        return signal, torch.cat([kept[0], *passed, *kept[1:]], dim=1)


def step_of(
    module: torch.nn.Module, chunk_samples: int, dtype: torch.dtype | None = None, location: str | None = None
) -> StreamingStep:
    """``module``'s streaming step for chunks of ``chunk_samples`` samples, in ``dtype`` (default: its own).

    :class:`~tympan.core.errors.ExportError` when it has none or cannot stream, its lines starting with
    ``location`` (a chain's ``steps[i].name``) when given.

    Example:
        >>> from tympan.plugins.dsp.transforms import AmplitudeToDB, LFilter
        >>> step_of(LFilter([1.0, -0.5], [1.0]), 160).output_size
        160
        >>> step_of(AmplitudeToDB(), 160, location="steps[0]")
        Traceback (most recent call last):
        ...
        tympan.core.errors.ExportError: cannot export the module:
          steps[0]: dsp:amplitude_to_db has no streaming step
    """
    build = getattr(module, "streaming_step", None)
    try:
        if build is None:
            name = getattr(module, "qualified_name", type(module).__name__)
            raise ExportError([f"{name} has no streaming step"])
        step: StreamingStep = build(chunk_samples) if dtype is None else build(chunk_samples, dtype)
    except ExportError as exc:
        if location is None:
            raise
        raise ExportError([f"{location}: {problem}" for problem in exc.problems]) from None
    return step


def chain_of(
    parts: list[tuple[str, torch.nn.Module]], chunk_samples: int, dtype: torch.dtype | None = None
) -> ChainStep:
    """The :class:`ChainStep` of ``(location, module)`` parts, each built by :func:`step_of`: the first for
    chunks of ``chunk_samples`` samples, each next one for what the previous gives.

    Example:
        >>> from tympan.plugins.dsp.transforms import LFilter, Resample
        >>> chain_of([("steps[0]", LFilter([1.0, -0.5], [1.0])), ("steps[1]", Resample(16000, 8000))], 160).output_size
        80
    """
    steps: list[StreamingStep] = []
    size = chunk_samples
    for location, module in parts:
        steps.append(step_of(module, size, dtype, location))
        size = steps[-1].output_size
    return ChainStep(steps)
