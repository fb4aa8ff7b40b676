"""Kaldi's fbank, MFCC and spectrogram against kaldi-native-fbank and torchaudio.compliance.kaldi.

kaldi-native-fbank reproduces Kaldi's binaries in float32; it has no spectrogram and no VTLN warping, which
are compared against torchaudio.compliance.kaldi in float64. The grid covers every window, snip_edges both
ways, the energy options, htk_compat, the band edges, 8 / 16 / 44.1 kHz and lengths that are not a whole
number of frames.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as ta_kaldi

import tympan.plugins.kaldi.functional as kaldi

from .conftest import knf_features

#: The option grid: (sample rate, number of samples, options); the lengths are odd on purpose.
GRID = [
    (16000, 8011, {}),
    (16000, 8011, {"snip_edges": False}),
    (16000, 4801, {"window_type": "hamming", "num_mel_bins": 40}),
    (16000, 4801, {"window_type": "hanning", "snip_edges": False, "use_energy": True}),
    (16000, 4801, {"window_type": "rectangular", "use_energy": True, "raw_energy": False}),
    (16000, 4801, {"window_type": "blackman", "blackman_coeff": 0.38, "htk_compat": True, "use_energy": True}),
    (16000, 4801, {"low_freq": 100.0, "high_freq": -400.0, "num_mel_bins": 80}),
    (16000, 4801, {"high_freq": 6000.0, "energy_floor": 0.0, "use_energy": True, "htk_compat": True}),
    (16000, 4801, {"preemphasis_coefficient": 0.0, "remove_dc_offset": False, "round_to_power_of_two": False}),
    (16000, 4801, {"frame_length": 32.0, "frame_shift": 12.5, "snip_edges": False}),
    (8000, 3203, {"num_mel_bins": 15, "use_energy": True, "raw_energy": False, "snip_edges": False}),
    (8000, 3203, {"window_type": "hamming", "low_freq": 64.0, "high_freq": 3800.0}),
    (44100, 13231, {"num_mel_bins": 64, "window_type": "hanning"}),
    (44100, 13231, {"snip_edges": False, "round_to_power_of_two": False, "use_energy": True}),
]

#: Extra options that only MFCC has.
MFCC_EXTRA = [{}, {"num_ceps": 15, "cepstral_lifter": 0.0}, {"num_ceps": 7, "cepstral_lifter": 30.0}]


def _ours(kind: str, samples: np.ndarray, rate: int, options: dict) -> np.ndarray:
    function = getattr(kaldi, kind)
    return function(torch.from_numpy(samples), sample_frequency=float(rate), **options).numpy()


@pytest.mark.parametrize(("rate", "length", "options"), GRID)
def test_fbank_matches_kaldi_native_fbank(speech, rate, length, options) -> None:
    # Tolerance: rtol 1e-4, atol 1e-4 on log energies (both float32; FFT rounding differs).
    samples = speech(rate, length, seed=length)
    expected = knf_features("fbank", samples, {"sample_frequency": float(rate), **options})
    actual = _ours("fbank", samples, rate, options)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("rate", "length", "options"), GRID[::2])
@pytest.mark.parametrize("extra", MFCC_EXTRA)
def test_mfcc_matches_kaldi_native_fbank(speech, rate, length, options, extra) -> None:
    # Tolerance: rtol 1e-4, atol 1e-3 (cepstra are sums of 23-80 log energies, each within 1e-4).
    samples = speech(rate, length, seed=length)
    options = {**options, **extra}
    expected = knf_features("mfcc", samples, {"sample_frequency": float(rate), **options})
    actual = _ours("mfcc", samples, rate, options)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("options", [{"use_log_fbank": False}, {"use_power": False}, {"dither": 0.0}])
def test_fbank_linear_and_magnitude_match_kaldi_native_fbank(speech, options) -> None:
    # Tolerance: rtol 1e-4 relative to each value (linear energies span many decades), atol 1e-4.
    samples = speech(16000, 4000, seed=3)
    expected = knf_features("fbank", samples, options)
    np.testing.assert_allclose(_ours("fbank", samples, 16000, options), expected, rtol=1e-4, atol=1e-4)


SPECTROGRAM_GRID = [
    (16000, 4801, {}),
    (16000, 4801, {"snip_edges": False, "window_type": "hamming", "raw_energy": False}),
    (8000, 2001, {"window_type": "blackman", "energy_floor": 0.0, "round_to_power_of_two": False}),
    (44100, 9001, {"window_type": "rectangular", "subtract_mean": True, "preemphasis_coefficient": 0.5}),
]


@pytest.mark.parametrize(("rate", "length", "options"), SPECTROGRAM_GRID)
def test_spectrogram_matches_torchaudio(speech, rate, length, options) -> None:
    # Tolerance: float64 on both sides, rtol 1e-9, atol 1e-8 (per-bin log powers; only rounding differs).
    samples = torch.from_numpy(speech(rate, length, seed=1)).to(torch.float64)[None]
    expected = ta_kaldi.spectrogram(samples, sample_frequency=float(rate), **options)
    actual = kaldi.spectrogram(samples, sample_frequency=float(rate), **options)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-8)


VTLN_GRID = [
    {"vtln_warp": 0.88},
    {"vtln_warp": 1.12, "vtln_low": 200.0, "vtln_high": 6000.0, "num_mel_bins": 40},
    {"vtln_warp": 0.95, "vtln_high": -1000.0, "low_freq": 60.0, "subtract_mean": True},
]


@pytest.mark.parametrize("options", VTLN_GRID)
@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_vtln_warped_features_match_torchaudio(speech, kind, options) -> None:
    # Tolerance: float64, but torchaudio builds its mel banks in float32: rtol 1e-6, atol 1e-4 on log mel
    # energies, atol 1e-3 on cepstra (sums of 23-40 of them).
    samples = torch.from_numpy(speech(16000, 6400, seed=2)).to(torch.float64)[None]
    expected = getattr(ta_kaldi, kind)(samples, **options)
    actual = getattr(kaldi, kind)(samples, **options)
    torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-4 if kind == "fbank" else 1e-3)


def test_the_functions_take_torchaudios_arguments_positionally_and_its_channel_reading(speech) -> None:
    # Tolerance: float64, rtol 1e-6, atol 1e-4 (as above).
    stereo = torch.from_numpy(np.stack([speech(16000, 4000, 1), speech(16000, 4000, 2)])).to(torch.float64)
    for channel in (-1, 0, 1):
        expected = ta_kaldi.fbank(stereo, 0.42, channel, 0.0, 1.0, 25.0, 10.0, 0.0, False, 20.0, 0.0, 30)
        actual = kaldi.fbank(stereo, 0.42, channel, 0.0, 1.0, 25.0, 10.0, 0.0, False, 20.0, 0.0, 30)
        torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-4)
