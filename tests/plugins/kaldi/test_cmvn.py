"""CMVN against kaldi-native-fbank's compute_cmvn_stats and apply_cmvn, and the sliding form against
torchaudio.functional.sliding_window_cmn (Kaldi's apply-cmvn-sliding)."""

from __future__ import annotations

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch
import torchaudio.functional as ta_functional

from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.plugins.kaldi.functional import apply_cmvn, compute_cmvn_stats
from tympan.plugins.kaldi.postprocess import Cmvn


def features(seed: int, frames: int = 300, dim: int = 13) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((frames, dim)) * rng.uniform(0.5, 20, dim) + rng.uniform(-50, 50, dim)).astype(
        np.float32
    )


def test_statistics_match_kaldi_native_fbank() -> None:
    # Tolerance: float64 statistics, rtol 1e-12 (sums of float32 values in different orders).
    feats = features(0)
    np.testing.assert_allclose(
        compute_cmvn_stats(torch.from_numpy(feats)).numpy(), knf.compute_cmvn_stats(feats), rtol=1e-12
    )


@pytest.mark.parametrize("norm_vars", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_apply_matches_kaldi_native_fbank(norm_vars, reverse) -> None:
    # Tolerance: float32, rtol 1e-6, atol 1e-5 (one multiply-add per value, rounding order may differ).
    feats, other = features(1), features(2)
    stats = knf.compute_cmvn_stats(other)
    expected = knf.apply_cmvn(stats, knf.CmvnOptions(norm_vars=norm_vars, reverse=reverse), feats)
    actual = apply_cmvn(torch.from_numpy(feats), torch.from_numpy(stats), norm_vars=norm_vars, reverse=reverse)
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-6, atol=1e-5)


def test_per_utterance_per_speaker_and_global_statistics() -> None:
    # Tolerance: float32, rtol 1e-6, atol 1e-5 (as above).
    utterances = [features(seed, frames=100 + 10 * seed) for seed in range(3)]
    speaker = sum(knf.compute_cmvn_stats(u) for u in utterances)
    options = knf.CmvnOptions(norm_vars=True)
    module = Cmvn(norm_vars=True)
    for utterance in utterances:
        tensor = torch.from_numpy(utterance)
        own = knf.apply_cmvn(knf.compute_cmvn_stats(utterance), options, utterance)
        np.testing.assert_allclose(module(tensor).numpy(), own, rtol=1e-6, atol=1e-5)
        by_speaker = knf.apply_cmvn(speaker, options, utterance)
        np.testing.assert_allclose(
            module(tensor, stats=torch.from_numpy(speaker)).numpy(), by_speaker, rtol=1e-6, atol=1e-5
        )
        global_module = Cmvn(stats=speaker, norm_vars=True)
        np.testing.assert_allclose(global_module(tensor).numpy(), by_speaker, rtol=1e-6, atol=1e-5)


def test_lengths_use_each_utterances_own_frames() -> None:
    # Tolerance: float32, rtol 1e-6, atol 1e-5 (as above).
    utterances = [features(seed, frames=80 + 20 * seed) for seed in range(3)]
    lengths = torch.tensor([len(u) for u in utterances])
    padded = torch.zeros(3, int(lengths.max()), 13)
    for index, utterance in enumerate(utterances):
        padded[index, : len(utterance)] = torch.from_numpy(utterance)
    normalised, returned = Cmvn(norm_vars=True)(padded, lengths=lengths)
    assert torch.equal(returned, lengths)
    for index, utterance in enumerate(utterances):
        expected = knf.apply_cmvn(knf.compute_cmvn_stats(utterance), knf.CmvnOptions(norm_vars=True), utterance)
        np.testing.assert_allclose(normalised[index, : len(utterance)].numpy(), expected, rtol=1e-6, atol=1e-5)
        assert normalised[index, len(utterance) :].eq(0).all()


@pytest.mark.parametrize(
    "options",
    [
        {"cmn_window": 600, "min_cmn_window": 100, "center": False, "norm_vars": False},
        {"cmn_window": 50, "min_cmn_window": 10, "center": False, "norm_vars": True},
        {"cmn_window": 200, "min_cmn_window": 100, "center": False, "norm_vars": True},
        {"cmn_window": 61, "center": True, "norm_vars": True},
    ],
)
def test_sliding_matches_torchaudio(options) -> None:
    # Tolerance: float64, rtol 1e-9, atol 1e-9 (running sums against torchaudio's direct window sums).
    feats = torch.from_numpy(features(4, frames=260)).to(torch.float64)
    expected = ta_functional.sliding_window_cmn(feats, **options)
    actual = Cmvn(sliding=True, **options)(feats)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-9)
    lengths = torch.tensor([260, 150])
    batch = torch.stack([feats, torch.cat([feats[:150], torch.zeros(110, 13, dtype=torch.float64)])])
    padded, _ = Cmvn(sliding=True, **options)(batch, lengths=lengths)
    short = ta_functional.sliding_window_cmn(feats[:150], **options)
    torch.testing.assert_close(padded[1, :150], short, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"norm_vars": True, "norm_means": False}, "norm_means"),
        ({"stats": [[1.0, 2.0, 3.0]], "norm_vars": True}, "second row"),
        ({"stats": [[1.0], [2.0]]}, r"\(2, dim \+ 1\)"),
        ({"sliding": True, "reverse": True}, "sliding"),
    ],
)
def test_bad_parameters_are_typed_errors(kwargs, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        Cmvn(**kwargs)


def test_bad_statistics_are_value_errors() -> None:
    feats = torch.zeros(10, 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, dim \+ 1\)"):
        apply_cmvn(feats, torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="frame count"):
        apply_cmvn(feats, torch.zeros(2, 4, dtype=torch.float64))


def test_registered_and_configurable_with_nested_lists() -> None:
    module = registry.create("kaldi:cmvn", stats=[[2.0, 4.0, 2.0], [4.0, 10.0, 0.0]], norm_vars=True)
    assert module(torch.tensor([[1.0, 1.0], [1.0, 3.0]])).tolist() == [[0.0, -1.0], [0.0, 1.0]]


def test_global_statistics_from_a_kaldi_file(tmp_path) -> None:
    # Tolerance: float32, rtol 1e-6, atol 1e-5 (as above); the file holds the float64 statistics exactly.
    from tympan.core.errors import KaldiFormatError
    from tympan.plugins.kaldi.io import write_object

    feats, other = features(5), features(6)
    stats = knf.compute_cmvn_stats(other)
    write_object(tmp_path / "global_cmvn.stats", torch.from_numpy(stats))
    module = Cmvn(stats_rxfilename=str(tmp_path / "global_cmvn.stats"), norm_vars=True)
    expected = knf.apply_cmvn(stats, knf.CmvnOptions(norm_vars=True), feats)
    np.testing.assert_allclose(module(torch.from_numpy(feats)).numpy(), expected, rtol=1e-6, atol=1e-5)
    write_object(tmp_path / "vector", torch.zeros(5))
    with pytest.raises(KaldiFormatError, match="vector"):
        Cmvn(stats_rxfilename=str(tmp_path / "vector"))
    with pytest.raises(InvalidParameterError, match="not both"):
        Cmvn(stats=stats, stats_rxfilename=str(tmp_path / "global_cmvn.stats"))
