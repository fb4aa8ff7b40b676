"""Sliding-window CMN against a float64 per-frame brute force of Kaldi's apply-cmvn-sliding, and the contract of
its transform."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._cmn import cmn_window_bounds, longest_cmn_window, sliding_window_cmn
from tympan.plugins.dsp.transforms._cmn import SlidingWindowCmn


def kaldi_sliding_cmn(feats: np.ndarray, cmn_window: int, min_window: int, center: bool, norm_vars: bool) -> np.ndarray:
    """Kaldi's definition, one frame at a time: place the window, then normalise by its mean (and std)."""
    num_frames = feats.shape[0]
    out = np.empty_like(feats)
    for t in range(num_frames):
        if center:
            start = t - cmn_window // 2
            end = start + cmn_window
        else:
            start = t - cmn_window
            end = t + 1
        if start < 0:
            end -= start
            start = 0
        if not center and end > t:
            end = max(t + 1, min_window)
        if end > num_frames:
            start = max(start - (end - num_frames), 0)
            end = num_frames
        window = feats[start:end]
        out[t] = feats[t] - window.mean(axis=0)
        if norm_vars:
            if len(window) == 1:
                out[t] = 0.0
            else:
                out[t] /= np.sqrt(np.maximum(window.var(axis=0), 1e-10))
    return out


def _features(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Non-stationary features: an offset, a slow drift and noise whose scale changes along time."""
    rng = np.random.default_rng(seed)
    frames = shape[-2]
    drift = np.linspace(0.0, 4.0, frames)[:, None] + np.sin(np.arange(frames) / 7.0)[:, None]
    scale = 0.5 + np.abs(np.sin(np.arange(frames) / 23.0))[:, None]
    return 10.0 + drift + scale * rng.standard_normal(shape)


def _reference(feats: np.ndarray, *args: object) -> np.ndarray:
    rows = feats.reshape(-1, *feats.shape[-2:])
    return np.stack([kaldi_sliding_cmn(row, *args) for row in rows]).reshape(feats.shape)


# (frames, cmn_window, min_cmn_window): windows longer than the input, min window above, below, equal to and
# beyond the window / input, one-frame windows, a single frame.
GEOMETRIES = [
    (150, 600, 100),
    (300, 50, 100),
    (300, 50, 10),
    (300, 51, 0),
    (300, 300, 300),
    (80, 20, 500),
    (40, 1, 0),
    (40, 2, 1),
    (40, 39, 40),
    (1, 600, 100),
    (2, 1, 0),
]


@pytest.mark.parametrize("norm_vars", [False, True])
@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize(("frames", "cmn_window", "min_window"), GEOMETRIES)
def test_matches_kaldi_brute_force(frames, cmn_window, min_window, center, norm_vars) -> None:
    # Tolerance: float64, atol 1e-10. Measured worst 5e-11: a two-frame window of nearly equal values, where the
    # variance from sums of squares (Kaldi's formula) cancels; other cases stay below 5e-12.
    feats = _features((2, frames, 5), seed=frames + cmn_window)
    out = sliding_window_cmn(torch.from_numpy(feats), cmn_window, min_window, center, norm_vars)
    expected = _reference(feats, cmn_window, min_window, center, norm_vars)
    assert out.dtype == torch.float64 and out.shape == feats.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-10)


def test_defaults_and_batch_dims_match_kaldi() -> None:
    # Tolerance: float64 atol 1e-10. Leading dims (2, 3) are independent utterances.
    feats = _features((2, 3, 700, 4), seed=1)
    out = sliding_window_cmn(torch.from_numpy(feats))
    np.testing.assert_allclose(out.numpy(), _reference(feats, 600, 100, False, False), rtol=0, atol=1e-10)
    out = sliding_window_cmn(torch.from_numpy(feats[0, 0]), center=True, norm_vars=True)
    np.testing.assert_allclose(out.numpy(), kaldi_sliding_cmn(feats[0, 0], 600, 100, True, True), rtol=0, atol=1e-10)


def test_long_input_keeps_float64_precision() -> None:
    # Running sums restart every window length, so 5000 frames with 3-frame windows stay accurate (global running
    # sums of squares would err by ~2e-8 here). Tolerance: atol 1e-10 (measured 1.5e-11).
    feats = _features((2, 5000, 5), seed=9)
    out = sliding_window_cmn(torch.from_numpy(feats), 3, 0, True, True)
    np.testing.assert_allclose(out.numpy(), _reference(feats, 3, 0, True, True), rtol=0, atol=1e-10)


@pytest.mark.parametrize("center", [False, True])
def test_windows_fit_the_longest_window(center) -> None:
    for frames in (1, 2, 7, 50, 301):
        for cmn_window in (1, 2, 3, 10, 49, 50, 51, 600):
            for min_window in (0, 1, 5, 60, 700):
                start, end = cmn_window_bounds(frames, cmn_window, min_window, center, torch.device("cpu"))
                assert bool((start >= 0).all()) and bool((end <= frames).all()) and bool((end > start).all())
                assert int((end - start).max()) <= longest_cmn_window(frames, cmn_window, min_window, center)


def test_float32_accumulates_in_float64() -> None:
    # A large offset (1e4) over 3000 frames: float32 running sums would lose ~1e-3; accumulated in float64 only
    # the final rounding to float32 remains. Tolerance: atol 2e-6 on outputs of magnitude ~3 (float32 eps 1.2e-7).
    feats = (1e4 + _features((3000, 3), seed=2)).astype(np.float32)
    for center, norm_vars in ((False, False), (True, True)):
        out = sliding_window_cmn(torch.from_numpy(feats), 300, 100, center, norm_vars)
        assert out.dtype == torch.float32
        expected = kaldi_sliding_cmn(feats.astype(np.float64), 300, 100, center, norm_vars)
        np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_keeps_its_dtype(dtype) -> None:
    # Tolerance: the half-precision rounding of the input and output (bfloat16: 8 bits), relative to the float64 result.
    feats = torch.from_numpy(_features((100, 4), seed=3)).to(dtype)
    out = sliding_window_cmn(feats, 30, 10, False, True)
    expected = sliding_window_cmn(feats.double(), 30, 10, False, True)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), expected, rtol=0, atol=2e-2)


def test_silence_constant_and_empty_inputs() -> None:
    for norm_vars in (False, True):
        for center in (False, True):
            out = sliding_window_cmn(torch.zeros(2, 50, 3), 10, 5, center, norm_vars)
            assert torch.equal(out, torch.zeros(2, 50, 3))
            out = sliding_window_cmn(torch.full((50, 3), 7.0), 10, 5, center, norm_vars)
            assert torch.equal(out, torch.zeros(50, 3))
    assert sliding_window_cmn(torch.zeros(2, 0, 3)).shape == (2, 0, 3)


def test_gradcheck() -> None:
    generator = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 9, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    for center, norm_vars in ((False, False), (True, True), (False, True)):
        assert torch.autograd.gradcheck(sliding_window_cmn, (feats, 4, 3, center, norm_vars))


def test_functional_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="cmn_window"):
        sliding_window_cmn(torch.zeros(10, 3), cmn_window=0)
    with pytest.raises(ValueError, match="min_cmn_window"):
        sliding_window_cmn(torch.zeros(10, 3), min_cmn_window=-1)
    with pytest.raises(ValueError, match="time, freq"):
        sliding_window_cmn(torch.zeros(10))
    with pytest.raises(ValueError, match="floating-point"):
        sliding_window_cmn(torch.zeros(10, 3, dtype=torch.int64))


@pytest.mark.parametrize(
    "params", [{"cmn_window": 0}, {"min_cmn_window": -1}, {"cmn_window": 2.5}, {"center": "sometimes"}]
)
def test_module_rejects_bad_params(params) -> None:
    with pytest.raises(InvalidParameterError, match="dsp:sliding_window_cmn"):
        SlidingWindowCmn(**params)


@pytest.mark.parametrize("params", [{}, {"cmn_window": 40, "center": True, "norm_vars": True}])
def test_module_contract(params) -> None:
    # Tolerance: exact for batch items, pickling and TorchScript (the same float64 arithmetic); float32 output
    # against the brute force atol 1e-5.
    module = SlidingWindowCmn(**params)
    feats = module.example_input(3)
    out = module(feats)
    assert out.dtype == torch.float32 and out.shape == feats.shape
    settings = (module.cmn_window, module.min_cmn_window, module.center, module.norm_vars)
    expected = _reference(feats.double().numpy(), *settings)
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-5)
    for i in range(3):
        torch.testing.assert_close(module(feats[i]), out[i], rtol=0, atol=0)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(feats), out, rtol=0, atol=0)
    torch.testing.assert_close(torch.jit.script(module)(feats), out, rtol=0, atol=0)
    assert torch.isfinite(module(torch.zeros_like(feats))).all()
    assert module(feats.double()).dtype == torch.float64
