"""``torch.export`` of tympan components and pipelines with dynamic batch and time dimensions.

A component whose output length depends on the signal's values (voice activity trimming, silence
removal) cannot give a program that holds for every input: it declares so with a class attribute
``data_dependent_length`` (true, or a sentence saying why). :func:`export_pipeline` refuses a pipeline holding one,
naming the step, before any tracing.

Example:
    >>> import torch, tympan
    >>> pipe = tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"mfcc": {"n_mfcc": 13}}]})
    >>> program = export_pipeline(pipe, ExportRange.for_rate(16000, max_seconds=60))
    >>> x = torch.randn(3, 12345)
    >>> torch.allclose(program.module()(x), pipe(x), atol=1e-5)
    True
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from tympan.core.errors import ExportError
from tympan.export.recurrent import recurrent_layers_as_loops
from tympan.export.shapes import ExportRange, dynamic_shapes

__all__ = [
    "data_dependent_reason",
    "declared_min_frames",
    "declared_time_dim",
    "export_limitations",
    "export_module",
    "export_pipeline",
    "example_waveform",
]


def data_dependent_reason(module: Any) -> str | None:
    """Why ``module``'s output length depends on its input's values (its ``data_dependent_length``), else None.

    Example:
        >>> from tympan.plugins.dsp.transforms import Vad, MFCC
        >>> data_dependent_reason(MFCC()) is None, data_dependent_reason(Vad(16000)) is not None
        (True, True)
    """
    declared = getattr(module, "data_dependent_length", None)
    if not declared:
        return None
    return declared if isinstance(declared, str) else "its output length depends on the signal's values"


def declared_min_frames(module: Any) -> int | None:
    """The shortest input ``module`` exports for (its ``export_min_frames``), else None.

    A component that needs a minimum length by nature (an analysis window, a median over a number of frames)
    declares it; the exported program then holds from that length on, and :func:`export_module` refuses a
    range that starts below it.

    Example:
        >>> from tympan.plugins.dsp.transforms import DetectPitchFrequency, MFCC
        >>> declared_min_frames(MFCC()), declared_min_frames(DetectPitchFrequency(16000))
        (None, 2561)
    """
    declared = getattr(module, "export_min_frames", None)
    return None if declared is None else int(declared)


def declared_time_dim(module: Any) -> int:
    """The dimension of ``module``'s first input that is its time axis: its ``export_time_dim``, else -1.

    Components fed ``(..., frames, dim)`` features (Kaldi's post-processing) declare -2.

    Example:
        >>> from tympan.plugins.dsp.transforms import MFCC
        >>> from tympan.plugins.kaldi.postprocess import Cmvn
        >>> declared_time_dim(MFCC()), declared_time_dim(Cmvn())
        (-1, -2)
    """
    return int(getattr(module, "export_time_dim", -1))


def export_limitations(pipeline: Any) -> list[str]:
    """One ``steps[i].name: reason`` line per step of ``pipeline`` that cannot be exported.

    Example:
        >>> import tympan
        >>> pipe = tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"vad": {}}, {"mfcc": {}}]})
        >>> export_limitations(pipe)[0].split(":")[0]
        'steps[0].dsp'
    """
    problems = []
    for index, step in enumerate(pipeline.built):
        reason = data_dependent_reason(step.module)
        if step.kind == "decoder":
            reason = "a decoder returns hypotheses (text and scores), not tensors"
        if reason:
            problems.append(f"steps[{index}].{step.name}: {reason}")
    return problems


def example_waveform(export_range: ExportRange, channels: int | None = None) -> torch.Tensor:
    """Random audio ``(2, [channels,] time)`` of a length inside ``export_range``, to trace with.

    Example:
        >>> example_waveform(ExportRange(400, 1000), channels=2).shape
        torch.Size([2, 2, 700])
    """
    generator = torch.Generator().manual_seed(0)
    shape = (2, export_range.example_frames()) if channels is None else (2, channels, export_range.example_frames())
    return 0.5 * torch.randn(shape, generator=generator)


def export_module(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], export_range: ExportRange
) -> torch.export.ExportedProgram:
    """``torch.export.export`` of ``module`` (in eval mode) on ``inputs``, batch and time dynamic over the range.

    A program that would only hold for some sizes raises :class:`~tympan.core.errors.ExportError` with
    ``torch.export``'s reason (the constraint it could not prove); so does a range starting below the module's
    declared shortest input (:func:`declared_min_frames`).

    Example:
        >>> from tympan.plugins.dsp.transforms import Resample
        >>> program = export_module(Resample(44100, 16000), (torch.randn(2, 44100),), ExportRange(1000, 10**6))
        >>> program.module()(torch.randn(1, 4411)).shape
        torch.Size([1, 1601])
    """
    shortest = declared_min_frames(module)
    if shortest is not None and export_range.min_frames < shortest:
        name = type(module).__name__
        raise ExportError(
            [f"{name}: exports for inputs of at least {shortest} frames, the range starts at {export_range.min_frames}"]
        )
    module.eval()
    try:
        shapes = dynamic_shapes(inputs, export_range, declared_time_dim(module))
        with recurrent_layers_as_loops():
            return torch.export.export(module, inputs, dynamic_shapes=shapes)
    except (torch._dynamo.exc.UserError, RuntimeError, ValueError, TypeError) as err:
        name = type(module).__name__
        reason = " ".join(line.strip() for line in str(err).strip().splitlines()[:6])
        raise ExportError([f"{name}: {type(err).__name__}: {reason}"]) from err


def _device_of(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter or buffer (the CPU for a module with neither)."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device("cpu")


def export_pipeline(
    pipeline: Any, export_range: ExportRange, example: torch.Tensor | None = None, source: str | None = None
) -> torch.export.ExportedProgram:
    """Export a :class:`~tympan.Pipeline` for inputs ``(batch, time)`` (or ``(batch, channels, time)``).

    Steps that cannot be exported are refused with :class:`~tympan.core.errors.ExportError` naming each
    one, before any tracing. ``example`` (default: random audio of about a second, on the pipeline's device) is
    the traced input; a batch of one is repeated to two, so that the batch dimension stays dynamic.

    Example:
        >>> import tympan
        >>> pipe = tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"vol": {"gain": 0.5}}]})
        >>> export_pipeline(pipe, ExportRange(400, 10**6)).module()(torch.ones(3, 500)).max().item()
        0.5
    """
    problems = export_limitations(pipeline)
    if problems:
        raise ExportError(problems, source)
    inputs = example if example is not None else example_waveform(export_range).to(_device_of(pipeline))
    if inputs.shape[0] == 1:
        inputs = inputs.expand(2, *inputs.shape[1:]).contiguous()
    try:
        return export_module(pipeline, (inputs,), export_range)
    except ExportError as err:
        raise ExportError([f"pipeline {pipeline.step_names}: {line}" for line in err.problems], source) from err
