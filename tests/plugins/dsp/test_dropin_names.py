"""The torchaudio names tympan adds for drop-in use: ``Convolve``, ``FFTConvolve``, ``AddNoise``,
``frechet_distance``, ``edit_distance`` and the ``amplitude_to_DB`` / ``DB_to_amplitude`` aliases, each against
torchaudio's own output or scipy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch
import torchaudio.functional as ta_functional
import torchaudio.transforms as ta_transforms

import tympan.functional as F
import tympan.transforms as T


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(("module", "scipy_method"), [(T.Convolve, "direct"), (T.FFTConvolve, "fft")])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize(("x_length", "y_length"), [(100, 43), (21, 45)])
def test_convolution_modules_match_scipy(module, scipy_method, mode, x_length, y_length) -> None:
    # Tolerance: 1e-10 absolute on values of order 10 (float64 round-off of the sums and FFTs).
    x, y = _rand(2, 3, x_length), _rand(2, 3, y_length, seed=1)
    ours = module(mode=mode)(x, y)
    for i, j in itertools.product(range(2), range(3)):
        expected = scipy.signal.convolve(x[i, j].numpy(), y[i, j].numpy(), mode=mode, method=scipy_method)
        np.testing.assert_allclose(ours[i, j].numpy(), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(T.Convolve, ta_transforms.Convolve), (T.FFTConvolve, ta_transforms.FFTConvolve)]
)
def test_convolution_modules_broadcast_as_torchaudio(ours, theirs) -> None:
    # Tolerance: 1e-10 absolute (float64; the same sums in a different order).
    x, y = _rand(4, 1, 50), _rand(1, 3, 20, seed=1)
    torch.testing.assert_close(ours()(x, y), theirs()(x, y), rtol=0, atol=1e-10)


@pytest.mark.parametrize("function", [F.convolve, F.fftconvolve])
@pytest.mark.parametrize(
    ("x_shape", "y_shape", "message"),
    [
        ((4, 3, 1, 2), (10, 4), "same dimension"),
        ((1,), (2, 2, 2), "same dimension"),
        ((5, 2, 3), (5, 3, 3), "not broadcastable"),
    ],
)
def test_convolution_rejects_operands_torchaudio_rejects(function, x_shape, y_shape, message) -> None:
    with pytest.raises(ValueError, match=message):
        function(torch.rand(*x_shape), torch.rand(*y_shape))
    theirs = getattr(ta_functional, function.__name__)
    with pytest.raises(ValueError):
        theirs(torch.rand(*x_shape), torch.rand(*y_shape))


def test_convolution_modules_reject_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        T.Convolve(mode="circular")


def test_add_noise_module_matches_torchaudio() -> None:
    # Tolerance: 1e-10 absolute (float64; the energies are summed in the same order).
    waveform, noise = _rand(3, 2, 500), _rand(3, 2, 500, seed=1)
    snr = torch.tensor([[0.0, 10.0], [20.0, -5.0], [3.0, 40.0]], dtype=torch.float64)
    lengths = torch.tensor([[500, 300], [100, 500], [499, 1]])
    ours = T.AddNoise()(waveform, noise, snr, lengths)
    torch.testing.assert_close(ours, ta_transforms.AddNoise()(waveform, noise, snr, lengths), rtol=0, atol=1e-10)
    torch.testing.assert_close(T.AddNoise()(waveform, noise, snr), ta_functional.add_noise(waveform, noise, snr))


def test_frechet_distance_matches_the_sqrtm_formula_and_torchaudio() -> None:
    # Tolerance: 1e-8 relative (float64; eigen-decompositions against scipy's Schur-based sqrtm).
    rng = np.random.default_rng(0)
    samples_x, samples_y = rng.standard_normal((200, 6)), rng.standard_normal((150, 6)) * 1.5 + 0.3
    mu_x, mu_y = samples_x.mean(0), samples_y.mean(0)
    sigma_x, sigma_y = np.cov(samples_x, rowvar=False), np.cov(samples_y, rowvar=False)
    root = scipy.linalg.sqrtm(sigma_x @ sigma_y).real
    expected = np.sum((mu_x - mu_y) ** 2) + np.trace(sigma_x + sigma_y - 2 * root)
    args = [torch.from_numpy(v) for v in (mu_x, sigma_x, mu_y, sigma_y)]
    ours = F.frechet_distance(*args)
    assert ours.dim() == 0
    np.testing.assert_allclose(ours.item(), expected, rtol=1e-8)
    np.testing.assert_allclose(ours.item(), ta_functional.frechet_distance(*args).item(), rtol=1e-8)


def test_frechet_distance_of_identical_singular_gaussians_is_zero() -> None:
    # Tolerance: 1e-7 of tr(sigma_x + sigma_y) (the square roots of the zero eigenvalues, rounded to about
    # 1e-16, come out near 1e-8: the square root loses half the digits near 0).
    vectors = torch.randn(3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sigma = vectors.T @ vectors  # rank 3 of 5
    distance = F.frechet_distance(torch.zeros(5), sigma, torch.zeros(5), sigma).item()
    assert abs(distance) < 1e-7 * 2 * sigma.trace().item()


def test_frechet_distance_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="sigma_y"):
        F.frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(3), torch.eye(4))
    with pytest.raises(ValueError, match="mu_x"):
        F.frechet_distance(torch.zeros(3, 1), torch.eye(3), torch.zeros(3), torch.eye(3))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("kitten", "sitting"),
        ("", "abc"),
        ("", ""),
        ("naïve café", "naive cafe"),
        (["grüße", "welt"], ["welt", "grüße", "!"]),
        (["über", "straße", "", "ok"], ["straße", "", "über"]),
        ([1, 2, 3, 4, 5, 6, 7], [7, 1, 2, 4, 4, 6]),
    ],
)
def test_edit_distance_matches_torchaudio(first, second) -> None:
    assert F.edit_distance(first, second) == ta_functional.edit_distance(first, second)
    assert F.edit_distance(second, first) == ta_functional.edit_distance(first, second)


def test_edit_distance_on_random_sequences_matches_torchaudio() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        first = rng.integers(0, 4, rng.integers(0, 25)).tolist()
        second = rng.integers(0, 4, rng.integers(0, 25)).tolist()
        assert F.edit_distance(first, second) == ta_functional.edit_distance(first, second)


def test_decibel_aliases_are_torchaudios_capitalisation() -> None:
    # Tolerance: 1e-5 relative (float32 logarithms and powers).
    spec = _rand(2, 1, 20, 30).float() + 1e-3
    ours = F.amplitude_to_DB(spec, 10.0, 1e-10, 0.0, 80.0)
    torch.testing.assert_close(ours, ta_functional.amplitude_to_DB(spec, 10.0, 1e-10, 0.0, 80.0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(F.DB_to_amplitude(ours, 1.0, 1.0), ta_functional.DB_to_amplitude(ours, 1.0, 1.0))
    assert F.amplitude_to_DB is F.amplitude_to_db and F.DB_to_amplitude is F.db_to_amplitude


def test_every_torchaudio_name_has_a_tympan_counterpart() -> None:
    missing = [name for name in ta_functional.__all__ if not hasattr(F, name)]
    missing += [name for name in ta_transforms.__all__ if not hasattr(T, name)]
    assert missing == []
