"""The component contract of the inverse, filterbank and descriptor transforms: batches, TorchScript,
pickling, gradients, dtypes, silence, buffers and parameter validation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from _contract import (
    assert_batch_equals_items,
    assert_refused_at_construction,
    assert_scripted_and_pickled_keep_the_output,
)

from tympan.plugins.dsp.functional._filterbank_ops import inverse_mel_scale, mel_scale
from tympan.plugins.dsp.functional._inverse import griffinlim, inverse_spectrogram
from tympan.plugins.dsp.functional._spectral_extra import compute_deltas, spectral_centroid
from tympan.plugins.dsp.transforms import Spectrogram
from tympan.plugins.dsp.transforms._descriptors import ComputeDeltas, SpectralCentroid
from tympan.plugins.dsp.transforms._filterbank import LFCC, InverseMelScale, MelScale
from tympan.plugins.dsp.transforms._inverse import GriffinLim, InverseSpectrogram

_COMPLEX = Spectrogram(n_fft=64, hop_length=16, power=None)
_POWER = Spectrogram(n_fft=64, hop_length=16)
_MEL = MelScale(n_mels=12, sample_rate=8000, n_stft=33)

# Each case: the module and how its input is made from a waveform.
CASES: dict[str, tuple[Callable[[], torch.nn.Module], Callable[[torch.Tensor], torch.Tensor]]] = {
    "inverse_spectrogram": (lambda: InverseSpectrogram(n_fft=64, hop_length=16), _COMPLEX),
    "griffin_lim": (lambda: GriffinLim(n_fft=64, hop_length=16, n_iter=3, rand_init=False), _POWER),
    "mel_scale": (lambda: MelScale(n_mels=12, sample_rate=8000, n_stft=33), _POWER),
    "inverse_mel_scale": (lambda: InverseMelScale(n_stft=33, n_mels=12, sample_rate=8000), lambda w: _MEL(_POWER(w))),
    "lfcc": (lambda: LFCC(sample_rate=8000, n_filter=20, n_lfcc=10, speckwargs={"n_fft": 128}), lambda w: w),
    "lfcc_log": (lambda: LFCC(sample_rate=8000, n_filter=16, n_lfcc=8, log_lf=True, speckwargs={"n_fft": 64}), None),
    "compute_deltas": (lambda: ComputeDeltas(win_length=5), _POWER),
    "spectral_centroid": (lambda: SpectralCentroid(8000, n_fft=128, hop_length=32), None),
}


def make(name: str, wave: torch.Tensor) -> tuple[torch.nn.Module, torch.Tensor]:
    factory, to_input = CASES[name]
    module = factory().to(wave.dtype)
    if to_input is None:
        return module, wave
    return module, to_input.to(wave.dtype)(wave) if isinstance(to_input, torch.nn.Module) else to_input(wave)


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
    module, x = make(name, chirp(8000, 0.03, batch=(1,)))
    if name == "griffin_lim":
        x = x + 1.0  # away from the square root's infinite slope at zero power
    x = x.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


@pytest.mark.parametrize("name", list(CASES))
def test_float32_agrees_with_float64(chirp, name) -> None:
    # Tolerance: rtol 1e-3 with an absolute floor at 1e-4 of the peak (float32 round-off; the least-squares
    # inverse gets 1e-3 of the peak, its conditioning amplifies round-off).
    module, x = make(name, chirp(8000, 0.1, batch=(2,)))
    exact = module(x)
    single = module.float()(x.to(torch.complex64) if x.is_complex() else x.float())
    assert single.dtype == torch.float32
    floor = (1e-3 if name == "inverse_mel_scale" else 1e-4) * float(exact.abs().max())
    torch.testing.assert_close(single.double(), exact, rtol=1e-3, atol=floor)


@pytest.mark.parametrize("name", list(CASES))
def test_silence_gives_finite_output(name) -> None:
    module, x = make(name, torch.zeros(2, 800))
    out = module(x)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["griffin_lim", "mel_scale", "lfcc", "compute_deltas", "spectral_centroid"])
def test_buffers_follow_the_module_and_are_not_saved(name) -> None:
    module, _ = make(name, torch.zeros(1, 800, dtype=torch.float64))
    buffers = dict(module.named_buffers())
    assert buffers and all(b.dtype == torch.float64 for b in buffers.values())
    assert module.state_dict() == {}


def test_functional_forms_equal_the_transforms(chirp) -> None:
    wave = chirp(8000, 0.2, batch=(2,), dtype=torch.float32)
    window = torch.hann_window(64)
    power = _POWER(wave)
    mel = _MEL(power)
    pairs = [
        (
            InverseSpectrogram(n_fft=64, hop_length=16)(_COMPLEX(wave)),
            inverse_spectrogram(_COMPLEX(wave), None, 0, window, 64, 16, 64, False),
        ),
        (
            GriffinLim(n_fft=64, hop_length=16, n_iter=3, rand_init=False)(power),
            griffinlim(power, window, 64, 16, 64, 2.0, 3, 0.99, None, False),
        ),
        (_MEL(power), mel_scale(power, _MEL.fb)),
        (InverseMelScale(33, 12, 8000)(mel), inverse_mel_scale(mel, _MEL.fb)),
        (ComputeDeltas(7, "reflect")(power), compute_deltas(power, 7, "reflect")),
        (SpectralCentroid(8000, n_fft=64, hop_length=16)(wave), spectral_centroid(wave, 8000, 0, window, 64, 16, 64)),
    ]
    for module_output, function_output in pairs:
        torch.testing.assert_close(module_output, function_output, rtol=1e-6, atol=1e-6)


def test_waveform_outputs_and_sample_rates_are_declared() -> None:
    assert InverseSpectrogram.produces_waveform and GriffinLim.produces_waveform
    assert not MelScale.produces_waveform and not LFCC.produces_waveform
    assert SpectralCentroid(8000).output_sample_rate == 8000 and LFCC(sample_rate=8000).output_sample_rate == 8000


BAD_PARAMETERS = [
    (InverseSpectrogram, {"win_length": 500}, "win_length"),
    (GriffinLim, {"momentum": 1.0}, "momentum"),
    (GriffinLim, {"n_iter": -1}, "n_iter"),
    (GriffinLim, {"length": 0}, "length"),
    (MelScale, {"f_max": 9000.0}, "f_max"),
    (MelScale, {"n_stft": 0}, "n_stft"),
    (MelScale, {"mel_scale": "bark"}, "mel_scale"),
    (InverseMelScale, {"n_stft": 201, "driver": "svd"}, "driver"),
    (InverseMelScale, {"n_stft": 65, "n_mels": 128}, "n_mels"),
    (LFCC, {"n_lfcc": 50, "n_filter": 40}, "n_lfcc"),
    (LFCC, {"f_min": 9000.0}, "f_min"),
    (LFCC, {"speckwargs": {"power": None}}, "speckwargs"),
    (LFCC, {"speckwargs": {"n_fft": 0}}, "n_fft"),
    (LFCC, {"dct_type": 3}, "dct_type"),
    (ComputeDeltas, {"win_length": 2}, "win_length"),
    (ComputeDeltas, {"mode": "wrap"}, "mode"),
    (SpectralCentroid, {"sample_rate": 8000, "hop_length": 0}, "hop_length"),
]


@pytest.mark.parametrize(("cls", "values", "field"), BAD_PARAMETERS)
def test_bad_parameters_raise_at_construction(cls, values, field) -> None:
    assert_refused_at_construction(cls, values, field)


def test_params_have_schemas_without_foreign_fields() -> None:
    assert "power" not in InverseSpectrogram.Params.model_json_schema()["properties"]
    assert {"pad", "center", "normalized"}.isdisjoint(GriffinLim.Params.model_json_schema()["properties"])
    assert "power" not in SpectralCentroid.Params.model_json_schema()["properties"]


def test_bad_inputs_are_value_errors() -> None:
    with pytest.raises(ValueError, match="complex spectrum"):
        InverseSpectrogram(n_fft=64)(torch.randn(33, 10))
    with pytest.raises(ValueError, match="mel spectrogram"):
        InverseMelScale(n_stft=33, n_mels=12, sample_rate=8000)(torch.rand(11, 5))
    with pytest.raises(ValueError, match="momentum"):
        griffinlim(torch.rand(33, 5), torch.hann_window(64), 64, 16, 64, 2.0, 2, 1.5, None, False)
