"""Constant-Q, variable-Q and inverse constant-Q transforms against librosa, and their component contract.

librosa decimates with soxr while the hop stays even; with an odd hop neither side decimates and the two
compute the same sums, so those cases are compared tightly (librosa builds its filters in complex64, hence
1e-5). With even hops the decimation filters differ (soxr's versus this package's frequency-domain
low-pass fitted to it), which the multirate cases bound separately.
"""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch
from _contract import (
    assert_batch_equals_items,
    assert_refused_at_construction,
    assert_scripted_and_pickled_keep_the_output,
)

from tympan.plugins.dsp.functional._cqt import cqt, icqt, vqt
from tympan.plugins.dsp.transforms._cqt import CQT, VQT, InverseCQT


def peak_relative(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest ``|actual - expected|`` over the peak ``|expected|``."""
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def magnitude_relative(actual: np.ndarray, expected: np.ndarray, floor: float) -> float:
    """Largest relative magnitude error, each bin's error over ``max(|expected|, floor * peak)``."""
    a, b = np.abs(actual), np.abs(expected)
    return float((np.abs(a - b) / np.maximum(b, floor * b.max())).max())


EXACT_CASES = [
    {"sample_rate": 8000, "f_min": 55.0, "n_bins": 60, "gamma": 0.0},
    {"sample_rate": 8000, "f_min": 55.0, "n_bins": 60, "gamma": None},
    {"sample_rate": 8000, "f_min": 110.0, "n_bins": 50, "gamma": 3.0, "bins_per_octave": 12, "filter_scale": 0.7},
    {"sample_rate": 16000, "f_min": 100.0, "n_bins": 100, "gamma": 0.0, "bins_per_octave": 24, "norm": 2.0},
    {"sample_rate": 8000, "f_min": 60.0, "n_bins": 41, "gamma": 0.0, "scale": False, "tuning": 0.25},
    {"sample_rate": 8000, "f_min": 60.0, "n_bins": 36, "gamma": 0.0, "sparsity": 0.0, "pad_mode": "reflect"},
    {"sample_rate": 8000, "f_min": 60.0, "n_bins": 36, "gamma": 0.0, "norm": math.inf, "window": "hamming"},
]


@pytest.mark.parametrize("case", EXACT_CASES)
def test_matches_librosa_exactly_without_decimation(chirp, case) -> None:
    # Tolerance: 1e-5 of the peak, complex values (librosa's filters are complex64). Odd hop: no decimation.
    options = dict(case)
    rate = options.pop("sample_rate")
    wave = chirp(rate, 1.0, f_low=40.0)
    reference = librosa.vqt(
        wave.numpy(),
        sr=rate,
        hop_length=127,
        fmin=options["f_min"],
        n_bins=options["n_bins"],
        gamma=options["gamma"],
        bins_per_octave=options.get("bins_per_octave", 12),
        filter_scale=options.get("filter_scale", 1.0),
        norm=options.get("norm", 1.0),
        sparsity=options.get("sparsity", 0.01),
        window=options.get("window", "hann"),
        scale=options.get("scale", True),
        pad_mode=options.get("pad_mode", "constant"),
        tuning=options.get("tuning", 0.0),
    )
    ours = vqt(wave, rate, 127, **options)
    assert ours.shape == reference.shape and ours.dtype == torch.complex128
    assert peak_relative(ours.numpy(), reference) < 1e-5


@pytest.mark.parametrize(("rate", "gamma"), [(22050, 0.0), (44100, 0.0), (22050, None)])
def test_matches_librosa_with_decimation(chirp, rate, gamma) -> None:
    # librosa decimates with soxr_hq, this package with its own low-pass fitted to soxr's response.
    # Measured on this chirp-plus-noise: magnitude error below 1e-4 of each bin (floor 1% of the peak) and
    # 1e-6 of the peak at 22.05 kHz; bounds: 1e-3 relative (floor 1% of the peak) and 1e-5 of the peak
    # (44.1 kHz includes librosa's early decimation by 2).
    wave = chirp(rate, 3.0, f_low=30.0, f_high=9000.0)
    reference = librosa.vqt(wave.numpy(), sr=rate, hop_length=512, gamma=gamma)
    ours = vqt(wave, rate, 512, gamma=gamma).numpy()
    assert ours.shape == reference.shape
    assert magnitude_relative(ours, reference, floor=1e-2) < 1e-3
    assert peak_relative(np.abs(ours), np.abs(reference)) < 1e-5
    # The bins well above f_min, every bin down to 0.1% of the peak: within 1e-3.
    assert magnitude_relative(ours[24:], reference[24:], floor=1e-3) < 1e-3


def test_cqt_is_vqt_with_zero_gamma_and_power_option(chirp) -> None:
    wave = chirp(8000, 0.5)
    spectrum = cqt(wave, 8000, 128, f_min=110.0, n_bins=36)
    torch.testing.assert_close(spectrum, vqt(wave, 8000, 128, f_min=110.0, n_bins=36, gamma=0.0))
    power = cqt(wave, 8000, 128, f_min=110.0, n_bins=36, power=2.0)
    torch.testing.assert_close(power, spectrum.abs().square())


@pytest.mark.parametrize("hop", [511, 512])
def test_icqt_matches_librosa(chirp, hop) -> None:
    # Odd hop: the same sums, 1e-5 of the peak. Even hop: the octaves are interpolated by different filters;
    # away from the ends (the longest filter, 0.3 s here) within 1e-4 of the peak, everywhere 1e-2.
    rate = 22050
    wave = chirp(rate, 2.0, f_low=40.0, f_high=1500.0, noise=0.0)
    spectrum = librosa.cqt(wave.numpy(), sr=rate, hop_length=hop)
    reference = librosa.icqt(spectrum, sr=rate, hop_length=hop, length=wave.shape[-1])
    ours = icqt(torch.from_numpy(spectrum), rate, hop, length=wave.shape[-1]).numpy()
    assert ours.shape == reference.shape
    if hop % 2:
        assert peak_relative(ours, reference) < 1e-5
    else:
        edge = 7000
        assert peak_relative(ours[edge:-edge], reference[edge:-edge]) < 1e-4
        assert peak_relative(ours, reference) < 1e-2


def snr_db(estimate: np.ndarray, target: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


def test_round_trip_snr_equals_librosa(chirp) -> None:
    # A chirp inside the analysed band (40 Hz - 1.5 kHz of 32.7 Hz - 4 kHz). Measured: 3.5 dB for both with
    # librosa's defaults (the constant-Q filters are far from a tight frame). Bound: within 0.1 dB of
    # librosa's own round trip.
    rate = 22050
    wave = chirp(rate, 2.0, f_low=40.0, f_high=1500.0, noise=0.0)
    target = wave.numpy()
    ours = icqt(cqt(wave, rate), rate, length=target.size).numpy()
    reference = librosa.icqt(librosa.cqt(target, sr=rate), sr=rate, length=target.size)
    assert abs(snr_db(ours, target) - snr_db(reference, target)) < 0.1


def small_cqt(**overrides) -> CQT:
    options = {"sample_rate": 8000, "hop_length": 64, "f_min": 110.0, "n_bins": 36}
    return CQT(**{**options, **overrides})


MODULES = {
    "cqt": lambda: small_cqt(),
    "cqt_power": lambda: small_cqt(power=2.0),
    "vqt": lambda: VQT(sample_rate=8000, hop_length=64, f_min=110.0, n_bins=36, power=1.0),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_batch_equals_items_and_functional(chirp, name) -> None:
    # Tolerance: float64, rtol 1e-7, atol 1e-9 of the peak (the same computation in another layout).
    module = MODULES[name]().double()
    batch = chirp(8000, 0.3, batch=(2, 3))
    scale = float(module(batch).abs().max())
    assert_batch_equals_items(module, batch, rtol=1e-7, atol=1e-9 * scale)
    # The module's kernels are float32 buffers: compare with the functional form in float32.
    single = batch.float()
    functional = vqt(single, 8000, 64, 110.0, 36, gamma=module.gamma, power=module.power)
    torch.testing.assert_close(module.float()(single), functional, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("name", list(MODULES))
def test_torchscript_and_pickle_give_the_same_output(chirp, name) -> None:
    module = MODULES[name]()
    x = chirp(8000, 0.2, batch=(2,), dtype=torch.float32)
    assert_scripted_and_pickled_keep_the_output(module, x)


def test_float32_and_half_precision(chirp) -> None:
    # Tolerance: float32 within 1e-4 of the float64 peak; half precision computes in float32 (complex64 out).
    module = small_cqt()
    x = chirp(8000, 0.3, batch=(2,))
    exact = module.double()(x)
    single = module.float()(x.float())
    assert single.dtype == torch.complex64
    torch.testing.assert_close(single.to(torch.complex128), exact, rtol=0, atol=1e-4 * float(exact.abs().max()))
    assert module(x.to(torch.bfloat16)).dtype == torch.complex64
    assert small_cqt(power=1.0)(x.to(torch.float16)).dtype == torch.float16


def test_gradcheck_float64(chirp) -> None:
    module = CQT(sample_rate=8000, hop_length=32, f_min=500.0, n_bins=24, power=2.0).double()
    x = chirp(8000, 0.04, batch=(1,)).requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
    inverse = InverseCQT(sample_rate=8000, hop_length=32, f_min=500.0, n_bins=24).double()
    spectrum = CQT(sample_rate=8000, hop_length=32, f_min=500.0, n_bins=24).double()(x.detach())
    spectrum = spectrum.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: inverse(s, 300), (spectrum,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_silence_gives_finite_output() -> None:
    for module in [m() for m in MODULES.values()]:
        assert torch.isfinite(module(torch.zeros(2, 800))).all()
    inverse = InverseCQT(sample_rate=8000, hop_length=64, f_min=110.0, n_bins=36)
    assert torch.isfinite(inverse(torch.zeros(2, 36, 10, dtype=torch.complex64))).all()


def test_inverse_module_matches_functional_and_scripts(chirp) -> None:
    x = chirp(8000, 0.3, batch=(2,))
    spectrum = small_cqt().double()(x)
    inverse = InverseCQT(sample_rate=8000, hop_length=64, f_min=110.0, n_bins=36).double()
    ours = inverse(spectrum, 2400)
    # Tolerance: 1e-6 of the peak (the module's kernels are float32 buffers, the functional's float64).
    expected = icqt(spectrum, 8000, 64, 110.0, length=2400)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6 * float(expected.abs().max()))
    torch.testing.assert_close(torch.jit.script(inverse)(spectrum, 2400), ours, rtol=0, atol=0)
    assert InverseCQT.produces_waveform and not CQT.produces_waveform
    assert inverse.example_input(2).shape == (2, 36, 12) and small_cqt().output_sample_rate == 8000


BAD_PARAMETERS = [
    (CQT, {"sample_rate": 8000, "n_bins": 84}, "n_bins"),  # C1 + 7 octaves passes 4 kHz
    (CQT, {"f_min": 3000.0, "n_bins": 24}, "n_bins"),
    (CQT, {"sample_rate": 0}, "sample_rate"),
    (CQT, {"sample_rate": -8000}, "sample_rate"),
    (CQT, {"hop_length": 0}, "hop_length"),
    (CQT, {"f_min": 0.0}, "f_min"),
    (CQT, {"filter_scale": 0.0}, "filter_scale"),
    (CQT, {"sparsity": 1.0}, "sparsity"),
    (CQT, {"pad_mode": "wrap"}, "pad_mode"),
    (CQT, {"power": 0.0}, "power"),
    (CQT, {"window_fn": "triangle"}, "window_fn"),
    (VQT, {"gamma": -1.0}, "gamma"),
    (VQT, {"sample_rate": 8000, "n_bins": 83, "gamma": 400.0}, "n_bins"),  # fits when gamma is 0
    (InverseCQT, {"sample_rate": 8000, "n_bins": 84}, "n_bins"),
    (InverseCQT, {"bins_per_octave": 0}, "bins_per_octave"),
]


@pytest.mark.parametrize(("cls", "values", "field"), BAD_PARAMETERS)
def test_bad_parameters_raise_at_construction(cls, values, field) -> None:
    assert_refused_at_construction(cls, values, field)


def test_bad_functional_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        cqt(torch.zeros(1000), 8000)
    with pytest.raises(ValueError, match="sample_rate"):
        cqt(torch.zeros(1000), -1)
    with pytest.raises(ValueError, match="window"):
        cqt(torch.zeros(1000), 22050, window="triangle")
    with pytest.raises(ValueError, match="complex"):
        icqt(torch.zeros(84, 5), 22050)
    with pytest.raises(ValueError, match="complex transform"):
        InverseCQT()(torch.zeros(2, 80, 5, dtype=torch.complex64))
