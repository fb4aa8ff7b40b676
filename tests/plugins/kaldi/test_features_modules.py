"""The Kaldi feature modules: batches, utterances of different lengths, dtypes, devices, short audio,
seeded dither, parameter validation and registry access."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tympan.plugins.kaldi.functional as kaldi
from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.plugins.kaldi.features import Fbank, Mfcc, Plp, Spectrogram

from .conftest import knf_features

MODULES = {
    "fbank": lambda **kw: Fbank(num_mel_bins=40, use_energy=True, **kw),
    "mfcc": lambda **kw: Mfcc(htk_compat=True, **kw),
    "spectrogram": lambda **kw: Spectrogram(**kw),
    "plp": lambda **kw: Plp(use_energy=True, **kw),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_every_leading_dimension_is_batch(speech, name) -> None:
    # Tolerance: float64, rtol 1e-10, atol 1e-9 (the same frames in a different batch layout).
    module = MODULES[name]()
    batch = torch.from_numpy(np.stack([speech(16000, 3000, seed) for seed in range(6)])).to(torch.float64)
    together = module(batch.reshape(2, 3, -1))
    assert together.shape[:2] == (2, 3)
    for index in range(6):
        torch.testing.assert_close(
            together.reshape(6, *together.shape[2:])[index], module(batch[index]), rtol=1e-10, atol=1e-9
        )


@pytest.mark.parametrize("snip_edges", [True, False])
@pytest.mark.parametrize("name", list(MODULES))
def test_lengths_give_each_utterance_its_own_frames(speech, name, snip_edges) -> None:
    # Tolerance: float64, rtol 1e-10, atol 1e-9 (each utterance computed alone is the reference).
    module = MODULES[name](snip_edges=snip_edges)
    lengths = torch.tensor([4000, 3333, 399, 161, 0])
    padded = torch.zeros(len(lengths), 4000, dtype=torch.float64)
    for index, length in enumerate(lengths.tolist()):
        padded[index, :length] = torch.from_numpy(speech(16000, length, seed=index))
    features, counts = module(padded, lengths=lengths)
    for index, length in enumerate(lengths.tolist()):
        alone = module(padded[index, :length])
        assert counts[index] == alone.shape[0]
        torch.testing.assert_close(features[index, : counts[index]], alone, rtol=1e-10, atol=1e-9)
        assert features[index, counts[index] :].eq(0).all()


@pytest.mark.parametrize(("length", "snip_edges"), [(0, True), (399, True), (1, False), (79, False), (150, False)])
def test_audio_shorter_than_a_frame_gives_kaldis_frames(speech, length, snip_edges) -> None:
    # Tolerance: rtol 1e-4, atol 1e-4 on log energies (float32 against kaldi-native-fbank). Kaldi gives
    # zero frames with snip_edges and reflects the signal as often as needed without.
    samples = speech(16000, length, seed=5)
    expected = knf_features("fbank", samples, {"snip_edges": snip_edges})
    actual = kaldi.fbank(torch.from_numpy(samples), snip_edges=snip_edges)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_dtypes_float32_float64_and_integer_input(speech) -> None:
    # Tolerance: float32 against float64, rtol 1e-4, atol 1e-4 on log mel energies.
    samples = torch.from_numpy(speech(16000, 4000))
    module = Fbank()
    single, double = module(samples), module(samples.double())
    assert single.dtype == torch.float32 and double.dtype == torch.float64
    torch.testing.assert_close(single.double(), double, rtol=1e-4, atol=1e-4)
    integer = module(samples.round().to(torch.int16))
    assert integer.dtype == torch.float32 and integer.shape == single.shape


def test_dither_is_seeded() -> None:
    silence = torch.zeros(2, 1600)
    seeded = Fbank(dither=1.0, dither_seed=7)
    first, again = seeded(silence), seeded(silence)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, Fbank(dither=1.0, dither_seed=8)(silence))
    generator = torch.Generator().manual_seed(7)
    functional = kaldi.fbank(silence[0], dither=1.0, generator=generator)
    assert torch.isfinite(functional).all() and functional.std() > 0


def test_module_follows_to_and_matches_the_functional_form(speech) -> None:
    # Tolerance: rtol 1e-6, atol 1e-5 (module buffers and cached tables are the same float32 values).
    samples = torch.from_numpy(speech(16000, 4000))
    module = Mfcc(num_ceps=20, num_mel_bins=40).to(torch.device("cpu"))
    torch.testing.assert_close(module(samples), kaldi.mfcc(samples, num_ceps=20, num_mel_bins=40), rtol=1e-6, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(MODULES))
def test_cuda_matches_cpu(speech, name) -> None:
    # Tolerance: rtol 1e-4, atol 1e-3 (float32 cuFFT against the CPU FFT).
    module = MODULES[name]()
    samples = torch.from_numpy(np.stack([speech(16000, 8000, seed) for seed in range(4)]))
    lengths = torch.tensor([8000, 5000, 7000, 300])
    cpu, cpu_counts = module(samples, lengths=lengths)
    gpu, gpu_counts = module.to("cuda")(samples.cuda(), lengths=lengths.cuda())
    assert torch.equal(cpu_counts, gpu_counts.cpu())
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_mel_bins": 200, "sample_frequency": 8000.0, "round_to_power_of_two": False}, "cover no FFT bin"),
        ({"low_freq": 5000.0, "high_freq": 4000.0}, "low < high"),
        ({"high_freq": 9000.0}, "Nyquist"),
        ({"vtln_warp": 0.9, "vtln_low": 10.0}, "vtln_low"),
        ({"frame_length": 0.05}, "at least 2"),
        ({"window_type": "kaiser"}, "window_type"),
        ({"num_mel_bins": 2}, "num_mel_bins"),
    ],
)
def test_bad_parameters_are_typed_errors_naming_them(kwargs, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        Fbank(**kwargs)
    with pytest.raises(InvalidParameterError, match=message):
        kaldi.fbank(torch.zeros(1000), **kwargs)


def test_mfcc_needs_no_more_cepstra_than_mel_bins() -> None:
    with pytest.raises(InvalidParameterError, match="num_ceps=30 must not exceed num_mel_bins=23"):
        Mfcc(num_ceps=30)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        (torch.tensor([1.0, 2.0]), "integer"),
        (torch.tensor([10]), "leading shape"),
        (torch.tensor([10, 2000]), r"\[0, 1000\]"),
        (torch.tensor([-1, 5]), r"\[0, 1000\]"),
    ],
)
def test_bad_lengths_are_value_errors(lengths, message) -> None:
    with pytest.raises(ValueError, match=message):
        Fbank()(torch.zeros(2, 1000), lengths=lengths)


def test_channel_out_of_range_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="channel=2"):
        kaldi.fbank(torch.zeros(2, 1000), channel=2)


def test_min_duration_gives_no_frames_for_short_input() -> None:
    assert kaldi.mfcc(torch.zeros(1, 1600), min_duration=0.2).shape == (0, 13)


def test_registered_by_name() -> None:
    fbank = registry.create("kaldi:fbank", num_mel_bins=80, sample_frequency=8000)
    assert isinstance(fbank, Fbank) and fbank(torch.zeros(8000)).shape == (98, 80)
    assert isinstance(registry.create("kaldi:mfcc"), Mfcc)
    assert isinstance(registry.create("kaldi:spectrogram"), Spectrogram)
    assert isinstance(registry.create("kaldi:plp", lpc_order=10, num_ceps=11), Plp)


def test_plp_needs_no_more_cepstra_than_lpc_order_plus_one() -> None:
    with pytest.raises(InvalidParameterError, match="num_ceps=14 must not exceed lpc_order"):
        Plp(num_ceps=14, lpc_order=12)
