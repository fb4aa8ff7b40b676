"""Streaming steps: chunk by chunk, eagerly and exported, they give the offline result."""

from __future__ import annotations

import pytest
import scipy.signal
import torch

from tympan import Pipeline, registry
from tympan.core.errors import ExportError, InvalidParameterError
from tympan.export import export_streaming_step, run_stream, streaming_step

# Lengths that are multiples of no chunk, hop or ratio used below.
LENGTHS = (1001, 7777, 40009)
SOS = scipy.signal.butter(6, 0.3, output="sos").tolist()
BUTTER4 = [c.tolist() for c in scipy.signal.butter(4, 0.2)]
CHAIN = "highpass 300 equalizer 1000 1q 6 vol 0.5"

# (component, parameters, chunk_samples): every kind of streaming state.
FAMILIES = {
    "kaldi_fbank": ("kaldi:fbank", {"num_mel_bins": 40}, 1600),
    "kaldi_mfcc": ("kaldi:mfcc", {"frame_length": 20.0, "frame_shift": 8.0}, 1280),
    "kaldi_plp": ("kaldi:plp", {}, 320),
    "kaldi_spectrogram": ("kaldi:spectrogram", {"window_type": "hamming"}, 160),
    "resample_down": ("dsp:resample", {"orig_freq": 44100, "new_freq": 16000}, 4410),
    "resample_up": ("dsp:resample", {"orig_freq": 16000, "new_freq": 22050, "lowpass_filter_width": 16}, 320),
    "lfilter": ("dsp:lfilter", {"a_coeffs": BUTTER4[1], "b_coeffs": BUTTER4[0], "clamp": False}, 256),
    "sosfilt": ("dsp:sosfilt", {"sos": SOS}, 100),
    "equalizer_biquad": ("dsp:equalizer_biquad", {"sample_rate": 16000, "center_freq": 2000.0, "gain": 6.0}, 160),
    "sox_highpass": ("sox:highpass", {"sample_rate": 44100, "frequency": 300.0}, 441),
    "sox_chain": ("sox:sox", {"effects": CHAIN, "sample_rate": 16000}, 160),
}


def _signals(batch: int, length: int, seed: int) -> torch.Tensor:
    return 0.3 * torch.randn(batch, length, generator=torch.Generator().manual_seed(seed))


def _assert_close(actual: torch.Tensor, expected: torch.Tensor, relative: float, where: object) -> None:
    assert actual.shape == expected.shape, where
    scale = max(float(expected.abs().max()), 1.0)
    assert float((actual - expected).abs().max()) <= relative * scale, where


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_stream_in_float64_equals_the_offline_result(family: str) -> None:
    name, params, chunk = FAMILIES[family]
    module = registry.create(name, **params)
    step = streaming_step(module, chunk, torch.float64)
    for index, length in enumerate(LENGTHS):
        audio = _signals(3, length, index).double()
        with torch.no_grad():
            _assert_close(run_stream(step, audio), module(audio), 1e-9, (family, length))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_exported_step_gives_the_offline_result_for_any_batch(family: str) -> None:
    name, params, chunk = FAMILIES[family]
    module = registry.create(name, **params)
    step = streaming_step(module, chunk)
    program = export_streaming_step(step).module()
    for batch, length in ((1, LENGTHS[0]), (3, LENGTHS[1])):
        audio = _signals(batch, length, length)
        with torch.no_grad():
            expected = module(audio)
        # float32 steps compute per chunk what offline computes per signal: equal to rounding.
        _assert_close(run_stream(step, audio, program), expected, 1e-5, (family, batch, length))


def test_a_sox_chain_then_resampling_then_fbank_streams_as_one_step() -> None:
    # A filter's tail must not reach the resampler past the end of the signal, and the resampler's delay
    # must reach the fbank as the silence its offline form sees: both lined up by the chain.
    pipe = Pipeline.from_config(
        {
            "sample_rate": 44100,
            "steps": [
                {"sox:sox": {"effects": "highpass 300 lowpass 6000 vol 0.8"}},
                {"dsp:resample": {"new_freq": 16000}},
                {"kaldi:fbank": {"num_mel_bins": 80}},
            ],
        }
    )
    audio = _signals(2, 44100 + 777, 7)
    step64 = streaming_step(pipe, 441, torch.float64)
    with torch.no_grad():
        _assert_close(run_stream(step64, audio.double()), pipe(audio.double()), 1e-9, "float64")
    step = streaming_step(pipe, 4410)
    program = export_streaming_step(step).module()
    with torch.no_grad():
        truth = pipe(audio.double())
        offline_error = float((pipe(audio) - truth).abs().max())
        streamed_error = float((run_stream(step, audio, program) - truth).abs().max())
    # In float32, the log of the quietest mel bands (filtered away) carries rounding: the stream is as close
    # to the float64 result as the offline float32 computation is.
    assert streamed_error <= 2 * offline_error + 1e-5


def test_a_sox_chain_after_a_delaying_step_streams_to_the_end_of_the_signal() -> None:
    # The chain of several effects within the pipeline's chain starts late (the resampler's delay) and must
    # stop where the resampled signal stops.
    pipe = Pipeline.from_config(
        {
            "sample_rate": 44100,
            "steps": [
                {"dsp:resample": {"new_freq": 16000}},
                {"sox:sox": {"effects": "highpass 300 lowpass 3000 vol 0.8"}},
            ],
        }
    )
    audio = _signals(2, 44100 + 777, 11).double()
    step = streaming_step(pipe, 441, torch.float64)
    with torch.no_grad():
        _assert_close(run_stream(step, audio), pipe(audio), 1e-9, "resample then sox chain")


def test_the_initial_state_is_finite() -> None:
    # It is written into a package's metadata as JSON, which has no infinity.
    pipe = Pipeline.from_config({"sample_rate": 16000, "steps": [{"sox:sox": {"effects": CHAIN}}]})
    assert bool(torch.isfinite(streaming_step(pipe, 160).initial_state(2)).all())


def test_what_cannot_stream_is_refused_with_the_reason() -> None:
    with pytest.raises(ExportError, match=r"filtfilt.*cannot stream"):
        streaming_step(registry.create("dsp:filtfilt", a_coeffs=[1.0, -0.5], b_coeffs=[0.5]), 160)
    with pytest.raises(ExportError, match=r"snip_edges=True"):
        streaming_step(registry.create("kaldi:fbank", snip_edges=False), 160)
    with pytest.raises(ExportError, match=r"dither=0\.0"):
        streaming_step(registry.create("kaldi:fbank", dither=1.0), 160)
    with pytest.raises(ExportError, match=r"effects\[1\]\.gain: sox:gain: normalize"):
        streaming_step(registry.create("sox:sox", effects="highpass 300 gain -n"), 160)
    with pytest.raises(ExportError, match=r"steps\[0\]\.dsp:vad"):
        streaming_step(Pipeline.from_config({"sample_rate": 16000, "steps": [{"vad": {}}]}), 160)
    with pytest.raises(ExportError, match="held sinc kernel"):
        fft = {"resampling_method": "sinc_interp_kaiser_fft", "lowpass_filter_width": 96, "rolloff": 0.955}
        streaming_step(registry.create("dsp:resample", orig_freq=16000, new_freq=8000, **fft), 2)


def test_a_chunk_size_the_step_cannot_take_names_the_parameter() -> None:
    fbank_problem = r"(?s)kaldi:fbank.*chunk_samples=1000: must be a positive multiple of 160"
    with pytest.raises(InvalidParameterError, match=fbank_problem):
        streaming_step(registry.create("kaldi:fbank"), 1000)
    with pytest.raises(InvalidParameterError, match=r"chunk_samples=400: must be a positive multiple of 441"):
        streaming_step(registry.create("dsp:resample", orig_freq=44100, new_freq=16000), 400)
