"""Signals and reference extractors for the Kaldi feature suites.

Signals are speech-like at Kaldi's int16 scale: a chirp with harmonics, a silent stretch and some noise,
deterministic per seed. The references are kaldi-native-fbank (which reproduces Kaldi's binaries) and
torchaudio.compliance.kaldi.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kaldi_native_fbank as knf
import numpy as np
import pytest


def speech_like(sample_rate: float, num_samples: int, seed: int = 0) -> np.ndarray:
    """float32 samples at int16 scale: a harmonic chirp, a quiet gap and broadband noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / sample_rate
    f0 = 120.0 + 80.0 * np.sin(2 * np.pi * 1.5 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.where((t > 0.2) & (t < 0.27), 0.01, 1.0)
    return (4000.0 * envelope * voiced + 200.0 * rng.standard_normal(num_samples)).astype(np.float32)


@pytest.fixture
def speech():
    """Factory: ``speech(sample_rate, num_samples, seed=0)`` -> float32 numpy samples at int16 scale."""
    return speech_like


_FRAME = {
    "sample_frequency": "samp_freq",
    "frame_length": "frame_length_ms",
    "frame_shift": "frame_shift_ms",
    "dither": "dither",
    "preemphasis_coefficient": "preemph_coeff",
    "remove_dc_offset": "remove_dc_offset",
    "window_type": "window_type",
    "round_to_power_of_two": "round_to_power_of_two",
    "blackman_coeff": "blackman_coeff",
    "snip_edges": "snip_edges",
}
_MEL = {"num_mel_bins": "num_bins", "low_freq": "low_freq", "high_freq": "high_freq"}
_TOP = {
    "use_energy": "use_energy",
    "raw_energy": "raw_energy",
    "energy_floor": "energy_floor",
    "htk_compat": "htk_compat",
    "use_log_fbank": "use_log_fbank",
    "use_power": "use_power",
    "num_ceps": "num_ceps",
    "cepstral_lifter": "cepstral_lifter",
}

#: torchaudio.compliance.kaldi's defaults, which our functions share; kaldi-native-fbank's differ.
TORCHAUDIO_DEFAULTS = {"dither": 0.0, "energy_floor": 1.0, "use_energy": False, "num_mel_bins": 23}


def knf_features(kind: str, samples: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
    """kaldi-native-fbank's ``kind`` ("fbank" or "mfcc") of ``samples`` with torchaudio-named ``options``."""
    opts = knf.FbankOptions() if kind == "fbank" else knf.MfccOptions()
    for name, value in {**TORCHAUDIO_DEFAULTS, **options}.items():
        if name in _FRAME:
            setattr(opts.frame_opts, _FRAME[name], value)
        elif name in _MEL:
            setattr(opts.mel_opts, _MEL[name], value)
        else:
            setattr(opts, _TOP[name], value)
    extractor = knf.OnlineFbank(opts) if kind == "fbank" else knf.OnlineMfcc(opts)
    extractor.accept_waveform(opts.frame_opts.samp_freq, samples)
    extractor.input_finished()
    frames = [extractor.get_frame(i) for i in range(extractor.num_frames_ready)]
    return np.stack(frames) if frames else np.zeros((0, extractor.dim), dtype=np.float32)
