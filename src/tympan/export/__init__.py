"""Production export: tympan pipelines and components through ``torch.export`` and AOTInductor.

- :func:`export_module` / :func:`export_pipeline`: an ``ExportedProgram`` whose batch and time dimensions
  are dynamic over an :class:`ExportRange` (by default 1024 samples to one hour, batches up to 1024).
- :func:`package_pipeline`: that program compiled ahead of time into a ``.pt2`` package recording the
  configuration and versions; :func:`load_exported` runs it from Python (C++ loads it with
  ``torch::inductor::AOTIModelPackageLoader``). ``tympan export CONFIG -o pipeline.pt2`` does the same
  from the command line.
- :func:`streaming_step` / :func:`export_streaming_step`: a front end's step ``(chunk, state) -> (output,
  state)`` for audio that arrives as it is recorded; :func:`run_stream` checks it against the offline form.
- Components whose output length depends on the signal declare ``data_dependent_length``; pipelines
  holding one are refused before tracing (:class:`~tympan.core.errors.ExportError`).
- :func:`recurrent_layers_as_loops`: within it, ``torch.export`` keeps ``nn.LSTM`` and ``nn.GRU`` as loops
  over a dynamic number of steps instead of unrolling them.
- Components that need a minimum length by nature declare ``export_min_frames``; they export over a range
  starting there (:func:`declared_min_frames`).
- Components fed ``(..., frames, dim)`` features declare ``export_time_dim = -2``: that axis, not the last,
  is the dynamic time dimension (:func:`declared_time_dim`).

Example:
    >>> import torch, tympan
    >>> pipe = tympan.Pipeline.from_config({"sample_rate": 44100, "steps": [{"resample": {"new_freq": 16000}}]})
    >>> run = export_pipeline(pipe, ExportRange.for_rate(44100, max_seconds=3600)).module()
    >>> [tuple(run(torch.randn(batch, frames)).shape) for batch, frames in [(1, 4410), (5, 30001)]]
    [(1, 1600), (5, 10885)]
"""

from __future__ import annotations

from tympan.export.package import (
    ExportedPipeline,
    ExportedStep,
    load_exported,
    package_metadata,
    package_pipeline,
    package_streaming_step,
)
from tympan.export.program import (
    data_dependent_reason,
    declared_min_frames,
    declared_time_dim,
    example_waveform,
    export_limitations,
    export_module,
    export_pipeline,
)
from tympan.export.recurrent import recurrent_layers_as_loops
from tympan.export.shapes import ExportRange, dynamic_shapes
from tympan.export.streaming import export_streaming_step, run_stream, streaming_step

__all__ = [
    "ExportRange",
    "ExportedPipeline",
    "ExportedStep",
    "data_dependent_reason",
    "declared_min_frames",
    "declared_time_dim",
    "dynamic_shapes",
    "example_waveform",
    "export_limitations",
    "export_module",
    "export_pipeline",
    "export_streaming_step",
    "load_exported",
    "package_metadata",
    "package_pipeline",
    "package_streaming_step",
    "recurrent_layers_as_loops",
    "run_stream",
    "streaming_step",
]
