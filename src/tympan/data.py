"""Datasets and data loading: corpora by name, safe downloads and extraction, batching, shards, corpus jobs.

The names load lazily from :mod:`tympan.plugins.datasets`; importing this module imports no torch.

- :func:`download` fetches a file resumably, verified and atomically; :func:`extract` unpacks tar and zip
  archives without ever writing outside the root.
- :func:`collate`, :class:`DurationBucketSampler`, :class:`SkipBroken` and :func:`loader` batch corpora for
  training; :func:`write_shards` and :class:`ShardStream` store and stream WebDataset shards;
  :class:`DurationBucketStream`, :class:`BatchFeatures` and :func:`stream_loader` batch the stream by
  duration, with features computed in the workers.
- :func:`to_kaldi_dir` and :func:`to_lhotse` export a corpus; :func:`map_corpus` runs a pipeline over a
  corpus on a process pool or Ray.

Example:
    >>> import tympan
    >>> tympan.data.download.__module__, tympan.data.extract.__module__
    ('tympan.plugins.datasets.downloader', 'tympan.plugins.datasets.extractor')
"""

from __future__ import annotations

from tympan._lazy import lazy_attributes

_LAZY = {
    "download": "tympan.plugins.datasets.downloader",
    "verify_file": "tympan.plugins.datasets.downloader",
    "extract": "tympan.plugins.datasets.extractor",
    "is_extracted": "tympan.plugins.datasets.extractor",
    "ExtractionLimits": "tympan.plugins.datasets.extractor",
    "collate": "tympan.plugins.datasets.batching",
    "DurationBucketSampler": "tympan.plugins.datasets.batching",
    "SkipBroken": "tympan.plugins.datasets.batching",
    "loader": "tympan.plugins.datasets.batching",
    "durations_of": "tympan.plugins.datasets.batching",
    "write_shards": "tympan.plugins.datasets.shards",
    "ShardStream": "tympan.plugins.datasets.shards",
    "ShardWriter": "tympan.plugins.datasets.shards",
    "decode_sample": "tympan.plugins.datasets.shards",
    "DurationBucketStream": "tympan.plugins.datasets.streaming",
    "BatchFeatures": "tympan.plugins.datasets.streaming",
    "collate_samples": "tympan.plugins.datasets.streaming",
    "stream_loader": "tympan.plugins.datasets.streaming",
    "to_kaldi_dir": "tympan.plugins.datasets.interop",
    "to_lhotse": "tympan.plugins.datasets.interop",
    "map_corpus": "tympan.plugins.datasets.corpus_jobs",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes("tympan.data", _LAZY, globals())
