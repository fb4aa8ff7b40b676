"""Time-domain operations against real references: librosa mu-law, scipy filters and convolutions,
pyloudnorm loudness, the fade and volume formulas, and the component contract of their transforms."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable

import librosa
import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import torch
from _contract import assert_batch_equals_items

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._amplitude import add_noise, dither, gain, mu_law_decoding, mu_law_encoding
from tympan.plugins.dsp.functional._convolution import convolve, fftconvolve, speed
from tympan.plugins.dsp.functional._loudness import loudness
from tympan.plugins.dsp.functional._recurrence import deemphasis, preemphasis
from tympan.plugins.dsp.functional._resample import resample
from tympan.plugins.dsp.transforms._amplitude import Fade, MuLawDecoding, MuLawEncoding, Vol
from tympan.plugins.dsp.transforms._time_domain import Deemphasis, Loudness, Preemphasis, Speed


def test_mu_law_matches_librosa(chirp) -> None:
    # Reference: librosa's continuous companding (quantize=False) mapped to torchaudio's codes
    # floor((F + 1) / 2 * mu + 0.5). Tolerance: codes exact; decoding atol 1e-12 in float64.
    x = chirp(8000, 0.25).clamp(-1, 1)
    codes = mu_law_encoding(x, 256)
    companded = librosa.mu_compress(x.numpy(), mu=255, quantize=False)
    assert codes.dtype == torch.int64
    np.testing.assert_array_equal(codes.numpy(), np.floor((companded + 1) / 2 * 255 + 0.5).astype(np.int64))
    expected = librosa.mu_expand(codes.numpy() * 2 / 255 - 1, mu=255, quantize=False)
    np.testing.assert_allclose(mu_law_decoding(codes.double(), 256).numpy(), expected, atol=1e-12)


def test_mu_law_round_trip_error_is_within_one_step() -> None:
    # Tolerance: half a code step (1 / mu in the companded domain) times the steepest slope of the expansion,
    # (1 + mu) log(1 + mu) / mu at full scale: 0.02175 for mu = 255.
    x = torch.linspace(-1, 1, 2001, dtype=torch.float64)
    bound = 256 * math.log(256) / 255 / 255
    assert (mu_law_decoding(mu_law_encoding(x, 256), 256).double() - x).abs().max() <= bound


def test_emphasis_matches_scipy_and_librosa(chirp) -> None:
    # Tolerance: float64 atol 1e-10; float32 de-emphasis over 5 s (80k samples): 1e-5 of the peak of the
    # recursion before the clamp (the round-off scales with it). De-emphasis clamps to [-1, 1] as torchaudio's
    # does (its lfilter clamps).
    x = chirp(16000, 5.0, batch=(2,))
    for coeff in (0.97, 0.5, -0.8, 1.0):
        pre = preemphasis(x, coeff)
        np.testing.assert_allclose(pre.numpy(), scipy.signal.lfilter([1, -coeff], [1], x.numpy()), atol=1e-10)
        by_librosa = np.stack([librosa.effects.preemphasis(row, coef=coeff, zi=0) for row in x.numpy()])
        np.testing.assert_allclose(pre.numpy(), by_librosa, atol=1e-10)
        unclamped = scipy.signal.lfilter([1], [1, -coeff], x.numpy())
        expected, peak = np.clip(unclamped, -1.0, 1.0), np.abs(unclamped).max()
        np.testing.assert_allclose(deemphasis(x, coeff).numpy(), expected, atol=1e-10 * peak)
        single = deemphasis(x.float(), coeff).double().numpy()
        np.testing.assert_allclose(single, expected, atol=1e-5 * peak)
        torch.testing.assert_close(deemphasis(pre, coeff), x, rtol=0, atol=1e-9)


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize(("n", "m"), [(100, 7), (7, 100), (64, 64), (1, 5)])
def test_convolutions_match_scipy(mode, n, m) -> None:
    # Tolerance: float64, direct atol 1e-12, FFT atol 1e-10 (FFT round-off).
    generator = torch.Generator().manual_seed(n * 1000 + m)
    x = torch.randn(3, n, dtype=torch.float64, generator=generator)
    y = torch.randn(1, m, dtype=torch.float64, generator=generator)
    expected = np.stack([scipy.signal.convolve(row, y[0].numpy(), mode=mode, method="direct") for row in x.numpy()])
    np.testing.assert_allclose(convolve(x, y, mode).numpy(), expected, atol=1e-12)
    fft_expected = np.stack([scipy.signal.fftconvolve(row, y[0].numpy(), mode=mode) for row in x.numpy()])
    np.testing.assert_allclose(fftconvolve(x, y, mode).numpy(), fft_expected, atol=1e-10)


def test_convolution_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        convolve(torch.ones(3), torch.ones(2), mode="circular")


def test_add_noise_reaches_the_requested_snr() -> None:
    # Tolerance: measured SNR within 1e-9 dB (float64), over the valid part when lengths are given.
    generator = torch.Generator().manual_seed(1)
    wave = torch.randn(3, 4000, dtype=torch.float64, generator=generator)
    noise = torch.randn(3, 4000, dtype=torch.float64, generator=generator)
    snr = torch.tensor([20.0, 0.0, -5.0], dtype=torch.float64)
    lengths = torch.tensor([4000, 2500, 100])
    for valid in (None, lengths):
        noisy = add_noise(wave, noise, snr, valid)
        for i in range(3):
            end = 4000 if valid is None else int(valid[i])
            added = noisy[i, :end] - wave[i, :end]
            measured = 10 * math.log10(float(wave[i, :end].square().sum() / added.square().sum()))
            assert measured == pytest.approx(float(snr[i]), abs=1e-9)
    assert torch.equal(add_noise(torch.zeros(1, 10), torch.ones(1, 10), torch.tensor([3.0])), torch.zeros(1, 10))
    assert torch.isfinite(add_noise(torch.ones(1, 10), torch.zeros(1, 10), torch.tensor([3.0]))).all()


def test_speed_follows_torchaudio_semantics() -> None:
    # Reference: torchaudio resamples int(factor * orig_freq) -> orig_freq and maps lengths by ceil.
    # Tolerance: exact (the same resampler with the same reduced ratio).
    wave = torch.randn(2, 16000, generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([16000, 12345])
    out, out_lengths = speed(wave, 16000, 1.1, lengths)
    assert out.shape[-1] == math.ceil(16000 * 10 / 11)
    assert out_lengths.tolist() == [math.ceil(16000 * 10 / 11), math.ceil(12345 * 10 / 11)]
    torch.testing.assert_close(out, resample(wave, 11, 10), rtol=0, atol=0)
    module = Speed(orig_freq=16000, factor=0.8)
    torch.testing.assert_close(module(wave)[0], resample(wave, 4, 5), rtol=0, atol=0)
    assert module.output_sample_rate == 16000 and Speed.sample_rate_param == "orig_freq"
    assert speed(wave, 16000, 1.0)[0] is wave and speed(wave, 16000, 1.0)[1] is None


def test_gain_and_vol_match_their_formulas() -> None:
    # Tolerance: float64 atol 1e-15.
    x = torch.linspace(-0.9, 0.9, 19, dtype=torch.float64)
    torch.testing.assert_close(gain(x, 6.0), x * 10 ** (6 / 20), rtol=0, atol=1e-15)
    assert gain(x, 0.0) is x
    cases = [(0.5, "amplitude", 0.5), (3.0, "amplitude", 3.0), (4.0, "power", 2.0), (-6.0, "db", 10 ** (-6 / 20))]
    for value, kind, ratio in cases:
        torch.testing.assert_close(Vol(value, kind)(x), (x * ratio).clamp(-1, 1), rtol=0, atol=1e-15)


FADE_IN: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda p: p,
    "exponential": lambda p: 2.0 ** ((p - 1) * 5) * p,
    "logarithmic": lambda p: np.log10(0.1 + p) + 1,
    "quarter_sine": lambda p: np.sin(p * np.pi / 2),
    "half_sine": lambda p: np.sin(p * np.pi - np.pi / 2) / 2 + 0.5,
}


@pytest.mark.parametrize("shape", list(FADE_IN))
def test_fade_shapes_match_their_formulas(shape) -> None:
    # Tolerance: float64 atol 1e-12.
    n_in, n_out, length = 30, 50, 200
    p_in, p_out = np.linspace(0, 1, n_in), np.linspace(0, 1, n_out)
    envelope = np.ones(length)
    envelope[:n_in] *= np.clip(FADE_IN[shape](p_in), 0, 1)
    envelope[length - n_out :] *= np.clip(FADE_IN[shape](1 - p_out), 0, 1)
    x = torch.ones(2, length, dtype=torch.float64)
    np.testing.assert_allclose(Fade(n_in, n_out, shape)(x).numpy(), np.broadcast_to(envelope, (2, length)), atol=1e-12)
    assert Fade(500, 500, shape)(x).shape == x.shape and torch.equal(Fade()(x), x)


def test_dither_statistics_and_reproducibility() -> None:
    # Tolerance: 400k samples; mean within 0.01 LSB; TPDF total error variance 1/4 LSB^2 and RPDF 1/6 LSB^2
    # (on a uniform-spread signal) within 3 %; GPDF 1/3 LSB^2 within 3 %.
    lsb = 2.0**-15
    x = torch.rand(4, 100_000, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 0.5 - 0.25
    for density, variance in (("TPDF", 1 / 4), ("RPDF", 1 / 6), ("GPDF", 1 / 3)):
        y = dither(x, density, generator=torch.Generator().manual_seed(4))
        error = (y - x) / lsb
        assert abs(float(error.mean())) < 0.01
        assert float(error.var()) == pytest.approx(variance, rel=0.03)
        assert torch.equal(y / lsb, (y / lsb).round())
        assert torch.equal(y, dither(x, density, generator=torch.Generator().manual_seed(4)))
    constant = torch.full((200_000,), 0.3 * lsb, dtype=torch.float64)  # TPDF: variance independent of signal
    error = (dither(constant, generator=torch.Generator().manual_seed(5)) - constant) / lsb
    assert abs(float(error.mean())) < 0.01 and float(error.var()) == pytest.approx(0.25, rel=0.03)
    shaped = dither(x, noise_shaping=True, generator=torch.Generator().manual_seed(4)) - x
    spectrum = torch.fft.rfft(shaped / lsb).abs().square().mean(0)
    assert spectrum[-5000:].mean() > 10 * spectrum[:500].mean(), "shaped error moves to high frequencies"


def _loudness_signal(sample_rate: int, channels: int, seconds: float, seed: int) -> np.ndarray:
    """Noise with a rising envelope and a quiet stretch (so both gates act): (time, channels)."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    envelope = np.linspace(0.01, 1, n) ** 3
    envelope[n // 3 : n // 2] *= 1e-3
    return 0.2 * rng.standard_normal((n, channels)) * envelope[:, None] * rng.uniform(0.3, 1, channels)


@pytest.mark.parametrize(
    ("sample_rate", "channels"), [(8000, 1), (16000, 2), (22050, 5), (44100, 2), (48000, 1), (48000, 5)]
)
def test_loudness_matches_pyloudnorm(sample_rate, channels) -> None:
    # Tolerance: 1e-6 LU in float64 and 1e-3 LU in float32 (pyloudnorm uses the same filter design;
    # durations are whole 100 ms hops so both frame the same blocks).
    data = _loudness_signal(sample_rate, channels, 3.0, seed=sample_rate + channels)
    expected = pyloudnorm.Meter(sample_rate).integrated_loudness(data)
    wave = torch.from_numpy(data.T.copy())
    assert float(loudness(wave, sample_rate)) == pytest.approx(expected, abs=1e-6)
    assert float(Loudness(sample_rate)(wave.float())) == pytest.approx(expected, abs=1e-3)


def test_loudness_edge_cases() -> None:
    assert Loudness(16000)(torch.zeros(3, 2, 16000)).tolist() == [-70.0] * 3
    assert float(Loudness(16000)(torch.randn(1, 100))) == -70.0
    with pytest.raises(ValueError, match="5 channels"):
        loudness(torch.randn(6, 16000), 16000)
    assert Loudness(44100).output_sample_rate is None


def test_loudness_example_input_stays_short_at_absurd_rates() -> None:
    # half a second at 10 MHz would be 5 * 10**6 samples a channel: the contract checks' input is capped
    assert Loudness(48000).example_input(1).shape == (1, 2, 24000)
    example = Loudness(10_000_000).example_input(2)
    assert example.shape == (2, 2, 1 << 20)
    assert Loudness(10_000_000)(example).tolist() == [-70.0, -70.0]  # shorter than one 400 ms block


TRANSFORMS: dict[str, Callable[[], torch.nn.Module]] = {
    "mu_law_encoding": lambda: MuLawEncoding(256),
    "mu_law_decoding": lambda: MuLawDecoding(256),
    "vol_db": lambda: Vol(-3.0, "db"),
    "fade": lambda: Fade(100, 300, "half_sine"),
    "preemphasis": lambda: Preemphasis(0.97),
    "deemphasis": lambda: Deemphasis(0.97),
    "loudness": lambda: Loudness(8000),
}
DIFFERENTIABLE = ["mu_law_decoding", "vol_db", "fade", "preemphasis", "deemphasis", "loudness"]


def _input(name: str, batch: tuple[int, ...], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    if name == "mu_law_decoding":
        return torch.randint(0, 256, (*batch, 1600), generator=generator).to(dtype)
    shape = batch + ((2, 8000) if name == "loudness" else (1600,))
    return (torch.rand(shape, generator=generator, dtype=torch.float64) - 0.5).to(dtype)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_contract(name) -> None:
    # Tolerance: batch vs items rtol 1e-7, atol 1e-9 (float64); TorchScript atol 1e-6 of the peak (float32;
    # exact except the scripted de-emphasis, whose block products may round differently); pickle exact.
    module = TRANSFORMS[name]()
    batch = _input(name, (2, 3))
    assert_batch_equals_items(module, batch, rtol=1e-7, atol=1e-9)
    single = _input(name, (2,), torch.float32)
    expected = module(single)
    floor = 1e-6 * max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(torch.jit.script(module)(single), expected, rtol=0, atol=floor)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(single), module(single), rtol=0, atol=0)
    silence = module(torch.zeros_like(single))
    assert torch.isfinite(silence.double()).all()
    assert type(module).produces_waveform == (name not in ("mu_law_encoding", "loudness"))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradcheck_float64(name) -> None:
    module = TRANSFORMS[name]()
    # Loudness gets 0.5 s (two gating blocks); the others 300 samples.
    x = _input(name, ())[..., :4000].clone() if name == "loudness" else _input(name, (1,))[..., :300].clone()
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_speed_module_returns_waveform_and_lengths_as_torchaudio() -> None:
    # Reference: torchaudio.transforms.Speed (same resampling ratio, lengths mapped by ceil). Tolerance: 1e-6
    # (float32; the same windowed-sinc kernel built by two implementations).
    import torchaudio.transforms as ta_transforms

    wave = torch.randn(2, 3, 1600, generator=torch.Generator().manual_seed(5))
    lengths = torch.tensor([[1600, 1000, 1], [0, 800, 1599]])
    module = Speed(8000, 1.25)
    out, out_lengths = module(wave, lengths)
    reference, reference_lengths = ta_transforms.Speed(8000, 1.25)(wave, lengths)
    torch.testing.assert_close(out, reference, rtol=1e-6, atol=1e-6)
    assert torch.equal(out_lengths, reference_lengths) and module(wave)[1] is None
    for i in range(2):
        torch.testing.assert_close(out[i], module(wave[i])[0], rtol=1e-7, atol=1e-9)
    scripted = torch.jit.script(module)
    torch.testing.assert_close(scripted(wave, lengths)[0], out, rtol=0, atol=0)
    assert torch.equal(scripted(wave, lengths)[1], out_lengths)
    x = wave[0, :1, :300].double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: module.double()(t)[0], (x,), fast_mode=True)


def test_functional_gradcheck_float64() -> None:
    generator = torch.Generator().manual_seed(8)
    x = torch.randn(2, 40, dtype=torch.float64, generator=generator, requires_grad=True)
    y = torch.randn(2, 9, dtype=torch.float64, generator=generator, requires_grad=True)
    noise = torch.randn(2, 40, dtype=torch.float64, generator=generator, requires_grad=True)
    snr = torch.tensor([5.0, 10.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: convolve(a, b, "same"), (x, y), fast_mode=True)
    assert torch.autograd.gradcheck(lambda a, b: fftconvolve(a, b, "valid"), (x, y), fast_mode=True)
    assert torch.autograd.gradcheck(add_noise, (x, noise, snr), fast_mode=True)


BAD_PARAMETERS = [
    (MuLawEncoding, {"quantization_channels": 1}, "quantization_channels"),
    (MuLawDecoding, {"quantization_channels": 0}, "quantization_channels"),
    (Vol, {"gain": -0.5}, "gain"),
    (Vol, {"gain": 0.0, "gain_type": "power"}, "gain"),
    (Vol, {"gain": 1.0, "gain_type": "decibel"}, "gain_type"),
    (Fade, {"fade_in_len": -1}, "fade_in_len"),
    (Fade, {"fade_shape": "cubic"}, "fade_shape"),
    (Preemphasis, {"coeff": 1.5}, "coeff"),
    (Deemphasis, {"coeff": -2.0}, "coeff"),
    (Speed, {"orig_freq": 16000, "factor": 0.0}, "factor"),
    (Speed, {"orig_freq": 10, "factor": 0.01}, "factor"),
    (Loudness, {"sample_rate": 2000}, "sample_rate"),
]


@pytest.mark.parametrize(("cls", "values", "field"), BAD_PARAMETERS)
def test_bad_parameters_raise_at_construction(cls, values, field) -> None:
    with pytest.raises(InvalidParameterError, match=field) as caught:
        cls(**values)
    assert caught.value.component == cls.qualified_name
