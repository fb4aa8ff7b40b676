"""The SoX voice activity detector against the ``sox`` binary (``sox in.wav out.wav vad ...``), and the
contract of its transform."""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._vad import vad
from tympan.plugins.dsp.transforms._analysis import Vad

ASSET = Path(__file__).parents[3] / "src" / "tympan" / "assets" / "speech.flac"
RATE = 16000


def quantised(x: np.ndarray) -> np.ndarray:
    """``x`` on the 32-bit integer grid SoX works on, so that both sides see identical samples."""
    return np.round(np.clip(x, -1, 1 - 2.0**-31) * 2.0**31) / 2.0**31


def run_sox(tmp_path: Path, x: np.ndarray, options: list[str]) -> np.ndarray:
    """``(channels, time')`` from ``sox -D in.wav out.wav vad OPTIONS`` on 32-bit PCM ``x`` ``(channels, time)``."""
    if shutil.which("sox") is None:
        pytest.skip("needs the sox binary")
    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(source, x.T, RATE, subtype="PCM_32")
    subprocess.run(["sox", "-D", str(source), str(target), "vad", *options], check=True, capture_output=True)
    out, rate = sf.read(target, dtype="float64", always_2d=True)
    assert rate == RATE
    return out.T


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """The speech clip after 1.5 s of low noise, with the same noise under it."""
    clip, rate = sf.read(ASSET, dtype="float64")
    assert rate == RATE
    rng = np.random.default_rng(0)
    lead = 0.003 * rng.standard_normal(int(1.5 * RATE))
    return quantised(np.concatenate([lead, clip + 0.003 * rng.standard_normal(clip.size)]))


def harmonic(seconds: float, onset: float, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """Quiet noise, then a seven-harmonic tone from ``onset`` seconds."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 8))
    return quantised(0.3 * tone * (t >= onset) + 1e-3 * rng.standard_normal(t.size))


OPTIONS = {
    "defaults": ([], {}),
    "pre_trigger": (["-p", "0.3"], {"pre_trigger_time": 0.3}),
    "fast_trigger": (
        ["-t", "5", "-T", "0.1", "-g", "0.1"],
        {"trigger_level": 5.0, "trigger_time": 0.1, "allowed_gap": 0.1},
    ),
    # SoX keeps -m at 0.1 s when only -f is given, so both are passed.
    "measurement": (
        ["-f", "10", "-m", "0.15", "-M", "0.2", "-b", "0.5", "-N", "0.2", "-n", "0.05", "-r", "1.0"],
        {
            "measure_freq": 10.0,
            "measure_duration": 0.15,
            "measure_smooth_time": 0.2,
            "boot_time": 0.5,
            "noise_up_time": 0.2,
            "noise_down_time": 0.05,
            "noise_reduction_amount": 1.0,
        },
    ),
    "bands": (
        ["-h", "100", "-l", "4000", "-H", "100", "-L", "1500", "-s", "0.5"],
        {
            "hp_filter_freq": 100.0,
            "lp_filter_freq": 4000.0,
            "hp_lifter_freq": 100.0,
            "lp_lifter_freq": 1500.0,
            "search_time": 0.5,
        },
    ),
}


@pytest.mark.parametrize("case", list(OPTIONS))
def test_speech_matches_sox(tmp_path, speech, case) -> None:
    # Tolerance: exact. The output length equals SoX's to the sample and the samples are the input's own
    # (both sides read the same 32-bit integer samples).
    options, kwargs = OPTIONS[case]
    expected = run_sox(tmp_path, speech[None], options)
    ours = vad(torch.from_numpy(speech), RATE, **kwargs).numpy()
    assert 0 < ours.shape[-1] < speech.size
    np.testing.assert_array_equal(ours, expected[0])


def test_multichannel_matches_sox(tmp_path, speech) -> None:
    # Tolerance: exact. Channels triggering at different times: the earliest decides, and all channels are
    # cut by the same amount. Four channels exercise SoX's channel-to-detector assignment (three are left out:
    # SoX 14.4.2 truncates its own output when its 8192-sample buffer is not a whole number of frames).
    second = quantised(np.concatenate([np.zeros(4000), speech[:-4000]]) * 0.7)
    third = harmonic(speech.size / RATE, 1.1, seed=3)
    for stack in ([speech, second], [second, speech], [third, second, speech, third], [third, speech]):
        x = np.stack(stack)
        expected = run_sox(tmp_path, x, [])
        ours = vad(torch.from_numpy(x), RATE).numpy()
        assert ours.shape == expected.shape
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("onset", [0.9, 1.37, 2.5])
def test_synthetic_onsets_match_sox(tmp_path, onset) -> None:
    # Tolerance: exact. The kept start is on the 0.05 s measurement grid, no more than one measurement window
    # (0.1 s) plus one step (0.05 s) before the onset.
    x = harmonic(4.0, onset)
    expected = run_sox(tmp_path, x[None], [])
    ours = vad(torch.from_numpy(x), RATE).numpy()
    np.testing.assert_array_equal(ours, expected[0])
    start = (x.size - ours.size) / RATE
    assert onset - 0.15 - 1e-9 <= start <= onset


def test_pre_trigger_before_the_first_sample_pads_zeros_like_sox(tmp_path) -> None:
    # Tolerance: exact. With 2 s of pre-trigger and activity at 0.9 s, SoX emits zeros before the input.
    x = harmonic(3.0, 0.9)
    expected = run_sox(tmp_path, x[None], ["-p", "2"])
    ours = vad(torch.from_numpy(x), RATE, pre_trigger_time=2.0).numpy()
    assert ours.size > x.size
    np.testing.assert_array_equal(ours, expected[0])


def test_nothing_triggers_on_noise_or_silence(tmp_path) -> None:
    noise = quantised(0.01 * np.random.default_rng(1).standard_normal(2 * RATE))
    assert run_sox(tmp_path, noise[None], []).shape[-1] == 0
    assert vad(torch.from_numpy(noise), RATE).shape == (0,)
    silent = vad(torch.zeros(2, 3, RATE), RATE)
    assert silent.shape == (2, 3, 0)


def test_module_equals_functional_and_keeps_dtype(speech) -> None:
    x = torch.from_numpy(speech)
    module = Vad(RATE, trigger_level=6.0)
    expected = vad(x, RATE, trigger_level=6.0)
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)
    assert module(x.float()).dtype == torch.float32
    assert module(x.float()).shape == expected.shape


def test_batch_is_one_recording_and_items_alike_trim_alike() -> None:
    module = Vad(RATE)
    batch = module.example_input(3)
    together = module(batch)
    assert 0 < together.shape[-1] < batch.shape[-1]
    for i in range(3):
        torch.testing.assert_close(together[i], module(batch[i]))
    # Leading dimensions are channels: (2, 3, time) decides as six channels.
    flat = module(batch.reshape(6, -1))
    torch.testing.assert_close(together.reshape(6, -1), flat)


def test_torchscript_and_pickle() -> None:
    module = Vad(RATE, pre_trigger_time=0.1)
    x = module.example_input(2)
    expected = module(x)
    torch.testing.assert_close(torch.jit.script(module)(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trigger_level": -1.0},
        {"trigger_time": 0.0},
        {"search_time": 5.0},
        {"noise_down_time": 0.5},
        {"measure_freq": 2.0},
        {"lp_filter_freq": 500.0},
        {"hp_lifter_freq": 2500.0},
        {"sample_rate": 0},
    ],
)
def test_bad_parameters_raise_at_construction(kwargs) -> None:
    arguments = {"sample_rate": RATE, **kwargs}
    with pytest.raises(InvalidParameterError):
        Vad(**arguments)


def test_functional_rejects_impossible_geometry() -> None:
    with pytest.raises(ValueError, match="lifter"):
        vad(torch.zeros(RATE), RATE, hp_lifter_freq=3000.0, lp_lifter_freq=2000.0)
    with pytest.raises(ValueError, match="trigger_time"):
        vad(torch.zeros(RATE), RATE, trigger_time=0.0)
