"""Parity of spectrograms, mel filterbanks, mel spectrograms, decibels and MFCCs with librosa and scipy.

Every expected value is computed here by the reference implementation. Tolerances follow torchaudio's
librosa-compatibility tests: relative 1e-4 (float64) or 5e-4 (float32), with an absolute floor of the
same size relative to the reference's peak (FFT round-off scales with the largest bin).
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import torch

from tympan.plugins.dsp import functional as F
from tympan.plugins.dsp.transforms import MFCC, AmplitudeToDB, MelSpectrogram, Spectrogram


def assert_matches(actual: torch.Tensor, expected: np.ndarray, rtol: float) -> None:
    """``actual`` equals ``expected`` within ``rtol`` relative, plus ``rtol`` times the peak absolute."""
    reference = torch.from_numpy(np.ascontiguousarray(expected)).to(actual.dtype)
    floor = rtol * float(reference.abs().max())
    torch.testing.assert_close(actual, reference, rtol=rtol, atol=floor)


@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
@pytest.mark.parametrize(("n_fft", "hop_length", "win_length"), [(400, 160, 400), (512, 128, 400), (256, 100, 200)])
def test_spectrogram_matches_librosa_stft(chirp, power, center, pad_mode, n_fft, hop_length, win_length) -> None:
    # Tolerance: rtol 1e-4 in float64.
    wave = chirp(16000, 0.25)
    ours = Spectrogram(
        n_fft=n_fft, hop_length=hop_length, win_length=win_length, power=power, center=center, pad_mode=pad_mode
    )(wave)
    stft = librosa.stft(
        wave.numpy(),
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window="hann",
        center=center,
        pad_mode=pad_mode,
    )
    assert_matches(ours, np.abs(stft) ** power, rtol=1e-4)


def test_spectrogram_float32_matches_librosa(chirp) -> None:
    # Tolerance: rtol 5e-4 in float32 (the float32 tolerance of torchaudio's librosa tests).
    wave = chirp(16000, 0.5, dtype=torch.float32)
    ours = F.spectrogram(wave, 0, torch.hann_window(400), 400, 160, 400, 2.0, False)
    expected = np.abs(librosa.stft(wave.numpy(), n_fft=400, hop_length=160, pad_mode="reflect")) ** 2
    assert_matches(ours, expected, rtol=5e-4)


def test_complex_spectrogram_matches_librosa_stft(chirp) -> None:
    # Tolerance: rtol 1e-4 in float64, on the complex values.
    wave = chirp(8000, 0.25)
    ours = Spectrogram(n_fft=256, hop_length=64, power=None)(wave)
    expected = librosa.stft(wave.numpy(), n_fft=256, hop_length=64, pad_mode="reflect")
    assert ours.is_complex()
    torch.testing.assert_close(ours, torch.from_numpy(expected), rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize(
    ("sample_rate", "n_fft", "n_mels", "f_min", "f_max"),
    [
        (16000, 400, 80, 0.0, 8000.0),
        (22050, 1024, 128, 20.0, 11025.0),
        (8000, 256, 40, 100.0, 3800.0),
    ],
)
def test_melscale_fbanks_match_librosa_filters(mel_scale, norm, sample_rate, n_fft, n_mels, f_min, f_max) -> None:
    # Tolerance: rtol 1e-6 in float64 (both sides build the same triangles in float64).
    ours = F.melscale_fbanks(n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate, norm, mel_scale, dtype=torch.float64)
    expected = librosa.filters.mel(
        sr=sample_rate,
        n_fft=n_fft,
        n_mels=n_mels,
        fmin=f_min,
        fmax=f_max,
        htk=mel_scale == "htk",
        norm=norm,
        dtype=np.float64,
    )
    assert_matches(ours, expected.T, rtol=1e-6)


@pytest.mark.parametrize(("mel_scale", "norm"), [("htk", None), ("slaney", "slaney")])
@pytest.mark.parametrize(("n_fft", "hop_length", "n_mels", "center"), [(400, 160, 80, True), (1024, 256, 128, False)])
def test_mel_spectrogram_matches_librosa(chirp, mel_scale, norm, n_fft, hop_length, n_mels, center) -> None:
    # Tolerance: rtol 1e-4 in float64 (librosa rounds its filterbank to float32).
    wave = chirp(22050, 0.5)
    ours = MelSpectrogram(
        sample_rate=22050,
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=n_mels,
        center=center,
        norm=norm,
        mel_scale=mel_scale,
    )(wave)
    expected = librosa.feature.melspectrogram(
        y=wave.numpy(),
        sr=22050,
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=n_mels,
        center=center,
        pad_mode="reflect",
        htk=mel_scale == "htk",
        norm=norm,
    )
    assert_matches(ours, expected, rtol=1e-4)


def test_mel_spectrogram_float32_and_functional_match_librosa(chirp) -> None:
    # Tolerance: rtol 5e-4 in float32.
    wave = chirp(16000, 1.0, dtype=torch.float32)
    options = {"sample_rate": 16000, "n_fft": 400, "hop_length": 160, "n_mels": 80, "f_min": 30.0, "f_max": 7600.0}
    expected = librosa.feature.melspectrogram(
        y=wave.numpy(),
        sr=16000,
        n_fft=400,
        hop_length=160,
        n_mels=80,
        fmin=30.0,
        fmax=7600.0,
        htk=True,
        norm=None,
        pad_mode="reflect",
    )
    assert_matches(MelSpectrogram(**options)(wave), expected, rtol=5e-4)
    assert_matches(F.mel_spectrogram(wave, **options), expected, rtol=5e-4)


def test_long_batches_cross_block_boundaries(chirp) -> None:
    # 8 signals x 1001 frames are computed in several cache-sized blocks of frames.
    # Tolerance: rtol 5e-4 in float32, absolute floor 5e-4 of the peak.
    wave = chirp(16000, 10.0, batch=(8,), dtype=torch.float32)
    ours = MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80)(wave)
    expected = librosa.feature.melspectrogram(
        y=wave.numpy(), sr=16000, n_fft=400, hop_length=160, n_mels=80, htk=True, norm=None, pad_mode="reflect"
    )
    assert_matches(ours, expected, rtol=5e-4)


@pytest.mark.parametrize("pad_mode", ["replicate", "circular"])
def test_other_pad_modes_match_numpy_padding(chirp, pad_mode) -> None:
    # Tolerance: rtol 1e-4 in float64. The reference pads with numpy's edge / wrap modes, then runs librosa's
    # STFT without centering.
    wave = chirp(8000, 0.25)
    ours = Spectrogram(n_fft=256, hop_length=64, pad_mode=pad_mode)(wave)
    padded = np.pad(wave.numpy(), 128, mode={"replicate": "edge", "circular": "wrap"}[pad_mode])
    stft = librosa.stft(padded, n_fft=256, hop_length=64, center=False)
    assert_matches(ours, np.abs(stft) ** 2, rtol=1e-4)


@pytest.mark.parametrize("top_db", [None, 80.0, 40.0])
@pytest.mark.parametrize("ref", [1.0, 0.5])
def test_power_to_db_matches_librosa(chirp, top_db, ref) -> None:
    # Tolerance: rtol 1e-5 in float64, on decibels.
    power = Spectrogram(n_fft=256)(chirp(8000, 0.25))
    amin = 1e-10
    ours = F.amplitude_to_db(power, 10.0, amin, np.log10(max(amin, ref)), top_db=top_db)
    expected = librosa.power_to_db(power.numpy(), ref=ref, amin=amin, top_db=top_db)
    assert_matches(ours, expected, rtol=1e-5)


@pytest.mark.parametrize("top_db", [None, 80.0])
def test_amplitude_to_db_matches_librosa(chirp, top_db) -> None:
    # Tolerance: rtol 1e-5 in float64, on decibels.
    magnitude = Spectrogram(n_fft=256, power=1.0)(chirp(8000, 0.25))
    ours = F.amplitude_to_db(magnitude, 20.0, 1e-5, 0.0, top_db=top_db)
    expected = librosa.amplitude_to_db(magnitude.numpy(), ref=1.0, amin=1e-5, top_db=top_db)
    assert_matches(ours, expected, rtol=1e-5)
    if top_db is not None:
        assert_matches(AmplitudeToDB(stype="magnitude", top_db=top_db)(magnitude), expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("n_mfcc", "n_mels", "mel_scale", "norm"), [(13, 40, "htk", None), (40, 128, "slaney", "slaney")]
)
def test_mfcc_matches_librosa(chirp, n_mfcc, n_mels, mel_scale, norm) -> None:
    # Tolerance: rtol 1e-4 in float64, with the absolute floor at 1e-4 of the largest coefficient.
    wave = chirp(16000, 0.5)
    melkwargs = {"n_fft": 400, "hop_length": 160, "n_mels": n_mels, "mel_scale": mel_scale, "norm": norm}
    ours = MFCC(sample_rate=16000, n_mfcc=n_mfcc, melkwargs=melkwargs)(wave)
    mel = librosa.feature.melspectrogram(
        y=wave.numpy(),
        sr=16000,
        n_fft=400,
        hop_length=160,
        n_mels=n_mels,
        htk=mel_scale == "htk",
        norm=norm,
        pad_mode="reflect",
    )
    expected = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=80.0), n_mfcc=n_mfcc, dct_type=2, norm="ortho")
    assert_matches(ours, expected, rtol=1e-4)
    assert_matches(F.mfcc(wave, 16000, n_mfcc, melkwargs=melkwargs), expected, rtol=1e-4)


def test_mfcc_float32_matches_librosa(chirp) -> None:
    # Tolerance: rtol 5e-4 in float32, absolute floor 5e-4 of the largest coefficient.
    wave = chirp(16000, 1.0, dtype=torch.float32)
    ours = MFCC(sample_rate=16000, n_mfcc=40, melkwargs={"n_fft": 400, "hop_length": 160, "n_mels": 80})(wave)
    mel = librosa.feature.melspectrogram(
        y=wave.numpy(), sr=16000, n_fft=400, hop_length=160, n_mels=80, htk=True, norm=None, pad_mode="reflect"
    )
    expected = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=40, dct_type=2, norm="ortho")
    assert_matches(ours, expected, rtol=5e-4)


@pytest.mark.parametrize("norm", [None, "ortho"])
def test_log_mel_mfcc_matches_scipy_dct(chirp, norm) -> None:
    # Tolerance: rtol 1e-6 in float64 (same mel spectrogram, DCT against scipy.fft.dct).
    wave = chirp(16000, 0.5)
    melkwargs = {"n_fft": 512, "hop_length": 128, "n_mels": 64}
    ours = MFCC(sample_rate=16000, n_mfcc=20, norm=norm, log_mels=True, melkwargs=melkwargs)(wave)
    mel = MelSpectrogram(sample_rate=16000, **melkwargs)(wave).numpy()
    expected = scipy.fft.dct(np.log(mel + 1e-6), type=2, axis=-2, norm=norm)[:20]
    assert_matches(ours, expected, rtol=1e-6)


@pytest.mark.parametrize("norm", [None, "ortho"])
def test_create_dct_matches_scipy(norm) -> None:
    # Tolerance: rtol 1e-10 in float64.
    ours = F.create_dct(13, 40, norm, dtype=torch.float64)
    expected = scipy.fft.dct(np.eye(40), type=2, axis=0, norm=norm)[:13].T
    assert_matches(ours, expected, rtol=1e-10)
