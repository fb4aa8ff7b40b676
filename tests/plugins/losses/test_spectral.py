"""The multi-resolution STFT loss against worked examples from its definition."""

from __future__ import annotations

import math

import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.functional import multi_resolution_stft_loss
from tympan.plugins.losses.modules import MultiResolutionSTFTLoss

SMALL = {"fft_sizes": (256, 128), "hop_sizes": (64, 32), "win_lengths": (200, 128)}


def test_identical_signals_cost_nothing() -> None:
    x = torch.randn(2, 2048)
    assert multi_resolution_stft_loss(x, x, **SMALL).item() == 0.0


def test_doubling_the_estimate_costs_one_plus_log_two() -> None:
    # |Ŝ| = 2 |S|: spectral convergence |S - 2S| / |S| = 1 and |log|S| - log|2S|| = log 2 in every bin
    target = torch.randn(3, 2048, dtype=torch.float64)
    got = multi_resolution_stft_loss(2 * target, target, **SMALL, eps=1e-30)
    assert got.item() == pytest.approx(1 + math.log(2), rel=1e-9)


def test_factors_weight_the_two_terms() -> None:
    target = torch.randn(1, 2048, dtype=torch.float64)
    got = multi_resolution_stft_loss(2 * target, target, **SMALL, factor_sc=0.5, factor_mag=2.0, eps=1e-30)
    assert got.item() == pytest.approx(0.5 + 2 * math.log(2), rel=1e-9)


def test_reduction_none_keeps_the_leading_dimensions_and_the_module_matches() -> None:
    preds, target = torch.randn(2, 3, 1024), torch.randn(2, 3, 1024)
    per_item = multi_resolution_stft_loss(preds, target, **SMALL, reduction="none")
    assert per_item.shape == (2, 3)
    torch.testing.assert_close(MultiResolutionSTFTLoss(**SMALL)(preds, target), per_item.mean())


def test_gradients_and_silence_are_finite() -> None:
    preds = torch.randn(1, 1024, requires_grad=True)
    loss = multi_resolution_stft_loss(preds, torch.randn(1, 1024), **SMALL)
    loss.backward()
    assert torch.isfinite(preds.grad).all()
    silence = torch.zeros(1, 1024)
    assert torch.isfinite(multi_resolution_stft_loss(silence, silence, **SMALL))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"preds": torch.zeros(1, 100)}, "preds"),  # shorter than half the largest FFT
        ({"preds": torch.zeros(1, 2048, dtype=torch.long)}, "preds"),
        ({"target": torch.zeros(2, 2048)}, "target"),
        ({"fft_sizes": (256,)}, "fft_sizes"),
        ({"win_lengths": (300, 128)}, "win_lengths"),
        ({"reduction": "avg"}, "reduction"),
    ],
)
def test_bad_inputs(kwargs: dict[str, object], argument: str) -> None:
    call = {"preds": torch.zeros(1, 2048), "target": torch.zeros(1, 2048), **SMALL, **kwargs}
    with pytest.raises(InvalidParameterError, match=argument):
        multi_resolution_stft_loss(**call)  # type: ignore[arg-type]


def test_module_checks_resolutions_line_up() -> None:
    with pytest.raises(InvalidParameterError, match="same length"):
        MultiResolutionSTFTLoss(fft_sizes=(512,), hop_sizes=(128, 64), win_lengths=(512,))
