"""Parity of the inverse STFT, Griffin-Lim, mel scaling and its inverse, LFCC, deltas, the spectral centroid
and decibel inversion with librosa, numpy and scipy.

Every expected value is computed here by the reference. Tolerances follow torchaudio's librosa tests:
relative 1e-4 in float64, with an absolute floor of the same size relative to the reference's peak.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional import spectrogram
from tympan.plugins.dsp.functional._filterbank_ops import inverse_mel_scale, linear_fbanks, mel_scale
from tympan.plugins.dsp.functional._inverse import griffinlim, inverse_spectrogram
from tympan.plugins.dsp.functional._spectral_extra import compute_deltas, db_to_amplitude, spectral_centroid
from tympan.plugins.dsp.transforms import Spectrogram
from tympan.plugins.dsp.transforms._base import build_window
from tympan.plugins.dsp.transforms._descriptors import ComputeDeltas, SpectralCentroid
from tympan.plugins.dsp.transforms._filterbank import LFCC, InverseMelScale, MelScale
from tympan.plugins.dsp.transforms._inverse import GriffinLim, InverseSpectrogram


def assert_matches(actual: torch.Tensor, expected: np.ndarray, rtol: float) -> None:
    """``actual`` equals ``expected`` within ``rtol`` relative, plus ``rtol`` times the peak absolute."""
    reference = torch.from_numpy(np.ascontiguousarray(expected)).to(actual.dtype)
    torch.testing.assert_close(actual, reference, rtol=rtol, atol=rtol * float(reference.abs().max()))


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize(("n_fft", "hop_length", "win_length"), [(400, 160, 400), (512, 128, 300)])
def test_inverse_spectrogram_matches_librosa_istft(center, n_fft, hop_length, win_length) -> None:
    # Tolerance: rtol 1e-4 in float64. The spectrum is random, so this checks the overlap-add itself.
    rng = np.random.default_rng(0)
    stft = rng.standard_normal((n_fft // 2 + 1, 30)) + 1j * rng.standard_normal((n_fft // 2 + 1, 30))
    expected = librosa.istft(stft, hop_length=hop_length, win_length=win_length, n_fft=n_fft, center=center)
    ours = InverseSpectrogram(n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=center).double()(
        torch.from_numpy(stft)
    )
    assert_matches(ours, expected, rtol=1e-4)
    with_length = librosa.istft(stft, hop_length=hop_length, n_fft=n_fft, win_length=win_length, length=5000)
    window = torch.hann_window(win_length, dtype=torch.float64)
    functional = inverse_spectrogram(torch.from_numpy(stft), 5000, 0, window, n_fft, hop_length, win_length, False)
    assert_matches(functional, with_length, rtol=1e-4)


@pytest.mark.parametrize("normalized", [False, True, "frame_length"])
@pytest.mark.parametrize("pad", [0, 7])
def test_inverse_spectrogram_round_trip(chirp, normalized, pad) -> None:
    # Tolerance: 1e-9 absolute in float64 (the STFT and its inverse are exact up to round-off).
    wave = chirp(8000, 0.3, batch=(2,))
    options = {"n_fft": 256, "hop_length": 64, "win_length": 200, "pad": pad, "normalized": normalized}
    spec = Spectrogram(power=None, **options).double()(wave)
    restored = InverseSpectrogram(**options).double()(spec, wave.shape[-1])
    torch.testing.assert_close(restored, wave, rtol=0, atol=1e-9)


@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_griffinlim_matches_librosa_from_zero_phase(chirp, momentum) -> None:
    # Tolerance: rtol 1e-4 in float64 after 16 iterations from the same (zero) initial phase.
    wave = chirp(8000, 0.25)
    magnitude = np.abs(librosa.stft(wave.numpy(), n_fft=256, hop_length=64, pad_mode="reflect"))
    expected = librosa.griffinlim(
        magnitude, n_iter=16, hop_length=64, n_fft=256, momentum=momentum, init=None, pad_mode="reflect", length=2000
    )
    ours = GriffinLim(n_fft=256, n_iter=16, hop_length=64, momentum=momentum, length=2000, rand_init=False).double()(
        torch.from_numpy(magnitude**2)
    )
    assert_matches(ours, expected, rtol=1e-4)


def test_griffinlim_random_start_is_seeded_and_converges(chirp) -> None:
    # Spectral convergence ||S - |STFT(y)||| / ||S|| from its definition: it must drop well below that of
    # the random start; the bound 0.25 holds with a wide margin for 32 fast iterations.
    wave = chirp(8000, 0.25)
    window = torch.hann_window(256, dtype=torch.float64)
    target = spectrogram(wave, 0, window, 256, 64, 256, 1.0, False)

    def distance(n_iter: int, seed: int) -> tuple[torch.Tensor, float]:
        generator = torch.Generator().manual_seed(seed)
        estimate = griffinlim(target, window, 256, 64, 256, 1.0, n_iter, 0.99, 2000, True, generator=generator)
        rebuilt = spectrogram(estimate, 0, window, 256, 64, 256, 1.0, False)
        return estimate, float((target - rebuilt).norm() / target.norm())

    first, start = distance(0, 3)
    again, _ = distance(0, 3)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    _, end = distance(32, 3)
    assert end < 0.25 and end < start / 2


@pytest.mark.parametrize(
    ("mode", "librosa_mode"),
    [("replicate", "nearest"), ("constant", "constant"), ("reflect", "mirror"), ("circular", "wrap")],
)
@pytest.mark.parametrize("win_length", [3, 5, 9])
def test_compute_deltas_matches_librosa_delta(mode, librosa_mode, win_length) -> None:
    # Tolerance: rtol 1e-6 in float64 (a 1-D convolution; librosa's Savitzky-Golay fit gives the same weights).
    features = np.random.default_rng(1).standard_normal((2, 13, 40))
    expected = librosa.feature.delta(features, width=win_length, mode=librosa_mode)
    ours = compute_deltas(torch.from_numpy(features), win_length=win_length, mode=mode)
    assert_matches(ours, expected, rtol=1e-6)
    assert_matches(ComputeDeltas(win_length, mode).double()(torch.from_numpy(features)), expected, rtol=1e-6)


@pytest.mark.parametrize(("n_fft", "hop_length", "win_length"), [(400, 160, 400), (512, 128, 300)])
def test_spectral_centroid_matches_librosa(chirp, n_fft, hop_length, win_length) -> None:
    # Tolerance: rtol 1e-4 in float64.
    wave = chirp(16000, 0.3)
    expected = librosa.feature.spectral_centroid(
        y=wave.numpy(), sr=16000, n_fft=n_fft, hop_length=hop_length, win_length=win_length, pad_mode="reflect"
    )[0]
    window = torch.hann_window(win_length, dtype=torch.float64)
    assert_matches(spectral_centroid(wave, 16000, 0, window, n_fft, hop_length, win_length), expected, rtol=1e-4)
    module = SpectralCentroid(16000, n_fft=n_fft, hop_length=hop_length, win_length=win_length).double()
    assert_matches(module(wave), expected, rtol=1e-4)


def test_db_to_amplitude_matches_librosa() -> None:
    # Tolerance: rtol 1e-10 in float64 (one exponential).
    db = torch.linspace(-80.0, 20.0, 101, dtype=torch.float64)
    assert_matches(db_to_amplitude(db, 2.5, 1.0), librosa.db_to_power(db.numpy(), ref=2.5), rtol=1e-10)
    assert_matches(db_to_amplitude(db, 0.5, 0.5), librosa.db_to_amplitude(db.numpy(), ref=0.5), rtol=1e-10)


@pytest.mark.parametrize(("norm", "mel_scale_name"), [(None, "htk"), ("slaney", "slaney")])
def test_mel_scale_and_its_inverse_match_librosa_filters(norm, mel_scale_name) -> None:
    # Tolerance: rtol 1e-6 in float64; the inverse is the minimum-norm least-squares solution (numpy's pinv)
    # clipped at zero.
    basis = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, norm=norm, htk=mel_scale_name == "htk")
    spec = np.random.default_rng(2).random((3, 257, 20))
    mel = basis @ spec
    options = {"n_mels": 40, "sample_rate": 16000, "n_stft": 257, "norm": norm, "mel_scale": mel_scale_name}
    assert_matches(MelScale(**options).double()(torch.from_numpy(spec)), mel, rtol=1e-6)
    inverse = InverseMelScale(**options).double()(torch.from_numpy(mel))
    assert_matches(inverse, np.maximum(np.linalg.pinv(basis) @ mel, 0.0), rtol=1e-6)
    fb = MelScale(**options).double().fb
    assert_matches(inverse_mel_scale(torch.from_numpy(mel), fb, "gelsd"), inverse.numpy(), rtol=1e-6)
    assert_matches(mel_scale(torch.from_numpy(spec), fb), mel, rtol=1e-6)


def reference_linear_fbanks(n_freqs: int, f_min: float, f_max: float, n_filter: int, sample_rate: int) -> np.ndarray:
    """Triangles by linear interpolation through (left edge, 0), (centre, 1), (right edge, 0)."""
    bins = np.linspace(0, sample_rate // 2, n_freqs)
    edges = np.linspace(f_min, f_max, n_filter + 2)
    return np.stack([np.interp(bins, edges[j : j + 3], [0.0, 1.0, 0.0]) for j in range(n_filter)], axis=1)


def test_linear_fbanks_match_interpolated_triangles() -> None:
    # Tolerance: rtol 1e-10 in float64.
    ours = linear_fbanks(257, 100.0, 7000.0, 30, 16000, dtype=torch.float64)
    assert_matches(ours, reference_linear_fbanks(257, 100.0, 7000.0, 30, 16000), rtol=1e-10)


@pytest.mark.parametrize("log_lf", [False, True])
@pytest.mark.parametrize("norm", ["ortho", None])
def test_lfcc_matches_dct_of_log_linear_energies(chirp, log_lf, norm) -> None:
    # Tolerance: rtol 1e-4 in float64. Reference: scipy DCT-II of librosa.power_to_db (top_db 80), or of
    # log(x + 1e-6), of linear-filterbank energies of librosa's power STFT.
    wave = chirp(16000, 0.3)
    power = np.abs(librosa.stft(wave.numpy(), n_fft=512, hop_length=160, pad_mode="reflect")) ** 2
    energies = reference_linear_fbanks(257, 50.0, 7600.0, 60, 16000).T @ power
    logs = np.log(energies + 1e-6) if log_lf else librosa.power_to_db(energies, top_db=80.0)
    expected = scipy.fft.dct(logs, type=2, axis=0, norm=norm)[:20]
    module = LFCC(16000, 60, 50.0, 7600.0, 20, norm=norm, log_lf=log_lf, speckwargs={"n_fft": 512, "hop_length": 160})
    assert_matches(module.double()(wave), expected, rtol=1e-4)


@pytest.mark.parametrize("key", ["device", "layout", "out", "pin_memory"])
def test_window_placement_keywords_are_refused_before_the_factory_runs(key) -> None:
    calls = []

    def factory(length: int, **options: object) -> torch.Tensor:
        calls.append(options)
        return torch.hann_window(length)

    with pytest.raises(InvalidParameterError, match=f"wkwargs: {key} is not a window option"):
        build_window("dsp:spectrogram", factory, 8, {"periodic": True, key: "meta"})
    assert calls == []
    with pytest.raises(InvalidParameterError, match=key):
        Spectrogram(n_fft=16, wkwargs={key: "cuda"})
