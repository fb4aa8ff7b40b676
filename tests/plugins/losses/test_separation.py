"""SI-SNR, SI-SDR, SDR and PIT against worked examples from their definitions."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.functional import pit_loss, sdr, sdr_loss, si_sdr, si_sdr_loss, si_snr, si_snr_loss
from tympan.plugins.losses.modules import PITLoss, SDRLoss, SISDRLoss, SISNRLoss
from tympan.plugins.losses.separation import _hungarian

TARGET = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
NOISE = torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=torch.float64)  # zero mean, orthogonal to TARGET


def test_si_snr_worked_example() -> None:
    # s_target = <ŝ, s> s / |s|^2 = 3 s (|s|^2 = 4), e = 0.5 n (|e|^2 = 1): 10 log10(36 / 1)
    assert si_snr(3 * TARGET + 0.5 * NOISE, TARGET).item() == pytest.approx(10 * math.log10(36))


def test_si_snr_ignores_offset_and_gain_but_si_sdr_does_not_ignore_offset() -> None:
    preds = 0.5 * TARGET + 0.1 * NOISE + 2.0
    assert si_snr(preds, TARGET).item() == pytest.approx(10 * math.log10(0.25 * 4 / (0.01 * 4)))
    # without removing the mean, the offset 2 (|2|^2 * 4 = 16 of energy) is part of the distortion
    assert si_sdr(preds, TARGET).item() == pytest.approx(10 * math.log10(1.0 / (0.04 + 16)))
    assert si_sdr(preds, TARGET, zero_mean=True).item() == pytest.approx(si_snr(preds, TARGET).item())


def test_sdr_worked_example() -> None:
    # |s|^2 = 4, |s - ŝ|^2 = |0.5 s - 0.5 n|^2 = 0.25 (4 + 4) = 2
    assert sdr(0.5 * TARGET + 0.5 * NOISE, TARGET).item() == pytest.approx(10 * math.log10(2))


def test_losses_negate_and_reduce() -> None:
    preds = torch.stack([TARGET + 0.5 * NOISE, 2 * TARGET + NOISE, TARGET - 0.1 * NOISE])
    target = TARGET.expand(3, -1)
    for metric, loss, module in (
        (si_snr, si_snr_loss, SISNRLoss),
        (si_sdr, si_sdr_loss, SISDRLoss),
        (sdr, sdr_loss, SDRLoss),
    ):
        values = metric(preds, target)
        assert values.shape == (3,)
        torch.testing.assert_close(loss(preds, target), -values.mean())
        torch.testing.assert_close(loss(preds, target, reduction="sum"), -values.sum())
        torch.testing.assert_close(module(reduction="none")(preds, target), -values)


def test_gradients_and_silence_are_finite() -> None:
    preds = torch.randn(2, 100, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 100, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: si_snr_loss(x, target), (preds,))
    silence = torch.zeros(2, 100)
    for fn in (si_snr, si_sdr, sdr):
        assert torch.isfinite(fn(silence, silence)).all()


def test_pit_recovers_the_permutation() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(2, 3, 200, generator=generator, dtype=torch.float64)
    order = [[2, 0, 1], [1, 2, 0]]
    preds = torch.stack([target[b, order[b]] for b in range(2)]) + 0.1 * torch.randn(2, 3, 200, generator=generator)
    value, perm = pit_loss(preds, target, reduction="none")
    assert perm.tolist() == order
    matched = torch.stack([si_snr_loss(preds[b], target[b, order[b]], reduction="mean") for b in range(2)])
    torch.testing.assert_close(value, matched)
    torch.testing.assert_close(PITLoss()(preds, target), matched.mean())


@pytest.mark.parametrize("sources", [5, 6])
def test_pit_hungarian_matches_exhaustive_search(sources: int) -> None:
    generator = torch.Generator().manual_seed(sources)
    preds = torch.randn(3, sources, 64, generator=generator, dtype=torch.float64)
    target = torch.randn(3, sources, 64, generator=generator, dtype=torch.float64)
    value, _ = pit_loss(preds, target, loss="sdr", reduction="none")
    pairwise = -sdr(preds[:, :, None], target[:, None, :])
    best = torch.stack(
        [
            min(pairwise[b, range(sources), list(p)].mean() for p in itertools.permutations(range(sources)))
            for b in range(3)
        ]
    )
    torch.testing.assert_close(value, best)


def test_hungarian_on_random_cost_matrices() -> None:
    generator = torch.Generator().manual_seed(1)
    for n in (1, 2, 5, 7):
        cost = torch.rand(n, n, generator=generator, dtype=torch.float64).numpy()
        assignment = _hungarian(cost)
        best = min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n)))
        assert sorted(assignment.tolist()) == list(range(n))
        assert cost[range(n), assignment].sum() == pytest.approx(best)


def test_pit_accepts_a_callable_and_passes_gradients() -> None:
    preds = torch.randn(2, 2, 50, requires_grad=True)
    target = torch.randn(2, 2, 50)
    value, perm = pit_loss(preds, target, loss=lambda p, t: (p - t).pow(2).mean(-1))
    value.backward()
    assert perm.shape == (2, 2) and preds.grad is not None and torch.isfinite(preds.grad).all()


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: si_snr(torch.zeros(3), torch.zeros(4)), "target"),
        (lambda: si_snr(torch.zeros(3, dtype=torch.long), torch.zeros(3)), "preds"),
        (lambda: sdr(torch.zeros(2, 0), torch.zeros(2, 0)), "preds"),
        (lambda: si_sdr_loss(torch.zeros(3), torch.zeros(3), reduction="avg"), "reduction"),
        (lambda: pit_loss(torch.zeros(2, 3, 8), torch.zeros(2, 2, 8)), "target"),
        (lambda: pit_loss(torch.zeros(2, 3, 8), torch.zeros(2, 3, 8), loss="l1"), "loss"),
        (lambda: SISNRLoss(eps=0), "eps"),
        (lambda: PITLoss(loss="l1"), "loss"),  # type: ignore[arg-type]
    ],
)
def test_bad_inputs(call, argument: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError, match=argument):
        call()
