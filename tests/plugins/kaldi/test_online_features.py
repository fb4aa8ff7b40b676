"""Streaming Kaldi features: chunks of any size give exactly the offline frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tympan.plugins.kaldi.features import Fbank, Mfcc, Plp, Spectrogram
from tympan.plugins.kaldi.online import OnlineFbank, OnlineMfcc, OnlinePlp, OnlineSpectrogram

from .conftest import knf_features

STREAMS = {
    "fbank": (OnlineFbank, Fbank, {"num_mel_bins": 40, "use_energy": True}),
    "mfcc": (OnlineMfcc, Mfcc, {"htk_compat": True}),
    "plp": (OnlinePlp, Plp, {}),
    "spectrogram": (OnlineSpectrogram, Spectrogram, {"sample_frequency": 8000.0}),
}


def chunked(samples: torch.Tensor, seed: int) -> list[torch.Tensor]:
    """Chunks of random sizes from 0 to 1500 samples (empty chunks included)."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(0, 1500, size=len(samples)))
    cuts = cuts[cuts < len(samples)]
    return list(torch.tensor_split(samples, cuts.tolist()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("snip_edges", [True, False])
@pytest.mark.parametrize("name", list(STREAMS))
def test_streamed_frames_equal_the_offline_frames(speech, name, snip_edges, dtype) -> None:
    # Tolerance: float32, none: bit for bit the offline frames (the same per-frame code, and blocks of at
    # least 64 frames keep the float32 matrix products on one code path). float64: rtol 1e-12, atol 1e-12,
    # as the float64 matrix products sum in an order that depends on how many frames they multiply.
    online_class, offline_class, options = STREAMS[name]
    samples = torch.from_numpy(speech(16000, 9001, seed=3)).to(dtype)
    stream = online_class(snip_edges=snip_edges, **options)
    parts = [stream.accept_waveform(chunk) for chunk in chunked(samples, seed=len(name))]
    parts.append(stream.input_finished())
    expected = offline_class(snip_edges=snip_edges, **options)(samples)
    streamed = torch.cat(parts)
    assert streamed.dtype == dtype and stream.num_frames_ready == expected.shape[0]
    if dtype == torch.float32:
        assert torch.equal(streamed, expected)
    else:
        torch.testing.assert_close(streamed, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("snip_edges", [True, False])
def test_frames_are_returned_as_soon_as_their_samples_arrive(snip_edges) -> None:
    stream = OnlineFbank(snip_edges=snip_edges)
    geometry = stream.extractor.options.geometry
    counts = []
    for _ in range(20):
        counts.append(stream.accept_waveform(torch.randn(100)).shape[0])
    received = np.arange(1, 21) * 100
    assert np.cumsum(counts).tolist() == [geometry.num_frames(n, flush=False) for n in received]
    assert stream.input_finished().shape[0] == geometry.num_frames(2000) - sum(counts)


def test_a_stream_matches_kaldi_native_fbank_online(speech) -> None:
    # Tolerance: rtol 1e-4, atol 1e-4 on log energies (float32 against kaldi-native-fbank).
    samples = speech(16000, 5000, seed=8)
    stream = OnlineFbank(snip_edges=False)
    parts = [stream.accept_waveform(torch.from_numpy(chunk)) for chunk in np.array_split(samples, 7)]
    streamed = torch.cat([*parts, stream.input_finished()]).numpy()
    np.testing.assert_allclose(streamed, knf_features("fbank", samples, {"snip_edges": False}), rtol=1e-4, atol=1e-4)


def test_reset_starts_a_new_utterance_and_short_streams_give_kaldis_frames() -> None:
    stream = OnlineMfcc()
    stream.accept_waveform(torch.randn(3000))
    stream.input_finished()
    stream.reset()
    assert stream.accept_waveform(torch.randn(399)).shape == (0, 13)
    assert stream.input_finished().shape == (0, 13)
    stream.reset()
    assert stream.input_finished().shape == (0, 13)


def test_stream_misuse_is_a_value_error() -> None:
    stream = OnlineFbank()
    with pytest.raises(ValueError, match="1-D"):
        stream.accept_waveform(torch.zeros(2, 100))
    stream.input_finished()
    with pytest.raises(ValueError, match="reset"):
        stream.accept_waveform(torch.zeros(100))
    with pytest.raises(ValueError, match="subtract_mean"):
        OnlineFbank(subtract_mean=True)


PITCH_STREAMS = [
    {"nccf_ballast_online": True},
    {},
    {"recompute_frame": 40},
    {"snip_edges": False, "recompute_frame": 25},
]


@pytest.mark.parametrize("options", PITCH_STREAMS)
def test_streamed_pitch_equals_the_offline_pitch_of_the_same_chunks(options) -> None:
    # Tolerance: none. Kaldi's ballast uses the energy received so far, so the reference is the offline
    # pitch given the stream's chunk sizes (with nccf_ballast_online, any chunking gives the plain offline
    # result, checked too).
    from tympan.plugins.kaldi.functional._pitch import kaldi_pitch
    from tympan.plugins.kaldi.online_pitch import OnlinePitch
    from tympan.plugins.kaldi.pitch import Pitch

    samples = torch.from_numpy(voiced_like(16000, 24000, seed=len(options)))
    sizes = [3200, 1, 500, 7000, 0, 4000, 9299]
    stream = OnlinePitch(**options)
    parts = [stream.accept_waveform(chunk) for chunk in samples.split(sizes)]
    parts.append(stream.input_finished())
    expected = kaldi_pitch(samples[None], None, Pitch(**options).options, chunk_sizes=sizes)[0][0]
    assert torch.equal(torch.cat(parts), expected)
    if options.get("nccf_ballast_online"):
        assert torch.equal(torch.cat(parts), Pitch(**options)(samples))
        assert sum(part.shape[0] for part in parts[:-1]) > 0  # frames came out before the end


def test_pitch_stream_misuse_is_a_value_error() -> None:
    from tympan.plugins.kaldi.online_pitch import OnlinePitch

    with pytest.raises(ValueError, match="frames_per_chunk"):
        OnlinePitch(frames_per_chunk=10)
    stream = OnlinePitch()
    with pytest.raises(ValueError, match="1-D"):
        stream.accept_waveform(torch.zeros(2, 10))
    assert stream.input_finished().shape == (0, 2)
    with pytest.raises(ValueError, match="reset"):
        stream.accept_waveform(torch.zeros(10))


def voiced_like(rate: int, length: int, seed: int) -> np.ndarray:
    """A harmonic glide switched on and off, with noise, at int16 scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / rate
    phase = 2 * np.pi * np.cumsum(150.0 + 40.0 * np.sin(2 * np.pi * t)) / rate
    gate = np.sin(2 * np.pi * 0.8 * t + seed) > -0.3
    return (3000.0 * gate * (np.sin(phase) + 0.5 * np.sin(2 * phase)) + 50.0 * rng.standard_normal(length)).astype(
        np.float32
    )
