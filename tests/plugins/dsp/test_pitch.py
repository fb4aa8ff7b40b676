"""Pitch estimators: detect_pitch_frequency against tones and chirps of known frequency and against
librosa.pyin on speech; yin / pyin against librosa; the contract of their transforms."""

from __future__ import annotations

import pickle
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._pitch import detect_pitch_frequency
from tympan.plugins.dsp.functional._yin import beta_probabilities, pyin, yin
from tympan.plugins.dsp.transforms._analysis import DetectPitchFrequency, PYin, Yin

ASSET = Path(__file__).parents[3] / "src" / "tympan" / "assets" / "speech.flac"


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    clip, rate = sf.read(ASSET, dtype="float64")
    return clip, rate


def harmonic(f0: float, rate: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Five harmonics of ``f0`` with random phases and 1/k amplitudes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 6)) / 2


def chirp(rate: int, seconds: float, f_start: float, f_end: float) -> tuple[np.ndarray, np.ndarray]:
    """A harmonic linear chirp and its fundamental at each sample."""
    t = np.arange(int(seconds * rate)) / rate
    slope = (f_end - f_start) / seconds
    phase = 2 * np.pi * (f_start * t + slope * t**2 / 2)
    return sum(np.sin(k * phase) / k for k in range(1, 4)) / 2, f_start + slope * t


# ---------------------------------------------------------------- detect_pitch_frequency


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("f0", [100.0, 137.5, 220.0, 333.0, 441.0])
def test_detect_pitch_finds_the_period_of_harmonic_tones(rate, f0) -> None:
    # Tolerance: the lag is an integer, so the estimated period sample_rate / f is within one sample of the
    # true period sample_rate / f0 on every frame.
    f = detect_pitch_frequency(torch.from_numpy(harmonic(f0, rate)), rate)
    assert f.shape == (-(-rate // (rate // 100)) - 15,)
    assert np.abs(rate / f.numpy() - rate / f0).max() <= 1.0 + 1e-6


def test_detect_pitch_tracks_a_chirp() -> None:
    # Tolerance: within 3 % of the instantaneous fundamental at the frame's centre (frame k spans samples
    # [160 k, 160 (k + 1)) plus the lag), after the first and last 15 frames (median window edges).
    rate = 16000
    x, inst = chirp(rate, 2.0, 120.0, 300.0)
    f = detect_pitch_frequency(torch.from_numpy(x), rate).numpy()
    centres = np.arange(f.size) * 160 + 80
    error = np.abs(f / inst[centres] - 1)[15:-15]
    assert error.max() < 0.03


def test_detect_pitch_agrees_with_pyin_on_speech(speech) -> None:
    # Reference: librosa.pyin's voiced f0 (10 ms hop). Detect-pitch frame i (samples 160 i .. 160 i + 160, plus
    # the lag) is compared with pyin frame i + 1 (centred on sample 160 (i + 1)). Measured: 94.8 % of the
    # 425 voiced frames agree within a semitone (median error 0.26 semitone); required: 90 %.
    clip, rate = speech
    f = detect_pitch_frequency(torch.from_numpy(clip), rate, freq_low=60, freq_high=500).numpy()
    ref, voiced, _ = librosa.pyin(clip, sr=rate, fmin=60, fmax=500, frame_length=1024, hop_length=160)
    ref, voiced = ref[1 : f.size + 1], voiced[1 : f.size + 1]
    semitones = np.abs(12 * np.log2(f[voiced] / ref[voiced]))
    assert voiced.sum() > 50
    assert np.mean(semitones < 1.0) >= 0.90


def test_detect_pitch_is_finite_on_silence_and_checks_parameters() -> None:
    assert torch.isfinite(detect_pitch_frequency(torch.zeros(2, 4000), 16000)).all()
    with pytest.raises(ValueError, match="freq_low"):
        detect_pitch_frequency(torch.zeros(4000), 16000, freq_low=500, freq_high=400)
    with pytest.raises(ValueError, match="win_length"):
        detect_pitch_frequency(torch.zeros(800), 16000, win_length=30)


# ---------------------------------------------------------------- yin / pyin against librosa

YIN_CASES = {
    "defaults": ({"f_min": 65.0, "f_max": 2093.0}, {}),
    "short_frames": ({"f_min": 80.0, "f_max": 600.0, "frame_length": 1024, "hop_length": 160}, {}),
    "threshold_uncentred": (
        {"f_min": 100.0, "f_max": 1000.0, "frame_length": 512, "trough_threshold": 0.3, "center": False},
        {},
    ),
    "reflect": ({"f_min": 70.0, "f_max": 900.0, "frame_length": 1024, "pad_mode": "reflect"}, {}),
    "edge": ({"f_min": 70.0, "f_max": 900.0, "frame_length": 1024, "pad_mode": "edge"}, {}),
}


def librosa_kwargs(ours: dict, rate: int) -> dict:
    names = {"f_min": "fmin", "f_max": "fmax"}
    return {"sr": rate, **{names.get(key, key): value for key, value in ours.items()}}


@pytest.mark.parametrize("case", list(YIN_CASES))
def test_yin_matches_librosa(speech, case) -> None:
    # Tolerance: rtol 1e-9 in float64 (measured 6e-16; the FFT autocorrelations differ in the last bits).
    clip, rate = speech
    kwargs, _ = YIN_CASES[case]
    ours = yin(torch.from_numpy(clip), rate, **kwargs).numpy()
    expected = librosa.yin(clip, **librosa_kwargs(kwargs, rate))
    np.testing.assert_allclose(ours, expected, rtol=1e-9)
    tone = harmonic(180.0, rate, 0.5)
    np.testing.assert_allclose(
        yin(torch.from_numpy(tone), rate, **kwargs).numpy(),
        librosa.yin(tone, **librosa_kwargs(kwargs, rate)),
        rtol=1e-9,
    )


def test_beta_prior_matches_scipy() -> None:
    # Tolerance: atol 1e-14 against scipy.stats.beta.cdf differences (measured 2e-15).
    import scipy.stats

    for a, b in [(2.0, 18.0), (0.5, 3.3), (1.0, 1.0), (7.5, 2.0)]:
        expected = np.diff(scipy.stats.beta.cdf(np.linspace(0, 1, 101), a, b))
        np.testing.assert_allclose(beta_probabilities(100, a, b).numpy(), expected, rtol=0, atol=1e-14)


PYIN_CASES = {
    "speech": ({"f_min": 65.0, "f_max": 1000.0, "frame_length": 1024, "hop_length": 512}, None),
    "speech_coarse": (
        {
            "f_min": 80.0,
            "f_max": 500.0,
            "frame_length": 1024,
            "hop_length": 160,
            "resolution": 0.25,
            "switch_prob": 0.05,
            "beta_parameters": (1.0, 10.0),
            "fill_na": None,
        },
        None,
    ),
    "chirp": ({"f_min": 60.0, "f_max": 800.0, "frame_length": 1024, "hop_length": 128}, (100.0, 400.0)),
}


@pytest.mark.parametrize("case", list(PYIN_CASES))
def test_pyin_matches_librosa(speech, case) -> None:
    # Measured: 100 % of frames give the same f0 (within 1 cent, i.e. the same pitch bin) and the same voicing
    # flag; required: f0 within 1 cent on every voiced frame, flags equal on 99 % of the frames, voicing
    # probabilities atol 1e-12.
    clip, rate = speech
    kwargs, sweep = PYIN_CASES[case]
    if sweep is None:
        clip = clip[: 3 * rate]
    else:
        clip = chirp(rate, 1.5, *sweep)[0] + 0.01 * np.random.default_rng(0).standard_normal(int(1.5 * rate))
    f0, flag, prob = (t.numpy() for t in pyin(torch.from_numpy(clip), rate, **kwargs))
    ref_f0, ref_flag, ref_prob = librosa.pyin(clip, **librosa_kwargs(kwargs, rate))
    assert np.mean(flag == ref_flag) >= 0.99
    both = flag & ref_flag
    assert both.sum() > 20
    cents = np.abs(1200 * np.log2(f0[both] / ref_f0[both]))
    assert cents.max() < 1.0
    np.testing.assert_allclose(prob, ref_prob, rtol=0, atol=1e-12)
    if kwargs.get("fill_na", np.nan) is None:
        np.testing.assert_allclose(f0, ref_f0, rtol=1e-12)


def test_pyin_on_silence_is_unvoiced_and_finite_with_fill() -> None:
    f0, flag, prob = pyin(torch.zeros(2, 8000), 16000, f_min=80.0, f_max=800.0, frame_length=1024, fill_na=0.0)
    assert torch.isfinite(f0).all() and not flag.any() and (prob == 0).all()
    f0, _, _ = pyin(torch.zeros(8000), 16000, f_min=80.0, f_max=800.0, frame_length=1024)
    assert torch.isnan(f0).all()  # librosa's default fill_na is NaN
    assert torch.isfinite(yin(torch.zeros(8000), 16000, 80.0, 800.0, frame_length=1024)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"f_min": 0.0, "f_max": 500.0}, "f_min"),
        ({"f_min": 500.0, "f_max": 400.0}, "f_min"),
        ({"f_min": 80.0, "f_max": 9000.0}, "f_max"),
        ({"f_min": 10.0, "f_max": 500.0, "frame_length": 1024}, "f_min"),
    ],
)
def test_yin_rejects_bad_parameters(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        yin(torch.zeros(4000), 16000, **kwargs)
    with pytest.raises(ValueError, match=match):
        pyin(torch.zeros(4000), 16000, **kwargs)


# ---------------------------------------------------------------- transforms


def assert_same_periods(
    estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, max_outlier_fraction: float = 0.0
) -> None:
    """Two pitch tracks mean the same periods: the period ``sample_rate / f0`` agrees within one sample.

    A pitch estimator picks a lag by argmax, so float32 and float64 can pick neighbouring lags where two
    peaks are within rounding of each other, on any CPU: that is one lag step, not an error. Both tracks
    agree on which frames are unvoiced (0 Hz) exactly, and at most ``max_outlier_fraction`` of the voiced
    frames may differ by more than one sample of period. The slack of 1e-3 sample covers the float32
    rounding of ``sample_rate / lag`` and back.
    """
    assert estimate.shape == reference.shape
    voiced = reference > 0
    assert torch.equal(estimate > 0, voiced), "the two tracks disagree on which frames are voiced"
    period_error = (sample_rate / estimate[voiced] - sample_rate / reference[voiced]).abs()
    outliers = int((period_error > 1.0 + 1e-3).sum())
    assert outliers <= max_outlier_fraction * int(voiced.sum()), (
        f"{outliers} of {int(voiced.sum())} voiced frames differ by more than one sample of period"
    )


MODULES = {
    "detect_pitch_frequency": lambda: DetectPitchFrequency(16000, win_length=5),
    "yin": lambda: Yin(16000, f_min=80.0, f_max=800.0, frame_length=1024, hop_length=256),
    "pyin": lambda: PYin(16000, f_min=80.0, f_max=400.0, frame_length=1024, hop_length=256),
}


@pytest.fixture
def voices() -> torch.Tensor:
    """``(2, 3, 0.5 s)`` of harmonic tones at different pitches."""
    pitches = [[110.0, 150.0, 210.0], [260.0, 330.0, 95.0]]
    return torch.from_numpy(
        np.stack([np.stack([harmonic(f, 16000, 0.5, seed=int(f)) for f in row]) for row in pitches])
    )


@pytest.mark.parametrize("name", list(MODULES))
def test_module_contract(voices, name) -> None:
    # Tolerance: exact for batch items, TorchScript and pickling (the same computation); float32 means the
    # same periods as float64 (within one sample of lag, see assert_same_periods): the lag is an argmax.
    module = MODULES[name]()
    together = module(voices)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(together[i, j], module(voices[i, j]), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.jit.script(module)(voices), together, rtol=0, atol=0)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(voices), together, rtol=0, atol=0)
    single = module(voices.float())
    assert single.dtype == torch.float32
    assert_same_periods(single.double(), together, sample_rate=16000)
    assert torch.isfinite(module(torch.zeros(2, 8000))).all()


def test_modules_equal_functionals(voices) -> None:
    torch.testing.assert_close(
        MODULES["yin"]()(voices), yin(voices, 16000, 80.0, 800.0, frame_length=1024, hop_length=256), rtol=0, atol=0
    )
    f0, _, _ = pyin(voices, 16000, 80.0, 400.0, frame_length=1024, hop_length=256, fill_na=0.0)
    torch.testing.assert_close(MODULES["pyin"]()(voices), f0, rtol=0, atol=0)
    torch.testing.assert_close(
        MODULES["detect_pitch_frequency"]()(voices), detect_pitch_frequency(voices, 16000, win_length=5)
    )


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (DetectPitchFrequency, {"freq_low": 900, "freq_high": 800}),
        (DetectPitchFrequency, {"frame_time": 0.0}),
        (Yin, {"f_min": 700.0, "f_max": 600.0}),
        (Yin, {"f_max": 9000.0}),
        (Yin, {"f_min": 5.0}),
        (PYin, {"switch_prob": 1.0}),
        (PYin, {"resolution": 0.0}),
        (PYin, {"beta_parameters": (0.0, 2.0)}),
        (PYin, {"f_min": 400.0, "f_max": 420.0}),
    ],
)
def test_bad_parameters_raise_at_construction(cls, kwargs) -> None:
    with pytest.raises(InvalidParameterError):
        cls(16000, **kwargs)
