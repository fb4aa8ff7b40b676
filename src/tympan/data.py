"""Datasets and data loading: corpora by name, safe downloads and extraction, batching, shards, corpus jobs.

The names load lazily from :mod:`tympan.plugins.datasets`; importing this module imports no torch.

- :func:`download` fetches a file resumably, verified and atomically; :func:`extract` unpacks tar and zip
  archives without ever writing outside the root.

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
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes("tympan.data", _LAZY, globals())
