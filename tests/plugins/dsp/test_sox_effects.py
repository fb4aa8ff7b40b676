"""SoX effects (contrast, dcshift, overdrive, phaser, flanger) against the ``sox`` program, sample by sample.

The signal goes through a 32-bit float WAV into ``sox ... -e floating-point -b 32`` and back. SoX converts it
to 32-bit integers inside (steps of 2**-31) and its output to float32 (steps of 2**-24 near 1), so the
comparisons allow 1e-6; the implementations agree with it to about 3e-8, the float32 output rounding,
including the LFO-modulated phaser and flanger, whose delay tables are SoX's own entry for entry.
"""

from __future__ import annotations

import math
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._modulated_delay import feedback_delay, lfo_at, lfo_table
from tympan.plugins.dsp.functional._sox_effects import contrast, dcshift, flanger, overdrive, phaser
from tympan.plugins.dsp.transforms._sox_effects import Contrast, DCShift, Flanger, Overdrive, Phaser

RATE = 16000
#: float32 WAV output rounding (<= 2**-24 * |y| <= 6e-8) and SoX's 2**-31 integer grid, with margin
SOX_TOLERANCE = 1e-6


def run_sox(signal: np.ndarray, rate: int, effect: list[str], tmp_path: Path) -> np.ndarray:
    """``signal`` (channels, time) through ``sox in.wav -e floating-point -b 32 out.wav EFFECT``."""
    if shutil.which("sox") is None:
        pytest.skip("the sox program is not installed")
    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(source, signal.T.astype(np.float32), rate, subtype="FLOAT")
    subprocess.run(
        ["sox", "-V1", str(source), "-e", "floating-point", "-b", "32", str(target), *effect],
        check=True,
        capture_output=True,
    )
    out, _ = sf.read(target, dtype="float64", always_2d=True)
    return out.T


def full_scale(signal: torch.Tensor) -> torch.Tensor:
    """``signal`` scaled to peak at 0.95 (SoX clips its input to [-1, 1)), as float64 holding float32 values."""
    scaled = signal / signal.abs().max() * 0.95
    return scaled.to(torch.float32).to(torch.float64)


@pytest.fixture
def stereo(chirp) -> torch.Tensor:
    """Two different chirps plus noise, 0.5 s at 16 kHz, peaking at 0.95, as the WAV file holds them."""
    return full_scale(chirp(sample_rate=RATE, seconds=0.5, batch=(2,)))


CASES = [
    ("contrast", {}, ["contrast"]),
    ("contrast", {"enhancement_amount": 20.0}, ["contrast", "20"]),
    ("contrast", {"enhancement_amount": 100.0}, ["contrast", "100"]),
    ("dcshift", {"shift": 0.3}, ["dcshift", "0.3"]),
    ("dcshift", {"shift": -0.45}, ["dcshift", "-0.45"]),
    ("dcshift", {"shift": 0.5, "limiter_gain": 0.1}, ["dcshift", "0.5", "0.1"]),
    ("dcshift", {"shift": -0.3, "limiter_gain": 0.05}, ["dcshift", "-0.3", "0.05"]),
    ("overdrive", {}, ["overdrive"]),
    ("overdrive", {"gain": 10.0, "colour": 50.0}, ["overdrive", "10", "50"]),
    ("overdrive", {"gain": 40.0, "colour": 0.0}, ["overdrive", "40", "0"]),
    ("phaser", {}, ["phaser", "0.4", "0.74", "3", "0.4", "0.5"]),
    (
        "phaser",
        {"gain_in": 0.6, "gain_out": 0.8, "delay_ms": 4.0, "decay": 0.8, "mod_speed": 1.5, "sinusoidal": False},
        ["phaser", "0.6", "0.8", "4", "0.8", "1.5", "-t"],
    ),
    ("phaser", {"delay_ms": 0.5, "decay": 0.99, "mod_speed": 2.0}, ["phaser", "0.4", "0.74", "0.5", "0.99", "2"]),
    ("flanger", {}, ["flanger"]),
    ("flanger", {"regen": -80.0}, ["flanger", "0", "2", "-80"]),
    (
        "flanger",
        {
            "delay": 1.0,
            "depth": 3.0,
            "regen": 60.0,
            "width": 50.0,
            "speed": 2.0,
            "phase": 40.0,
            "modulation": "triangular",
            "interpolation": "quadratic",
        },
        ["flanger", "1", "3", "60", "50", "2", "triangle", "40", "quadratic"],
    ),
    (
        "flanger",
        {"delay": 20.0, "depth": 10.0, "regen": 95.0, "width": 100.0, "speed": 10.0, "phase": 100.0},
        ["flanger", "20", "10", "95", "100", "10", "sine", "100"],
    ),
]
FUNCTIONS = {"contrast": contrast, "dcshift": dcshift, "overdrive": overdrive, "phaser": phaser, "flanger": flanger}
RATED = {"phaser", "flanger"}


@pytest.mark.parametrize(("name", "kwargs", "effect"), CASES, ids=[" ".join(case[2]) for case in CASES])
def test_matches_sox(name, kwargs, effect, stereo, tmp_path):
    reference = run_sox(stereo.numpy(), RATE, effect, tmp_path)
    extra = {"sample_rate": RATE} if name in RATED else {}
    ours = FUNCTIONS[name](stereo, **extra, **kwargs)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=SOX_TOLERANCE)


def test_flanger_four_channels_match_sox(chirp, tmp_path):
    # SoX's flanger offsets channel c by c * phase of a sweep; 4 channels is SoX's maximum
    signal = full_scale(chirp(sample_rate=RATE, seconds=0.25, batch=(4,), seed=3))
    reference = run_sox(signal.numpy(), RATE, ["flanger", "2", "4", "30", "71", "3", "sine", "30"], tmp_path)
    ours = flanger(signal, RATE, delay=2.0, depth=4.0, regen=30.0, speed=3.0, phase=30.0)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=SOX_TOLERANCE)


def test_phaser_at_44100_matches_sox(chirp, tmp_path):
    signal = full_scale(chirp(sample_rate=44100, seconds=0.3, batch=(1,), seed=5))
    reference = run_sox(signal.numpy(), 44100, ["phaser", "0.5", "0.9", "2.5", "0.7", "0.3"], tmp_path)
    ours = Phaser(44100, gain_in=0.5, gain_out=0.9, delay_ms=2.5, decay=0.7, mod_speed=0.3)(signal)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=SOX_TOLERANCE)


def test_feedback_delay_matches_the_recursion():
    # brute force: the recursion one sample at a time in float64, with several blocks and taps inside them
    generator = torch.Generator().manual_seed(0)
    drive = torch.randn(3, 2, 300, generator=generator, dtype=torch.float64)
    lags = torch.randint(1, 40, (2, 3, 300), generator=generator)
    weights = torch.rand(2, 3, 300, generator=generator, dtype=torch.float64) * 0.6 - 0.3
    expected, lag, weight = drive.numpy().copy(), lags.numpy(), weights.numpy()
    for n in range(300):
        for c in range(2):
            for k in range(3):
                source = n - lag[c, k, n]
                if source >= 0:
                    expected[:, c, n] += weight[c, k, n] * expected[:, c, source]
    for block in (1, 7, 64, 512):
        np.testing.assert_allclose(feedback_delay(drive, lags, weights, block).numpy(), expected, rtol=0, atol=1e-12)


def _modules() -> list[torch.nn.Module]:
    return [
        Contrast(60.0),
        DCShift(0.2),
        DCShift(-0.3, limiter_gain=0.05),
        Overdrive(25.0, 30.0),
        Phaser(RATE, decay=0.7),
        Flanger(RATE, regen=50.0, interpolation="quadratic"),
    ]


@pytest.mark.parametrize("module", _modules(), ids=lambda m: type(m).__name__)
def test_module_contract(module, chirp):
    x = chirp(sample_rate=RATE, seconds=0.1, batch=(3, 2), dtype=torch.float32, seed=1) * 0.8
    out = module(x)
    assert out.shape == x.shape and out.dtype == torch.float32
    # batch consistency: each item alone gives the same
    for item in range(3):
        torch.testing.assert_close(module(x[item]), out[item], rtol=0, atol=1e-6)
    # TorchScript gives the same output (to float32 rounding for overdrive, whose eager IIR filter is a compiled
    # loop over time and the scripted one the block recursion; exactly for the others), and so does pickling
    scripted_atol = 1e-5 if isinstance(module, Overdrive) else 0.0
    torch.testing.assert_close(torch.jit.script(module)(x), out, rtol=0, atol=scripted_atol)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(x), out, rtol=0, atol=0)
    # silence stays finite; half precision is computed in float32 and returned in its own dtype
    assert torch.isfinite(module(torch.zeros(2, 2, 500))).all()
    for dtype in (torch.float16, torch.bfloat16):
        low = module(x.to(dtype))
        assert low.dtype == dtype
        torch.testing.assert_close(low.float(), module(x.to(dtype).float()), rtol=0, atol=1e-2)
    assert module(torch.zeros(2, 0)).shape == (2, 0)


def test_functional_matches_module(stereo):
    stereo = stereo[:, :2000]
    torch.testing.assert_close(Phaser(RATE, decay=0.6)(stereo), phaser(stereo, RATE, decay=0.6))
    torch.testing.assert_close(Flanger(RATE, regen=20.0)(stereo), flanger(stereo, RATE, regen=20.0))
    torch.testing.assert_close(Overdrive(30.0)(stereo), overdrive(stereo, 30.0))


def test_flanger_one_dimensional_input_is_one_channel(stereo):
    torch.testing.assert_close(flanger(stereo[0], RATE, regen=40.0), flanger(stereo[:1], RATE, regen=40.0)[0])


GRADIENTS = [
    lambda x: contrast(x, 75.0),
    lambda x: overdrive(x, 15.0, 20.0),
    lambda x: dcshift(x, 0.1),
    lambda x: phaser(x, 8000, delay_ms=1.0, decay=0.7),
    lambda x: flanger(x, 8000, delay=0.5, depth=1.0, regen=60.0, speed=5.0, interpolation="quadratic"),
]


@pytest.mark.parametrize("effect", GRADIENTS, ids=["contrast", "overdrive", "dcshift", "phaser", "flanger"])
def test_gradcheck(effect):
    generator = torch.Generator().manual_seed(2)
    x = (0.2 * torch.randn(2, 40, generator=generator, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(effect, (x,))


def test_feedback_gradcheck_across_blocks():
    generator = torch.Generator().manual_seed(4)
    drive = torch.randn(1, 2, 30, generator=generator, dtype=torch.float64).requires_grad_()
    lags = torch.randint(1, 9, (2, 2, 30), generator=generator)
    weights = torch.rand(2, 2, 30, generator=generator, dtype=torch.float64) * 0.8 - 0.4
    assert torch.autograd.gradcheck(lambda d: feedback_delay(d, lags, weights, 8), (drive,))


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (Contrast, {"enhancement_amount": 101.0}),
        (Contrast, {"enhancement_amount": -1.0}),
        (DCShift, {"shift": 2.5}),
        (DCShift, {"shift": 0.2, "limiter_gain": -0.1}),
        (Overdrive, {"gain": 120.0}),
        (Overdrive, {"colour": -5.0}),
        (Phaser, {"sample_rate": RATE, "decay": 0.995}),
        (Phaser, {"sample_rate": RATE, "delay_ms": 5.5}),
        (Phaser, {"sample_rate": 8000, "delay_ms": 0.05}),
        (Phaser, {"sample_rate": RATE, "mod_speed": 2.5}),
        (Phaser, {"sample_rate": RATE, "gain_in": 1.5}),
        (Phaser, {"sample_rate": 0}),
        (Flanger, {"sample_rate": RATE, "delay": 31.0}),
        (Flanger, {"sample_rate": RATE, "depth": 11.0}),
        (Flanger, {"sample_rate": RATE, "regen": 96.0}),
        (Flanger, {"sample_rate": RATE, "width": 101.0}),
        (Flanger, {"sample_rate": RATE, "speed": 0.05}),
        (Flanger, {"sample_rate": RATE, "phase": 101.0}),
        (Flanger, {"sample_rate": RATE, "modulation": "square"}),
        (Flanger, {"sample_rate": RATE, "interpolation": "cubic"}),
    ],
)
def test_bad_parameters_raise_at_construction(cls, kwargs):
    with pytest.raises(InvalidParameterError):
        cls(**kwargs)


@pytest.mark.parametrize(
    ("effect", "kwargs", "name"),
    [
        (contrast, {"enhancement_amount": 150.0}, "enhancement_amount"),
        (overdrive, {"gain": -1.0}, "gain"),
        (dcshift, {"shift": 3.0}, "shift"),
        (phaser, {"sample_rate": RATE, "decay": 1.0}, "decay"),
        (phaser, {"sample_rate": 8000, "delay_ms": 0.01}, "delay_ms"),
        (flanger, {"sample_rate": RATE, "modulation": "square"}, "modulation"),
        (flanger, {"sample_rate": RATE, "regen": -99.0}, "regen"),
    ],
)
def test_functional_rejects_bad_parameters(effect, kwargs, name):
    with pytest.raises(ValueError, match=name):
        effect(torch.zeros(1, 100), **kwargs)


def test_sample_rate_is_declared():
    assert Phaser.sample_rate_param == "sample_rate" and Flanger.sample_rate_param == "sample_rate"
    assert Phaser(22050).output_sample_rate == 22050 and Flanger(8000).output_sample_rate == 8000
    assert all(cls.produces_waveform for cls in (Contrast, DCShift, Overdrive, Phaser, Flanger))


@pytest.mark.parametrize(
    ("module", "effect"),
    [
        (
            lambda: Phaser(10_000_000, delay_ms=0.2, decay=0.7, mod_speed=2.0),
            ["phaser", "0.4", "0.74", "0.2", "0.7", "2"],
        ),
        (
            lambda: Flanger(10_000_000, depth=0.3, regen=40.0, speed=10.0),
            ["flanger", "0", "0.3", "40", "71", "10", "sine", "25"],
        ),
    ],
    ids=["phaser", "flanger"],
)
def test_sweeps_at_absurd_rates_match_sox_without_a_table(chirp, tmp_path, module, effect):
    # at 10 MHz a sweep period is millions of samples: only the entries the input reads are computed (delays
    # of up to 2000 and 3000 samples, so the 4000-sample input feeds back into itself)
    built = module()
    assert sum(buffer.numel() for buffer in built.buffers()) == 0
    signal = full_scale(chirp(sample_rate=RATE, seconds=0.25, batch=(2,)))
    reference = run_sox(signal.numpy(), 10_000_000, effect, tmp_path)
    torch.testing.assert_close(built(signal), torch.from_numpy(reference), rtol=0, atol=SOX_TOLERANCE)


@pytest.mark.parametrize("sinusoidal", [True, False])
def test_lfo_entries_where_needed_are_the_table_entries(sinusoidal):
    size, positions = 1000, torch.tensor([[0, 1, 999, 1000, 123457], [250, 500, 750, 2**40 + 3, 7]])
    for low, high, phase, integer in [(1.0, 24.0, math.pi / 2, True), (3.0, 160.0, 3 * math.pi / 2, False)]:
        table = lfo_table(sinusoidal, size, low, high, phase, integer)
        assert torch.equal(lfo_at(positions, sinusoidal, size, low, high, phase, integer), table[positions % size])
