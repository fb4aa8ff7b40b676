"""Chroma filterbanks and chromagrams against librosa, and their component contract."""

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

from tympan.plugins.dsp.functional._chroma import chroma_filterbank, chroma_weights
from tympan.plugins.dsp.transforms import Spectrogram
from tympan.plugins.dsp.transforms._chroma import ChromaScale, ChromaSpectrogram

FILTERBANK_CASES = [
    {"sr": 22050, "n_fft": 2048},
    {"sr": 16000, "n_fft": 400, "n_chroma": 24, "tuning": 0.3, "octwidth": None, "norm": 1, "base_c": False},
    {"sr": 8000, "n_fft": 255, "n_chroma": 7, "tuning": -0.2, "octwidth": 1.5, "ctroct": 4.0, "norm": math.inf},
    {"sr": 44100, "n_fft": 4096, "n_chroma": 36, "norm": None},
    {"sr": 8000, "n_fft": 2},
]


@pytest.mark.parametrize("case", FILTERBANK_CASES)
def test_weights_match_librosa_filters_chroma(case) -> None:
    # Tolerance: 1e-12 absolute in float64 (the same closed-form weights).
    options = dict(case)
    rate, n_fft = options.pop("sr"), options.pop("n_fft")
    reference = librosa.filters.chroma(sr=rate, n_fft=n_fft, dtype=np.float64, **options)
    if "norm" in options and options["norm"] is not None:
        options["norm"] = float(options["norm"])
    ours = chroma_weights(rate, n_fft, **options)
    np.testing.assert_allclose(ours.numpy().T, reference, rtol=0, atol=1e-12)


def test_filterbank_is_for_a_onesided_spectrum() -> None:
    fb = chroma_filterbank(22050, 1025, tuning=0.1, dtype=torch.float64)
    reference = librosa.filters.chroma(sr=22050, n_fft=2048, tuning=0.1, dtype=np.float64)
    np.testing.assert_allclose(fb.numpy().T, reference, rtol=0, atol=1e-12)
    assert chroma_filterbank(16000, 201).dtype == torch.float32


@pytest.mark.parametrize(("n_fft", "hop_length", "tuning"), [(2048, 512, 0.0), (1024, 256, 0.2)])
def test_chroma_spectrogram_matches_librosa_chroma_stft(chirp, n_fft, hop_length, tuning) -> None:
    # Tolerance: rtol 1e-6 with a floor of 1e-9 of the peak, float64 (same power spectrogram and weights).
    wave = chirp(22050, 1.0, f_low=60.0)
    reference = librosa.feature.chroma_stft(
        y=wave.numpy(), sr=22050, n_fft=n_fft, hop_length=hop_length, tuning=tuning, norm=None, pad_mode="constant"
    )
    module = ChromaSpectrogram(22050, n_fft, hop_length=hop_length, tuning=tuning, pad_mode="constant").double()
    ours = module(wave).numpy()
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-9 * reference.max())


def test_librosa_frame_normalisation_is_a_separate_step(chirp) -> None:
    # librosa's default chroma_stft divides each frame by its peak (norm=inf); that is the transform's output
    # divided by its per-frame maximum. Tolerance as above.
    wave = chirp(22050, 0.5)
    reference = librosa.feature.chroma_stft(y=wave.numpy(), sr=22050, tuning=0.0, pad_mode="reflect")
    raw = ChromaSpectrogram(22050, 2048, hop_length=512).double()(wave)
    np.testing.assert_allclose((raw / raw.amax(-2, keepdim=True)).numpy(), reference, rtol=1e-6, atol=1e-9)


def test_chroma_scale_of_a_spectrogram_equals_chroma_spectrogram(chirp) -> None:
    wave = chirp(16000, 0.5, batch=(2,))
    power = Spectrogram(n_fft=512, hop_length=128).double()(wave)
    scale = ChromaScale(16000, 257, n_chroma=24).double()
    direct = ChromaSpectrogram(16000, 512, hop_length=128, n_chroma=24).double()
    torch.testing.assert_close(scale(power), direct(wave), rtol=1e-9, atol=1e-12)


CASES = {
    "chroma_scale": (lambda: ChromaScale(8000, 65), lambda w: Spectrogram(n_fft=128, hop_length=32).to(w.dtype)(w)),
    "chroma_spectrogram": (lambda: ChromaSpectrogram(8000, 128, hop_length=32, power=1.0), lambda w: w),
}


def make(name: str, wave: torch.Tensor) -> tuple[torch.nn.Module, torch.Tensor]:
    factory, to_input = CASES[name]
    return factory().to(wave.dtype), to_input(wave)


@pytest.mark.parametrize("name", list(CASES))
def test_batch_equals_items(chirp, name) -> None:
    # Tolerance: float64, rtol 1e-7, atol 1e-9 (the same computation in a different batch layout).
    module, batch = make(name, chirp(8000, 0.1, batch=(2, 3)))
    assert_batch_equals_items(module, batch, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_torchscript_and_pickle_give_the_same_output(chirp, name) -> None:
    module, x = make(name, chirp(8000, 0.1, batch=(2,), dtype=torch.float32))
    assert_scripted_and_pickled_keep_the_output(module, x)


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_float64(chirp, name) -> None:
    module, x = make(name, chirp(8000, 0.02, batch=(1,)))
    x = x.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


@pytest.mark.parametrize("name", list(CASES))
def test_dtypes_and_silence(chirp, name) -> None:
    # Tolerance: float32 within rtol 1e-4 and 1e-5 of the float64 peak.
    module, x = make(name, chirp(8000, 0.1, batch=(2,)))
    exact = module(x)
    single = module.float()(x.float())
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), exact, rtol=1e-4, atol=1e-5 * float(exact.abs().max()))
    assert module(x.to(torch.float16)).dtype == torch.float16
    silent, silent_input = make(name, torch.zeros(2, 800))
    assert torch.isfinite(silent(silent_input)).all()


def test_buffers_and_sample_rate() -> None:
    module = ChromaSpectrogram(8000, 256).double()
    assert module.fb.dtype == torch.float64 and module.state_dict() == {}
    assert module.output_sample_rate == 8000 and ChromaScale(8000, 65).fb.shape == (65, 12)


BAD_PARAMETERS = [
    (ChromaScale, {"n_freqs": 1}, "n_freqs"),
    (ChromaScale, {"sample_rate": 0}, "sample_rate"),
    (ChromaScale, {"n_chroma": 0}, "n_chroma"),
    (ChromaScale, {"octwidth": 0.0}, "octwidth"),
    (ChromaScale, {"norm": -1.0}, "norm"),
    (ChromaScale, {"tuning": 0.7}, "tuning"),
    (ChromaSpectrogram, {"n_fft": 1}, "n_fft"),
    (ChromaSpectrogram, {"sample_rate": -16000}, "sample_rate"),
    (ChromaSpectrogram, {"win_length": 500}, "win_length"),
    (ChromaSpectrogram, {"power": 0.0}, "power"),
]


@pytest.mark.parametrize(("cls", "values", "field"), BAD_PARAMETERS)
def test_bad_parameters_raise_at_construction(cls, values, field) -> None:
    assert_refused_at_construction(cls, values, field)


def test_bad_functional_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="n_freqs"):
        chroma_filterbank(16000, 1)
    with pytest.raises(ValueError, match="sample_rate"):
        chroma_weights(0, 512)
    with pytest.raises(ValueError, match="spectrogram"):
        ChromaScale(16000, 201)(torch.rand(2, 200, 5))
