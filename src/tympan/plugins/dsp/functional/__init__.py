"""DSP as plain functions: spectral features and their inverses, resampling, and time-domain operations.

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

from tympan.plugins.dsp.functional._amplitude import add_noise, dither, gain, mu_law_decoding, mu_law_encoding
from tympan.plugins.dsp.functional._beamforming import (
    apply_beamforming,
    mvdr_weights_rtf,
    mvdr_weights_souden,
    psd,
    rtf_evd,
    rtf_power,
)
from tympan.plugins.dsp.functional._biquads import (
    allpass_biquad,
    band_biquad,
    bandpass_biquad,
    bandreject_biquad,
    bass_biquad,
    biquad,
    deemph_biquad,
    equalizer_biquad,
    highpass_biquad,
    lowpass_biquad,
    riaa_biquad,
    treble_biquad,
)
from tympan.plugins.dsp.functional._chroma import chroma_filterbank
from tympan.plugins.dsp.functional._cmn import sliding_window_cmn
from tympan.plugins.dsp.functional._convolution import convolve, fftconvolve, speed
from tympan.plugins.dsp.functional._cqt import cqt, icqt, vqt
from tympan.plugins.dsp.functional._features import mel_spectrogram, mfcc
from tympan.plugins.dsp.functional._filterbank_ops import inverse_mel_scale, linear_fbanks, mel_scale
from tympan.plugins.dsp.functional._filterbanks import create_dct, melscale_fbanks
from tympan.plugins.dsp.functional._frechet import frechet_distance
from tympan.plugins.dsp.functional._iir import filtfilt, lfilter, sosfilt
from tympan.plugins.dsp.functional._inverse import griffinlim, inverse_spectrogram
from tympan.plugins.dsp.functional._loudness import loudness
from tympan.plugins.dsp.functional._masking import mask_along_axis, mask_along_axis_iid
from tympan.plugins.dsp.functional._phase_vocoder import phase_vocoder, pitch_shift
from tympan.plugins.dsp.functional._pitch import detect_pitch_frequency
from tympan.plugins.dsp.functional._recurrence import deemphasis, preemphasis
from tympan.plugins.dsp.functional._resample import HIGH_QUALITY_RESAMPLING, resample
from tympan.plugins.dsp.functional._sox_effects import contrast, dcshift, flanger, overdrive, phaser
from tympan.plugins.dsp.functional._spectral import amplitude_to_DB, amplitude_to_db, spectrogram
from tympan.plugins.dsp.functional._spectral_extra import (
    DB_to_amplitude,
    compute_deltas,
    db_to_amplitude,
    spectral_centroid,
)
from tympan.plugins.dsp.functional._vad import vad
from tympan.plugins.dsp.functional._yin import pyin, yin

__all__ = [
    "DB_to_amplitude",
    "HIGH_QUALITY_RESAMPLING",
    "add_noise",
    "allpass_biquad",
    "amplitude_to_DB",
    "amplitude_to_db",
    "apply_beamforming",
    "band_biquad",
    "bandpass_biquad",
    "bandreject_biquad",
    "bass_biquad",
    "biquad",
    "chroma_filterbank",
    "compute_deltas",
    "contrast",
    "convolve",
    "cqt",
    "create_dct",
    "db_to_amplitude",
    "dcshift",
    "deemph_biquad",
    "deemphasis",
    "detect_pitch_frequency",
    "dither",
    "equalizer_biquad",
    "fftconvolve",
    "frechet_distance",
    "filtfilt",
    "flanger",
    "gain",
    "griffinlim",
    "highpass_biquad",
    "icqt",
    "inverse_mel_scale",
    "inverse_spectrogram",
    "lfilter",
    "linear_fbanks",
    "loudness",
    "lowpass_biquad",
    "mask_along_axis",
    "mask_along_axis_iid",
    "mel_scale",
    "mel_spectrogram",
    "melscale_fbanks",
    "mfcc",
    "mu_law_decoding",
    "mu_law_encoding",
    "mvdr_weights_rtf",
    "mvdr_weights_souden",
    "overdrive",
    "phase_vocoder",
    "phaser",
    "pitch_shift",
    "preemphasis",
    "psd",
    "pyin",
    "resample",
    "riaa_biquad",
    "rtf_evd",
    "rtf_power",
    "sliding_window_cmn",
    "sosfilt",
    "spectral_centroid",
    "spectrogram",
    "speed",
    "treble_biquad",
    "vad",
    "vqt",
    "yin",
]
