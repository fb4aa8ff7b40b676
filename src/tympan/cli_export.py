"""``tympan export CONFIG -o pipeline.pt2``: a pipeline compiled ahead of time (AOTInductor) for deployment.

Example:
    >>> from click.testing import CliRunner
    >>> "--max-seconds" in CliRunner().invoke(export_command, ["--help"]).output
    True
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tympan.core.errors import TympanError

if TYPE_CHECKING:
    import torch

    from tympan.pipeline import Pipeline

__all__ = ["export_command"]

_DTYPES = ("float32", "float64", "bfloat16", "float16")


@click.command("export")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .pt2 file.")
@click.option("--example", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Audio to trace with.")
@click.option(
    "--max-seconds", type=click.FloatRange(min=0.01), default=3600.0, show_default=True, help="Longest input."
)
@click.option("--min-frames", type=click.IntRange(min=2), default=1024, show_default=True, help="Shortest input.")
@click.option("--max-batch", type=click.IntRange(min=2), default=1024, show_default=True, help="Largest batch.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--dtype", type=click.Choice(_DTYPES), default="float32", show_default=True)
@click.option(
    "--chunk-samples",
    type=click.IntRange(min=1),
    help="Export the streaming step (chunk, state) -> (output, state) for chunks of this many samples.",
)
def export_command(
    config: Path,
    output: Path,
    example: Path | None,
    max_seconds: float,
    min_frames: int,
    max_batch: int,
    device: str,
    dtype: str,
    chunk_samples: int | None,
) -> None:
    """Export the pipeline CONFIG with dynamic batch and length and compile it into an AOTInductor package.

    The package runs from Python (tympan.load_exported) or C++ (torch::inductor::AOTIModelPackageLoader)
    without the pipeline's source; it accepts batches up to --max-batch of --min-frames samples to
    --max-seconds at the configuration's sample_rate (48000 when it gives none). With --chunk-samples it
    compiles the pipeline's streaming step instead: fixed chunks in, a fixed number of outputs and the next
    state out, for any batch of streams up to --max-batch (float32 chunks; see tympan.export.streaming).
    \f
    Example:
        >>> import pathlib, tempfile
        >>> from click.testing import CliRunner
        >>> config = pathlib.Path(tempfile.mkdtemp()) / "pipe.yaml"
        >>> _ = config.write_text("sample_rate: 16000\\nsteps:\\n  - vad: {}\\n")
        >>> print(CliRunner().invoke(export_command, [str(config), "-o", "x.pt2"]).output.strip())
        Error: cannot export ...pipe.yaml:
          steps[0].dsp:vad: its output length depends on the signal's values
    """
    import torch

    if chunk_samples is not None:
        context = click.get_current_context()
        ignored = [
            "--" + name.replace("_", "-")
            for name in ("example", "max_seconds", "min_frames", "device", "dtype")
            if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        ]
        if ignored:
            raise click.UsageError(f"{', '.join(ignored)} cannot be used with --chunk-samples (a float32 step on cpu)")

    from tympan.export import ExportRange, package_pipeline
    from tympan.pipeline import Pipeline

    try:
        pipeline = Pipeline.from_config(config)
        if chunk_samples is not None:
            _export_stream(pipeline, config, output, chunk_samples, max_batch)
            return
        export_range = ExportRange.for_rate(pipeline.sample_rate, max_seconds, min_frames, max_batch)
        traced = _example(example) if example is not None else None
        click.echo(f"exporting {', '.join(pipeline.step_names)} and compiling (this takes minutes)...", err=True)
        started = time.perf_counter()
        path = package_pipeline(
            pipeline,
            output,
            export_range,
            example=traced,
            device=device,
            dtype=getattr(torch, dtype),
            source=str(config),
        )
    except (TympanError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    elapsed = time.perf_counter() - started
    frames = f"{export_range.min_frames} to {export_range.max_frames} samples"
    click.echo(f"{path}: batches of 1 to {export_range.max_batch}, {frames}")
    click.echo(f"exported and compiled in {elapsed:.1f} s", err=True)


def _export_stream(pipeline: Pipeline, config: Path, output: Path, chunk_samples: int, max_batch: int) -> None:
    """Compile ``pipeline``'s streaming step for chunks of ``chunk_samples`` samples into ``output``."""
    from tympan.export import package_streaming_step, streaming_step

    step = streaming_step(pipeline, chunk_samples)
    click.echo(f"exporting the streaming step of {', '.join(pipeline.step_names)} and compiling...", err=True)
    started = time.perf_counter()
    path = package_streaming_step(step, output, pipeline.to_config(), max_batch, source=str(config))
    click.echo(
        f"{path}: chunks of {step.chunk_samples} samples -> {step.output_size} outputs, "
        f"{step.delay} outputs of delay, state of {step.state_size} values"
    )
    click.echo(f"exported and compiled in {time.perf_counter() - started:.1f} s", err=True)


def _example(path: Path) -> torch.Tensor:
    """The audio of ``path`` as ``(channels, time)``, each channel one batch item."""
    from tympan.plugins.io.api import load

    waveform, _ = load(path)
    return waveform
