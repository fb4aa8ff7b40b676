"""Random augmentations: statistics of the frequency and time masks, SpecAugment, speed perturbation,
reproducibility through generators and seeds, and the component contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._convolution import speed
from tympan.plugins.dsp.functional._masking import mask_along_axis, mask_along_axis_iid
from tympan.plugins.dsp.transforms._augment import (
    FrequencyMasking,
    SpecAugment,
    SpeedPerturbation,
    TimeMasking,
)
from tympan.registry._registry import Registry
from tympan.testing import check_component


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _bands(masked: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(width, start, contiguous)`` of the zeros of ``masked`` (a spectrogram of ones) along ``axis``
    (-2 frequency, -1 time), per spectrogram, checking that whole rows or columns are masked."""
    zero = masked == 0
    other = -1 if axis == -2 else -2
    line = zero.any(dim=other)
    assert torch.equal(line, zero.all(dim=other)), "a mask must cover whole rows or columns"
    width = line.sum(-1)
    positions = torch.arange(line.shape[-1])
    start = torch.where(line, positions, line.shape[-1]).amin(-1)
    end = torch.where(line, positions + 1, 0).amax(-1)
    contiguous = (width == 0) | (end - start == width)
    return width, start, contiguous


@pytest.mark.parametrize("axis", [-2, -1])
def test_iid_masks_have_the_documented_distribution(axis) -> None:
    # 4000 independent masks of a 30 x 50 spectrogram with mask_param 12. Widths are floor(u * 12): uniform
    # on {0, ..., 11}, so each of the 12 counts is 4000 / 12 = 333 +- 18 (binomial sd); the bound 333 +- 90
    # is 5 sd. Starts are uniform on [0, length - width], so a band of width w > 0 starts at 0, and likewise
    # ends at the last cell, with probability 1 / (length - w + 1): over the widths, 4000 draws give that
    # mean probability +- 5 sd.
    spec = torch.ones(4000, 30, 50)
    masked = mask_along_axis_iid(spec, 12, 0.0, spec.dim() + axis, generator=_seeded(0))
    width, start, contiguous = _bands(masked, axis)
    length = spec.shape[axis]
    assert bool(contiguous.all())
    assert int(width.min()) == 0 and int(width.max()) == 11
    counts = torch.bincount(width, minlength=12)
    assert bool(((counts - 4000 / 12).abs() <= 90).all()), counts.tolist()
    assert bool((start[width > 0] + width[width > 0] <= length).all())
    w = np.arange(12)
    coverage = float(np.mean((w > 0) / (length - w + 1)))
    bound = 5 * np.sqrt(coverage * (1 - coverage) / 4000)
    first = (start == 0) & (width > 0)
    last = (start + width == length) & (width > 0)
    for hits in (first, last):
        assert abs(float(hits.double().mean()) - coverage) <= bound


def test_p_caps_the_width_at_a_proportion_of_the_axis() -> None:
    spec = torch.ones(2000, 20, 100)
    width, _, _ = _bands(mask_along_axis_iid(spec, 80, 0.0, 2, p=0.1, generator=_seeded(1)), -1)
    assert int(width.max()) == 9  # min(80, int(100 * 0.1)) = 10: widths in [0, 10)
    width, _, _ = _bands(mask_along_axis_iid(spec, 80, 0.0, 1, p=0.5, generator=_seeded(1)), -2)
    assert int(width.max()) == 9  # min(80, int(20 * 0.5)) = 10
    assert torch.equal(mask_along_axis(spec[0], 80, 0.0, 1, p=0.0, generator=_seeded(1)), spec[0])
    assert torch.equal(mask_along_axis(spec[0], 1, 0.0, 1, generator=_seeded(1)), spec[0])  # width in [0, 1)


def test_shared_masks_are_the_same_across_the_batch_and_iid_masks_differ() -> None:
    spec = torch.ones(3, 4, 30, 60)
    shared = mask_along_axis(spec, 20, 0.0, 3, generator=_seeded(2))
    assert bool((shared == shared[:1, :1]).all())
    iid = mask_along_axis_iid(spec, 20, 0.0, 3, generator=_seeded(2))
    patterns = {tuple((iid[i, j, 0] == 0).tolist()) for i in range(3) for j in range(4)}
    assert len(patterns) > 6  # one band per (example, channel)


def test_a_seeded_generator_reproduces_the_masks() -> None:
    spec = torch.rand(5, 40, 80, generator=_seeded(9))
    for fn in (mask_along_axis, mask_along_axis_iid):
        first = fn(spec, 30, -1.0, 2, generator=_seeded(3))
        assert torch.equal(first, fn(spec, 30, -1.0, 2, generator=_seeded(3)))
        different = [not torch.equal(first, fn(spec, 30, -1.0, 2, generator=_seeded(s))) for s in range(4, 10)]
        assert any(different)
    # The draws are float64 whatever the input's dtype: the same seed masks the same cells in every dtype.
    reference = mask_along_axis_iid(spec, 30, 0.0, 1, generator=_seeded(4)) == 0
    for dtype in (torch.float64, torch.float16, torch.bfloat16, torch.complex64):
        out = mask_along_axis_iid(spec.to(dtype), 30, 0.0, 1, generator=_seeded(4))
        assert out.dtype == dtype and torch.equal(out == 0, reference)


def test_mask_value_and_negative_axes() -> None:
    spec = torch.rand(2, 16, 20, generator=_seeded(0)) + 1
    out = mask_along_axis(spec, 10, -5.0, -1, generator=_seeded(7))
    assert torch.equal(out, mask_along_axis(spec, 10, -5.0, 2, generator=_seeded(7)))
    assert bool(((out == -5.0) | (out == spec)).all()) and bool((out == -5.0).any())


def test_masking_is_differentiable_and_finite_on_silence() -> None:
    x = torch.rand(2, 6, 8, dtype=torch.float64, generator=_seeded(0), requires_grad=True)
    masked = lambda s: mask_along_axis_iid(s, 5, 0.0, 2, generator=_seeded(1))  # noqa: E731
    assert torch.autograd.gradcheck(masked, (x,), fast_mode=True)
    assert bool(torch.isfinite(SpecAugment(2, 5, 2, 3, seed=0)(torch.zeros(2, 10, 20))).all())


def test_functional_forms_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="axis"):
        mask_along_axis(torch.ones(2, 3, 4), 2, 0.0, 0)
    with pytest.raises(ValueError, match="at least 3"):
        mask_along_axis_iid(torch.ones(3, 4), 2, 0.0, 1)
    with pytest.raises(ValueError, match="p must be"):
        mask_along_axis(torch.ones(3, 4), 2, 0.0, 1, p=1.5)


def test_masking_modules_follow_the_functional_forms() -> None:
    spec = torch.rand(4, 2, 32, 50, generator=_seeded(0))
    pairs = [
        (FrequencyMasking(20), lambda g: mask_along_axis(spec, 20, 0.0, 2, generator=g)),
        (FrequencyMasking(20, iid_masks=True), lambda g: mask_along_axis_iid(spec, 20, 0.0, 2, generator=g)),
        (TimeMasking(30, p=0.5), lambda g: mask_along_axis(spec, 30, 0.0, 3, p=0.5, generator=g)),
        (TimeMasking(30, iid_masks=True), lambda g: mask_along_axis_iid(spec, 30, 0.0, 3, generator=g)),
    ]
    for module, functional in pairs:
        expected = functional(_seeded(5))
        assert torch.equal(module(spec, 0.0, _seeded(5)), expected)
        assert torch.equal(torch.jit.script(module)(spec, 0.0, _seeded(5)), expected)
        assert torch.equal(pickle.loads(pickle.dumps(module))(spec, 0.0, _seeded(5)), expected)
    # iid_masks on a single spectrogram (no batch) falls back to one band.
    single = spec[0, 0]
    assert torch.equal(
        FrequencyMasking(20, iid_masks=True)(single, 0.0, _seeded(1)), pairs[0][0](single, 0.0, _seeded(1))
    )


def test_a_seed_makes_a_module_reproducible_and_a_generator_overrides_it() -> None:
    spec = torch.rand(3, 40, 60, generator=_seeded(0))
    modules = [
        lambda: TimeMasking(30, iid_masks=True, seed=11),
        lambda: FrequencyMasking(20, seed=11),
        lambda: SpecAugment(2, 10, 2, 8, seed=11),
    ]
    for make in modules:
        first, second = make(), make()
        outputs = [first(spec) for _ in range(3)]
        assert all(torch.equal(out, second(spec)) for out in outputs)  # same seed, same sequence
        assert not torch.equal(outputs[0], outputs[1])  # the sequence moves on from call to call
        scripted = torch.jit.script(make())
        assert all(torch.equal(out, scripted(spec)) for out in outputs)
        clone = pickle.loads(pickle.dumps(first))  # carries the generator's state
        assert torch.equal(clone(spec), first(spec))
    module = TimeMasking(30, iid_masks=True, seed=11)
    assert torch.equal(module(spec, 0.0, _seeded(4)), TimeMasking(30, iid_masks=True)(spec, 0.0, _seeded(4)))


def test_spec_augment_masks_and_fill() -> None:
    # Up to n masks of width < mask_param per axis; masked cells hold the spectrogram's own mean.
    spec = torch.rand(200, 40, 60, generator=_seeded(0)) + 1
    out = SpecAugment(3, 10, 2, 6, seed=0)(spec)
    mean = spec.mean(dim=(-2, -1), keepdim=True)
    masked = out != spec
    assert torch.equal(out[masked], mean.expand_as(spec)[masked])
    rows = masked.all(dim=-1).sum(-1)
    columns = masked.all(dim=-2).sum(-1)
    assert int(rows.max()) <= 2 * 5 and int(columns.max()) <= 3 * 9
    assert bool((masked == (masked.all(-1, keepdim=True) | masked.all(-2, keepdim=True))).all())
    assert len({tuple(m.all(0).tolist()) for m in masked}) > 100  # iid by default: time bands differ
    zeroed = SpecAugment(3, 10, 2, 6, zero_masking=True, seed=0)(spec)
    assert torch.equal(zeroed == 0, masked)
    assert torch.equal(SpecAugment(3, 10, 2, 6, p=0.0)(spec), spec)
    assert torch.equal(SpecAugment(0, 10, 0, 6)(spec), spec)


def test_spec_augment_batch_equals_items_with_shared_masks() -> None:
    # With iid_masks=False the masks are shared and the fill is each item's own mean (torchaudio fills with
    # the whole batch's mean), so a batch equals its items given the same draws. Tolerance: exact.
    spec = torch.rand(3, 2, 30, 40, generator=_seeded(0))
    augment = SpecAugment(2, 10, 2, 8, iid_masks=False)
    together = augment(spec, _seeded(6))
    assert not torch.equal(together, spec)
    for i in range(3):
        assert torch.equal(together[i], augment(spec[i], _seeded(6)))
    assert torch.equal(torch.jit.script(augment)(spec, _seeded(6)), together)


def test_speed_perturbation_draws_each_factor_uniformly() -> None:
    # 150 calls over 3 factors: each count is 50 +- 5.8 (binomial sd); the bound 50 +- 29 is 5 sd.
    perturb = SpeedPerturbation(16000, [0.9, 1.0, 1.1])
    x = torch.randn(2, 160, generator=_seeded(0))
    generator = _seeded(1)
    lengths = [perturb(x, None, generator)[0].shape[-1] for _ in range(150)]
    values, counts = np.unique(lengths, return_counts=True)
    assert values.tolist() == [146, 160, 178]
    assert bool((np.abs(counts - 50) <= 29).all()), counts


def test_speed_perturbation_equals_the_speed_function() -> None:
    perturb = SpeedPerturbation(8000, [0.8, 1.25])
    x = torch.randn(2, 3, 800, generator=_seeded(0))
    lengths = torch.tensor([[800, 500, 1], [3, 799, 800]])
    for seed in range(4):
        out, out_lengths = perturb(x, lengths, _seeded(seed))
        factor = 0.8 if out.shape[-1] == 1000 else 1.25
        expected, expected_lengths = speed(x, 8000, factor, lengths)
        assert torch.equal(out, expected) and torch.equal(out_lengths, expected_lengths)
        scripted_out, scripted_lengths = torch.jit.script(perturb)(x, lengths, _seeded(seed))
        assert torch.equal(scripted_out, expected) and torch.equal(scripted_lengths, expected_lengths)
        assert pickle.loads(pickle.dumps(perturb))(x, None, _seeded(seed))[1] is None
        for i in range(2):  # one factor per call: a batch equals its items given the same draw
            assert torch.equal(perturb(x[i], None, _seeded(seed))[0], out[i])
    assert perturb.output_sample_rate == 8000
    seeded = [SpeedPerturbation(8000, [0.8, 1.0, 1.25], seed=2) for _ in range(2)]
    assert [seeded[0](x)[0].shape[-1] for _ in range(8)] == [seeded[1](x)[0].shape[-1] for _ in range(8)]
    half, _ = perturb(x.to(torch.bfloat16), None, _seeded(0))
    assert half.dtype == torch.bfloat16


def test_contract_checks_pass() -> None:
    # Random modules are deterministic under these parameters (no band can be wider than 0 frames, one
    # speed factor).
    registry = Registry(entries=[])
    cases = {
        "dsp:speed_perturbation": (SpeedPerturbation, {"factors": [1.1]}),
        "dsp:frequency_masking": (FrequencyMasking, {"freq_mask_param": 0}),
        "dsp:time_masking": (TimeMasking, {"time_mask_param": 30, "p": 0.0}),
        "dsp:spec_augment": (
            SpecAugment,
            {"n_time_masks": 2, "time_mask_param": 10, "n_freq_masks": 2, "freq_mask_param": 10, "p": 0.0},
        ),
    }
    for name, (cls, params) in cases.items():
        registry.register("transform", name, cls)
        assert all(result.ok for result in check_component(name, params, registry=registry))


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (FrequencyMasking, {"freq_mask_param": -1}, "freq_mask_param"),
        (TimeMasking, {"time_mask_param": 5, "p": 1.5}, "p"),
        (TimeMasking, {"time_mask_param": 5, "seed": -3}, "seed"),
        (SpecAugment, {"n_time_masks": -1, "time_mask_param": 5, "n_freq_masks": 1, "freq_mask_param": 5}, "n_time"),
        (SpecAugment, {"n_time_masks": 1, "time_mask_param": 5, "n_freq_masks": 1, "freq_mask_param": -5}, "freq_mask"),
        (SpeedPerturbation, {"orig_freq": 16000, "factors": []}, "factors"),
        (SpeedPerturbation, {"orig_freq": 16000, "factors": [1.0, -0.9]}, "factors"),
        (SpeedPerturbation, {"orig_freq": 16000, "factors": [1e-5]}, "factors"),
        (SpeedPerturbation, {"orig_freq": 0, "factors": [1.0]}, "orig_freq"),
    ],
)
def test_bad_parameters_are_rejected_at_construction(cls, kwargs, field) -> None:
    with pytest.raises(InvalidParameterError, match=field):
        cls(**kwargs)
