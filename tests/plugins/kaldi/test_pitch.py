"""Kaldi's pitch and its post-processing against kaldi-native-fbank's compute_and_process_kaldi_pitch.

kaldi-native-fbank reproduces compute-and-process-kaldi-pitch-feats value for value; it returns processed
features only, so the raw pitch is compared through them: the POV feature is a function of the NCCF, and
the raw log pitch is the log of the pitch. The delta-pitch noise is random in both, so it is switched off.
"""

from __future__ import annotations

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch

import tympan.plugins.kaldi.functional as kaldi
from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.plugins.kaldi.pitch import Pitch, ProcessPitch

_KNF_NAMES = {
    "sample_frequency": "samp_freq",
    "frame_length": "frame_length_ms",
    "frame_shift": "frame_shift_ms",
    "preemphasis_coefficient": "preemph_coeff",
    "resample_frequency": "resample_freq",
}
EVERY_FEATURE = {"add_raw_log_pitch": True, "delta_pitch_noise_stddev": 0.0}


def knf_processed(samples: np.ndarray, pitch_options: dict, process_options: dict) -> np.ndarray:
    extraction = knf.PitchExtractionOptions()
    for name, value in pitch_options.items():
        setattr(extraction, _KNF_NAMES.get(name, name), value)
    processing = knf.ProcessPitchOptions()
    for name, value in process_options.items():
        setattr(processing, name, value)
    return knf.compute_and_process_kaldi_pitch(extraction, processing, samples)


def voiced(rate: float, seconds: float, seed: int) -> np.ndarray:
    """Voiced stretches with a gliding F0 (harmonics, int16 scale) between pauses, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140.0 + 60.0 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    gate = (np.sin(2 * np.pi * 0.9 * t + seed) > -0.3).astype(float)
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (3000.0 * gate * harmonics + 150.0 * rng.standard_normal(t.size)).astype(np.float32)


def assert_pitch_agrees(actual: np.ndarray, expected: np.ndarray) -> None:
    """Columns (POV, normalised log pitch, delta pitch, raw log pitch), compared by what they mean.

    Tolerance: the POV feature within 2e-3 everywhere (float32 NCCFs summed in different orders); the
    raw log pitch identical (within 1e-5) on at least 99% of frames - the Viterbi path may take another
    lag where two costs tie to rounding - and the normalised and delta log pitch within 1e-3 on at least
    95% of frames (a different lag moves its neighbours' values).
    """
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual[:, 0], expected[:, 0], atol=2e-3)
    assert np.mean(np.abs(actual[:, 3] - expected[:, 3]) > 1e-5) <= 0.01
    for column in (1, 2):
        assert np.mean(np.abs(actual[:, column] - expected[:, column]) > 1e-3) <= 0.05


GRID = [
    (16000, 2.0, {}),
    (16000, 1.5, {"snip_edges": False}),
    (8000, 2.0, {"min_f0": 70.0, "max_f0": 300.0, "penalty_factor": 0.2, "soft_min_f0": 5.0}),
    (16000, 2.0, {"nccf_ballast_online": True, "nccf_ballast": 1000.0}),
    (16000, 2.5, {"frames_per_chunk": 10, "recompute_frame": 60}),
    (16000, 1.2, {"recompute_frame": 40, "frames_per_chunk": 7}),
    (16000, 1.5, {"preemphasis_coefficient": 0.5, "delta_pitch": 0.01, "lowpass_filter_width": 2}),
    (44100, 1.0, {"resample_frequency": 8000.0, "lowpass_cutoff": 1500.0, "upsample_filter_width": 3}),
    (16000, 1.0, {"frame_length": 30.0, "frame_shift": 12.5}),
]


@pytest.mark.parametrize(("rate", "seconds", "options"), GRID)
def test_pitch_matches_kaldi_native_fbank(rate, seconds, options) -> None:
    samples = voiced(rate, seconds, seed=int(seconds * 10))
    expected = knf_processed(samples, {"sample_frequency": float(rate), **options}, EVERY_FEATURE)
    raw = kaldi.pitch(torch.from_numpy(samples), sample_frequency=float(rate), **options)
    actual = kaldi.process_pitch(raw, **EVERY_FEATURE).numpy()
    assert_pitch_agrees(actual, expected)


@pytest.mark.parametrize(
    "process",
    [
        {"delay": 4, "normalization_left_context": 10, "normalization_right_context": 3},
        {"pitch_scale": 1.0, "pov_scale": 1.5, "pov_offset": -0.5, "delta_pitch_scale": 4.0, "delta_window": 3},
        {"add_pov_feature": False, "add_normalized_log_pitch": False},
    ],
)
def test_process_pitch_matches_kaldi_native_fbank(process) -> None:
    # Tolerance: as assert_pitch_agrees, per feature (the same raw pitch feeds both).
    samples = voiced(16000, 1.5, seed=3)
    options = {**EVERY_FEATURE, **process}
    expected = knf_processed(samples, {}, options)
    actual = kaldi.process_pitch(kaldi.pitch(torch.from_numpy(samples)), **options).numpy()
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=2e-3)


def _padded_voiced(lengths: torch.Tensor) -> torch.Tensor:
    """One voiced 16 kHz signal per length (seeded by its index), zero-padded to the longest."""
    padded = torch.zeros(len(lengths), int(lengths.max()))
    for index, length in enumerate(lengths.tolist()):
        padded[index, :length] = torch.from_numpy(voiced(16000, length / 16000, seed=index))
    return padded


def test_batches_and_lengths_give_each_utterance_its_own_pitch() -> None:
    # Tolerance: none, each item's pitch is computed alone (its own energy, frames and path).
    lengths = torch.tensor([16000, 9000, 300])
    padded = _padded_voiced(lengths)
    output, counts = Pitch()(padded, lengths=lengths)
    for index, length in enumerate(lengths.tolist()):
        alone = Pitch()(padded[index, :length])
        assert counts[index] == alone.shape[0]
        assert torch.equal(output[index, : counts[index]], alone)
        assert output[index, counts[index] :].eq(0).all()


@pytest.mark.parametrize(("length", "snip_edges"), [(0, True), (350, True), (399, True), (30, False)])
def test_audio_shorter_than_a_frame_gives_kaldis_frame_count(length, snip_edges) -> None:
    samples = voiced(16000, length / 16000, seed=1)
    expected = knf_processed(samples, {"snip_edges": snip_edges}, EVERY_FEATURE) if length else np.zeros((0, 4))
    raw = kaldi.pitch(torch.from_numpy(samples), snip_edges=snip_edges)
    assert raw.shape == (expected.shape[0], 2)


def test_seeded_noise_and_registry() -> None:
    raw = kaldi.pitch(torch.from_numpy(voiced(16000, 0.5, seed=2)))
    module = registry.create("kaldi:process_pitch", noise_seed=3)
    assert isinstance(module, ProcessPitch) and torch.equal(module(raw), module(raw))
    assert torch.equal(module(torch.stack([raw, raw]))[1], module(raw))
    quiet = ProcessPitch(delta_pitch_noise_stddev=0.0)(raw)
    noise = (module(raw) - quiet)[:, 2] / (10.0 * 0.005)
    assert 0.5 < float(noise.std()) < 1.5
    assert isinstance(registry.create("kaldi:pitch", sample_frequency=8000), Pitch)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_f0": 500.0}, "min_f0"),
        ({"lowpass_cutoff": 3000.0}, "lowpass_cutoff"),
        ({"sample_frequency": 16000.5}, "whole numbers"),
        ({"max_f0": 3000.0}, "max_f0"),
    ],
)
def test_bad_pitch_parameters_are_typed_errors(kwargs, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        Pitch(**kwargs)


def test_bad_process_pitch_input() -> None:
    with pytest.raises(InvalidParameterError, match="add_"):
        ProcessPitch(add_pov_feature=False, add_normalized_log_pitch=False, add_delta_pitch=False)
    with pytest.raises(ValueError, match="frames, 2"):
        kaldi.process_pitch(torch.zeros(10, 3))
    with pytest.raises(ValueError, match="non-negative"):
        kaldi.process_pitch(-torch.ones(10, 2))
    assert torch.isfinite(kaldi.process_pitch(torch.zeros(10, 2))).all()


# The POV and raw log pitch are functions of each frame's (NCCF, pitch) alone; without right context Kaldi's
# online post-processing reads every frame as soon as the pitch tracker has it ready, so these two columns
# show the raw first-pass frames.
PER_FRAME = {
    "add_normalized_log_pitch": False,
    "add_delta_pitch": False,
    "add_raw_log_pitch": True,
    "normalization_right_context": 0,
}
FIRST_PASS_GRID = [
    {"frames_per_chunk": 10},
    {"frames_per_chunk": 7, "max_frames_latency": 20, "recompute_frame": 60},
    {"frames_per_chunk": 3, "max_frames_latency": 2, "recompute_frame": 1000},
    {"frames_per_chunk": 5, "max_frames_latency": 1, "snip_edges": False},
]


def assert_frames_agree(actual: np.ndarray, expected: np.ndarray) -> None:
    """(POV, raw log pitch): the POV within 2e-3 and the log pitch within 1e-5 on at least 99% of frames."""
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual[:, 0], expected[:, 0], atol=2e-3)
    assert np.mean(np.abs(actual[:, 1] - expected[:, 1]) > 1e-5) <= 0.01


@pytest.mark.parametrize("options", FIRST_PASS_GRID)
def test_first_pass_pitch_matches_kaldi_native_fbank(options) -> None:
    # Tolerance: as assert_frames_agree. The first pass must also differ from the final pitch somewhere,
    # or the comparison would not show that the option is honoured.
    samples = voiced(16000, 1.5, seed=3)
    first_pass = {**options, "simulate_first_pass_online": True}
    expected = knf_processed(samples, first_pass, PER_FRAME)
    actual = ProcessPitch(**PER_FRAME)(kaldi.pitch(torch.from_numpy(samples), **first_pass)).numpy()
    assert_frames_agree(actual, expected)
    final = knf_processed(samples, options, PER_FRAME)
    assert np.mean(np.abs(final[:, 1] - expected[:, 1]) > 1e-3) > 0.05


@pytest.mark.parametrize("latency", [0, 4])
def test_first_pass_stream_matches_kaldi_native_fbanks_online_pitch(latency) -> None:
    # Tolerance: as assert_frames_agree; uneven chunks, each chunk's frames read as soon as they are ready,
    # both streams held back by at most `latency` frames.
    from tympan.plugins.kaldi.online_pitch import OnlinePitch

    samples = voiced(16000, 1.5, seed=5)
    extraction = knf.PitchExtractionOptions()
    extraction.max_frames_latency = latency
    processing = knf.ProcessPitchOptions()
    for name, value in PER_FRAME.items():
        setattr(processing, name, value)
    reference = knf.OnlinePitch(extraction, processing)
    stream = OnlinePitch(simulate_first_pass_online=True, max_frames_latency=latency)
    expected, actual = [], []
    for chunk in np.split(samples, [1000, 1001, 4500, 9000, 9000, 17000]):
        reference.accept_waveform(16000, chunk)
        expected += [reference.get_frame(t) for t in range(len(expected), reference.num_frames_ready)]
        actual.append(stream.accept_waveform(torch.from_numpy(chunk)))
        assert sum(part.shape[0] for part in actual) == len(expected)
    reference.input_finished()
    expected += [reference.get_frame(t) for t in range(len(expected), reference.num_frames_ready)]
    actual.append(stream.input_finished())
    assert_frames_agree(ProcessPitch(**PER_FRAME)(torch.cat(actual)).numpy(), np.stack(expected))


def test_first_pass_of_one_chunk_is_the_final_pitch() -> None:
    # Tolerance: none. With frames_per_chunk=0 the signal arrives whole and the stream ends before any
    # frame is read, so the first pass is the final pitch of the same single piece (float32 both).
    samples = torch.from_numpy(voiced(16000, 1.0, seed=4))
    assert torch.equal(Pitch(simulate_first_pass_online=True)(samples), Pitch()(samples))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("factor", [2.488e-6, 1e-3, 0.0])
def test_cpu_viterbi_search_equals_the_search_over_every_pair(dtype, factor) -> None:
    # Exact: the CPU search sums only the candidate pairs, the dense one every pair with the same rounding;
    # costs rounded to a few levels make many exact ties, smooth ones the near-ties of real NCCF curves.
    from tympan.plugins.kaldi.functional._pitch_viterbi import viterbi_path_cpu, viterbi_path_dense

    generator = torch.Generator().manual_seed(7)
    states = torch.arange(120, dtype=torch.float64)
    smooth = torch.sin(states / 9.0 + torch.rand(3, 40, 1, generator=generator, dtype=torch.float64) * 6.0)
    rough = (torch.rand(3, 40, 120, generator=generator, dtype=torch.float64) * 4).round() / 4
    counts = torch.tensor([40, 25, 1])
    for local in (smooth, rough, smooth * 1e-4 + rough):
        local = local.to(dtype)
        expected = viterbi_path_dense(local, counts, factor)
        assert torch.equal(viterbi_path_cpu(local, counts, factor), expected)


def test_a_long_pitch_stream_holds_no_more_samples_than_a_short_one() -> None:
    # Each chunk is resampled and analysed from the samples its frames read, not from the stream's start:
    # what the stream holds stays the same after 2 s and after 60 s, and (with the ballast computed online,
    # so that no early frame is revised) its frames are those of the whole signal at once.
    from tympan.plugins.kaldi.online_pitch import OnlinePitch

    samples = torch.from_numpy(voiced(16000, 60.0, seed=6))
    stream = OnlinePitch(nccf_ballast_online=True)
    held = []
    parts = []
    for chunk in samples.split(1600):
        parts.append(stream.accept_waveform(chunk))
        held.append(stream.samples_held)
    parts.append(stream.input_finished())
    assert max(held) == max(held[:20]) < 2 * 1600
    assert torch.equal(torch.cat(parts), Pitch(nccf_ballast_online=True)(samples))


def test_the_viterbi_search_is_one_operator_that_compile_keeps_whole() -> None:
    # torch.compile with fullgraph: the search (a compiled loop outside torch) is one node of the graph, whose
    # shape comes from the operator's shape function; the compiled call gives the eager path.
    from tympan.plugins.kaldi.functional._pitch_viterbi import viterbi_path, viterbi_path_dense

    generator = torch.Generator().manual_seed(3)
    local = torch.rand(2, 30, 50, generator=generator)
    counts = torch.tensor([30, 12])
    compiled = torch.compile(viterbi_path, fullgraph=True, backend="eager", dynamic=True)
    path = compiled(local, counts, 1e-3)
    assert path.shape == (2, 30) and path.dtype == torch.int64
    assert torch.equal(path, viterbi_path_dense(local, counts, 1e-3))
    assert torch.equal(
        compiled(local[:1, :7], counts[:1].clamp(max=7), 1e-3), viterbi_path(local[:1, :7], torch.tensor([7]), 1e-3)
    )


def test_registering_the_viterbi_operator_leaves_numba_unimported() -> None:
    # numba is imported when the search first runs, not when the module registering the operator is imported.
    import subprocess
    import sys

    probe = "import sys, tympan.plugins.kaldi.pitch\nprint('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.gpu
def test_cuda_pitch_means_what_the_cpu_pitch_means() -> None:
    # By meaning: the NCCF within 1e-3, and the pitch within 1 % on at least 98 % of frames (float32 FFT and
    # resampling on the device may tip a near-tie of the Viterbi search onto a neighbouring lag).
    lengths = torch.tensor([16000, 9000, 7000])
    padded = _padded_voiced(lengths)
    cpu, cpu_counts = Pitch()(padded, lengths=lengths)
    gpu, gpu_counts = Pitch().to("cuda")(padded.cuda(), lengths=lengths.cuda())
    gpu = gpu.cpu()
    assert torch.equal(cpu_counts, gpu_counts.cpu())
    torch.testing.assert_close(gpu[..., 0], cpu[..., 0], rtol=0, atol=1e-3)
    close = ((gpu[..., 1] - cpu[..., 1]).abs() <= 0.01 * cpu[..., 1].abs()).float().mean()
    assert close >= 0.98
