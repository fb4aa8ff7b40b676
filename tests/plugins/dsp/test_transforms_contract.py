"""The component contract of every DSP transform: batches, TorchScript, pickling, gradients, dtypes,
silence, buffers, parameter validation and registry access."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest
import torch
from _contract import assert_batch_equals_items

import tympan.plugins.dsp.functional as F
import tympan.plugins.dsp.transforms as T
from tympan import registry
from tympan.core.errors import InvalidParameterError

CASES: dict[str, Callable[[], torch.nn.Module]] = {
    "spectrogram": lambda: T.Spectrogram(n_fft=128, hop_length=32),
    "spectrogram_magnitude_normalized": lambda: T.Spectrogram(n_fft=128, win_length=100, power=1.0, normalized=True),
    "spectrogram_complex": lambda: T.Spectrogram(n_fft=64, power=None, center=False),
    "mel_spectrogram": lambda: T.MelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=32),
    "mel_spectrogram_slaney": lambda: T.MelSpectrogram(
        sample_rate=8000, n_fft=256, n_mels=24, norm="slaney", mel_scale="slaney", pad_mode="constant"
    ),
    "mfcc": lambda: T.MFCC(sample_rate=8000, n_mfcc=13, melkwargs={"n_fft": 256, "n_mels": 32}),
    "mfcc_log_mels": lambda: T.MFCC(sample_rate=8000, n_mfcc=10, log_mels=True, melkwargs={"n_fft": 200, "n_mels": 20}),
    "amplitude_to_db": lambda: T.AmplitudeToDB(top_db=60.0),
    "amplitude_to_db_magnitude": lambda: T.AmplitudeToDB(stype="magnitude"),
    "resample_down": lambda: T.Resample(44100, 16000),
    "resample_up_kaiser": lambda: T.Resample(8000, 11025, resampling_method="sinc_interp_kaiser"),
    "resample_compact": lambda: T.Resample(16000, 16001),
    "resample_kaiser_fft": lambda: T.Resample(22050, 16000, "sinc_interp_kaiser_fft", 48, 0.9),
}
REAL_OUTPUT = [name for name in CASES if name != "spectrogram_complex"]


def make(name: str) -> torch.nn.Module:
    return CASES[name]()


def as_input(module: torch.nn.Module, wave: torch.Tensor) -> torch.Tensor:
    """Decibel transforms take a power spectrogram; the others a waveform."""
    if isinstance(module, T.AmplitudeToDB):
        return T.Spectrogram(n_fft=128).to(wave.dtype)(wave)
    return wave


@pytest.mark.parametrize("name", list(CASES))
def test_batch_equals_items(chirp, name) -> None:
    # Tolerance: float64, rtol 1e-7, atol 1e-9 (the same computation in a different batch layout).
    module = make(name)
    batch = as_input(module, chirp(8000, 0.2, batch=(2, 3)))
    assert_batch_equals_items(module, batch, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_torchscript_gives_the_same_output(chirp, name) -> None:
    module = make(name)
    wave = as_input(module, chirp(8000, 0.2, batch=(2,), dtype=torch.float32))
    scripted = torch.jit.script(module)
    torch.testing.assert_close(scripted(wave), module(wave), rtol=0, atol=0)


@pytest.mark.parametrize("name", list(CASES))
def test_pickles(chirp, name) -> None:
    module = make(name)
    wave = as_input(module, chirp(8000, 0.2, dtype=torch.float32))
    restored = pickle.loads(pickle.dumps(module))
    torch.testing.assert_close(restored(wave), module(wave), rtol=0, atol=0)


@pytest.mark.parametrize("name", REAL_OUTPUT)
def test_gradcheck_float64(name) -> None:
    module = make(name)
    generator = torch.Generator().manual_seed(0)
    if isinstance(module, T.AmplitudeToDB):
        x = torch.rand(1, 6, 5, generator=generator, dtype=torch.float64) + 0.1
    else:
        x = torch.randn(1, 260, generator=generator, dtype=torch.float64)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_gradcheck_complex_spectrogram() -> None:
    module = make("spectrogram_complex")
    x = torch.randn(1, 200, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda wave: torch.view_as_real(module(wave)), (x,), fast_mode=True)


@pytest.mark.parametrize("name", REAL_OUTPUT)
def test_float32_agrees_with_float64(chirp, name) -> None:
    # Tolerance: rtol 1e-3 with an absolute floor at 1e-4 of the peak (float32 round-off).
    module = make(name)
    wave = as_input(module, chirp(8000, 0.2, batch=(2,)))
    exact = module(wave)
    single = module(wave.float())
    assert single.dtype == torch.float32 and exact.dtype == torch.float64
    torch.testing.assert_close(single.double(), exact, rtol=1e-3, atol=1e-4 * float(exact.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", REAL_OUTPUT)
def test_half_precision_is_computed_in_float32(chirp, name, dtype) -> None:
    module = make(name)
    wave = as_input(module, chirp(8000, 0.2, batch=(2,), dtype=torch.float32)).to(dtype)
    out = module(wave)
    assert out.dtype == dtype
    reference = module(wave.float())
    # Tolerance: the rounding of the output to the half-precision type (plus a dB-scale floor).
    rtol = 1e-2 if dtype == torch.float16 else 1e-2 * 8
    torch.testing.assert_close(out.float(), reference, rtol=rtol, atol=rtol * float(reference.abs().max()))


@pytest.mark.parametrize("name", list(CASES))
def test_silence_gives_finite_output(name) -> None:
    module = make(name)
    out = module(as_input(module, torch.zeros(2, 1600)))
    assert torch.isfinite(torch.view_as_real(out) if out.is_complex() else out).all()


@pytest.mark.parametrize("name", ["spectrogram", "mel_spectrogram", "mfcc", "resample_down", "resample_compact"])
def test_buffers_follow_the_module(name) -> None:
    module = make(name).to(torch.float64)
    buffers = dict(module.named_buffers())
    assert buffers, "windows, filterbanks and kernels are buffers"
    assert all(b.dtype in (torch.float64, torch.int64) for b in buffers.values())
    assert module.state_dict() == {}, "derived buffers are rebuilt from the parameters, not saved"


def test_functional_forms_equal_the_transforms(chirp) -> None:
    wave = chirp(16000, 0.3, batch=(2,), dtype=torch.float32)
    melkwargs = {"n_fft": 512, "hop_length": 128, "n_mels": 40, "f_min": 20.0}
    pairs = [
        (T.MelSpectrogram(sample_rate=16000, **melkwargs)(wave), F.mel_spectrogram(wave, 16000, **melkwargs)),
        (T.MFCC(16000, 20, melkwargs=melkwargs)(wave), F.mfcc(wave, 16000, 20, melkwargs=melkwargs)),
        (T.Resample(16000, 22050)(wave), F.resample(wave, 16000, 22050)),
        (
            T.Spectrogram(n_fft=256, normalized="frame_length")(wave),
            F.spectrogram(wave, 0, torch.hann_window(256), 256, 128, 256, 2.0, "frame_length"),
        ),
    ]
    for module_output, function_output in pairs:
        torch.testing.assert_close(module_output, function_output, rtol=0, atol=0)


def test_sample_rates_are_reported() -> None:
    assert T.MFCC(sample_rate=8000).output_sample_rate == 8000
    assert T.Resample(orig_freq=44100, new_freq=16000).output_sample_rate == 16000
    assert T.Resample.sample_rate_param == "orig_freq" and T.Resample.produces_waveform
    assert T.Spectrogram().output_sample_rate is None


BAD_PARAMETERS = [
    ("mfcc", {"n_mfcc": -1}, "n_mfcc"),
    ("mfcc", {"n_mfcc": 60, "melkwargs": {"n_mels": 40}}, "n_mfcc"),
    ("mfcc", {"melkwargs": {"n_fft": 256, "win_length": 400}}, "win_length"),
    ("mfcc", {"melkwargs": {"sample_rate": 8000}}, "sample_rate"),
    ("mfcc", {"dct_type": 3}, "dct_type"),
    ("mel_spectrogram", {"sample_rate": 16000, "f_max": 9000.0}, "f_max"),
    ("mel_spectrogram", {"f_min": 5000.0, "f_max": 4000.0}, "f_min"),
    ("mel_spectrogram", {"n_mels": 0}, "n_mels"),
    ("mel_spectrogram", {"mel_scale": "bark"}, "mel_scale"),
    ("spectrogram", {"win_length": 500}, "win_length"),
    ("spectrogram", {"hop_length": 0}, "hop_length"),
    ("spectrogram", {"power": -1.0}, "power"),
    ("spectrogram", {"pad_mode": "wrap"}, "pad_mode"),
    ("amplitude_to_db", {"top_db": -10.0}, "top_db"),
    ("amplitude_to_db", {"stype": "energy"}, "stype"),
    ("resample", {"orig_freq": 0}, "orig_freq"),
    ("resample", {"rolloff": 1.5}, "rolloff"),
    ("resample", {"lowpass_filter_width": 0}, "lowpass_filter_width"),
    ("resample", {"resampling_method": "linear"}, "resampling_method"),
]


@pytest.mark.parametrize(("name", "values", "field"), BAD_PARAMETERS)
def test_bad_parameters_raise_at_construction_and_create(name, values, field) -> None:
    cls = registry.get(name)
    with pytest.raises(InvalidParameterError, match=field) as direct:
        cls(**values)
    assert direct.value.component == f"dsp:{name}"
    with pytest.raises(InvalidParameterError, match=field):
        registry.create(name, **values)


def test_unknown_parameter_is_named_by_create() -> None:
    with pytest.raises(InvalidParameterError, match="n_fftt: unknown parameter"):
        registry.create("spectrogram", n_fftt=512)


def test_registry_resolves_every_transform() -> None:
    for name, cls in [
        ("spectrogram", T.Spectrogram),
        ("mel_spectrogram", T.MelSpectrogram),
        ("mfcc", T.MFCC),
        ("amplitude_to_db", T.AmplitudeToDB),
        ("resample", T.Resample),
    ]:
        assert registry.get(f"dsp:{name}") is cls
        assert isinstance(registry.create(name), cls)
        assert cls.Params.model_json_schema()["properties"]


def test_public_names_are_exported_and_every_transform_is_registered() -> None:
    assert {
        "spectrogram",
        "melscale_fbanks",
        "mel_spectrogram",
        "create_dct",
        "mfcc",
        "amplitude_to_db",
        "resample",
    } <= set(F.__all__)
    assert all(callable(getattr(F, name)) or name.isupper() for name in F.__all__)  # functions, and presets
    assert dict(F.HIGH_QUALITY_RESAMPLING)["resampling_method"] == "sinc_interp_kaiser_fft"
    registered = {entry.target.split(":")[1] for entry in registry.entries("transform") if entry.namespace == "dsp"}
    assert set(T.__all__) == registered


def test_too_short_input_for_reflect_padding_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="reflect"):
        T.Spectrogram(n_fft=400)(torch.randn(100))


def test_top_db_is_per_spectrogram() -> None:
    loud = torch.full((4, 5), 1e4)
    quiet = torch.full((4, 5), 1e-4)
    quiet[0, 0] = 1.0
    both = T.AmplitudeToDB(top_db=20.0)(torch.stack([loud, quiet]))
    assert both[1].max() == 0.0 and both[1].min() == -20.0


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(CASES))
def test_cuda_matches_cpu(chirp, name) -> None:
    # Tolerance: rtol 1e-3 with a floor at 1e-3 of the peak (cuDNN may run float32 convolutions in TF32).
    module = make(name)
    wave = as_input(module, chirp(8000, 0.2, batch=(2,), dtype=torch.float32))
    expected = module(wave)
    actual = module.to("cuda")(wave.to("cuda"))
    assert actual.device.type == "cuda"
    floor = 1e-3 * float(expected.abs().max())
    torch.testing.assert_close(actual.cpu(), expected, rtol=1e-3, atol=floor)
