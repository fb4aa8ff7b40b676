"""AOTInductor packages of tympan pipelines: compile to a ``.pt2`` file, load it back without the source.

:func:`package_pipeline` exports a pipeline (:mod:`tympan.export.program`) and compiles it with
``torch._inductor.aoti_compile_and_package``. The package's metadata (readable from C++ as well) records
the pipeline's configuration, the tympan and torch versions and the accepted input range, under keys
starting with ``tympan.``. :func:`load_exported` checks those before running anything and returns an
:class:`ExportedPipeline`, a callable ``Tensor -> Tensor``; :func:`package_streaming_step` compiles a streaming
step the same way, which loads as an :class:`ExportedStep`.

Example:
    >>> import torch, tympan
    >>> pipe = tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"vol": {"gain": 0.5}}]})
    >>> sorted(package_metadata(pipe, ExportRange(400, 16000 * 60), "cpu", torch.float32))
    ['tympan.config', 'tympan.input', 'tympan.torch_version', 'tympan.version']
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

import tympan
from tympan.core.errors import ExportedPackageError, ExportError, PipelineConfigError, PluginLoadError
from tympan.core.streaming import StreamingStep
from tympan.export.program import export_pipeline
from tympan.export.shapes import DEFAULT_MAX_BATCH, ExportRange
from tympan.export.streaming import export_streaming_step
from tympan.pipeline.config import check_envelope

__all__ = [
    "ExportedPipeline",
    "ExportedStep",
    "load_components",
    "load_exported",
    "package_metadata",
    "package_pipeline",
    "package_streaming_step",
    "read_metadata",
]

#: The metadata key every tympan package carries; its value is the tympan version.
VERSION_KEY = "tympan.version"
#: The metadata key of the configuration a package was exported from (JSON).
CONFIG_KEY = "tympan.config"
#: The metadata key of a streaming step's package: its shapes, delay and initial state (JSON).
STREAM_KEY = "tympan.stream"
#: How the archive names the metadata file AOTInductor writes beside the compiled model.
_METADATA_SUFFIX = "wrapper_metadata.json"


def package_metadata(pipeline: Any, export_range: ExportRange, device: str, dtype: torch.dtype) -> dict[str, str]:
    """The ``tympan.*`` metadata of a package of ``pipeline`` (string values, as AOTInductor stores them).

    Example:
        >>> import tympan
        >>> pipe = tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"mfcc": {}}]})
        >>> meta = package_metadata(pipe, ExportRange(400, 16000), "cpu", torch.float32)
        >>> json.loads(meta["tympan.input"])["max_frames"], meta["tympan.version"] == tympan.__version__
        (16000, True)
    """
    shape = {
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
        "min_frames": export_range.min_frames,
        "max_frames": export_range.max_frames,
        "max_batch": export_range.max_batch,
        "sample_rate": pipeline.sample_rate,
    }
    return {
        VERSION_KEY: tympan.__version__,
        "tympan.torch_version": torch.__version__,
        CONFIG_KEY: json.dumps(pipeline.to_config()),
        "tympan.input": json.dumps(shape),
    }


def package_pipeline(
    pipeline: Any,
    path: str | os.PathLike[str],
    export_range: ExportRange,
    *,
    example: torch.Tensor | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    source: str | None = None,
) -> Path:
    """Export ``pipeline`` on ``device`` in ``dtype`` and compile it into the AOTInductor package ``path``.

    The file is written atomically (nothing is left at ``path`` if export or compilation fails). Raises
    :class:`~tympan.core.errors.ExportError` for a pipeline that cannot be exported. Compiling takes
    minutes, hence the skipped example (``tests/export/test_package.py`` runs it).

    Example:
        >>> import tempfile, tympan
        >>> pipe = tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"vol": {"gain": 0.5}}]})
        >>> path = package_pipeline(pipe, tempfile.mkdtemp() + "/v.pt2", ExportRange(400, 960000))  # doctest: +SKIP
        >>> load_exported(path)(torch.ones(3, 1000)).max().item()  # doctest: +SKIP
        0.5
    """
    target = Path(path)
    if target.suffix != ".pt2":
        raise ExportError([f"output {target}: an AOTInductor package is a .pt2 file"], source)
    pipeline = pipeline.to(device=device, dtype=dtype)
    traced = example_for(example, device, dtype)
    program = export_pipeline(pipeline, export_range, traced, source)
    return _compile(program, target, package_metadata(pipeline, export_range, device, dtype))


def package_streaming_step(
    step: StreamingStep,
    path: str | os.PathLike[str],
    config: Mapping[str, Any],
    max_batch: int = DEFAULT_MAX_BATCH,
    source: str | None = None,
) -> Path:
    """Export the streaming ``step`` of the configuration ``config`` for batches up to ``max_batch`` and
    compile it into the AOTInductor package ``path`` (atomically, as :func:`package_pipeline`).

    The metadata records the step's shapes, delay and initial state under ``tympan.stream``; the package
    loads as an :class:`ExportedStep`.

    Example:
        >>> import tempfile, tympan
        >>> from tympan.export import streaming_step
        >>> config = {"sample_rate": 16000, "steps": [{"kaldi:fbank": {}}]}
        >>> step = streaming_step(tympan.Pipeline.from_config(config), 1600)
        >>> path = package_streaming_step(step, tempfile.mkdtemp() + "/s.pt2", config)  # doctest: +SKIP
        >>> load_exported(path).output_size  # doctest: +SKIP
        10
    """
    target = Path(path)
    if target.suffix != ".pt2":
        raise ExportError([f"output {target}: an AOTInductor package is a .pt2 file"], source)
    shape = {
        "chunk_samples": step.chunk_samples,
        "output_size": step.output_size,
        "delay": step.delay,
        "max_batch": max_batch,
        "state_dtype": str(step.state_dtype).removeprefix("torch."),
        "initial_state": step.initial_state(1)[0].tolist(),
    }
    metadata = {
        VERSION_KEY: tympan.__version__,
        "tympan.torch_version": torch.__version__,
        CONFIG_KEY: json.dumps(dict(config)),
        STREAM_KEY: json.dumps(shape),
    }
    return _compile(export_streaming_step(step, max_batch), target, metadata)


def _compile(program: torch.export.ExportedProgram, target: Path, metadata: dict[str, str]) -> Path:
    """``program`` compiled into the package ``target`` with ``metadata``; nothing left there on failure."""
    configs = {"aot_inductor.metadata": metadata}
    handle, temporary = tempfile.mkstemp(suffix=".pt2", prefix=f".{target.stem}.", dir=target.parent or ".")
    os.close(handle)
    try:
        torch._inductor.aoti_compile_and_package(program, package_path=temporary, inductor_configs=configs)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def example_for(example: torch.Tensor | None, device: str, dtype: torch.dtype) -> torch.Tensor | None:
    """``example`` on ``device`` in ``dtype`` (None stays None: the exporter makes random audio).

    Example:
        >>> example_for(torch.zeros(2, 3, dtype=torch.float64), "cpu", torch.float32).dtype
        torch.float32
    """
    return None if example is None else example.to(device=device, dtype=dtype)


class ExportedPipeline:
    """A loaded package: call it on ``(batch, time)`` audio; ``metadata``, ``config`` and ``input`` describe it.

    Example:
        >>> import inspect
        >>> "metadata" in inspect.signature(ExportedPipeline).parameters
        True
    """

    def __init__(self, runner: Any, metadata: dict[str, str]) -> None:
        self.runner = runner
        self.metadata = dict(metadata)
        self.config: dict[str, Any] = json.loads(metadata[CONFIG_KEY])
        self.input: dict[str, Any] = json.loads(metadata["tympan.input"])

    def __call__(self, waveform: torch.Tensor) -> torch.Tensor:
        """Run the compiled pipeline on ``waveform``."""
        out = self.runner(waveform.contiguous())  # the compiled kernels read rows as laid out in memory
        result: torch.Tensor = out[0] if isinstance(out, (list, tuple)) and len(out) == 1 else out
        return result

    def __repr__(self) -> str:
        steps = [next(iter(step)) for step in self.config["steps"]]
        return f"ExportedPipeline(steps={steps}, input={self.input})"


class ExportedStep:
    """A loaded streaming step: ``step(chunk, state)`` returns ``(output, state)``; start from
    :meth:`initial_state`, drop the first ``delay`` outputs (see :mod:`tympan.export.streaming`).

    Example:
        >>> import inspect
        >>> "initial_state" in dir(ExportedStep)
        True
    """

    def __init__(self, runner: Any, metadata: dict[str, str]) -> None:
        self.runner = runner
        self.metadata = dict(metadata)
        self.config: dict[str, Any] = json.loads(metadata[CONFIG_KEY])
        stream: dict[str, Any] = json.loads(metadata[STREAM_KEY])
        self.chunk_samples: int = stream["chunk_samples"]
        self.output_size: int = stream["output_size"]
        self.delay: int = stream["delay"]
        self.max_batch: int = stream["max_batch"]
        self._initial = torch.tensor(stream["initial_state"], dtype=getattr(torch, stream["state_dtype"]))

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        """The state before the first chunk of ``batch`` streams."""
        return self._initial.expand(batch, -1).clone()

    def __call__(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The outputs for ``chunk`` ``(batch, chunk_samples)`` and the next state."""
        # The compiled kernels index their inputs as laid out in memory: a chunk sliced out of a longer
        # signal is copied into rows of its own first.
        output, new_state = self.runner(chunk.contiguous(), state.contiguous())
        return output, new_state

    def __repr__(self) -> str:
        return f"ExportedStep(chunk_samples={self.chunk_samples}, output_size={self.output_size}, delay={self.delay})"


def load_exported(path: str | os.PathLike[str], device_index: int = -1) -> ExportedPipeline | ExportedStep:
    """Load an AOTInductor package written by ``tympan export`` (or :func:`package_pipeline`).

    Raises :class:`~tympan.core.errors.ExportedPackageError` for a missing file, a file that is no PT2
    archive or no tympan package, and a package compiled with another torch version (its kernels are
    built against that version's ABI), and a package whose components are not installed (see
    :func:`load_components`).

    Example:
        >>> import tempfile
        >>> bad = tempfile.mkdtemp() + "/a.pt2"
        >>> _ = open(bad, "w").write("not a package")
        >>> load_exported(bad)
        Traceback (most recent call last):
        ...
        tympan.core.errors.ExportedPackageError: cannot load exported package ...a.pt2: not a PT2 package ...
    """
    source = Path(path)
    metadata = read_metadata(source)
    if VERSION_KEY not in metadata:
        raise ExportedPackageError(source, "an AOTInductor package, but not a tympan one (no tympan metadata)")
    built_with = metadata.get("tympan.torch_version")
    if built_with != torch.__version__:
        raise ExportedPackageError(source, f"built with torch {built_with}, this is torch {torch.__version__}")
    load_components(metadata, source)
    try:
        runner = torch._inductor.aoti_load_package(os.fspath(source), device_index=device_index)
    except (RuntimeError, ValueError, KeyError, OSError) as err:
        raise ExportedPackageError(source, f"the compiled model does not load ({type(err).__name__}: {err})") from err
    return ExportedStep(runner, metadata) if STREAM_KEY in metadata else ExportedPipeline(runner, metadata)


def load_components(metadata: Mapping[str, str], source: Path) -> None:
    """Import the code of every component of the package's configuration, found through the registry.

    A compiled model calls the operators that plugins register (``torch.ops.<namespace>.*``, such as the
    Viterbi search of ``kaldi:pitch``) through the interpreter, by name: they must exist before it loads.
    Raises :class:`~tympan.core.errors.ExportedPackageError` naming a component that is not installed or
    whose plugin fails to load.

    Example:
        >>> import json
        >>> config = {"sample_rate": 16000, "steps": [{"acme:reverb": {}}]}
        >>> load_components({CONFIG_KEY: json.dumps(config)}, Path("room.pt2"))
        Traceback (most recent call last):
        ...
        tympan.core.errors.ExportedPackageError: cannot load exported package room.pt2: its components ...
    """
    try:
        spec = check_envelope(json.loads(metadata.get(CONFIG_KEY, "{}")), source=os.fspath(source))
        for step in spec.steps:
            if step.entry is not None:
                step.entry.load()
    except (ValueError, PipelineConfigError, PluginLoadError) as err:
        raise ExportedPackageError(source, f"its components cannot be loaded here ({err})") from err


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of the PT2 package ``path``, read from the archive without loading its compiled code.

    Raises :class:`~tympan.core.errors.ExportedPackageError` for a missing file, a file that is no zip
    archive, and an archive holding no AOTInductor model.

    Example:
        >>> import tempfile
        >>> read_metadata(Path(tempfile.mkdtemp()) / "none.pt2")
        Traceback (most recent call last):
        ...
        tympan.core.errors.ExportedPackageError: cannot load exported package ...none.pt2: no such file
    """
    if not path.is_file():
        raise ExportedPackageError(path, "no such file")
    if not zipfile.is_zipfile(path):
        raise ExportedPackageError(path, "not a PT2 package (no zip archive)")
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if name.endswith(_METADATA_SUFFIX)]
        if len(names) != 1:
            raise ExportedPackageError(path, "not an AOTInductor package (no single compiled model)")
        try:
            metadata = json.loads(archive.read(names[0]))
        except (ValueError, zipfile.BadZipFile) as err:
            raise ExportedPackageError(path, f"unreadable package metadata ({err})") from err
    if not isinstance(metadata, dict):
        raise ExportedPackageError(path, "unreadable package metadata (not a mapping)")
    return {str(key): str(value) for key, value in metadata.items()}
