"""Streaming export: a step ``(chunk, state) -> (output, state)`` that a deployed front end calls as audio
arrives.

:func:`streaming_step` gives the :class:`~tympan.core.streaming.StreamingStep` of a component or pipeline
for chunks of ``chunk_samples`` samples: the Kaldi features (``snip_edges=True``, no dither), resampling,
the causal IIR filters (``lfilter``, ``sosfilt``, the biquads, SoX's filters), SoX's per-sample effects,
and chains of them (a pipeline, a ``sox:sox`` chain). :func:`export_streaming_step` exports it with
``torch.export`` for any batch of streams; the chunk size is fixed by the step. :func:`run_stream` feeds a
whole signal through a step (or its exported program) chunk by chunk and returns what the offline component
returns: each call's outputs, concatenated, without the step's ``delay`` and cut at the offline length.

A front end keeps the state between calls, starting from ``step.initial_state(batch)``; at the end of the
input it pads the last chunk with silence, calls ``step.end_input(state, total_samples)``, and calls the
step on silence until ``step.calls_for(total_samples)`` calls are made.

Example:
    >>> import torch
    >>> from tympan.plugins.kaldi.features import Fbank
    >>> step = streaming_step(Fbank(num_mel_bins=40), chunk_samples=1600)
    >>> program = export_streaming_step(step).module()
    >>> audio = torch.randn(2, 16000)
    >>> torch.allclose(run_stream(step, audio, program), Fbank(num_mel_bins=40)(audio), atol=1e-4)
    True
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.export import Dim

from tympan.core.errors import ExportError
from tympan.core.streaming import StreamingStep, chain_of, step_of
from tympan.export.shapes import DEFAULT_MAX_BATCH

__all__ = ["export_streaming_step", "run_stream", "streaming_step"]

Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def streaming_step(component: torch.nn.Module, chunk_samples: int, dtype: torch.dtype | None = None) -> StreamingStep:
    """The streaming step of ``component`` (a component or a :class:`~tympan.Pipeline`), ``chunk_samples``
    input samples a call, computed in ``dtype`` (default: the component's own choice).

    Raises :class:`~tympan.core.errors.ExportError` naming what cannot stream, and
    :class:`~tympan.core.errors.InvalidParameterError` for a chunk size the step cannot take.

    Example:
        >>> import tympan
        >>> pipe = tympan.Pipeline.from_config({"sample_rate": 44100, "steps": [
        ...     {"resample": {"new_freq": 16000}}, {"kaldi:fbank": {"num_mel_bins": 80}}]})
        >>> step = streaming_step(pipe, 4410)
        >>> step.output_size, step.delay
        (10, 3)
    """
    steps = getattr(component, "built", None)
    if steps is not None:  # a pipeline: its steps in series
        parts = [(f"steps[{index}].{step.name}", step.module) for index, step in enumerate(steps)]
        return chain_of(parts, chunk_samples, dtype)
    return step_of(component, chunk_samples, dtype)


def export_streaming_step(step: StreamingStep, max_batch: int = DEFAULT_MAX_BATCH) -> torch.export.ExportedProgram:
    """``step`` through ``torch.export``: chunks ``(batch, chunk_samples)`` (float32) and states, for any
    batch from 1 to ``max_batch``.

    Example:
        >>> from tympan.plugins.dsp.transforms import Resample
        >>> step = streaming_step(Resample(48000, 16000), 960)
        >>> out, state = export_streaming_step(step).module()(torch.zeros(5, 960), step.initial_state(5))
        >>> tuple(out.shape), tuple(state.shape)
        ((5, 320), (5, 40))
    """
    batch = Dim("batch", min=1, max=max_batch)
    example = (torch.zeros(2, step.chunk_samples), step.initial_state(2))
    try:
        return torch.export.export(step.eval(), example, dynamic_shapes=({0: batch}, {0: batch}))
    except Exception as exc:  # torch.export's own errors, one family per cause: one typed error naming the step
        raise ExportError([f"{type(step).__name__}: {type(exc).__name__}: {exc}"]) from exc


def run_stream(step: StreamingStep, waveform: torch.Tensor, program: Step | None = None) -> torch.Tensor:
    """The offline output for ``waveform`` ``(..., time)``, computed a chunk at a time by ``step`` (or by
    ``program``, its exported form): the concatenated outputs, the delay dropped, cut at the offline length.

    Example:
        >>> from tympan.plugins.dsp.transforms import LFilter
        >>> lowpass = LFilter([1.0, -0.9], [0.1])
        >>> audio = torch.randn(3, 1000)
        >>> torch.allclose(run_stream(streaming_step(lowpass, 128), audio), lowpass(audio), atol=1e-6)
        True
    """
    call = step if program is None else program
    leading, samples = waveform.shape[:-1], waveform.shape[-1]
    signals = waveform.reshape(-1, samples)
    calls = step.calls_for(samples)
    padded = torch.nn.functional.pad(signals, [0, calls * step.chunk_samples - samples])
    state = step.initial_state(signals.shape[0], signals.device)
    last_with_signal = max(samples - 1, 0) // step.chunk_samples
    outputs: list[torch.Tensor] = []
    for index in range(calls):
        if index == last_with_signal:
            state = step.end_input(state, samples)
        output, state = call(padded[:, index * step.chunk_samples : (index + 1) * step.chunk_samples], state)
        outputs.append(output)
    joined = torch.cat(outputs, dim=1)[:, step.delay : step.delay + step.output_length(samples)]
    return joined.reshape(*leading, *joined.shape[1:])
