"""Duration-bucketed batches from a stream of samples, for corpora read sequentially from shards.

A map-style corpus is batched by :class:`~tympan.plugins.datasets.batching.DurationBucketSampler`, which
sees every duration first. A stream (:class:`~tympan.plugins.datasets.shards.ShardStream`) is batched as it
flows: :class:`DurationBucketStream` puts each sample into the bucket of its duration and hands a bucket on
as a batch as soon as one more sample would take it past ``max_seconds`` of padded audio. Memory stays
bounded (each bucket holds at most one batch) and the batches are as random as the stream's shuffle buffer
makes them. Bucket edges are given, or estimated from the first samples so that each bucket holds an equal
share of the audio. Audio can stay encoded until its batch is complete: :func:`collate_samples` decodes and
pads it, :class:`BatchFeatures` decodes, resamples and computes the features of each item, then pads them.
:func:`stream_loader` puts it together, in ``DataLoader`` workers.

Example:
    >>> import torch
    >>> samples = [{"__key__": f"u{i}", "waveform": torch.zeros(1, 8 * n), "sample_rate": 8}
    ...            for i, n in enumerate([1, 3, 1, 3, 1])]
    >>> batches = DurationBucketStream(samples, max_seconds=4, bucket_edges=[2.0])
    >>> [batch["__key__"] for batch in batches]
    [['u1'], ['u0', 'u2', 'u4'], ['u3']]
"""

from __future__ import annotations

import bisect
import io
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch

from tympan.core.cores import loader_workers
from tympan.core.errors import DatasetLayoutError
from tympan.plugins.datasets.batching import LOAD_ERRORS, check_bucketing, collate, one_thread, warn_broken
from tympan.plugins.datasets.shards import AUDIO_EXTENSIONS, ShardStream, decode_sample

__all__ = [
    "BatchFeatures",
    "DurationBucketStream",
    "bucket_edges",
    "collate_samples",
    "decoded_samples",
    "sample_duration",
    "stream_loader",
]


def sample_duration(sample: dict[str, Any]) -> float:
    """Seconds of audio in a sample: its record's ``duration`` (or ``num_frames / sample_rate``), else its
    decoded waveform, else the header of its encoded audio. No audio is decoded when the record has it.

    Example:
        >>> sample_duration({"json": {"duration": 2.5}})
        2.5
        >>> sample_duration({"json": {"num_frames": 8000, "sample_rate": 16000}})
        0.5
    """
    fields = sample.get("json") or {}
    if "duration" in fields:
        return float(fields["duration"])
    if fields.get("num_frames") and fields.get("sample_rate"):
        return float(fields["num_frames"]) / float(fields["sample_rate"])
    if "waveform" in sample:
        return float(sample["waveform"].shape[-1] / float(sample["sample_rate"]))
    from tympan.plugins.io.api import info

    for extension in AUDIO_EXTENSIONS:
        if extension in sample:
            return float(info(io.BytesIO(sample[extension])).duration)
    where = f"{sample.get('__url__', 'stream')} ({sample.get('__key__', '?')})"
    raise DatasetLayoutError(where, "the sample has neither audio nor a duration in its record")


def bucket_edges(durations: Sequence[float], num_buckets: int) -> list[float]:
    """``num_buckets - 1`` duration edges that give each bucket an equal share of the total audio.

    Example:
        >>> bucket_edges([1.0, 1.0, 2.0, 2.0, 4.0, 4.0], 2)
        [4.0]
    """
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be at least 1, got {num_buckets}")
    ordered = sorted(float(d) for d in durations)
    total = sum(ordered)
    if not ordered or total <= 0 or num_buckets == 1:
        return []
    edges: list[float] = []
    cumulative = list(itertools.accumulate(ordered))
    for share in range(1, num_buckets):
        position = bisect.bisect_left(cumulative, total * share / num_buckets)
        edge = ordered[min(position, len(ordered) - 1)]
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def decoded_samples(samples: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``samples`` with their audio decoded (:func:`~tympan.plugins.datasets.shards.decode_sample`);
    a sample whose audio cannot be decoded is left out with a
    :class:`~tympan.plugins.datasets.batching.BrokenItemWarning` naming it and its shard.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     kept = decoded_samples([{"__key__": "a", "__url__": "s.tar", "flac": b"not flac"}])
        >>> kept, "skipped a of s.tar" in str(caught[0].message)
        ([], True)
    """
    decoded = []
    for sample in samples:
        try:
            decoded.append(decode_sample(dict(sample)))
        except LOAD_ERRORS as err:
            warn_broken(f"skipped {sample.get('__key__')} of {sample.get('__url__')}: {type(err).__name__}: {err}")
    return decoded


def _batch_fields(samples: Sequence[dict[str, Any]], rate: int) -> dict[str, Any]:
    return {
        "sample_rate": rate,
        "__key__": [sample.get("__key__") for sample in samples],
        "json": [sample.get("json", {}) for sample in samples],
    }


def _one_rate(samples: Sequence[dict[str, Any]]) -> int:
    rates = {int(sample["sample_rate"]) for sample in samples}
    if len(rates) > 1:
        keys = [sample.get("__key__") for sample in samples]
        raise ValueError(f"one batch holds several sample rates {sorted(rates)} (samples {keys}); resample them")
    return rates.pop()


def collate_samples(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Decode (when still encoded) and pad a batch of stream samples: ``waveform`` ``(batch, channels, time)``,
    ``waveform_lengths``, one ``sample_rate``, and ``__key__`` / ``json`` as lists. Samples that cannot be
    decoded are left out (:func:`decoded_samples`).

    Example:
        >>> import torch
        >>> batch = collate_samples([{"__key__": "a", "waveform": torch.ones(1, 3), "sample_rate": 8},
        ...                          {"__key__": "b", "waveform": torch.ones(1, 5), "sample_rate": 8}])
        >>> batch["waveform"].shape, batch["waveform_lengths"].tolist(), batch["__key__"]
        (torch.Size([2, 1, 5]), [3, 5], ['a', 'b'])
    """
    decoded = decoded_samples(samples)
    if not decoded:
        return {}
    waveform, lengths = collate([sample["waveform"] for sample in decoded])
    return {"waveform": waveform, "waveform_lengths": lengths, **_batch_fields(decoded, _one_rate(decoded))}


class BatchFeatures:
    """A batch of stream samples to padded features: each sample decoded, downmixed to mono, resampled to
    ``sample_rate`` (when given and different) and passed through ``feature``; the results are padded along
    their time dimension ``dim`` (``0`` for the Kaldi features' ``(frames, dim)``, ``-1`` for
    ``(n_mels, frames)``) into ``features`` and ``features_lengths``, beside ``sample_rate`` (of the
    features' input), ``__key__`` and ``json``.

    Items go through one at a time: their working set stays in cache and nothing is computed on padding,
    which is faster on a CPU worker than one call on a padded batch.

    Example:
        >>> import torch
        >>> from tympan.plugins.kaldi.features import Fbank
        >>> featurize = BatchFeatures(Fbank(num_mel_bins=40), sample_rate=16000)
        >>> batch = featurize([{"__key__": "a", "waveform": torch.randn(1, 44100), "sample_rate": 44100},
        ...                    {"__key__": "b", "waveform": torch.randn(2, 22050), "sample_rate": 44100}])
        >>> batch["features"].shape, batch["features_lengths"].tolist(), batch["sample_rate"]
        (torch.Size([2, 98, 40]), [98, 48], 16000)
    """

    def __init__(self, feature: torch.nn.Module, sample_rate: int | None = None, dim: int = 0) -> None:
        if sample_rate is not None and not 0 < sample_rate <= 10_000_000:
            raise ValueError(f"sample_rate must be in (0, 10000000] Hz, got {sample_rate}")
        from tympan.plugins.dsp.transforms import Resample
        from tympan.plugins.io.api import load  # noqa: F401  (imported here, before DataLoader workers fork)

        self.feature, self.sample_rate, self.dim = feature, sample_rate, dim
        self._resample_class = Resample
        self._resamplers: dict[int, torch.nn.Module] = {}

    def _resampler(self, rate: int) -> torch.nn.Module | None:
        if self.sample_rate is None or rate == self.sample_rate:
            return None
        if rate not in self._resamplers:
            self._resamplers[rate] = self._resample_class(orig_freq=rate, new_freq=self.sample_rate)
        return self._resamplers[rate]

    def __call__(self, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        decoded = decoded_samples(samples)
        if not decoded:
            return {}
        rate = _one_rate(decoded)
        resample = self._resampler(rate)
        features = []
        with torch.inference_mode():
            for sample in decoded:
                waveform = sample["waveform"]
                mono = waveform[0] if waveform.shape[0] == 1 else waveform.mean(dim=0)
                features.append(self.feature(resample(mono) if resample is not None else mono))
        padded, lengths = collate(features, dim=self.dim)
        return {"features": padded, "features_lengths": lengths, **_batch_fields(decoded, self.sample_rate or rate)}


class DurationBucketStream(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    """Batches of similar-duration samples from an iterable of samples, each under ``max_seconds`` padded.

    A sample goes to the bucket of its duration (:func:`sample_duration`); when one more sample would make
    the bucket's padded length (``count * longest``) exceed ``max_seconds``, the bucket is handed on as a
    batch and starts again. At the end of the stream the partly filled buckets follow (unless
    ``drop_last``). ``bucket_edges`` (seconds, ascending) is estimated, when not given, from the first
    ``estimate`` samples so that each of ``num_buckets`` buckets holds an equal share of the audio. Each
    batch goes through ``transform`` (default :func:`collate_samples`). A sample longer than
    ``max_seconds`` forms a batch of its own.

    In a ``DataLoader`` (``batch_size=None``) each worker batches its own shards. The number of batches
    per rank follows the data, as with any stream; :meth:`set_epoch` reaches the source's.

    Example:
        >>> import torch
        >>> samples = [{"__key__": str(i), "json": {"duration": 1.0}, "waveform": torch.zeros(1, 4),
        ...             "sample_rate": 4} for i in range(5)]
        >>> [len(batch["__key__"]) for batch in DurationBucketStream(samples, max_seconds=2)]
        [2, 2, 1]
    """

    def __init__(
        self,
        samples: Iterable[dict[str, Any]],
        max_seconds: float,
        *,
        num_buckets: int = 10,
        bucket_edges: Sequence[float] | None = None,
        estimate: int = 500,
        transform: Callable[[list[dict[str, Any]]], Any] = collate_samples,
        drop_last: bool = False,
    ) -> None:
        check_bucketing(max_seconds, num_buckets)
        if not 1 <= estimate <= 1_000_000:
            raise ValueError(f"estimate must be in [1, 1000000] samples, got {estimate!r}")
        edges = None if bucket_edges is None else [float(edge) for edge in bucket_edges]
        if edges is not None and edges != sorted(edges):
            raise ValueError(f"bucket_edges must be ascending, got {edges}")
        self.samples, self.max_seconds, self.num_buckets = samples, float(max_seconds), num_buckets
        self.bucket_edges, self.estimate, self.transform, self.drop_last = edges, estimate, transform, drop_last

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch to the source (its shuffle)."""
        if hasattr(self.samples, "set_epoch"):
            self.samples.set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:
        source = iter(self.samples)
        edges, first = self.bucket_edges, []
        if edges is None:
            first = [(sample, sample_duration(sample)) for sample in itertools.islice(source, self.estimate)]
            edges = bucket_edges([duration for _, duration in first], self.num_buckets)
        rest = ((sample, sample_duration(sample)) for sample in source)
        buckets: list[list[dict[str, Any]]] = [[] for _ in range(len(edges) + 1)]
        longest = [0.0] * len(buckets)
        for sample, duration in itertools.chain(first, rest):
            index = bisect.bisect_right(edges, duration)
            bucket = buckets[index]
            if bucket and max(longest[index], duration) * (len(bucket) + 1) > self.max_seconds:
                yield self.transform(bucket)
                bucket = buckets[index] = []
                longest[index] = 0.0
            bucket.append(sample)
            longest[index] = max(longest[index], duration)
        if not self.drop_last:
            for bucket in buckets:
                if bucket:
                    yield self.transform(bucket)


def stream_loader(
    shards: Sequence[str | os.PathLike[str]],
    max_seconds: float,
    *,
    feature: torch.nn.Module | None = None,
    sample_rate: int | None = None,
    num_workers: int = 2,
    shuffle_buffer: int = 1000,
    num_buckets: int = 10,
    seed: int = 0,
    dim: int = 0,
    **kwargs: Any,
) -> torch.utils.data.DataLoader[Any]:
    """A ``DataLoader`` of duration-bucketed batches streamed from WebDataset shards.

    Each of ``num_workers`` workers (one intra-op thread each) reads its share of the shards through a
    shuffle buffer of still-encoded samples, buckets them (:class:`DurationBucketStream`), then decodes and
    pads each batch (:func:`collate_samples`) or, given ``feature``, resamples each item to ``sample_rate``,
    computes its features and pads them along ``dim`` (:class:`BatchFeatures`). ``kwargs`` go to the
    ``DataLoader`` (``pin_memory``, ``prefetch_factor``).

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.datasets.shards import ShardWriter
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "shard-000000.tar"
        >>> with ShardWriter(path) as writer:
        ...     for i in range(3):
        ...         writer.add(f"u{i}", {"duration": 0.5}, audio=torch.zeros(1, 4000), sample_rate=8000)
        >>> [len(batch["__key__"]) for batch in stream_loader([path], max_seconds=1.0, num_workers=0)]
        [2, 1]
    """
    stream = ShardStream(shards, shuffle_buffer=shuffle_buffer, seed=seed, decode=False)
    transform = collate_samples if feature is None else BatchFeatures(feature, sample_rate, dim)
    workers = loader_workers(num_workers)
    return torch.utils.data.DataLoader(
        DurationBucketStream(stream, max_seconds, num_buckets=num_buckets, transform=transform),
        batch_size=None,
        num_workers=workers,
        worker_init_fn=one_thread if workers else None,
        **kwargs,
    )
