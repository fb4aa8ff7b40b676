"""DSP components export with dynamic batch and time and equal eager on other lengths and batch sizes."""

from __future__ import annotations

import pytest
import scipy.signal
import torch

from tympan import registry
from tympan.export import ExportRange, export_module

# An hour at 44.1 kHz: the longest input the programs are exported for.
HOUR = ExportRange(min_frames=1000, max_frames=44100 * 3600, max_batch=1024)
# Lengths that are multiples of no hop (160, 200, 256, 512) nor of the 441:160 resampling ratio.
LENGTHS = (1001, 7777, 40009)
BATCHES = (1, 3)
# Filters designed by scipy: a fourth-order low-pass as (b, a) (the cascade path) and as sections.
BUTTER4 = [c.tolist() for c in scipy.signal.butter(4, 0.2)]
SOS = scipy.signal.butter(6, 0.3, output="sos").tolist()

FAMILIES = {
    "spectrogram": ("dsp:spectrogram", {"n_fft": 512, "hop_length": 200}),
    "mel_spectrogram": ("dsp:mel_spectrogram", {"sample_rate": 16000, "n_fft": 400, "hop_length": 160}),
    "mfcc": ("dsp:mfcc", {"sample_rate": 16000, "n_mfcc": 13}),
    "lfcc": ("dsp:lfcc", {"sample_rate": 16000}),
    "amplitude_to_db": ("dsp:amplitude_to_db", {}),
    "resample": ("dsp:resample", {"orig_freq": 44100, "new_freq": 16000}),
    "resample_up": ("dsp:resample", {"orig_freq": 16000, "new_freq": 22050}),
    "lowpass_biquad": ("dsp:lowpass_biquad", {"sample_rate": 16000, "cutoff_freq": 1000.0}),
    "highpass_biquad": ("dsp:highpass_biquad", {"sample_rate": 16000, "cutoff_freq": 300.0}),
    "equalizer_biquad": ("dsp:equalizer_biquad", {"sample_rate": 16000, "center_freq": 2000.0, "gain": 6.0}),
    "riaa_biquad": ("dsp:riaa_biquad", {"sample_rate": 44100}),
    "lfilter_butter4": ("dsp:lfilter", {"a_coeffs": BUTTER4[1], "b_coeffs": BUTTER4[0]}),
    "filtfilt": ("dsp:filtfilt", {"a_coeffs": [1.0, -0.9], "b_coeffs": [0.1, 0.0]}),
    "sosfilt": ("dsp:sosfilt", {"sos": SOS}),
    "preemphasis": ("dsp:preemphasis", {}),
    "deemphasis": ("dsp:deemphasis", {}),
    "overdrive": ("dsp:overdrive", {"gain": 30.0, "colour": 10.0}),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_dynamic_export_equals_eager(family: str) -> None:
    name, params = FAMILIES[family]
    module = registry.create(name, **params).eval()
    example = torch.randn(2, 16000, generator=torch.Generator().manual_seed(1))
    program = export_module(module, (example,), HOUR).module()
    generator = torch.Generator().manual_seed(2)
    for batch in BATCHES:
        for length in LENGTHS:
            x = torch.randn(batch, length, generator=generator)
            with torch.no_grad():
                expected, actual = module(x), program(x)
            assert actual.shape == expected.shape, (batch, length)
            scale = max(float(expected.abs().max()), 1.0)
            assert float((actual - expected).abs().max()) <= 1e-5 * scale, (batch, length)


def test_an_undeclared_length_guard_is_a_typed_error_naming_the_module() -> None:
    class Framed(torch.nn.Module):
        """Output length allowed only for inputs whose length is a multiple of 160."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.unflatten(-1, (x.shape[-1] // 160, 160)).mean(-1) if x.shape[-1] % 160 == 0 else x

    from tympan.core.errors import ExportError

    with pytest.raises(ExportError, match="Framed"):
        export_module(Framed(), (torch.randn(2, 1600),), ExportRange(400, 16000))


def test_griffin_lim_exports_with_dynamic_frames_and_equals_eager_under_one_seed() -> None:
    # Its initial phases are random (rand_init): the exported program draws them from the same global
    # generator, so under one seed it gives eager's waveform exactly.
    module = registry.create("dsp:griffin_lim", n_fft=128, n_iter=4).eval()
    example = torch.rand(2, 65, 20, generator=torch.Generator().manual_seed(1))
    batch, frames = torch.export.Dim("batch", min=1, max=64), torch.export.Dim("frames", min=3, max=100_000)
    program = torch.export.export(module, (example,), dynamic_shapes=({0: batch, 2: frames},)).module()
    generator = torch.Generator().manual_seed(2)
    for batch, count in ((1, 11), (3, 57)):
        specgram = torch.rand(batch, 65, count, generator=generator)
        torch.manual_seed(0)
        expected = module(specgram)
        torch.manual_seed(0)
        actual = program(specgram)
        assert actual.shape == expected.shape == (batch, (count - 1) * 64)  # hop: n_fft // 2
        assert torch.equal(actual, expected)
