"""The biquad family against the sox binary, and its module contract: batches, TorchScript, pickling,
gradients, silence and parameter validation."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import torch
from _contract import (
    assert_batch_equals_items,
    assert_refused_at_construction,
    assert_scripted_and_pickled_keep_the_output,
)

import tympan.plugins.dsp.functional._biquads as F
import tympan.plugins.dsp.transforms._biquad_filters as T
from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.transforms._filters import Biquad

RATE = 44100

#: name -> (sox effect arguments, functional call, module); each designs the same filter.
CASES: dict[str, tuple[list[str], Callable[[torch.Tensor], torch.Tensor], Callable[[], torch.nn.Module]]] = {
    "lowpass": (
        ["lowpass", "1000", "0.707q"],
        lambda x: F.lowpass_biquad(x, RATE, 1000.0),
        lambda: T.LowpassBiquad(RATE, 1000.0),
    ),
    "highpass": (
        ["highpass", "300", "2q"],
        lambda x: F.highpass_biquad(x, RATE, 300.0, Q=2.0),
        lambda: T.HighpassBiquad(RATE, 300.0, Q=2.0),
    ),
    "allpass": (
        ["allpass", "2000", "3q"],
        lambda x: F.allpass_biquad(x, RATE, 2000.0, 3.0),
        lambda: T.AllpassBiquad(RATE, 2000.0, 3.0),
    ),
    "bandpass": (
        ["bandpass", "1500", "4q"],
        lambda x: F.bandpass_biquad(x, RATE, 1500.0, 4.0),
        lambda: T.BandpassBiquad(RATE, 1500.0, 4.0),
    ),
    "bandpass_skirt": (
        ["bandpass", "-c", "1500", "4q"],
        lambda x: F.bandpass_biquad(x, RATE, 1500.0, 4.0, const_skirt_gain=True),
        lambda: T.BandpassBiquad(RATE, 1500.0, 4.0, const_skirt_gain=True),
    ),
    "bandreject": (
        ["bandreject", "800", "1.5q"],
        lambda x: F.bandreject_biquad(x, RATE, 800.0, 1.5),
        lambda: T.BandrejectBiquad(RATE, 800.0, 1.5),
    ),
    "band": (
        ["band", "1000", "2q"],
        lambda x: F.band_biquad(x, RATE, 1000.0, 2.0),
        lambda: T.BandBiquad(RATE, 1000.0, 2.0),
    ),
    "band_noise": (
        ["band", "-n", "1000", "2q"],
        lambda x: F.band_biquad(x, RATE, 1000.0, 2.0, noise=True),
        lambda: T.BandBiquad(RATE, 1000.0, 2.0, noise=True),
    ),
    "bass": (
        ["bass", "6", "200", "0.707q"],
        lambda x: F.bass_biquad(x, RATE, 6.0, 200.0),
        lambda: T.BassBiquad(RATE, 6.0, 200.0),
    ),
    "treble": (
        ["treble", "-8", "4000", "1q"],
        lambda x: F.treble_biquad(x, RATE, -8.0, 4000.0, 1.0),
        lambda: T.TrebleBiquad(RATE, -8.0, 4000.0, 1.0),
    ),
    "equalizer": (
        ["equalizer", "1000", "2q", "5"],
        lambda x: F.equalizer_biquad(x, RATE, 1000.0, 5.0, 2.0),
        lambda: T.EqualizerBiquad(RATE, 1000.0, 5.0, 2.0),
    ),
    "deemph": (["deemph"], lambda x: F.deemph_biquad(x, RATE), lambda: T.DeemphBiquad(RATE)),
    "riaa": (["riaa"], lambda x: F.riaa_biquad(x, RATE), lambda: T.RiaaBiquad(RATE)),
}


@pytest.fixture(scope="module")
def sox_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """Half a second of uniform noise at 0.1 full scale (no clipping anywhere), as a float WAV file."""
    signal = (0.1 * np.random.default_rng(0).uniform(-1, 1, RATE // 2)).astype(np.float32)
    path = tmp_path_factory.mktemp("sox") / "in.wav"
    scipy.io.wavfile.write(path, RATE, signal)
    return path, signal


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs the sox binary")
@pytest.mark.parametrize("name", list(CASES))
def test_matches_sox(sox_input, tmp_path, name) -> None:
    # Tolerance: 1e-7 absolute (signal peak 0.1): sox works in 32-bit integers and writes float32 samples.
    source, signal = sox_input
    effect, function, make = CASES[name]
    target = tmp_path / "out.wav"
    command = ["sox", "-D", str(source), "-e", "floating-point", "-b", "32", str(target), *effect]
    subprocess.run(command, check=True, capture_output=True)
    _, expected = scipy.io.wavfile.read(target)
    wave = torch.from_numpy(signal.astype(np.float64))
    np.testing.assert_allclose(function(wave).numpy(), expected, rtol=0, atol=1e-7)
    np.testing.assert_allclose(make()(wave).numpy(), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", list(CASES))
def test_module_equals_functional_in_float32(chirp, name) -> None:
    _, function, make = CASES[name]
    wave = chirp(RATE, 0.1, batch=(2,), dtype=torch.float32) * 0.5
    out = make()(wave)
    assert out.dtype == torch.float32 and out.shape == wave.shape
    torch.testing.assert_close(out, function(wave), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["lowpass", "bandpass_skirt", "bass", "riaa"])
def test_batch_equals_items(chirp, name) -> None:
    module = CASES[name][2]()
    batch = chirp(RATE, 0.05, batch=(2, 3)) * 0.5
    assert_batch_equals_items(module, batch, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_torchscript_and_pickle_give_the_same_output(chirp, name) -> None:
    module = CASES[name][2]()
    wave = chirp(RATE, 0.05, batch=(2,), dtype=torch.float32) * 0.5
    # Scripted, the block recursion runs in float32; eagerly, a compiled loop in float64: 1e-5 apart on a
    # signal of peak 0.5 (float32 rounding through the recursion).
    assert_scripted_and_pickled_keep_the_output(module, wave, scripted_atol=1e-5)


@pytest.mark.parametrize("name", ["lowpass", "equalizer", "deemph"])
def test_gradcheck_wrt_input(name) -> None:
    module = CASES[name][2]()
    x = torch.randn(2, 120, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.1
    assert torch.autograd.gradcheck(module, (x.requires_grad_(True),))


def test_gradcheck_wrt_design_parameters() -> None:
    x = torch.randn(1, 100, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 0.1
    cutoff = torch.tensor(3000.0, dtype=torch.float64, requires_grad=True)
    q = torch.tensor(0.9, dtype=torch.float64, requires_grad=True)
    gain = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, s: F.lowpass_biquad(x, 16000, f, s), (cutoff, q))
    assert torch.autograd.gradcheck(lambda g, s: F.equalizer_biquad(x, 16000, 2000.0, g, s), (gain, q))


@pytest.mark.parametrize("name", list(CASES))
def test_silence_gives_finite_output(name) -> None:
    out = CASES[name][2]()(torch.zeros(2, 3000))
    assert torch.equal(out, torch.zeros(2, 3000))


def test_biquad_module_and_function_agree(chirp) -> None:
    wave = chirp(16000, 0.1, batch=(2,)) * 0.5
    coefficients = dict(b0=0.2, b1=0.1, b2=0.05, a0=1.2, a1=-0.6, a2=0.2)
    torch.testing.assert_close(Biquad(**coefficients)(wave), F.biquad(wave, **coefficients), rtol=1e-12, atol=1e-14)


def test_sample_rate_is_the_rate_parameter() -> None:
    module = T.LowpassBiquad(sample_rate=22050, cutoff_freq=500.0)
    assert module.output_sample_rate == 22050
    assert T.LowpassBiquad.sample_rate_param == "sample_rate" and T.LowpassBiquad.produces_waveform
    assert module.state_dict() == {}, "coefficients are rebuilt from the parameters, not saved"


BAD_PARAMETERS = [
    (T.LowpassBiquad, {"sample_rate": 16000, "cutoff_freq": 8000.0}, "cutoff_freq"),
    (T.LowpassBiquad, {"sample_rate": 16000, "cutoff_freq": -5.0}, "cutoff_freq"),
    (T.HighpassBiquad, {"sample_rate": 16000, "cutoff_freq": 100.0, "Q": 0.0}, "Q"),
    (T.AllpassBiquad, {"sample_rate": 0, "central_freq": 100.0}, "sample_rate"),
    (T.BandpassBiquad, {"sample_rate": 8000, "central_freq": 4500.0}, "central_freq"),
    (T.BandBiquad, {"sample_rate": 8000, "central_freq": 1000.0, "Q": -1.0}, "Q"),
    (T.BassBiquad, {"sample_rate": 8000, "gain": 500.0}, "gain"),
    (T.TrebleBiquad, {"sample_rate": 4000, "gain": 3.0}, "central_freq"),
    (T.EqualizerBiquad, {"sample_rate": 8000, "center_freq": 4000.0, "gain": 3.0}, "center_freq"),
    (T.DeemphBiquad, {"sample_rate": 16000}, "sample_rate"),
    (T.RiaaBiquad, {"sample_rate": 22050}, "sample_rate"),
    (Biquad, {"b0": 1.0, "b1": 0.0, "b2": 0.0, "a0": 1.0, "a1": 0.0, "a2": -1.0}, "a2"),
    (Biquad, {"b0": 1.0, "b1": 0.0, "b2": 0.0, "a0": 0.0, "a1": 0.5, "a2": 0.0}, "a0"),
]


@pytest.mark.parametrize(("cls", "values", "field"), BAD_PARAMETERS)
def test_bad_parameters_raise_at_construction(cls, values, field) -> None:
    assert_refused_at_construction(cls, values, field)


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="cutoff"):
        T.LowpassBiquad.validated({"sample_rate": 8000, "cutoff": 100.0})


@pytest.mark.parametrize("rate", [44100, 48000])
def test_deemph_and_riaa_designs_at_every_rate(rate) -> None:
    wave = torch.randn(2, 2000, generator=torch.Generator().manual_seed(rate), dtype=torch.float64) * 0.1
    for out in (F.deemph_biquad(wave, rate), F.riaa_biquad(wave, rate), F.riaa_biquad(wave, rate * 2)):
        assert torch.isfinite(out).all() and out.shape == wave.shape
