"""Effect chains: SoX's grammar, the rate handling, batches with lengths, TorchScript, the pipeline step, and
bad input raising typed errors before any work is done."""

from __future__ import annotations

import pickle

import pytest
import torch

import tympan
from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.pipeline import Pipeline
from tympan.plugins.sox import EffectChain, SoxEffectError, UnknownEffectError, apply_effects, functional, parse_effects
from tympan.plugins.sox._grammar import parse_position, parse_time


def noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return 0.3 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("text", "rate", "samples"),
    [("1.5", 44100, 66150), ("0:01.5", 8000, 12000), ("8000s", 44100, 8000), ("1:00:00", 10, 36000), ("2t+3s", 10, 23)],
)
def test_time_specifications(text, rate, samples):
    assert parse_time(text, rate) == samples


def test_positions_relative_to_the_start_the_previous_and_the_end():
    assert parse_position("=2", 10, latest=5, end=100) == 20
    assert parse_position("+2", 10, latest=5, end=100) == 25
    assert parse_position("-0.5", 10, latest=5, end=100) == 95


def test_text_and_lists_give_the_same_chain():
    text = parse_effects('gain -n speed 0.8 rate 16k pad 0 1.5 trim 0 2 vol "6 dB"')
    assert text[:3] == [("gain", ["-n"]), ("speed", ["0.8"]), ("rate", ["16k"])]
    assert text[-1] == ("vol", ["6 dB"])
    x = noise(2, 8000)
    a, rate_a = apply_effects(x, 8000, "gain -n speed 0.8 rate 16k pad 0 0.5 trim 0 1")
    b, rate_b = apply_effects(
        x, 8000, [["gain", "-n"], ["speed", "0.8"], ["rate", "16k"], ["pad", "0", "0.5"], ["trim", "0", "1"]]
    )
    assert rate_a == rate_b == 16000 and torch.equal(a, b) and a.shape == (2, 16000)


def test_speed_relabels_the_rate_and_one_resampling_follows():
    chain = EffectChain("speed 0.9 rate 16k", sample_rate=44100)
    assert chain.step_names == ["rate"] and chain.steps[0].sample_rate == pytest.approx(39690.0)
    alone = EffectChain("speed 1.25", sample_rate=16000)
    assert alone.output_sample_rate == 16000 and alone(noise(1, 16000)).shape == (1, 12800)
    upsampled = EffectChain("upsample 2", sample_rate=8000)
    assert upsampled.step_names == ["upsample", "rate"] and upsampled.output_sample_rate == 8000
    assert EffectChain("upsample 2", sample_rate=8000, output_rate=16000).step_names == ["upsample"]


def test_a_chain_ends_with_the_channels_sox_writes():
    # reverb makes mono stereo, but the sox program writes the channels the input (or remix) had
    assert EffectChain("reverb", sample_rate=8000, channels=1).step_names == ["reverb", "channels"]
    assert EffectChain("reverb remix 1 2", sample_rate=8000, channels=1).step_names == ["reverb", "remix"]


def test_channels_first_false_and_batches():
    x = noise(3, 2, 4000)
    out, _ = apply_effects(x, 16000, "highpass 300 gain -3")
    for item in range(3):
        alone, _ = apply_effects(x[item], 16000, "highpass 300 gain -3")
        torch.testing.assert_close(out[item], alone)
    flipped, _ = apply_effects(x[0].T, 16000, "highpass 300 gain -3", channels_first=False)
    torch.testing.assert_close(flipped.T, out[0])


def test_lengths_in_batches_match_each_signal_alone():
    chain = EffectChain("gain -n speed 0.9 rate 16k pad 0 0.5 trim 0 1.2 reverse fade 0.1 0 0.1", sample_rate=16000)
    lengths = torch.tensor([16000, 9000, 12345])
    x = noise(3, 1, 16000) * (torch.arange(16000) < lengths[:, None, None])
    out, out_lengths = chain.forward_with_lengths(x, lengths)
    for item, length in enumerate(lengths.tolist()):
        alone = chain(x[item, :, :length])
        assert out_lengths[item] == alone.shape[-1]
        torch.testing.assert_close(out[item, :, : alone.shape[-1]], alone, rtol=0, atol=1e-6)
        assert not out[item, :, alone.shape[-1] :].any()


def test_a_scripted_chain_gives_the_same_output():
    chain = EffectChain(
        "gain -n highpass 100 lowpass 7k speed 0.9 rate -I 16k pad 0 0.5 trim 0 1 remix 1,2 fade 0.1",
        sample_rate=44100,
        channels=2,
    )
    x = noise(2, 2, 44100)
    torch.testing.assert_close(torch.jit.script(chain)(x), chain(x), rtol=0, atol=0)
    torch.testing.assert_close(pickle.loads(pickle.dumps(chain))(x), chain(x), rtol=0, atol=0)


def test_pipeline_step_and_registry():
    pipeline = Pipeline.from_config({"sample_rate": 16000, "steps": [{"sox": {"effects": "highpass 300 gain -3"}}]})
    assert pipeline.step_names == ["sox:sox"]
    x = noise(1, 1600)
    torch.testing.assert_close(pipeline(x), apply_effects(x, 16000, "highpass 300 gain -3")[0])
    rated = Pipeline.from_config({"sample_rate": 44100, "steps": [{"sox": {"effects": "rate 16k"}}, {"mfcc": {}}]})
    assert rated.built[1].params["sample_rate"] == 16000
    assert {"sox:gain", "sox:rate", "sox:sox"} <= set(registry.names("effect", "sox:*"))


def test_functional_forms_build_the_modules():
    x = noise(2, 800)
    torch.testing.assert_close(
        functional.lowpass(x, 8000, frequency=1000.0),
        registry.create("sox:lowpass", sample_rate=8000, frequency=1000.0)(x),
    )
    assert functional.gain.__doc__.startswith("SoX ``gain``")


def test_apply_effects_file_reads_through_tympan_load():
    from tympan.plugins.sox import apply_effects_file

    out, rate = apply_effects_file(tympan.assets.path("speech"), "trim 0 0.25 rate 8k")
    assert rate == 8000 and out.shape == (1, 2000)


@pytest.mark.parametrize(
    ("effects", "error", "message"),
    [
        ("hghpass 300", UnknownEffectError, "did you mean: highpass"),
        ("", SoxEffectError, "empty"),
        ("gain -x", SoxEffectError, "sox gain: invalid option '-x'"),
        ("lowpass 1k 2z", SoxEffectError, "sox lowpass: width '2z'"),
        ("speed 0", SoxEffectError, "sox speed: factor must be positive"),
        ("rate 0", SoxEffectError, "sox rate"),
        ("rate -q -s 16k", SoxEffectError, "override options not allowed"),
        ("remix 3", SoxEffectError, "sox remix: too few input channels"),
        ("pad 1@2", SoxEffectError, "sox pad: pad position after end of audio"),
        ("lowpass 9k", SoxEffectError, "sox lowpass: frequency 9000 Hz must be less than half the sample rate"),
        ("trim 0 1x", SoxEffectError, "sox trim"),
        ("fade 0.3 0.4 0.3", SoxEffectError, "fade-out overlaps fade-in"),
        ("gain -r", SoxEffectError, "can't reclaim headroom"),
        ("spectrogram", SoxEffectError, "not provided"),
    ],
)
def test_bad_chains_fail_before_any_work(effects, error, message):
    with pytest.raises(error, match=message):
        apply_effects(noise(2, 8000), 16000, effects)


def test_bad_parameters_are_typed_errors():
    with pytest.raises(InvalidParameterError, match="frequency"):
        registry.create("sox:lowpass", sample_rate=8000, frequency=-5.0)
    with pytest.raises(SoxEffectError, match="expected a floating-point waveform"):
        apply_effects(torch.zeros(100), 8000, "gain -3")
