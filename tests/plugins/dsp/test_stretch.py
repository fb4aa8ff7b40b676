"""The phase vocoder, time stretch and pitch shift against librosa and an extended-precision brute force,
and the contract of TimeStretch, RandomTimeStretch and PitchShift."""

from __future__ import annotations

import math
import pickle
from fractions import Fraction

import librosa
import numpy as np
import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._phase_vocoder import (
    phase_advance,
    phase_vocoder,
    pitch_shift,
    shift_rates,
    stretch_fraction,
    stretched_frames,
    stretched_length,
)
from tympan.plugins.dsp.transforms import InverseSpectrogram, Spectrogram
from tympan.plugins.dsp.transforms._stretch import PitchShift, RandomTimeStretch, TimeStretch
from tympan.registry._registry import Registry
from tympan.testing import check_component

N_FFT, HOP, SR = 512, 128, 16000


def _noise_stft(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    y = np.random.default_rng(seed).standard_normal(int(SR * seconds))
    return librosa.stft(y, n_fft=N_FFT, hop_length=HOP)


def _tones(seconds: float = 1.0) -> np.ndarray:
    """Four harmonically related sines (220 to 1320 Hz), well inside the band of every resampler."""
    t = np.arange(int(SR * seconds)) / SR
    phases = np.random.default_rng(0).uniform(0, 2 * np.pi, 4)
    return sum(np.sin(2 * np.pi * f * t + p) for f, p in zip((220, 440, 660, 1320), phases, strict=True)) / 4


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def _brute_force_vocoder(spec: np.ndarray, rate: float, hop: int) -> np.ndarray:
    """The phase vocoder frame by frame in extended precision (np.longdouble), the textbook recursion."""
    d = np.pad(spec.astype(np.clongdouble), [(0, 0), (0, 2)])
    advance = np.linspace(0, np.pi * hop, spec.shape[0], dtype=np.longdouble)
    steps = np.arange(0, spec.shape[1], rate)
    phase = np.angle(d[:, 0])
    out = np.zeros((spec.shape[0], steps.size), dtype=np.clongdouble)
    for t, step in enumerate(steps):
        left, right, alpha = d[:, int(step)], d[:, int(step) + 1], np.longdouble(step % 1.0)
        out[:, t] = ((1 - alpha) * np.abs(left) + alpha * np.abs(right)) * np.exp(1j * phase)
        delta = np.angle(right) - np.angle(left) - advance
        phase = phase + advance + delta - 2 * np.pi * np.round(delta / (2 * np.pi))
    return out


@pytest.mark.parametrize("rate", [0.5, 0.77, 1.0, 1.3, 2.0])
def test_phase_vocoder_matches_librosa(rate) -> None:
    # librosa starts from the first frame's phase and adds the wrapped increments, as we do: the same
    # convention, no offset. Tolerance: 1e-9 of the peak magnitude, in complex128 (librosa accumulates the
    # unwrapped phase, up to ~1e5 rad here, so its own round-off is ~1e-10 of the peak).
    spec = _noise_stft()
    peak = np.abs(spec).max()
    expected = librosa.phase_vocoder(spec, rate=rate, hop_length=HOP, n_fft=N_FFT)
    ours = phase_vocoder(torch.from_numpy(spec), rate, phase_advance(N_FFT // 2 + 1, HOP, torch.float64))
    assert ours.shape == expected.shape == (N_FFT // 2 + 1, math.ceil(spec.shape[1] / rate))
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-9 * peak)


def test_phase_vocoder_matches_an_extended_precision_brute_force() -> None:
    # Tolerance: 1e-11 of the peak (measured 3e-12): the phase is accumulated in float64 and wrapped.
    if np.finfo(np.longdouble).eps > 1e-18:
        pytest.skip("np.longdouble is not extended precision here")
    spec = _noise_stft(0.5)
    expected = _brute_force_vocoder(spec, 0.77, HOP)
    ours = phase_vocoder(torch.from_numpy(spec), 0.77, phase_advance(N_FFT // 2 + 1, HOP, torch.float64)).numpy()
    assert float(np.abs(ours - expected).max()) <= 1e-11 * np.abs(spec).max()


def test_phase_vocoder_in_float32_stays_close_to_float64() -> None:
    # Tolerance: 1e-4 of the peak (measured 3e-5); librosa's float32 path drifts to ~6e-2 of the peak here
    # because it accumulates the unwrapped phase in float32.
    spec = _noise_stft()
    advance = phase_advance(N_FFT // 2 + 1, HOP, torch.float64)
    exact = phase_vocoder(torch.from_numpy(spec), 0.5, advance)
    single = phase_vocoder(torch.from_numpy(spec).to(torch.complex64), 0.5, advance.float())
    assert single.dtype == torch.complex64
    assert float((single.to(torch.complex128) - exact).abs().max()) <= 1e-4 * np.abs(spec).max()


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
def test_phase_vocoder_batches_and_half_precision() -> None:
    # Tolerance: a batch equals its items up to float32 round-off (rtol 1e-5, atol 1e-5); complex32 input
    # within 2e-3 of the peak.
    batch = torch.from_numpy(np.stack([_noise_stft(0.3, seed) for seed in range(3)])).to(torch.complex64)
    advance = phase_advance(N_FFT // 2 + 1, HOP)
    together = phase_vocoder(batch, 1.4, advance)
    for i in range(3):
        torch.testing.assert_close(together[i], phase_vocoder(batch[i], 1.4, advance), rtol=1e-5, atol=1e-5)
    half = phase_vocoder(batch.to(torch.complex32), 1.4, advance)
    assert half.dtype == torch.complex32
    peak = float(together.abs().max())
    assert float((half.to(torch.complex64) - together).abs().max()) <= 2e-3 * peak


def test_time_stretch_of_a_waveform_matches_librosa() -> None:
    # Reference: librosa.stft (reflect padding, as torch.stft) -> librosa.phase_vocoder -> librosa.istft,
    # i.e. librosa.effects.time_stretch with torchaudio's padding. Tolerance: atol 1e-9 (float64). The window
    # is made in float64: the vocoder carries any phase error forward, and where a bin's value crosses zero
    # a float32 window's 1e-7 error can flip its phase by pi for every later frame.
    y = _tones()
    exact = {"dtype": torch.float64}
    spectrogram = Spectrogram(n_fft=N_FFT, hop_length=HOP, power=None, wkwargs=exact).double()
    inverse = InverseSpectrogram(n_fft=N_FFT, hop_length=HOP, wkwargs=exact).double()
    stretch = TimeStretch(hop_length=HOP, n_freq=N_FFT // 2 + 1).double()
    for rate in (0.8, 1.25, 2.0):
        length = round(y.size / rate)
        ours = inverse(stretch(spectrogram(torch.from_numpy(y)), rate), length).numpy()
        spec = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, pad_mode="reflect")
        stretched = librosa.phase_vocoder(spec, rate=rate, hop_length=HOP, n_fft=N_FFT)
        expected = librosa.istft(stretched, hop_length=HOP, n_fft=N_FFT, length=length)
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    # librosa.effects.time_stretch itself pads with zeros: that changes the first frame, whose phase seeds
    # every later frame when rate < 1 but cancels when rate > 1 steps through consecutive frame pairs, as at
    # 1.25 away from the edges. Tolerance: atol 1e-9 inside, one FFT size from each end.
    direct = librosa.effects.time_stretch(y, rate=1.25, n_fft=N_FFT, hop_length=HOP)
    ours = inverse(stretch(spectrogram(torch.from_numpy(y)), 1.25), direct.size).numpy()
    np.testing.assert_allclose(ours[N_FFT:-N_FFT], direct[N_FFT:-N_FFT], rtol=0, atol=1e-9)


def _librosa_pitch_shift(y: np.ndarray, n_steps: float, res_type: str) -> np.ndarray:
    """librosa.effects.pitch_shift's steps with torchaudio's reflect padding and integer source rate."""
    rate = 2.0 ** (-n_steps / 12)
    spec = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, pad_mode="reflect")
    stretched = librosa.phase_vocoder(spec, rate=rate, hop_length=HOP, n_fft=N_FFT)
    waveform = librosa.istft(stretched, hop_length=HOP, n_fft=N_FFT, length=round(y.size / rate))
    shifted = librosa.resample(waveform, orig_sr=int(SR / rate), target_sr=SR, res_type=res_type)
    return librosa.util.fix_length(shifted, size=y.size)


@pytest.mark.parametrize("n_steps", [2, -3, 12, 0.5])
def test_pitch_shift_matches_librosa(n_steps) -> None:
    # Reference: librosa's pitch-shift steps (stft -> phase_vocoder -> istft -> resample -> fix_length) with
    # our STFT padding (reflect) and resampling ratio (int(sr / rate) -> sr), resampled by soxr_hq
    # (librosa's default, a high-quality resampler handling any ratio) and by polyphase (scipy's Kaiser FIR).
    # The signal lies below 0.17 of the sample rate, where good resamplers agree; what remains is our
    # windowed-sinc passband ripple. Tolerance: SNR >= 55 dB (measured 62-66 dB vs soxr_hq, 60-61 dB vs
    # polyphase).
    y = _tones()
    ours = pitch_shift(torch.from_numpy(y), SR, n_steps, n_fft=N_FFT, hop_length=HOP).numpy()
    assert ours.shape == y.shape
    for res_type in ("soxr_hq", "polyphase"):
        assert _snr_db(_librosa_pitch_shift(y, n_steps, res_type), ours) >= 55.0, res_type


def test_pitch_shift_against_librosa_effects_directly() -> None:
    # librosa.effects.pitch_shift differs by design in two ways: zero STFT padding (see the time-stretch
    # test: with rate < 1, i.e. n_steps > 0, the first frame's phase carries through the whole signal) and an
    # exact non-integer resampling ratio (torchaudio truncates sr / rate to an integer: a 0.04 cent pitch
    # difference that drifts by a fraction of a sample over a second). For a shift down (rate > 1) only the
    # ratio matters. Tolerance: SNR >= 20 dB at n_steps = -3 (measured 24.4 dB).
    y = _tones()
    ours = pitch_shift(torch.from_numpy(y), SR, -3, n_fft=N_FFT, hop_length=HOP).numpy()
    expected = librosa.effects.pitch_shift(y, sr=SR, n_steps=-3, n_fft=N_FFT, hop_length=HOP, res_type="soxr_hq")
    assert _snr_db(expected, ours) >= 20.0


@pytest.mark.parametrize("n_steps", [-5, 2, 7, 12])
def test_pitch_shift_moves_the_fundamental(n_steps) -> None:
    # A 440 Hz tone over 1 s: the spectral peak must sit at 440 * 2 ** (n_steps / 12) Hz within one 1 Hz bin.
    t = torch.arange(SR, dtype=torch.float64) / SR
    shifted = PitchShift(SR, n_steps).double()(torch.sin(2 * math.pi * 440 * t))
    peak = int(torch.fft.rfft(shifted * torch.hann_window(SR, dtype=torch.float64)).abs().argmax())
    assert abs(peak - 440 * 2 ** (n_steps / 12)) <= 1.0


def test_pitch_shift_module_equals_the_functional(chirp) -> None:
    # Tolerance: atol 1e-7 in float64: the module's resampling kernel is a float32 buffer (as Resample's),
    # the functional builds it in the input's dtype; the rest is the same computation.
    x = chirp(SR, 0.25, batch=(2,))
    module = PitchShift(SR, 3.5, n_fft=256, win_length=200).double()
    assert module.hop_length == 50  # win_length // 4, as torchaudio's module
    expected = pitch_shift(x, SR, 3.5, n_fft=256, win_length=200, hop_length=50, window=torch.hann_window(200))
    torch.testing.assert_close(module(x), expected, rtol=0, atol=1e-7)
    assert PitchShift(SR, 1).hop_length == 128


FRACTIONS = [(1, 1), (1, 2), (2, 1), (4, 3), (3, 4), (5, 6), (7, 12), (13668657, 12177389)]


@pytest.mark.parametrize(("num", "den"), FRACTIONS)
def test_stretched_length_rounds_halves_to_even_as_python(num: int, den: int) -> None:
    for length in range(0, 600):
        assert stretched_length(length, num, den) == round(Fraction(length * num, den)), length


@pytest.mark.parametrize("n_steps", [2, -3, 3.5, 12, -12, 7])
def test_integer_stretch_sizes_match_the_float_ones(n_steps: float) -> None:
    # The module's integer formulas against round(length / rate) and the frames torch.arange gives.
    rate, _ = shift_rates(SR, n_steps, 12)
    num, den = stretch_fraction(rate)
    assert abs(num / den - 1 / rate) <= 1e-12 / rate
    for length in (1000, 1001, 4000, 7777, 16000, 40009, 123457):
        assert stretched_length(length, num, den) == round(length / rate), length
        frames = length // 128 + 1
        steps = torch.arange(0, frames, rate, dtype=torch.float64)
        assert stretched_frames(length, 128, num, den) == steps.numel(), length


def test_pitch_shift_dtypes_and_silence(chirp) -> None:
    # Tolerance: half-precision input is computed in float32: 1e-2 (float16) and 4e-2 (bfloat16) absolute.
    x = chirp(8000, 0.25, batch=(2,), dtype=torch.float32)
    module = PitchShift(8000, -2)
    reference = module(x)
    for dtype, atol in ((torch.float16, 1e-2), (torch.bfloat16, 4e-2)):
        out = module(x.to(dtype))
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), reference, rtol=0, atol=atol)
    assert torch.equal(module(torch.zeros(2, 2000)), torch.zeros(2, 2000))
    silent = phase_vocoder(torch.zeros(3, 33, 10, dtype=torch.complex64), 0.7, phase_advance(33, 16))
    assert bool(torch.isfinite(torch.view_as_real(silent)).all())


def test_gradients_in_float64() -> None:
    generator = torch.Generator().manual_seed(0)
    spec = torch.randn(2, 9, 6, dtype=torch.complex128, generator=generator, requires_grad=True)
    advance = phase_advance(9, 4, torch.float64)
    assert torch.autograd.gradcheck(lambda s: phase_vocoder(s, 0.7, advance), (spec,), fast_mode=True)
    x = torch.randn(1, 64, dtype=torch.float64, generator=generator, requires_grad=True)
    for n_steps in (12, -12, 3):
        assert torch.autograd.gradcheck(lambda w, n=n_steps: pitch_shift(w, 8, n, n_fft=16), (x,), fast_mode=True)


def test_time_stretch_module_rates() -> None:
    spec = torch.randn(2, 201, 30, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    assert TimeStretch(fixed_rate=1.0)(spec) is spec
    fixed = TimeStretch(fixed_rate=1.5)
    assert fixed(spec).shape == (2, 201, 20)
    assert fixed(spec, overriding_rate=0.5).shape == (2, 201, 60)
    expected = phase_vocoder(spec, 1.5, phase_advance(201, 200, torch.float64))
    torch.testing.assert_close(fixed(spec), expected, rtol=0, atol=0)
    with pytest.raises(ValueError, match="overriding_rate"):
        TimeStretch()(spec)
    with pytest.raises(ValueError, match="rate"):
        TimeStretch()(spec, -1.0)


def test_random_time_stretch_draws_rates_in_range_reproducibly() -> None:
    spec = torch.randn(2, 65, 40, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    stretch = RandomTimeStretch(0.5, 2.0, n_freq=65)
    frames = {stretch(spec, torch.Generator().manual_seed(seed)).shape[-1] for seed in range(40)}
    assert min(frames) >= 20 and max(frames) <= 80 and len(frames) > 10
    # The rate is min_rate + (max_rate - min_rate) * u, u the generator's first float64 draw.
    u = float(torch.rand(1, generator=torch.Generator().manual_seed(5), dtype=torch.float64))
    expected = TimeStretch(n_freq=65)(spec, 0.5 + 1.5 * u)
    torch.testing.assert_close(stretch(spec, torch.Generator().manual_seed(5)), expected)
    seeded_a, seeded_b = RandomTimeStretch(0.5, 2.0, n_freq=65, seed=3), RandomTimeStretch(0.5, 2.0, n_freq=65, seed=3)
    for _ in range(3):
        torch.testing.assert_close(seeded_a(spec), seeded_b(spec), rtol=0, atol=0)
    # A batch equals its items when each call draws the same rate. Tolerance: float32 round-off (vectorised
    # and scalar code paths round the last bit differently): rtol 1e-5, atol 1e-5.
    together = stretch(spec, torch.Generator().manual_seed(9))
    for i in range(2):
        item = stretch(spec[i], torch.Generator().manual_seed(9))
        torch.testing.assert_close(together[i], item, rtol=1e-5, atol=1e-5)


def test_modules_script_and_pickle(chirp) -> None:
    spec = torch.randn(2, 129, 25, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
    x = chirp(SR, 0.25, batch=(2,), dtype=torch.float32)
    cases = [
        (TimeStretch(n_freq=129, fixed_rate=1.3), lambda: (spec,)),
        (TimeStretch(n_freq=129), lambda: (spec, 0.9)),
        (RandomTimeStretch(n_freq=129), lambda: (spec, torch.Generator().manual_seed(2))),
        (PitchShift(SR, -4, n_fft=256), lambda: (x,)),
    ]
    for module, arguments in cases:
        expected = module(*arguments())
        torch.testing.assert_close(torch.jit.script(module)(*arguments()), expected, rtol=0, atol=0)
        torch.testing.assert_close(pickle.loads(pickle.dumps(module))(*arguments()), expected, rtol=0, atol=0)


def test_contract_checks_pass() -> None:
    registry = Registry(entries=[])
    cases = {
        "dsp:time_stretch": (TimeStretch, {"fixed_rate": 1.3}),
        "dsp:random_time_stretch": (RandomTimeStretch, {"min_rate": 1.1, "max_rate": 1.1}),
        "dsp:pitch_shift": (PitchShift, {"n_steps": 2}),
    }
    for name, (cls, params) in cases.items():
        registry.register("transform", name, cls)
        assert all(result.ok for result in check_component(name, params, registry=registry))


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (TimeStretch, {"n_freq": 1}, "n_freq"),
        (TimeStretch, {"fixed_rate": 0.0}, "fixed_rate"),
        (TimeStretch, {"hop_length": 0}, "hop_length"),
        (RandomTimeStretch, {"min_rate": 2.0, "max_rate": 1.0}, "max_rate"),
        (RandomTimeStretch, {"seed": -1}, "seed"),
        (PitchShift, {"sample_rate": 0, "n_steps": 1}, "sample_rate"),
        (PitchShift, {"sample_rate": SR, "n_steps": 1, "bins_per_octave": 0}, "bins_per_octave"),
        (PitchShift, {"sample_rate": SR, "n_steps": 1, "n_fft": 256, "win_length": 512}, "win_length"),
        (PitchShift, {"sample_rate": SR, "n_steps": -500}, "n_steps"),
        (PitchShift, {"sample_rate": SR, "n_steps": 500}, "n_steps"),
        (PitchShift, {"sample_rate": SR, "n_steps": 1, "n_fft": 2}, "hop_length"),
    ],
)
def test_bad_parameters_are_rejected_at_construction(cls, kwargs, field) -> None:
    with pytest.raises(InvalidParameterError, match=field):
        cls(**kwargs)


def test_functional_forms_reject_bad_arguments() -> None:
    advance = phase_advance(5, 2)
    with pytest.raises(ValueError, match="complex"):
        phase_vocoder(torch.ones(5, 4), 1.2, advance)
    with pytest.raises(ValueError, match="rate"):
        phase_vocoder(torch.ones(5, 4, dtype=torch.complex64), 0.0, advance)
    with pytest.raises(ValueError, match="bins_per_octave"):
        pitch_shift(torch.ones(1000), SR, 1, bins_per_octave=0)
    with pytest.raises(ValueError, match="lowers the pitch"):
        pitch_shift(torch.ones(1000), SR, -12 * 16)
    with pytest.raises(ValueError, match="octaves"):
        pitch_shift(torch.ones(1000), SR, -1000)
