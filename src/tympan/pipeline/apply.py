"""Applying a pipeline to audio files: audio out for waveform pipelines, ``.pt`` / ``.npy`` for features,
``.json`` hypotheses for pipelines that end with a decoder.

A pipeline ending in a separation model writes one audio file per source, ``<stem>.<source>.<format>``.

Every output is written atomically; a file that fails is reported and the others go on. When the
configuration gives no ``sample_rate``, the pipeline is built for each file's own rate (once per rate).

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tympan.core.errors import PipelineConfigError, TympanError
from tympan.core.files import atomic_write
from tympan.pipeline.config import check_envelope
from tympan.pipeline.files import read_config_file
from tympan.pipeline.pipeline import Pipeline
from tympan.registry import Registry

__all__ = ["FEATURE_FORMATS", "FileResult", "FileRunner"]

#: How feature tensors are written.
FEATURE_FORMATS = ("pt", "npy")


@dataclass(frozen=True)
class FileResult:
    """The outcome for one input: the output path, or the error message.

    Example:
        >>> FileResult(Path("a.wav"), None, "cannot decode a.wav: empty").ok
        False
    """

    source: Path
    output: Path | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the output was written."""
        return self.error is None


class FileRunner:
    """Applies one configuration to audio files, writing results into ``outdir``.

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
    ) -> None:
        if features_format not in FEATURE_FORMATS:
            raise ValueError(f"features_format must be one of {FEATURE_FORMATS}, got {features_format!r}")
        self.config = dict(config) if isinstance(config, Mapping) else read_config_file(config)
        self.source = None if isinstance(config, Mapping) else os.fspath(config)
        self.outdir = Path(outdir)
        self.features_format = features_format
        self.audio_format = audio_format
        self.registry = registry
        self._pipelines: dict[int | None, Pipeline] = {}
        self._claimed: dict[Path, Path] = {}
        # a broken configuration fails before any file: built now when its rate is known, else names checked
        if self.config.get("sample_rate") is not None:
            self.pipeline_for(None)
        else:
            check_envelope(self.config, registry, self.source)

    def pipeline_for(self, sample_rate: int | None) -> Pipeline:
        """The pipeline for inputs at ``sample_rate`` (the configuration's own rate when it sets one)."""
        key = None if self.config.get("sample_rate") is not None else sample_rate
        pipeline = self._pipelines.get(key)
        if pipeline is None:
            config = self.config if key is None else {**self.config, "sample_rate": key}
            try:
                pipeline = Pipeline.from_config(config, self.registry)
            except PipelineConfigError as err:
                raise PipelineConfigError(err.problems, self.source) from None
            self._pipelines[key] = pipeline
        return pipeline

    def output_path(self, source: Path, pipeline: Pipeline) -> Path:
        """Where the result for ``source`` goes; refuses two inputs that would share one output."""
        return self.output_paths(source, pipeline)[0]

    def output_paths(self, source: Path, pipeline: Pipeline) -> list[Path]:
        """Where the results for ``source`` go: one file, or one per separated source."""
        suffix = self.audio_format if pipeline.produces_waveform else self.features_format
        if pipeline.produces_hypotheses:
            suffix = "json"
        names = pipeline.source_names if pipeline.produces_waveform else None
        stems = [f"{source.stem}.{name}" for name in names] if names else [source.stem]
        outputs = [self.outdir / f"{stem}.{suffix}" for stem in stems]
        for output in outputs:
            first = self._claimed.setdefault(output, source)
            if first != source:
                raise FileExistsError(f"{output} is already the output of {first}")
        return outputs

    def run(self, source: str | os.PathLike[str]) -> FileResult:
        """Process one file; errors become a failed :class:`FileResult`, never an exception."""
        import torch

        from tympan.plugins.io.api import load, save

        path = Path(source)
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
        return FileResult(path, outputs[0])

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
