"""Scoring of recognition output: ``tympan.metrics.wer(references, hypotheses)``, ``cer``, ``error_counts``.

Re-exports the metrics of the first-party decoders plugin; the code lives in the plugin.

Example:
    >>> import tympan.metrics
    >>> tympan.metrics.wer(["the cat sat"], ["the cat sat down"])
    0.3333333333333333
"""

from __future__ import annotations

from tympan._lazy import LazyFacade

__getattr__, __dir__ = LazyFacade("tympan.metrics", ["tympan.plugins.decoders.metrics"]).hooks(globals())
