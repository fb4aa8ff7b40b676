"""The FFT-block resampling method: agreement with the polyphase Kaiser filter it evaluates, stop-band
attenuation and passband flatness measured with tones (against soxr's HQ setting on the same tones), output
lengths, the module form and TorchScript."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soxr
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp import functional as F
from tympan.plugins.dsp.functional import _resample_fft as resample_fft
from tympan.plugins.dsp.transforms import Resample

HQ = {"lowpass_filter_width": 96, "rolloff": 0.955}  # F.HIGH_QUALITY_RESAMPLING without its method
RATIOS = [(44100, 16000), (48000, 44100), (22050, 16000), (16000, 44100), (8000, 11025)]


def tone_gain_db(resample, orig: int, frequency: float) -> float:
    """Output RMS over input RMS, in dB, for a two-second sine at ``frequency`` (edges dropped)."""
    t = np.arange(2 * orig) / orig
    out = np.asarray(resample(np.sin(2 * np.pi * frequency * t)))
    middle = out[len(out) // 4 : -len(out) // 4]
    return float(20 * np.log10(np.sqrt(np.mean(middle**2) / 0.5) + 1e-30))


def ours(orig: int, new: int):
    return lambda x: F.resample(torch.from_numpy(x), orig, new, resampling_method="sinc_interp_kaiser_fft", **HQ)


@pytest.mark.parametrize(("orig", "new"), RATIOS)
def test_agrees_with_the_polyphase_kaiser_filter(chirp, orig, new) -> None:
    # The FFT path evaluates the same filter at the input rate and interpolates in the spectrum; the two differ
    # by the filter's stop-band leakage. Tolerance: atol 1e-6 in float64 (measured up to 3.3e-7).
    wave = chirp(orig, 0.4, batch=(2,), seed=new)
    fft = F.resample(wave, orig, new, resampling_method="sinc_interp_kaiser_fft", **HQ)
    polyphase = F.resample(wave, orig, new, resampling_method="sinc_interp_kaiser", **HQ)
    torch.testing.assert_close(fft, polyphase, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("orig", "new"), [(44100, 16000), (48000, 44100), (22050, 16000)])
def test_stop_band_is_at_least_as_deep_as_soxr_hq(orig, new) -> None:
    # Stop-band attenuation is the weakest over tones from the output Nyquist frequency to 0.98 x the input
    # one: it must be at least 130 dB and at least soxr HQ's on the same tones. A tone at 0.9 x the output
    # Nyquist passes within 0.01 dB (soxr HQ: within 0.01 dB too).
    stop = np.linspace(new / 2, 0.98 * orig / 2, 12)
    reference = lambda x: soxr.resample(x, orig, new, quality="HQ")  # noqa: E731
    worst = max(tone_gain_db(ours(orig, new), orig, frequency) for frequency in stop)
    worst_soxr = max(tone_gain_db(reference, orig, frequency) for frequency in stop)
    assert worst <= min(-130.0, worst_soxr)
    assert abs(tone_gain_db(ours(orig, new), orig, 0.9 * new / 2)) <= 0.01


@pytest.mark.parametrize("length", [1, 7, 441, 20000, 100_003])
@pytest.mark.parametrize(("orig", "new"), RATIOS)
def test_output_length_is_ceiling(length, orig, new) -> None:
    out = F.resample(torch.randn(3, length), orig, new, resampling_method="sinc_interp_kaiser_fft", **HQ)
    assert out.shape == (3, math.ceil(length * new / orig))
    assert torch.isfinite(out).all()


def test_module_matches_function_and_scripts(chirp) -> None:
    # Tolerance: exact (the same computation); TorchScript runs the same graph.
    wave = chirp(44100, 0.3, batch=(2, 2), dtype=torch.float32)
    module = Resample(44100, 16000, "sinc_interp_kaiser_fft", **HQ)
    expected = F.resample(wave, 44100, 16000, resampling_method="sinc_interp_kaiser_fft", **HQ)
    torch.testing.assert_close(module(wave), expected, rtol=0, atol=0)
    torch.testing.assert_close(torch.jit.script(module)(wave), expected, rtol=0, atol=0)
    for i in range(2):
        torch.testing.assert_close(module(wave[i]), expected[i], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("seconds", [0.1, 2.0])
def test_pieces_give_the_output_of_all_blocks_at_once(chirp, seconds, monkeypatch) -> None:
    # Eagerly on the CPU the blocks run in pieces (here of 4 blocks: groups of whole 0.1 s signals, or runs of
    # a 2 s signal's 15 blocks, the last piece short); a signal requiring grad runs all blocks at once. Same
    # transforms of the same blocks: 1e-6 apart in float32 on a signal of peak about 1.
    block = resample_fft.fft_resampling_plan(44100, 16000, 96, 0.955, None, torch.float32, torch.device("cpu")).block
    monkeypatch.setattr(resample_fft, "_PIECE_SAMPLES", 4 * block)
    wave = chirp(44100, seconds, batch=(5,), dtype=torch.float32)
    pieces = F.resample(wave, 44100, 16000, resampling_method="sinc_interp_kaiser_fft", **HQ)
    whole = F.resample(wave.clone().requires_grad_(), 44100, 16000, resampling_method="sinc_interp_kaiser_fft", **HQ)
    assert pieces.shape == whole.shape == (5, math.ceil(wave.shape[-1] * 16000 / 44100))
    torch.testing.assert_close(pieces, whole.detach(), rtol=0, atol=1e-6)


def test_gradients_flow(chirp) -> None:
    wave = chirp(8000, 0.05, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: F.resample(x, 8000, 6000, 48, 0.9, "sinc_interp_kaiser_fft"),
        (wave[:200],),
    )


@pytest.mark.parametrize(("orig", "new"), [(3, 2), (16000, 44100)])
def test_short_filters_are_refused(orig, new) -> None:
    # A width-6 filter is still at -6 dB at the lower Nyquist frequency, where the spectral cut would change
    # in-band samples by about as much; such filters belong to sinc_interp_kaiser.
    with pytest.raises(ValueError, match="lowpass_filter_width"):
        F.resample(torch.randn(100), orig, new, resampling_method="sinc_interp_kaiser_fft")
    with pytest.raises(InvalidParameterError, match="lowpass_filter_width"):
        Resample(orig, new, "sinc_interp_kaiser_fft")


@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser_fft"])
@pytest.mark.parametrize("shape", [(2, 0), (0, 100), (0, 0)])
def test_empty_input_gives_empty_output(method, shape) -> None:
    options = HQ if method == "sinc_interp_kaiser_fft" else {}
    out = F.resample(torch.zeros(shape), 44100, 16000, resampling_method=method, **options)
    assert out.shape == (*shape[:-1], math.ceil(shape[-1] * 16000 / 44100))
