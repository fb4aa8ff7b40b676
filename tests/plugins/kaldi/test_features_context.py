"""add-deltas and splice-feats against kaldi-native-fbank's compute_deltas and splice_frames."""

from __future__ import annotations

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch

from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.plugins.kaldi.functional import add_deltas, splice
from tympan.plugins.kaldi.postprocess import AddDeltas, Splice


def features(frames: int, dim: int = 13, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((frames, dim)) * 10).astype(np.float32)


@pytest.mark.parametrize(("order", "window"), [(2, 2), (1, 1), (3, 2), (0, 4), (2, 5), (4, 30)])
@pytest.mark.parametrize("frames", [1, 3, 57])
def test_deltas_match_kaldi_native_fbank(order, window, frames) -> None:
    # Tolerance: float32, rtol 1e-5, atol 1e-4 (sums of up to 241 scaled frames, rounding order may differ;
    # windows wider than the input read its edge frames, those taps folded into one read each).
    feats = features(frames, seed=order * 10 + window)
    expected = knf.compute_deltas(knf.DeltaOptions(order=order, window=window), feats)
    np.testing.assert_allclose(
        add_deltas(torch.from_numpy(feats), order, window).numpy(), expected, rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize(("left", "right"), [(4, 4), (0, 0), (3, 0), (0, 7), (10, 2)])
@pytest.mark.parametrize("frames", [1, 5, 40])
def test_splice_matches_kaldi_native_fbank(left, right, frames) -> None:
    # Tolerance: none, splicing copies values.
    feats = features(frames, seed=left + right)
    expected = knf.splice_frames(feats, knf.SpliceOptions(left_context=left, right_context=right))
    np.testing.assert_array_equal(splice(torch.from_numpy(feats), left, right).numpy(), expected)


@pytest.mark.parametrize("module", [AddDeltas(order=2, window=3), Splice(left_context=3, right_context=2)])
def test_batches_and_lengths_give_each_utterance_its_own_edges(module) -> None:
    # Tolerance: float32, rtol 1e-6, atol 1e-5 (the same arithmetic per utterance).
    lengths = torch.tensor([40, 17, 1, 0])
    padded = torch.zeros(4, 40, 6)
    for index, length in enumerate(lengths.tolist()):
        padded[index, :length] = torch.from_numpy(features(length, 6, seed=index))
    output, returned = module(padded, lengths=lengths)
    assert torch.equal(returned, lengths)
    for index, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(output[index, :length], module(padded[index, :length]), rtol=1e-6, atol=1e-5)
        assert output[index, length:].eq(0).all()
    torch.testing.assert_close(module(padded.reshape(2, 2, 40, 6)).reshape(4, 40, -1), module(padded))


def test_bad_parameters_and_inputs() -> None:
    with pytest.raises(InvalidParameterError, match="window"):
        AddDeltas(window=0)
    with pytest.raises(InvalidParameterError, match="left_context"):
        Splice(left_context=-1)
    with pytest.raises(ValueError, match="frames, dim"):
        splice(torch.zeros(5))
    with pytest.raises(ValueError, match="floating-point"):
        add_deltas(torch.zeros(5, 3, dtype=torch.int32))


def test_registered() -> None:
    assert registry.create("kaldi:add_deltas", order=1)(torch.zeros(3, 4)).shape == (3, 8)
    assert registry.create("kaldi:splice", left_context=1, right_context=1)(torch.zeros(3, 4)).shape == (3, 12)
