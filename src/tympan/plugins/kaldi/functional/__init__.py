"""Kaldi's features and their post-processing as plain functions on tensors.

``import tympan.plugins.kaldi.functional as kaldi`` replaces ``import torchaudio.compliance.kaldi as
kaldi``: :func:`fbank`, :func:`mfcc` and :func:`spectrogram` take the same arguments and give Kaldi's values;
:func:`plp` adds Kaldi's PLP in the same style.

Example:
    >>> import torch
    >>> import tympan.plugins.kaldi.functional as kaldi
    >>> kaldi.fbank(torch.randn(1, 16000), num_mel_bins=80).shape
    torch.Size([98, 80])
"""

from __future__ import annotations

from tympan.plugins.kaldi.functional._compliance import fbank, mfcc, plp, spectrogram

__all__ = ["fbank", "mfcc", "plp", "spectrogram"]
