"""DSP as ``nn.Module`` transforms holding their windows, filterbanks and kernels as buffers.

Names, parameters and defaults follow ``torchaudio.transforms``; each constructor validates its arguments
with the class's ``Params`` model and raises ``InvalidParameterError`` on bad ones. Every transform is
TorchScript-able and picklable; leading dimensions are batch, the last is time.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.transforms import MFCC, Resample
    >>> wave = Resample(orig_freq=48000, new_freq=16000)(torch.randn(1, 48000))
    >>> MFCC(sample_rate=16000, n_mfcc=13)(wave).shape
    torch.Size([1, 13, 81])
"""

from __future__ import annotations

from tympan.plugins.dsp.transforms._amplitude import Fade, MuLawDecoding, MuLawEncoding, Vol
from tympan.plugins.dsp.transforms._analysis import DetectPitchFrequency, PYin, Vad, Yin
from tympan.plugins.dsp.transforms._augment import FrequencyMasking, SpecAugment, SpeedPerturbation, TimeMasking
from tympan.plugins.dsp.transforms._beamforming import MVDR, PSD, RTFMVDR, SoudenMVDR
from tympan.plugins.dsp.transforms._biquad_filters import (
    AllpassBiquad,
    BandBiquad,
    BandpassBiquad,
    BandrejectBiquad,
    BassBiquad,
    DeemphBiquad,
    EqualizerBiquad,
    HighpassBiquad,
    LowpassBiquad,
    RiaaBiquad,
    TrebleBiquad,
)
from tympan.plugins.dsp.transforms._cepstral import MFCC, AmplitudeToDB
from tympan.plugins.dsp.transforms._chroma import ChromaScale, ChromaSpectrogram
from tympan.plugins.dsp.transforms._cmn import SlidingWindowCmn
from tympan.plugins.dsp.transforms._cqt import CQT, VQT, InverseCQT
from tympan.plugins.dsp.transforms._descriptors import ComputeDeltas, SpectralCentroid
from tympan.plugins.dsp.transforms._filterbank import LFCC, InverseMelScale, MelScale
from tympan.plugins.dsp.transforms._filters import Biquad, Filtfilt, LFilter, Sosfilt
from tympan.plugins.dsp.transforms._inverse import GriffinLim, InverseSpectrogram
from tympan.plugins.dsp.transforms._mel_spectrogram import MelSpectrogram
from tympan.plugins.dsp.transforms._mixing import AddNoise, Convolve, FFTConvolve
from tympan.plugins.dsp.transforms._resample import Resample
from tympan.plugins.dsp.transforms._sox_effects import Contrast, DCShift, Flanger, Overdrive, Phaser
from tympan.plugins.dsp.transforms._spectrogram import Spectrogram
from tympan.plugins.dsp.transforms._stretch import PitchShift, RandomTimeStretch, TimeStretch
from tympan.plugins.dsp.transforms._time_domain import Deemphasis, Loudness, Preemphasis, Speed

__all__ = [
    "AddNoise",
    "AllpassBiquad",
    "AmplitudeToDB",
    "BandBiquad",
    "BandpassBiquad",
    "BandrejectBiquad",
    "BassBiquad",
    "Biquad",
    "CQT",
    "ChromaScale",
    "ChromaSpectrogram",
    "ComputeDeltas",
    "Contrast",
    "Convolve",
    "DCShift",
    "DeemphBiquad",
    "Deemphasis",
    "DetectPitchFrequency",
    "EqualizerBiquad",
    "FFTConvolve",
    "Fade",
    "Filtfilt",
    "Flanger",
    "FrequencyMasking",
    "GriffinLim",
    "HighpassBiquad",
    "InverseCQT",
    "InverseMelScale",
    "InverseSpectrogram",
    "LFCC",
    "LFilter",
    "Loudness",
    "LowpassBiquad",
    "MFCC",
    "MVDR",
    "MelScale",
    "MelSpectrogram",
    "MuLawDecoding",
    "MuLawEncoding",
    "Overdrive",
    "PSD",
    "PYin",
    "Phaser",
    "PitchShift",
    "Preemphasis",
    "RTFMVDR",
    "RandomTimeStretch",
    "Resample",
    "RiaaBiquad",
    "SlidingWindowCmn",
    "Sosfilt",
    "SoudenMVDR",
    "SpecAugment",
    "SpectralCentroid",
    "Spectrogram",
    "Speed",
    "SpeedPerturbation",
    "TimeMasking",
    "TimeStretch",
    "TrebleBiquad",
    "VQT",
    "Vad",
    "Vol",
    "Yin",
]
