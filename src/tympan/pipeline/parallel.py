"""Applying a pipeline to files on several processes, one intra-op thread each, with the audio throughput.

Example:
    >>> import tempfile, tympan
    >>> results, stats = run_files({"steps": [{"dsp:mfcc": {"n_mfcc": 13}}]}, [tympan.assets.path("speech")],
    ...                            tempfile.mkdtemp(), jobs=1)
    >>> results[0].ok, stats.audio_seconds > 0
    (True, True)
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tympan.pipeline.apply import FileResult, FileRunner

__all__ = ["RunStats", "run_files"]

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class RunStats:
    """Seconds of audio processed and wall-clock seconds taken.

    Example:
        >>> RunStats(audio_seconds=60.0, seconds=2.0).speed
        30.0
    """

    audio_seconds: float
    seconds: float

    @property
    def speed(self) -> float:
        """Seconds of audio per second."""
        return self.audio_seconds / self.seconds if self.seconds else 0.0


def _start_worker(config: Mapping[str, Any] | str, outdir: str, options: Mapping[str, Any]) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER["runner"] = FileRunner(config, outdir, **options)


def _run_one(source: str) -> FileResult:
    result: FileResult = _WORKER["runner"].run(source)
    return result


def _check_outputs(inputs: Sequence[Path]) -> None:
    seen: dict[str, Path] = {}
    for source in inputs:
        first = seen.setdefault(source.stem, source)
        if first != source:
            raise FileExistsError(f"{source} and {first} would write the same output ({source.stem}.*)")


def run_files(
    config: Mapping[str, Any] | str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    *,
    jobs: int = 2,
    chunksize: int = 4,
    **options: Any,
) -> tuple[list[FileResult], RunStats]:
    """Run ``config`` over ``inputs`` into ``outdir`` on ``jobs`` processes; results in input order.

    ``options`` go to :class:`~tympan.pipeline.apply.FileRunner` (``features_format``, ``audio_format``).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    paths = [Path(source) for source in inputs]
    _check_outputs(paths)
    source = dict(config) if isinstance(config, Mapping) else os.fspath(config)
    FileRunner(source, outdir, **options)  # a broken configuration fails here, before any worker starts
    started = time.perf_counter()
    if jobs == 1:
        _start_worker(source, os.fspath(outdir), options)
        results = [_run_one(os.fspath(p)) for p in paths]
    else:
        with ProcessPoolExecutor(
            jobs, initializer=_start_worker, initargs=(source, os.fspath(outdir), options)
        ) as pool:
            results = list(pool.map(_run_one, [os.fspath(p) for p in paths], chunksize=chunksize))
    elapsed = time.perf_counter() - started
    return results, RunStats(sum(result.audio_seconds for result in results), elapsed)
