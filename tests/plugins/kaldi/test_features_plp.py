"""Kaldi's PLP against references for each of its stages.

No installable tool computes Kaldi's PLP (kaldi-native-fbank has no PLP, torchaudio neither), so the
reference is composed from real references, stage by stage: kaldi-native-fbank's linear mel energies (Kaldi's
front end), then numpy's inverse real FFT for the autocorrelation of the auditory spectrum, scipy's Levinson
solver (``solve_toeplitz``) for the linear prediction, and numpy's FFT for the cepstrum of the all-pole model
(``log(1 / A)`` with unwrapped phase). The equal-loudness curve and the compression are PLP's formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

import tympan.plugins.kaldi.functional as kaldi
from tympan.plugins.kaldi.features import Plp
from tympan.plugins.kaldi.functional._plp import durbin, lpc_to_cepstrum

from .conftest import knf_features

FLOAT32_MIN = float(np.finfo(np.float32).tiny)


def reference_plp(samples: np.ndarray, rate: float, options: dict) -> np.ndarray:
    """PLP cepstra from kaldi-native-fbank's mel energies, numpy's irfft/FFT and scipy's Levinson solver."""
    num_bins = options.get("num_mel_bins", 23)
    order, num_ceps = options.get("lpc_order", 12), options.get("num_ceps", 13)
    lifter, scale = options.get("cepstral_lifter", 22.0), options.get("cepstral_scale", 1.0)
    front = {k: v for k, v in options.items() if k not in ("lpc_order", "num_ceps", "cepstral_lifter")}
    front = {k: v for k, v in front.items() if k not in ("compress_factor", "cepstral_scale")}
    energies = knf_features("fbank", samples, {**front, "sample_frequency": rate, "use_log_fbank": False})
    energies = energies.astype(np.float64)
    low, high = options.get("low_freq", 20.0), options.get("high_freq", 0.0)
    high = high if high > 0 else rate / 2 + high
    mel_low, mel_high = 1127 * np.log1p(low / 700), 1127 * np.log1p(high / 700)
    centres = 700 * np.expm1((mel_low + np.arange(1, num_bins + 1) * (mel_high - mel_low) / (num_bins + 1)) / 1127)
    fsq = centres**2
    loudness = (fsq / (fsq + 1.6e5)) ** 2 * (fsq + 1.44e6) / (fsq + 9.61e6)
    auditory = (energies * loudness) ** options.get("compress_factor", 0.33333)
    extended = np.concatenate([auditory[:, :1], auditory, auditory[:, -1:]], axis=1)
    autocorrelation = np.fft.irfft(extended, n=2 * (num_bins + 1), axis=1)[:, : order + 1]
    rows = []
    for r in autocorrelation:
        predictor = scipy.linalg.solve_toeplitz(r[:order], r[1 : order + 1])
        residual = r[0] - predictor @ r[1 : order + 1]
        spectrum = np.fft.fft(np.concatenate([[1.0], -predictor]), 4096)
        log_inverse = -(np.log(np.abs(spectrum)) + 1j * np.unwrap(np.angle(spectrum)))
        cepstrum = np.fft.ifft(log_inverse).real[1 : order + 1]
        rows.append(np.concatenate([[max(np.log(residual), FLOAT32_MIN)], cepstrum[: num_ceps - 1]]))
    i = np.arange(num_ceps)
    lifters = 1 + 0.5 * lifter * np.sin(np.pi * i / lifter) if lifter else np.ones(num_ceps)
    return np.stack(rows) * lifters * scale


GRID = [
    (16000, {}),
    (16000, {"window_type": "hamming", "num_mel_bins": 30, "lpc_order": 16, "num_ceps": 15}),
    (8000, {"snip_edges": False, "compress_factor": 0.5, "cepstral_lifter": 0.0, "cepstral_scale": 2.0}),
    (44100, {"num_mel_bins": 40, "low_freq": 100.0, "high_freq": -2000.0, "lpc_order": 8, "num_ceps": 9}),
]


@pytest.mark.parametrize(("rate", "options"), GRID)
def test_plp_matches_the_staged_reference(speech, rate, options) -> None:
    # Tolerance: rtol 1e-3, atol 2e-3. The reference starts from float32 mel energies and the linear
    # prediction amplifies their rounding; ours is computed in float64 from the same float32 samples.
    samples = speech(rate, int(rate * 0.3) + 7, seed=rate)
    expected = reference_plp(samples, float(rate), options)
    actual = kaldi.plp(torch.from_numpy(samples).double(), sample_frequency=float(rate), **options).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=2e-3)


def test_float32_plp_agrees_with_float64(speech) -> None:
    # Tolerance: rtol 1e-3, atol 1e-2 (float32 linear prediction against float64).
    samples = torch.from_numpy(speech(16000, 6000, seed=4))
    torch.testing.assert_close(kaldi.plp(samples).double(), kaldi.plp(samples.double()), rtol=1e-3, atol=1e-2)


def test_energy_and_htk_order(speech) -> None:
    # Tolerance: float64, rtol 1e-10, atol 1e-10 (the same values rearranged).
    samples = torch.from_numpy(speech(16000, 6000, seed=6)).double()
    plain = kaldi.plp(samples)
    energy = kaldi.plp(samples, use_energy=True, energy_floor=0.0)
    log_energy = kaldi.fbank(samples, use_energy=True, energy_floor=0.0)[:, 0]
    torch.testing.assert_close(energy[:, 0], log_energy, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(energy[:, 1:], plain[:, 1:], rtol=1e-10, atol=1e-10)
    htk = kaldi.plp(samples, htk_compat=True)
    torch.testing.assert_close(htk, torch.cat([plain[:, 1:], plain[:, :1]], dim=1), rtol=1e-10, atol=1e-10)


def test_durbin_and_cepstrum_recursions_match_scipy_and_numpy() -> None:
    # Tolerance: float64, rtol 1e-9, atol 1e-10 (well-conditioned autocorrelations of random AR(6) models).
    rng = np.random.default_rng(0)
    signals = rng.standard_normal((5, 4000))
    r = np.stack([np.correlate(s, s, "full")[3999 : 3999 + 7] for s in signals])
    lpc, residual = durbin(torch.from_numpy(r))
    for row, coefficients, energy in zip(r, lpc.numpy(), residual.numpy(), strict=True):
        predictor = scipy.linalg.solve_toeplitz(row[:6], row[1:7])
        np.testing.assert_allclose(coefficients, -predictor, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(energy, row[0] - predictor @ row[1:7], rtol=1e-9)
        spectrum = np.fft.fft(np.concatenate([[1.0], coefficients]), 4096)
        expected = np.fft.ifft(-(np.log(np.abs(spectrum)) + 1j * np.unwrap(np.angle(spectrum)))).real[1:7]
        np.testing.assert_allclose(lpc_to_cepstrum(torch.from_numpy(coefficients)).numpy(), expected, atol=1e-10)


def test_plp_on_silence_is_finite() -> None:
    assert torch.isfinite(Plp()(torch.zeros(2, 4000))).all()
