"""Signatures and behaviour that torchaudio's users rely on, each against torchaudio's own output."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
import torchaudio.functional as ta_functional
import torchaudio.transforms as ta_transforms

import tympan.functional as F
import tympan.transforms as T


def _parameters(function) -> list[tuple[str, object, object]]:
    return [(p.name, p.default, p.kind) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("name", ["Spectrogram", "MelSpectrogram", "Speed", "Loudness", "SpeedPerturbation"])
def test_constructor_keeps_torchaudio_order_and_defaults(name) -> None:
    # Positional order, names and defaults (required parameters have no default in both); tympan's own
    # additions come after torchaudio's, keyword-only and with defaults.
    ours, theirs = _parameters(getattr(T, name).__init__), _parameters(getattr(ta_transforms, name).__init__)
    assert ours[: len(theirs)] == theirs
    extra = ours[len(theirs) :]
    assert all(
        kind == inspect.Parameter.KEYWORD_ONLY and default is not inspect.Parameter.empty for _, default, kind in extra
    )


def test_speed_and_loudness_require_what_torchaudio_requires() -> None:
    for make in (lambda m: m.Speed(16000), lambda m: m.Loudness()):
        with pytest.raises(TypeError):
            make(ta_transforms)
        with pytest.raises(TypeError):
            make(T)


def _noise(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize(
    ("window", "hop_length", "win_length", "power"),
    [(None, None, None, 2.0), (None, 64, None, 1.0), ("hann", 64, 200, None)],
)
def test_spectrogram_defaults_none_as_torchaudio(window, hop_length, win_length, power) -> None:
    # Tolerance: 1e-9 relative (float64, the same FFT).
    x = _noise(2, 3000)
    window = torch.hann_window(200, dtype=x.dtype) if window == "hann" else None
    arguments = (x, 0, window, 256, hop_length, win_length, power, False)
    torch.testing.assert_close(F.spectrogram(*arguments), ta_functional.spectrogram(*arguments), rtol=1e-9, atol=1e-9)
    theirs = ta_functional.spectrogram(*arguments, return_complex=True)
    torch.testing.assert_close(F.spectrogram(*arguments, return_complex=True), theirs, rtol=1e-9, atol=1e-9)


def test_spectrogram_module_accepts_return_complex() -> None:
    x = _noise(2, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = T.Spectrogram(256, return_complex=True), ta_transforms.Spectrogram(256, return_complex=True)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-9, atol=1e-9)


def test_mel_spectrogram_holds_torchaudio_submodules() -> None:
    # Tolerance: 1e-4 relative (float32 power spectra summed in a different order).
    x = _noise(2, 8000, dtype=torch.float32)
    ours = T.MelSpectrogram(16000, 512, None, 128, 20.0, 7000.0, 0, 64, norm="slaney", mel_scale="slaney")
    theirs = ta_transforms.MelSpectrogram(16000, 512, None, 128, 20.0, 7000.0, 0, 64, norm="slaney", mel_scale="slaney")
    assert isinstance(ours.spectrogram, T.Spectrogram) and isinstance(ours.mel_scale, T.MelScale)
    torch.testing.assert_close(ours.mel_scale.fb, theirs.mel_scale.fb, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("f_min", "f_max"), [(4000.0, 1000.0), (6000.0, 5000.0)])
def test_melscale_fbanks_reversed_band_as_torchaudio(f_min, f_max) -> None:
    # Tolerance: 1e-4 absolute (torchaudio builds the triangles in float32, tympan in float64; a narrow band
    # makes the slopes steep, so float32 round-off of the edges reaches 5e-5).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = F.melscale_fbanks(201, f_min, f_max, 40, 16000)
        theirs = ta_functional.melscale_fbanks(201, f_min, f_max, 40, 16000)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)


def test_all_zero_mel_filter_warns_as_torchaudio() -> None:
    for module in (F, ta_functional):
        with pytest.warns(UserWarning, match="all zero"):
            module.melscale_fbanks(201, 0.0, 8000.0, 128, 16000)


def test_vad_on_silence_keeps_the_pre_trigger_as_torchaudio() -> None:
    silence = torch.zeros(2, 16000)
    for pre_trigger_time in (0.0, 0.1):
        ours = F.vad(silence, 16000, pre_trigger_time=pre_trigger_time)
        assert torch.equal(ours, ta_functional.vad(silence, 16000, pre_trigger_time=pre_trigger_time))
    assert F.vad(silence, 16000, pre_trigger_time=0.1, silent_keeps_pre_trigger=False).shape == (2, 0)


def test_vad_warns_on_more_than_two_dimensions_as_torchaudio() -> None:
    for vad in (F.vad, ta_functional.vad, T.Vad(16000)):
        with pytest.warns(UserWarning):
            vad(torch.zeros(2, 2, 1600), 16000) if not isinstance(vad, torch.nn.Module) else vad(
                torch.zeros(2, 2, 1600)
            )


def test_deemphasis_clamps_as_torchaudio() -> None:
    # Tolerance: 2e-5 absolute (float32 recursions of 8000 steps computed by different algorithms).
    x = 0.6 * _noise(2, 8000, dtype=torch.float32)
    for coeff in (0.97, 0.5):
        ours, theirs = F.deemphasis(x, coeff), ta_functional.deemphasis(x, coeff)
        assert float(theirs.abs().max()) == 1.0
        torch.testing.assert_close(ours, theirs, rtol=0, atol=2e-5)
        torch.testing.assert_close(T.Deemphasis(coeff)(x), ta_transforms.Deemphasis(coeff)(x), rtol=0, atol=2e-5)


def test_speed_perturbation_draws_as_torchaudio() -> None:
    # The same factor is drawn from the same global seed; outputs then agree to 1e-5 (same resampling kernel).
    x = _noise(2, 4000, dtype=torch.float32)
    factors = [0.9, 1.0, 1.1, 1.2]
    ours, theirs = T.SpeedPerturbation(16000, factors), ta_transforms.SpeedPerturbation(16000, factors)
    for seed in range(8):
        torch.manual_seed(seed)
        expected, _ = theirs(x)
        torch.manual_seed(seed)
        got, _ = ours(x)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n_steps", [3, -2, 12])
def test_pitch_shift_exposes_torchaudio_attributes(n_steps) -> None:
    ours, theirs = T.PitchShift(16000, n_steps), ta_transforms.PitchShift(16000, n_steps)
    assert (ours.orig_freq, ours.gcd) == (theirs.orig_freq, theirs.gcd)
