"""A pipeline over a whole corpus, into WebDataset shards or Kaldi archives, on a local process pool or as
a Ray Data job.

:func:`map_corpus` divides the items of a source (a dataset, a Kaldi data directory or a list of files)
into contiguous shards; each shard is one task that decodes its items, runs the pipeline and writes its
piece of the output atomically: ``shard-NNNNNN.tar``, or ``FEATS.NNNNNN.ark`` with its scp
(:class:`~tympan.plugins.datasets.job_outputs.JobOutput`). The same task function runs on either engine,
so the output is the same, byte for byte. An item that fails is retried, then reported (and listed in
``<piece>.failed.json``); a piece that exists without such a list is complete and is skipped when the job
runs again, so an interrupted job resumes where it stopped.

Example:
    >>> import tempfile, tympan
    >>> report = map_corpus([tympan.assets.path("speech")], {"steps": [{"dsp:mfcc": {"n_mfcc": 13}}]},
    ...                     tempfile.mkdtemp(), jobs=1, progress=False)
    >>> report.written, report.failures
    (1, [])
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tympan.core.errors import TympanError
from tympan.core.files import atomic_write
from tympan.plugins.datasets.job_outputs import JobOutput
from tympan.plugins.datasets.shards import sample_key

__all__ = ["MapReport", "WorkItem", "map_corpus", "work_items"]


@dataclass(frozen=True)
class WorkItem:
    """One input: its ``key``, the audio ``path`` and the window of frames (``num_frames=-1``: to the end).

    Example:
        >>> WorkItem("19-198-0001", "a.flac").num_frames
        -1
    """

    key: str
    path: str
    frame_offset: int = 0
    num_frames: int = -1


def work_items(source: Any) -> list[WorkItem]:
    """The items of a dataset (its records' ids and audio), a Kaldi data directory, or a list of audio files.

    Example:
        >>> [item.key for item in work_items(["a/x.wav", "b/y.flac"])]
        ['x', 'y']
    """
    if isinstance(source, (str, os.PathLike)):
        from tympan.plugins.datasets.interop import KaldiDir

        source = KaldiDir(os.fspath(source))
    if hasattr(source, "metadata"):
        items = []
        for index in range(len(source)):
            path, offset, frames = (
                source.locate(index) if hasattr(source, "locate") else (source.metadata(index).path, 0, -1)
            )
            items.append(WorkItem(sample_key(source.metadata(index).id), path, offset, frames))
        return items
    return [WorkItem(sample_key(Path(path).stem), os.fspath(path)) for path in source]


@dataclass
class MapReport:
    """What a :func:`map_corpus` job did: shards written or skipped, items written, failures, audio seconds.

    Example:
        >>> MapReport(shards=[], written=3, skipped_shards=1, failures=[], audio_seconds=6.0, seconds=2.0).speed
        3.0
    """

    shards: list[str]
    written: int
    skipped_shards: int
    failures: list[tuple[str, str]]
    audio_seconds: float
    seconds: float = 0.0
    engine: str = "local"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def speed(self) -> float:
        """Seconds of audio processed per second."""
        return self.audio_seconds / self.seconds if self.seconds else 0.0


_RUNNERS: dict[str, Any] = {}


def _runner(config: dict[str, Any], out: str) -> Any:
    from tympan.pipeline.apply import FileRunner

    key = json.dumps(config, sort_keys=True, default=str)
    if key not in _RUNNERS:
        _RUNNERS[key] = FileRunner(config, out)
    return _RUNNERS[key]


def _process(item: WorkItem, runner: Any, retries: int) -> tuple[Any, str | None]:
    import torch

    from tympan.plugins.io.api import load

    error = ""
    for _ in range(retries + 1):
        try:
            waveform, rate = load(item.path, item.frame_offset, item.num_frames)
            pipeline = runner.pipeline_for(rate)
            if pipeline.sample_rate is not None and pipeline.sample_rate != rate:
                raise ValueError(f"sample rate {rate} Hz differs from the configuration's {pipeline.sample_rate}")
            with torch.inference_mode():
                output = pipeline(waveform)
            return (output, pipeline, rate, waveform.shape[-1] / rate), None
        except (TympanError, OSError, ValueError, RuntimeError) as err:
            error = f"{type(err).__name__}: {err}"
    return None, error


def _store(writer: Any, item: WorkItem, result: tuple[Any, Any, int, float]) -> None:
    output, pipeline, rate, _ = result
    fields = {"id": item.key, "path": item.path, "frame_offset": item.frame_offset, "input_sample_rate": rate}
    if pipeline.produces_waveform:
        out_rate = int(pipeline.output_sample_rate or rate)
        writer.add(item.key, {**fields, "sample_rate": out_rate}, audio=output, sample_rate=out_rate)
    else:
        writer.add(item.key, fields, features=output)


def run_shard(task: Mapping[str, Any]) -> dict[str, Any]:
    """Process one task (``index``, ``items``, ``out``, ``config``, ``retries``); return its report.

    This is the unit of work of both engines. It runs with one intra-op thread.
    """
    import torch

    torch.set_num_threads(1)
    out, index = JobOutput.parse(task["out"]), int(task["index"])
    path, failed_list = out.piece(index), out.failed_list(index)
    if out.complete(index):
        return {"shard": path.name, "written": 0, "skipped": True, "failures": [], "audio_seconds": 0.0}
    runner = _runner(task["config"], os.fspath(out.folder))
    failures, written, seconds = [], 0, 0.0
    with out.writer(index) as writer:
        for raw in task["items"]:
            item = WorkItem(*raw)
            result, error = _process(item, runner, int(task["retries"]))
            if result is not None:
                try:
                    _store(writer, item, result)
                    written, seconds = written + 1, seconds + result[3]
                    continue
                except TympanError as err:  # an output this destination cannot hold
                    error = f"{type(err).__name__}: {err}"
            failures.append(
                (item.path if item.key == Path(item.path).stem else f"{item.key} ({item.path})", str(error))
            )
    if failures:
        with atomic_write(failed_list) as handle:
            handle.write(json.dumps(failures, indent=1).encode())
    elif failed_list.exists():
        failed_list.unlink()
    return {"shard": path.name, "written": written, "skipped": False, "failures": failures, "audio_seconds": seconds}


def _tasks(
    items: Sequence[WorkItem], shards: int, out: JobOutput, config: dict[str, Any], retries: int
) -> list[dict[str, Any]]:
    count = max(1, min(shards, len(items) or 1))
    bounds = [round(i * len(items) / count) for i in range(count + 1)]
    return [
        {
            "index": index,
            "items": [dataclasses.astuple(item) for item in items[bounds[index] : bounds[index + 1]]],
            "out": out.spec(),
            "config": config,
            "retries": retries,
        }
        for index in range(count)
    ]


def _config(pipeline: Any) -> dict[str, Any]:
    if isinstance(pipeline, Mapping):
        return dict(pipeline)
    if hasattr(pipeline, "to_config"):
        return dict(pipeline.to_config())
    from tympan.pipeline.files import read_config_file

    return dict(read_config_file(pipeline))


def _run_local(tasks: list[dict[str, Any]], jobs: int, progress: bool) -> list[dict[str, Any]]:
    import click

    show = progress and sys.stderr.isatty()
    with click.progressbar(
        length=len(tasks), label="shards", file=sys.stderr if show else open(os.devnull, "w")
    ) as bar:
        if jobs == 1:
            reports = []
            for task in tasks:
                reports.append(run_shard(task))
                bar.update(1)
            return reports
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            reports = []
            for report in pool.map(run_shard, tasks):
                reports.append(report)
                bar.update(1)
            return reports


def _ray_task(row: dict[str, Any]) -> dict[str, Any]:
    return {"report": json.dumps(run_shard(json.loads(row["task"])))}


def _run_ray(tasks: list[dict[str, Any]], jobs: int, address: str | None, progress: bool) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise TympanError("the ray engine needs Ray: pip install 'tympan[ray]'") from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        local: dict[str, Any] = {} if address else {"num_cpus": jobs}
        ray.init(address=address, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False, **local)
    rows = [{"task": json.dumps(task)} for task in tasks]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map(_ray_task, num_cpus=1)
    dataset.context.enable_progress_bars = dataset.context.print_on_execution_start = progress
    # a single map: Ray Data's per-operator reservation would only hold back half the CPUs while its first
    # task runs (measured: one shard at a time for the first 0.7 s of a 3 s job on 2 CPUs)
    dataset.context.op_resource_reservation_enabled = False
    return [json.loads(row["report"]) for row in dataset.take_all()]


def map_corpus(
    source: Any,
    pipeline: Any,
    out: str | os.PathLike[str],
    *,
    engine: Literal["local", "ray"] = "local",
    shards: int | None = None,
    jobs: int = 2,
    items_per_shard: int = 1000,
    retries: int = 1,
    ray_address: str | None = None,
    progress: bool = True,
) -> MapReport:
    """Run ``pipeline`` (a config file, a mapping or a ``Pipeline``) over ``source`` into ``out``.

    Args:
        source: A dataset, a Kaldi data directory (path) or a list of audio files.
        pipeline: The pipeline configuration.
        out: A folder of WebDataset shards, or ``ark,scp:FEATS.ark,FEATS.scp`` for features in Kaldi
            archives (one per shard, ``FEATS.NNNNNN.ark``, and ``FEATS.scp`` over all of them); see
            :mod:`~tympan.plugins.datasets.job_outputs`.
        engine: ``local`` (a process pool of ``jobs``) or ``ray`` (a Ray Data job; ``ray_address`` or
            ``RAY_ADDRESS``, else a local cluster of ``jobs`` CPUs).
        shards: How many shards or archives (default: one per ``items_per_shard`` items).
        jobs: Worker processes on this machine.
        items_per_shard: Items per shard when ``shards`` is not given.
        retries: Extra attempts at an item that fails.
        ray_address: The Ray cluster to join.
        progress: Show a progress bar over shards on a terminal (``ray``: Ray Data's progress output).
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    if jobs < 1 or (shards is not None and shards < 1) or retries < 0:
        raise ValueError(f"jobs and shards must be >= 1 and retries >= 0 (got {jobs}, {shards}, {retries})")
    output = JobOutput.parse(out)
    output.prepare()
    config = _config(pipeline)
    runner = _runner(config, os.fspath(output.folder))  # a broken configuration fails here, before any work
    if output.kind == "kaldi" and config.get("sample_rate") is not None and runner.pipeline_for(None).produces_waveform:
        raise ValueError(f"{output.spec()}: a Kaldi archive holds features; this pipeline outputs audio")
    items = work_items(source)
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"two inputs share the key {duplicate!r}; each item needs its own")
    tasks = _tasks(items, shards or math.ceil(len(items) / items_per_shard), output, config, retries)
    started = time.perf_counter()
    reports = _run_ray(tasks, jobs, ray_address, progress) if engine == "ray" else _run_local(tasks, jobs, progress)
    output.finish(len(tasks))
    return MapReport(
        shards=[report["shard"] for report in reports],
        written=sum(report["written"] for report in reports),
        skipped_shards=sum(bool(report["skipped"]) for report in reports),
        failures=[tuple(failure) for report in reports for failure in report["failures"]],
        audio_seconds=sum(report["audio_seconds"] for report in reports),
        seconds=time.perf_counter() - started,
        engine=engine,
    )
