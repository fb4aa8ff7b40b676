"""Resampling: exactness against a float64 windowed-sinc reference written from the definition, agreement
with librosa (soxr) and scipy on band-limited signals, output lengths, kernel caching and memory."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from tympan.plugins.dsp import functional as F
from tympan.plugins.dsp.functional._resample import resampling_plan
from tympan.plugins.dsp.transforms import Resample

KAISER_BETA = 14.769656459379492


def windowed_sinc_reference(
    x: np.ndarray,
    orig: int,
    new: int,
    width: int = 6,
    rolloff: float = 0.99,
    window: str = "hann",
    beta: float = KAISER_BETA,
) -> np.ndarray:
    """Output sample j = sum_i x[i] h(j * orig / new - i), h a windowed sinc low-pass at rolloff * min Nyquist.

    Every output-input pair is evaluated (no polyphase structure), in float64.
    """
    common = math.gcd(orig, new)
    orig, new = orig // common, new // common
    cutoff = min(orig, new) * rolloff  # in units where the input rate is `orig`
    out_length = math.ceil(len(x) * new / orig)
    crossings = (np.arange(out_length)[:, None] * orig / new - np.arange(len(x))[None, :]) * cutoff / orig
    relative = np.clip(crossings / width, -1.0, 1.0)
    if window == "hann":
        taper = np.cos(np.pi * relative / 2) ** 2
    else:
        taper = np.i0(beta * np.sqrt(1 - relative**2)) / np.i0(beta)
    h = np.where(np.abs(crossings) <= width, np.sinc(crossings) * taper * cutoff / orig, 0.0)
    return h @ x


def snr_db(actual: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((actual - reference) ** 2)))


@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
@pytest.mark.parametrize(
    ("orig", "new"),
    [
        (3, 2),
        (2, 3),
        (16000, 8000),
        (8000, 11025),
        (44100, 16000),
        (5, 7),
        (16000, 16001),
    ],
)
def test_matches_windowed_sinc_definition(chirp, method, orig, new) -> None:
    # Tolerance: atol 1e-12 in float64 (the same sums, ordered differently). 16000 -> 16001 takes the
    # gathered compact-kernel path, the others the dense strided convolution.
    wave = chirp(8000, 0.03, seed=orig + new)
    ours = F.resample(wave, orig, new, resampling_method=method)
    expected = windowed_sinc_reference(wave.numpy(), orig, new, window=method.removeprefix("sinc_interp_"))
    torch.testing.assert_close(ours, torch.from_numpy(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("width", "rolloff", "beta"), [(16, 0.9, None), (3, 0.5, 8.0)])
def test_parameters_match_definition(chirp, width, rolloff, beta) -> None:
    # Tolerance: atol 1e-12 in float64.
    wave = chirp(8000, 0.03)
    ours = Resample(44100, 32000, "sinc_interp_kaiser", width, rolloff, beta, dtype=torch.float64)(wave)
    expected = windowed_sinc_reference(
        wave.numpy(), 44100, 32000, width, rolloff, "kaiser", KAISER_BETA if beta is None else beta
    )
    torch.testing.assert_close(ours, torch.from_numpy(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("orig", "new"), [(48000, 16000), (16000, 44100), (22050, 16000), (8000, 11025)])
def test_agrees_with_librosa_and_scipy_on_band_limited_signals(tones, orig, new) -> None:
    # Threshold: SNR >= 50 dB away from the edges (the outer 10 %), for sines below 0.3 x the lower rate,
    # against librosa.resample (soxr_hq), scipy.signal.resample_poly and the exact continuous signal.
    wave, at = tones(orig, 0.5, band=0.3 * min(orig, new), seed=orig % 97)
    ours = Resample(orig, new, dtype=torch.float64)(wave).numpy()
    common = math.gcd(orig, new)
    references = {
        "librosa": librosa.resample(wave.numpy(), orig_sr=orig, target_sr=new, res_type="soxr_hq"),
        "scipy": scipy.signal.resample_poly(wave.numpy(), new // common, orig // common),
        "exact": at(np.arange(len(ours)) / new),
    }
    edge = len(ours) // 10
    for name, reference in references.items():
        assert len(reference) == len(ours), name
        assert snr_db(ours[edge:-edge], reference[edge:-edge]) >= 50.0, name


@pytest.mark.parametrize("length", [1, 7, 160, 1001, 4410])
@pytest.mark.parametrize(("orig", "new"), [(44100, 16000), (16000, 44100), (48000, 8000), (3, 5), (16000, 16001)])
def test_output_length_is_ceiling(length, orig, new) -> None:
    out = F.resample(torch.randn(2, length), orig, new)
    assert out.shape == (2, math.ceil(length * new / orig))


def test_equal_rates_return_the_input() -> None:
    wave = torch.randn(3, 100)
    assert F.resample(wave, 16000, 16000) is wave
    assert Resample(16000, 16000)(wave) is wave


def test_kernels_are_cached_per_ratio_dtype_and_device() -> None:
    cpu = torch.device("cpu")
    first = resampling_plan(48000, 16000, 6, 0.99, "sinc_interp_hann", None, torch.float32, cpu)
    assert resampling_plan(48000, 16000, 6, 0.99, "sinc_interp_hann", None, torch.float32, cpu) is first
    assert resampling_plan(48000, 16000, 6, 0.99, "sinc_interp_hann", None, torch.float64, cpu) is not first
    assert (first.orig, first.new) == (3, 1)


@pytest.mark.parametrize(("orig", "new"), [(44100, 16001), (16000, 16001), (96001, 8000)])
def test_awkward_ratios_keep_memory_small(orig, new) -> None:
    # A dense polyphase kernel would hold (new / g) x (orig / g) taps (billions here); the compact one holds
    # about 2 * lowpass_filter_width taps per input or output sample of the reduced ratio.
    resample = Resample(orig, new)
    reduced = max(orig, new) // math.gcd(orig, new)
    assert resample.kernel.numel() <= 16 * reduced
    out = resample(torch.randn(2, orig // 4))
    assert out.shape == (2, math.ceil((orig // 4) * new / orig))
    assert torch.isfinite(out).all()


def test_sine_keeps_frequency_and_amplitude() -> None:
    t = torch.arange(44100, dtype=torch.float64) / 44100
    out = Resample(44100, 16000, dtype=torch.float64)(torch.sin(2 * torch.pi * 1000 * t))
    expected = torch.sin(2 * torch.pi * 1000 * torch.arange(16000, dtype=torch.float64) / 16000)
    # Tolerance: atol 2e-3 away from the edges (passband ripple of the width-6 Hann kernel at 1 kHz).
    torch.testing.assert_close(out[1000:-1000], expected[1000:-1000], rtol=0, atol=2e-3)


# --- ratios whose kernel is too large to hold: taps computed phase by phase --------------------------------

PHASED = [(1_000_003, 16000), (16000, 999_983), (9_999_991, 44100)]


@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
@pytest.mark.parametrize(("orig", "new"), PHASED)
def test_huge_reduced_ratios_hold_no_kernel_and_match_the_definition(orig, new, method) -> None:
    # Coprime rates: the polyphase kernel would hold new x (2 width + 2) taps (hundreds of megabytes).
    frames = 3000 if new < orig else 40
    x = torch.randn(2, frames, dtype=torch.float64, generator=torch.Generator().manual_seed(orig))
    module = Resample(orig, new, resampling_method=method, dtype=torch.float64)
    assert module.by_phases and module.kernel.numel() == 0
    expected = np.stack([windowed_sinc_reference(row.numpy(), orig, new, window=method[12:]) for row in x])
    # Tolerance: atol 1e-12 in float64 (the same taps as the definition, summed in another order).
    np.testing.assert_allclose(module(x).numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(F.resample(x, orig, new, resampling_method=method).numpy(), expected, atol=1e-12)


def test_the_fft_method_falls_back_to_its_kaiser_filter_by_phases() -> None:
    x = torch.randn(1, 3000, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    options = {"lowpass_filter_width": 96, "rolloff": 0.955}
    module = Resample(9_999_991, 16000, resampling_method="sinc_interp_kaiser_fft", dtype=torch.float64, **options)
    assert module.by_phases and not module.fft and module.kernel.numel() == 0
    expected = windowed_sinc_reference(x[0].numpy(), 9_999_991, 16000, width=96, rolloff=0.955, window="kaiser")
    # Tolerance: atol 1e-12 in float64 (the Kaiser filter the FFT method uses, applied directly).
    np.testing.assert_allclose(module(x)[0].numpy(), expected, rtol=0, atol=1e-12)
    high = F.resample(x, 9_999_991, 16000, **F.HIGH_QUALITY_RESAMPLING)
    np.testing.assert_allclose(high[0].numpy(), expected, rtol=0, atol=1e-12)


def test_a_filter_too_long_for_any_input_is_refused_naming_the_rates() -> None:
    from tympan.core.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"orig_freq=44100, new_freq=16000.*rolloff"):
        Resample(44100, 16000, rolloff=1e-300)
    with pytest.raises(InvalidParameterError, match="input samples"):
        F.resample(torch.zeros(1, 10), 44100, 16000, rolloff=1e-9)


def test_phased_resampling_scripts() -> None:
    module = Resample(1_000_003, 16000)
    x = torch.randn(1, 2000)
    torch.testing.assert_close(torch.jit.script(module)(x), module(x), rtol=0, atol=0)
