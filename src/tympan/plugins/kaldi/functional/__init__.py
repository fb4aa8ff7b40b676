"""Kaldi's features and their post-processing as plain functions on tensors.

``import tympan.plugins.kaldi.functional as kaldi`` replaces ``import torchaudio.compliance.kaldi as
kaldi``: :func:`fbank`, :func:`mfcc` and :func:`spectrogram` take the same arguments and give Kaldi's values;
:func:`plp` adds Kaldi's PLP in the same style. :func:`compute_cmvn_stats`, :func:`apply_cmvn`,
:func:`apply_cmvn_sliding`, :func:`add_deltas` and :func:`splice` post-process ``(..., frames, dim)``
features as Kaldi's binaries of those names do; :func:`pitch` and :func:`process_pitch` are
``compute-kaldi-pitch-feats`` and ``process-kaldi-pitch-feats``.

Example:
    >>> import torch
    >>> import tympan.plugins.kaldi.functional as kaldi
    >>> kaldi.fbank(torch.randn(1, 16000), num_mel_bins=80).shape
    torch.Size([98, 80])
"""

from __future__ import annotations

from tympan.plugins.kaldi.functional._cmvn import apply_cmvn, apply_cmvn_sliding, compute_cmvn_stats
from tympan.plugins.kaldi.functional._compliance import fbank, mfcc, pitch, plp, spectrogram
from tympan.plugins.kaldi.functional._context import add_deltas, splice
from tympan.plugins.kaldi.functional._process_pitch import process_pitch

__all__ = [
    "add_deltas",
    "apply_cmvn",
    "apply_cmvn_sliding",
    "compute_cmvn_stats",
    "fbank",
    "mfcc",
    "pitch",
    "plp",
    "process_pitch",
    "spectrogram",
    "splice",
]
