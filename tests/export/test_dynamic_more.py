"""More components export with dynamic batch and time and equal eager on three lengths at two batch sizes.

Each case builds its inputs for a batch and a length (samples, or frames for spectrogram inputs): the first
input's batch and last dimensions are the dynamic ones, and inputs sharing its time axis (a noise signal, a
mask) take the same length. Components declaring ``export_min_frames`` are exported from that length on.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch.export import Dim

from tympan import registry
from tympan.core.errors import ExportError
from tympan.export import ExportRange, declared_min_frames, export_module

Inputs = Callable[[torch.Generator, int, int], tuple[torch.Tensor, ...]]


def mono(generator: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    return (0.3 * torch.randn(batch, length, generator=generator),)


def stereo(generator: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    return (0.3 * torch.randn(batch, 2, length, generator=generator),)


def mono_channel(generator: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    return (0.3 * torch.randn(batch, 1, length, generator=generator),)


def mono_with_lengths(generator: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    return 0.3 * torch.randn(batch, length, generator=generator), length - 100 * (torch.arange(batch) % 3)


def noisy(generator: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    signal, noise = torch.randn(2, batch, length, generator=generator)
    snr = torch.linspace(0.0, 20.0, batch)
    return signal, noise, snr, length - 100 * (torch.arange(batch) % 3)


def masked_spectrogram(generator: torch.Generator, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
    parts = torch.randn(2, batch, 4, 33, frames, generator=generator)
    return torch.complex(parts[0], parts[1]), torch.rand(batch, 33, frames, generator=generator)


def spectrogram(generator: torch.Generator, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
    parts = torch.randn(2, batch, 65, frames, generator=generator)
    return (torch.complex(parts[0], parts[1]),)


def mel(generator: torch.Generator, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
    return (torch.rand(batch, 40, frames, generator=generator),)


def mono_float64(generator: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    return (0.3 * torch.randn(batch, length, generator=generator, dtype=torch.float64),)


def constant_q(generator: torch.Generator, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
    parts = torch.randn(2, batch, 84, frames, generator=generator)
    return (torch.complex(parts[0], parts[1]),)


# name, parameters, inputs, (traced length, three lengths to compare at), shortest length exported
WAVE = (16000, (1001, 7777, 40009))
FRAMES = (30, (7, 31, 77))
CASES: dict[str, tuple[str, dict[str, object], Inputs, tuple[int, tuple[int, ...]], int]] = {
    "add_noise": ("dsp:add_noise", {}, noisy, WAVE, 1000),
    "loudness": ("dsp:loudness", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "spectral_centroid": ("dsp:spectral_centroid", {"sample_rate": 16000}, mono, WAVE, 1000),
    "detect_pitch_frequency": ("dsp:detect_pitch_frequency", {"sample_rate": 16000, "win_length": 5}, mono, WAVE, 481),
    "flanger": ("dsp:flanger", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "flanger_feedback": ("dsp:flanger", {"sample_rate": 16000, "regen": 50.0}, stereo, WAVE, 1000),
    "phaser": ("dsp:phaser", {"sample_rate": 16000}, mono, WAVE, 1000),
    "mvdr": ("dsp:mvdr", {}, masked_spectrogram, FRAMES, 4),
    "pitch_shift_up": ("dsp:pitch_shift", {"sample_rate": 16000, "n_steps": 2}, mono, WAVE, 1000),
    "pitch_shift_octave_down": ("dsp:pitch_shift", {"sample_rate": 16000, "n_steps": -12}, mono, WAVE, 1000),
    # constant-Q: traced, the octaves are decimated through FFTs of a size that is a formula of the length
    # (eager: the next 5-smooth size), so float32 rounding differs by about 1.5e-5 of the peak; in float64
    # the two agree to rounding
    "cqt": ("dsp:cqt", {"sample_rate": 16000}, mono_float64, WAVE, 1000),
    "vqt": ("dsp:vqt", {"sample_rate": 16000, "gamma": 10.0}, mono_float64, WAVE, 1000),
    "inverse_cqt": ("dsp:inverse_cqt", {"sample_rate": 16000}, constant_q, FRAMES, 4),
    "inverse_mel_scale": ("dsp:inverse_mel_scale", {"n_stft": 201, "n_mels": 40}, mel, FRAMES, 4),
    "pyin": ("dsp:pyin", {"sample_rate": 16000, "frame_length": 1024, "f_min": 80.0, "f_max": 800.0}, mono, WAVE, 1000),
    "speed_perturbation": (
        "dsp:speed_perturbation",
        {"orig_freq": 16000, "factors": [1.1]},
        mono_with_lengths,
        WAVE,
        1000,
    ),
    "random_time_stretch": (
        "dsp:random_time_stretch",
        {"min_rate": 1.1, "max_rate": 1.1, "n_freq": 65},
        spectrogram,
        FRAMES,
        4,
    ),
    "sox_rate": ("sox:rate", {"sample_rate": 44100, "new_rate": 16000}, stereo, WAVE, 1000),
    "sox_reverb": ("sox:reverb", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "sox_flanger": ("sox:flanger", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "sox_noiseprof": ("sox:noiseprof", {}, stereo, WAVE, 1000),
    "sox_phaser": ("sox:phaser", {"sample_rate": 16000}, stereo, WAVE, 1000),
    # SoX effects whose state settles in a data-dependent number of passes (loops in the exported program);
    # 40009 samples span three of compand's envelope chunks
    "sox_compand": ("sox:compand", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "sox_compand_per_channel": (
        "sox:compand",
        {"sample_rate": 16000, "attacks": [0.0, 0.01], "decays": [0.2, 0.5], "delay": 0.001},
        stereo,
        WAVE,
        1000,
    ),
    "sox_mcompand": ("sox:mcompand", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "sox_noisered": ("sox:noisered", {"profile": [[-20.0] * 1025] * 2}, stereo, (16000, (3073, 7777, 40009)), 3073),
    "sox_dither": ("sox:dither", {"sample_rate": 16000, "precision": 8, "seed": 5}, stereo, WAVE, 1000),
    # analysis effects: the numbers of each recording, by tensor operations
    "sox_stat": ("sox:stat", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "sox_stat_rms": ("sox:stat", {"sample_rate": 16000, "rms": True, "scale": 2.0}, stereo, WAVE, 1000),
    "sox_stats": ("sox:stats", {"sample_rate": 16000}, stereo, WAVE, 1000),
    "sox_stats_mono": ("sox:stats", {"sample_rate": 16000, "time_constant": 0.2}, mono_channel, WAVE, 1000),
    "sox_dither_sloped_auto": ("sox:dither", {"sample_rate": 16000, "sloped": True, "auto": True}, stereo, WAVE, 1000),
    # Kaldi features: whole frames only, from a window and a shift (two frames) on
    "kaldi_fbank": ("kaldi:fbank", {"num_mel_bins": 40}, mono, WAVE, 560),
    "kaldi_mfcc_reflected": ("kaldi:mfcc", {"snip_edges": False}, mono, WAVE, 560),
    "kaldi_plp": ("kaldi:plp", {}, mono, WAVE, 560),
    "kaldi_spectrogram_reflected": ("kaldi:spectrogram", {"snip_edges": False, "frame_length": 20.0}, mono, WAVE, 480),
    # Kaldi pitch, from its declared shortest input (where the tracker computes a frame before the input ends)
    "kaldi_pitch": ("kaldi:pitch", {}, mono, WAVE, 733),
}


def _as_list(output: object) -> list[torch.Tensor]:
    return list(output) if isinstance(output, (tuple, list)) else [output]  # type: ignore[list-item]


def _assert_exported_equals_eager(
    name: str,
    params: dict[str, object],
    inputs: Inputs,
    lengths: tuple[int, tuple[int, ...]],
    shortest: int,
    rtol: float,
) -> None:
    """Export from the traced length, then compare with eager at each other length, at batch 1 and 3: the
    largest difference within ``rtol`` of the output's peak (or of 1, for outputs below 1)."""
    traced, others = lengths
    module = registry.create(name, **params).eval()
    assert declared_min_frames(module) in (None, shortest)
    export_range = ExportRange(min_frames=shortest, max_frames=16000 * 3600, max_batch=64)
    program = export_module(module, inputs(torch.Generator().manual_seed(1), 2, traced), export_range).module()
    generator = torch.Generator().manual_seed(2)
    for batch in (1, 3):
        for length in others:
            given = inputs(generator, batch, length)
            with torch.no_grad():
                expected, actual = _as_list(module(*given)), _as_list(program(*given))
            for want, got in zip(expected, actual, strict=True):
                assert got.shape == want.shape, (batch, length)
                scale = max(float(want.abs().max()), 1.0)
                assert float((got - want).abs().max()) <= rtol * scale, (batch, length)


@pytest.mark.parametrize("case", sorted(CASES))
def test_dynamic_export_equals_eager(case: str) -> None:
    name, params, inputs, lengths, shortest = CASES[case]
    _assert_exported_equals_eager(name, params, inputs, lengths, shortest, rtol=1e-5)


@pytest.mark.parametrize(
    ("name", "params"), [("dsp:cqt", {"sample_rate": 16000}), ("dsp:vqt", {"sample_rate": 16000, "gamma": 10.0})]
)
def test_constant_q_exports_in_float32_within_the_rounding_of_its_other_fft_sizes(
    name: str, params: dict[str, object]
) -> None:
    """In float32 the exported program decimates through FFTs of a size given by a formula of the length where
    eager takes the next 5-smooth size: equal to eager within float32 rounding of those transforms (5e-5 of
    the peak; 1.2e-5 measured)."""
    _assert_exported_equals_eager(name, params, mono, WAVE, 1000, rtol=5e-5)


def test_a_range_below_the_declared_shortest_input_is_refused_naming_the_module() -> None:
    module = registry.create("dsp:detect_pitch_frequency", sample_rate=16000)  # 2561 samples: two output frames
    assert declared_min_frames(module) == 2561
    with pytest.raises(ExportError, match="DetectPitchFrequency: exports for inputs of at least 2561"):
        export_module(module, (torch.randn(2, 16000),), ExportRange(1000, 10**6))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("dsp:speed_perturbation", {"orig_freq": 16000, "factors": [0.9, 1.1]}),
        ("dsp:random_time_stretch", {"min_rate": 0.9, "max_rate": 1.1}),
        ("sox:splice", {"sample_rate": 8000, "splices": ["0.1"]}),
    ],
)
def test_a_length_that_changes_from_call_to_call_is_declared(name: str, params: dict[str, object]) -> None:
    assert getattr(registry.create(name, **params), "data_dependent_length", False)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("dsp:speed_perturbation", {"orig_freq": 16000, "factors": [1.1, 1.1]}),
        ("dsp:random_time_stretch", {"min_rate": 1.1, "max_rate": 1.1}),
        ("sox:splice", {"sample_rate": 8000}),
        ("sox:splice", {"sample_rate": 8000, "splices": ["0.1"], "fade": "q"}),
    ],
)
def test_a_length_fixed_by_the_parameters_is_not_declared(name: str, params: dict[str, object]) -> None:
    assert not getattr(registry.create(name, **params), "data_dependent_length", False)


@pytest.mark.parametrize("snip_edges", [True, False])
def test_kaldi_features_export_down_to_two_frames(snip_edges: bool) -> None:
    module = registry.create("kaldi:fbank", snip_edges=snip_edges).eval()
    program = export_module(module, (torch.randn(2, 16000),), ExportRange(560, 16000 * 3600, 64)).module()
    for length in (560, 561, 719, 720):
        x = torch.randn(2, length)
        with torch.no_grad():
            expected, actual = module(x), program(x)
        assert actual.shape == expected.shape and float((actual - expected).abs().max()) <= 1e-5 * float(
            expected.abs().max()
        ), length


def _frame_features(generator: torch.Generator, batch: int, frames: int, dim: int) -> torch.Tensor:
    return 3.0 + torch.randn(batch, frames, dim, generator=generator)


def _raw_pitch(generator: torch.Generator, batch: int, frames: int, dim: int) -> torch.Tensor:
    nccf = torch.rand(batch, frames, generator=generator)
    return torch.stack([nccf, 100.0 + 100.0 * torch.rand(batch, frames, generator=generator)], -1)


# Kaldi postprocessors on (batch, frames, dim): the frames axis (and the feature dimension, where it is free)
# is dynamic; name, parameters, input builder, whether the feature dimension is free
POSTPROCESSORS = {
    "add_deltas": ("kaldi:add_deltas", {}, _frame_features, True),
    "add_deltas_wide": ("kaldi:add_deltas", {"order": 3, "window": 4}, _frame_features, True),
    "cmvn": ("kaldi:cmvn", {}, _frame_features, True),
    "cmvn_vars": ("kaldi:cmvn", {"norm_vars": True}, _frame_features, True),
    "process_pitch": ("kaldi:process_pitch", {"noise_seed": 5, "add_raw_log_pitch": True}, _raw_pitch, False),
    "process_pitch_delay": ("kaldi:process_pitch", {"delay": 3}, _raw_pitch, False),
}


@pytest.mark.parametrize("case", sorted(POSTPROCESSORS))
def test_kaldi_postprocessors_export_with_dynamic_frames(case: str) -> None:
    name, params, build, free_dim = POSTPROCESSORS[case]
    module = registry.create(name, **params).eval()
    dim = 13 if free_dim else 2
    shapes: dict[int, object] = {0: Dim("batch", min=1, max=64), 1: Dim("frames", min=2, max=360_000)}
    if free_dim:
        shapes[2] = Dim("dim", min=2, max=1000)
    traced = build(torch.Generator().manual_seed(1), 2, 120, dim)
    program = torch.export.export(module, (traced,), dynamic_shapes=(shapes,)).module()
    generator = torch.Generator().manual_seed(2)
    for batch, frames, width in ((1, 2, dim), (3, 7, dim + free_dim * 27), (2, 1001, dim)):
        given = build(generator, batch, frames, width)
        with torch.no_grad():
            expected, actual = module(given), program(given)
        assert actual.shape == expected.shape, (batch, frames, width)
        assert float((actual - expected).abs().max()) <= 1e-5 * max(float(expected.abs().max()), 1.0)


def test_exported_process_pitch_keeps_the_value_check() -> None:
    module = registry.create("kaldi:process_pitch").eval()
    shapes = ({0: Dim("batch", min=1, max=64), 1: Dim("frames", min=2, max=360_000)},)
    raw = _raw_pitch(torch.Generator().manual_seed(1), 2, 50, 2)
    program = torch.export.export(module, (raw,), dynamic_shapes=shapes).module()
    with pytest.raises(RuntimeError, match="non-negative"):
        program(-raw)


def test_exported_kaldi_pitch_equals_eager_exactly_with_the_search_as_one_operator() -> None:
    # The Viterbi search is the operator tympan::pitch_viterbi (a loop compiled with numba); the program holds
    # it as one node and gives eager's output bit for bit, down to the shortest length it accepts.
    module = registry.create("kaldi:pitch").eval()
    shortest = declared_min_frames(module)
    assert shortest == 733
    exported = export_module(module, (0.3 * torch.randn(2, 16000),), ExportRange(shortest, 16000 * 3600, 64))
    targets = [node.target for node in exported.graph.nodes if node.op == "call_function"]
    assert targets.count(torch.ops.tympan.pitch_viterbi.default) == 1
    program = exported.module()
    generator = torch.Generator().manual_seed(4)
    for batch, length in ((1, shortest), (3, shortest + 1), (2, 16001)):
        waveform = 0.3 * torch.randn(batch, length, generator=generator)
        with torch.no_grad():
            assert torch.equal(program(waveform), module(waveform)), (batch, length)
