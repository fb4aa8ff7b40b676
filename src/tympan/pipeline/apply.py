"""Applying a pipeline to audio files: audio out for waveform pipelines, ``.pt`` / ``.npy`` for features,
``.json`` hypotheses for pipelines that end with a decoder.

A pipeline ending in a separation model writes one audio file per source, ``<stem>.<source>.<format>``.

Every output is written atomically; a file that fails is reported and the others go on. When the
configuration gives no ``sample_rate``, the pipeline is built for each file's own rate; the
:data:`PIPELINES_KEPT` most recently used are kept, so inputs at many different rates cost bounded memory.

No input is ever overwritten: an output that is one of the inputs (the same file under another spelling,
through a link, or a hard link to it) is refused with :class:`~tympan.core.errors.UnsafeDestinationError`,
and so is an output that is a device or a FIFO.

Example:
    >>> import tempfile, tympan
    >>> out = tempfile.mkdtemp()
    >>> runner = FileRunner({"steps": [{"mfcc": {"n_mfcc": 13}}]}, out)
    >>> result = runner.run(tympan.assets.path("speech"))
    >>> result.ok, result.output.suffix
    (True, '.pt')
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tympan.core.errors import PipelineConfigError, TympanError, UnsafeDestinationError
from tympan.core.files import atomic_write, writable_destination
from tympan.pipeline.config import check_envelope
from tympan.pipeline.files import read_config_file
from tympan.pipeline.pipeline import Pipeline
from tympan.registry import Registry

__all__ = ["FEATURE_FORMATS", "PIPELINES_KEPT", "FileResult", "FileRunner"]

#: How feature tensors are written.
FEATURE_FORMATS = ("pt", "npy")
#: How many pipelines built for different input rates a runner keeps.
PIPELINES_KEPT = 4


def _identity(path: Path) -> tuple[int, int] | str:
    """What makes two paths the same file: device and inode when it exists, else the resolved path."""
    try:
        status = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (status.st_dev, status.st_ino)


@dataclass(frozen=True)
class FileResult:
    """The outcome for one input: the output path and the seconds of audio processed, or the error message.

    Example:
        >>> FileResult(Path("a.wav"), None, "cannot decode a.wav: empty").ok
        False
    """

    source: Path
    output: Path | None
    error: str | None = None
    audio_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the output was written."""
        return self.error is None


class FileRunner:
    """Applies one configuration to audio files, writing results into ``outdir``; ``inputs`` are files
    that must never be written (every file this runner reads is protected too).

    Example:
        >>> import tempfile
        >>> FileRunner({"steps": [{"amplitude_to_db": {}}]}, tempfile.mkdtemp()).features_format
        'pt'
    """

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any],
        outdir: str | os.PathLike[str],
        features_format: str = "pt",
        audio_format: str = "wav",
        registry: Registry | None = None,
        inputs: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        if features_format not in FEATURE_FORMATS:
            raise ValueError(f"features_format must be one of {FEATURE_FORMATS}, got {features_format!r}")
        self.config = dict(config) if isinstance(config, Mapping) else read_config_file(config)
        self.source = None if isinstance(config, Mapping) else os.fspath(config)
        self.outdir = Path(outdir)
        self.features_format = features_format
        self.audio_format = audio_format
        self.registry = registry
        self._pipelines: OrderedDict[int | None, Pipeline] = OrderedDict()
        self._claimed: dict[str, Path] = {}
        self._inputs: dict[tuple[int, int] | str, Path] = {_identity(Path(p)): Path(p) for p in inputs}
        # a broken configuration fails before any file: built now when its rate is known, else names checked
        if self.config.get("sample_rate") is not None:
            self.pipeline_for(None)
        else:
            check_envelope(self.config, registry, self.source)

    def pipeline_for(self, sample_rate: int | None) -> Pipeline:
        """The pipeline for inputs at ``sample_rate`` (the configuration's own rate when it sets one)."""
        key = None if self.config.get("sample_rate") is not None else sample_rate
        pipeline = self._pipelines.get(key)
        if pipeline is not None:
            self._pipelines.move_to_end(key)
            return pipeline
        config = self.config if key is None else {**self.config, "sample_rate": key}
        try:
            pipeline = Pipeline.from_config(config, self.registry)
        except PipelineConfigError as err:
            raise PipelineConfigError(err.problems, self.source) from None
        self._pipelines[key] = pipeline
        while len(self._pipelines) > PIPELINES_KEPT:
            self._pipelines.popitem(last=False)
        return pipeline

    def output_path(self, source: Path, pipeline: Pipeline) -> Path:
        """Where the result for ``source`` goes; refuses an output that is an input, a device, or the output
        of another input."""
        return self.output_paths(source, pipeline)[0]

    def output_paths(self, source: Path, pipeline: Pipeline) -> list[Path]:
        """Where the results for ``source`` go: one file, or one per separated source; each is refused when it
        is an input, a device, or the output of another input."""
        suffix = self.audio_format if pipeline.produces_waveform else self.features_format
        if pipeline.produces_hypotheses:
            suffix = "json"
        names = pipeline.source_names if pipeline.produces_waveform else None
        stems = [f"{source.stem}.{name}" for name in names] if names else [source.stem]
        outputs = [self.outdir / f"{stem}.{suffix}" for stem in stems]
        for output in outputs:
            target = writable_destination(output)
            overwritten = self._inputs.get(_identity(target))
            if overwritten is not None:
                raise UnsafeDestinationError(output, f"it is the input {overwritten} (choose another --outdir)")
            first = self._claimed.setdefault(os.path.realpath(target), source)
            if first != source:
                raise UnsafeDestinationError(output, f"it is already the output of {first}")
        return outputs

    def run(self, source: str | os.PathLike[str]) -> FileResult:
        """Process one file; errors become a failed :class:`FileResult`, never an exception."""
        import torch

        from tympan.plugins.io.api import load, save

        path = Path(source)
        self._inputs.setdefault(_identity(path), path)
        try:
            waveform, rate = load(path)
            pipeline = self.pipeline_for(rate)
            if pipeline.sample_rate is not None and pipeline.sample_rate != rate:
                raise ValueError(
                    f"sample rate {rate} Hz differs from the configuration's sample_rate {pipeline.sample_rate}"
                )
            outputs = self.output_paths(path, pipeline)
            with torch.inference_mode():
                result = pipeline(waveform)
            self.outdir.mkdir(parents=True, exist_ok=True)
            if pipeline.produces_waveform:
                self._write_audio(outputs, result, int(pipeline.output_sample_rate or rate), save)
            elif pipeline.produces_hypotheses:
                self._write_hypotheses(outputs[0], result)
            else:
                self._write_features(outputs[0], result)
        except (TympanError, OSError, ValueError, RuntimeError) as err:
            return FileResult(path, None, str(err))
        return FileResult(path, outputs[0], audio_seconds=waveform.shape[-1] / rate)

    def _write_audio(self, outputs: list[Path], result: Any, rate: int, save: Any) -> None:
        """One file, or one per source (``result`` stacks them first); none is left if one fails."""
        pieces = [result] if len(outputs) == 1 else list(result)
        written: list[Path] = []
        try:
            for output, piece in zip(outputs, pieces, strict=True):
                save(output, piece, rate, format=self.audio_format)
                written.append(output)
        except BaseException:
            for output in written:
                output.unlink(missing_ok=True)
            raise

    def _write_features(self, output: Path, features: Any) -> None:
        import numpy
        import torch

        with atomic_write(output) as handle:
            if self.features_format == "npy":
                numpy.save(handle, features.cpu().numpy())
            else:
                torch.save(features.cpu(), handle)

    @staticmethod
    def _write_hypotheses(output: Path, hypotheses: Any) -> None:
        """Each channel's hypotheses, best first: words, tokens, score and timesteps."""
        import json

        plain = [
            [
                {
                    "words": list(h.words),
                    "tokens": h.tokens.tolist(),
                    "score": float(h.score),
                    "timesteps": h.timesteps.tolist(),
                }
                for h in channel
            ]
            for channel in hypotheses
        ]
        with atomic_write(output) as handle:
            handle.write(json.dumps(plain, indent=1).encode())
