"""DSP as plain functions: spectrograms, mel filterbanks, MFCCs, decibels and resampling.

Names, parameters and defaults follow ``torchaudio.functional``; results match librosa for the same
options. Leading dimensions are batch, the last is time.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp import functional as F
    >>> wave = torch.randn(2, 16000)
    >>> F.mfcc(wave, sample_rate=16000, n_mfcc=13).shape, F.resample(wave, 16000, 8000).shape
    (torch.Size([2, 13, 81]), torch.Size([2, 8000]))
"""

from __future__ import annotations

from tympan.plugins.dsp.functional._features import mel_spectrogram, mfcc
from tympan.plugins.dsp.functional._filterbanks import create_dct, melscale_fbanks
from tympan.plugins.dsp.functional._resample import resample
from tympan.plugins.dsp.functional._spectral import amplitude_to_db, spectrogram

__all__ = [
    "amplitude_to_db",
    "create_dct",
    "mel_spectrogram",
    "melscale_fbanks",
    "mfcc",
    "resample",
    "spectrogram",
]
