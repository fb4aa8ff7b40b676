"""RNN-T loss (wavefront implementation) against the float64 brute-force lattice recursion."""

from __future__ import annotations

import pytest
import torch
from _rnnt_reference import random_problem, reference_costs, reference_gradient

from tympan.core.errors import InvalidParameterError
from tympan.functional import rnnt_loss
from tympan.plugins.losses._rnnt_torch import pack
from tympan.plugins.losses.modules import RNNTLoss
from tympan.plugins.losses.rnnt import assert_values_on_device

SHAPES = [  # batch, frames, labels, vocab, blank
    (1, 1, 0, 2, 0),
    (1, 1, 3, 5, -1),
    (2, 4, 2, 3, 0),
    (3, 7, 4, 6, -1),
    (4, 6, 5, 9, 4),
    (3, 9, 3, 4, 2),
    (2, 3, 6, 5, 1),
]


def _weights(batch: int) -> torch.Tensor:
    return torch.linspace(0.5, 2.0, batch, dtype=torch.float64)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float64, 1e-6), (torch.float32, 1e-4)])
def test_costs_and_gradients_match_brute_force(shape: tuple[int, ...], dtype: torch.dtype, tolerance: float) -> None:
    batch, frames, labels, vocab, blank = shape
    generator = torch.Generator().manual_seed(sum(shape))
    logits, targets, t_len, u_len = random_problem(generator, batch, frames, labels, vocab, blank)
    want_costs, want_grad = reference_gradient(logits, targets, t_len, u_len, blank, _weights(batch))
    x = logits.to(dtype).requires_grad_()
    costs = rnnt_loss(x, targets, t_len, u_len, blank=blank, reduction="none", implementation="torch")
    (costs * _weights(batch).to(dtype)).sum().backward()
    assert costs.dtype == dtype
    torch.testing.assert_close(costs.double(), want_costs, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(x.grad.double(), want_grad, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_reductions(reduction: str) -> None:
    generator = torch.Generator().manual_seed(3)
    logits, targets, t_len, u_len = random_problem(generator, 3, 5, 3, 4, -1)
    want = reference_costs(logits, targets, t_len, u_len, -1)
    want = {"none": want, "mean": want.mean(), "sum": want.sum()}[reduction]
    got = rnnt_loss(logits, targets, t_len, u_len, reduction=reduction)  # type: ignore[arg-type]
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fused", [True, False])
def test_gradcheck(fused: bool) -> None:
    generator = torch.Generator().manual_seed(11)
    logits, targets, t_len, u_len = random_problem(generator, 3, 4, 3, 5, 1)
    if not fused:
        logits = logits.log_softmax(-1)

    def loss(x: torch.Tensor) -> torch.Tensor:
        costs = rnnt_loss(x, targets, t_len, u_len, blank=1, reduction="none", fused_log_softmax=fused)
        return costs * _weights(3)

    assert torch.autograd.gradcheck(loss, (logits.requires_grad_(),))


@pytest.mark.parametrize("clamp", [0.01, 0.1])
def test_clamp_clips_each_sample_gradient_before_scaling(clamp: float) -> None:
    generator = torch.Generator().manual_seed(5)
    logits, targets, t_len, u_len = random_problem(generator, 3, 5, 4, 6, 0)
    weights = _weights(3)
    want_costs, want_grad = reference_gradient(logits, targets, t_len, u_len, 0, weights, clamp=clamp)
    x = logits.clone().requires_grad_()
    costs = rnnt_loss(x, targets, t_len, u_len, blank=0, clamp=clamp, reduction="none")
    (costs * weights).sum().backward()
    torch.testing.assert_close(costs, want_costs)
    torch.testing.assert_close(x.grad, want_grad)


def test_log_probabilities_given_directly() -> None:
    generator = torch.Generator().manual_seed(8)
    logits, targets, t_len, u_len = random_problem(generator, 2, 6, 3, 5, -1)
    log_probs = logits.log_softmax(-1)
    want_costs, want_grad = reference_gradient(log_probs, targets, t_len, u_len, -1, _weights(2), fused=False)
    x = log_probs.clone().requires_grad_()
    costs = rnnt_loss(x, targets, t_len, u_len, reduction="none", fused_log_softmax=False)
    (costs * _weights(2)).sum().backward()
    torch.testing.assert_close(costs, want_costs)
    torch.testing.assert_close(x.grad, want_grad)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_inplace_gradient_overwrites_the_logits(dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(2)
    logits, targets, t_len, u_len = random_problem(generator, 2, 5, 3, 4, 0, dtype=dtype)
    x = logits.clone().requires_grad_()
    rnnt_loss(x, targets, t_len, u_len, blank=0).backward()
    joint = logits.clone().requires_grad_()
    y = joint * 1.0  # a non-leaf, like the output of a joint network
    rnnt_loss(y, targets, t_len, u_len, blank=0, inplace_gradient=True).backward()
    torch.testing.assert_close(joint.grad, x.grad)
    torch.testing.assert_close(y.detach(), x.grad)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits_accumulate_in_float32(dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(4)
    logits, targets, t_len, u_len = random_problem(generator, 3, 6, 4, 7, -1, dtype=dtype)
    want_costs, want_grad = reference_gradient(logits, targets, t_len, u_len, -1, torch.ones(3))
    x = logits.clone().requires_grad_()
    costs = rnnt_loss(x, targets, t_len, u_len, reduction="none")
    costs.sum().backward()
    assert costs.dtype == x.grad.dtype == dtype
    torch.testing.assert_close(costs.double(), want_costs, rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(x.grad.double(), want_grad, rtol=0, atol=1e-2)


def test_batch_equals_its_items() -> None:
    generator = torch.Generator().manual_seed(9)
    logits, targets, t_len, u_len = random_problem(generator, 4, 6, 3, 5, 0)
    batch = rnnt_loss(logits, targets, t_len, u_len, blank=0, reduction="none")
    items = [
        rnnt_loss(logits[i : i + 1], targets[i : i + 1], t_len[i : i + 1], u_len[i : i + 1], blank=0) for i in range(4)
    ]
    torch.testing.assert_close(batch, torch.stack(items))


def test_module_matches_function() -> None:
    generator = torch.Generator().manual_seed(1)
    logits, targets, t_len, u_len = random_problem(generator, 2, 4, 2, 5, 0)
    module = RNNTLoss(blank=0, reduction="sum")
    want = rnnt_loss(logits, targets, t_len, u_len, blank=0, reduction="sum")
    torch.testing.assert_close(module(logits, targets, t_len, u_len), want)
    assert RNNTLoss.functional is rnnt_loss


def _packable(change: dict[str, object]) -> bool:
    """Whether these replaced inputs are integer tensors of the good inputs' shapes, as the host checks leave them."""
    good = _good()
    return all(
        isinstance(v, torch.Tensor) and not v.is_floating_point() and v.shape == good[k].shape  # type: ignore[union-attr]
        for k, v in change.items()
    )


def _good() -> dict[str, object]:
    return {
        "logits": torch.zeros(2, 4, 3, 5),
        "targets": torch.ones(2, 2, dtype=torch.int32),
        "logit_lengths": torch.tensor([4, 3], dtype=torch.int32),
        "target_lengths": torch.tensor([2, 1], dtype=torch.int32),
    }


BAD_INPUTS = [
    ({"logits": torch.zeros(2, 4, 3)}, "logits"),
    ({"logits": torch.zeros(2, 4, 3, 5, dtype=torch.long)}, "logits"),
    ({"logits": torch.zeros(0, 4, 3, 5)}, "logits"),
    ({"targets": torch.ones(2, 2)}, "targets"),
    ({"targets": torch.ones(2, 3, dtype=torch.int32)}, "targets"),
    ({"targets": torch.tensor([[1, 4], [1, 0]], dtype=torch.int32)}, "targets"),  # the blank (4 = V - 1)
    ({"targets": torch.tensor([[1, 5], [1, 0]], dtype=torch.int32)}, "targets"),  # out of range
    ({"targets": torch.tensor([[1, -2], [1, 0]], dtype=torch.int32)}, "targets"),
    ({"logit_lengths": torch.tensor([5, 3], dtype=torch.int32)}, "logit_lengths"),  # longer than T
    ({"logit_lengths": torch.tensor([0, 3], dtype=torch.int32)}, "logit_lengths"),  # no frame: infeasible
    ({"logit_lengths": torch.tensor([4, 3, 2], dtype=torch.int32)}, "logit_lengths"),
    ({"logit_lengths": torch.tensor([4.0, 3.0])}, "logit_lengths"),
    ({"target_lengths": torch.tensor([3, 1], dtype=torch.int32)}, "target_lengths"),
    ({"target_lengths": torch.tensor([-1, 1], dtype=torch.int32)}, "target_lengths"),
    ({"target_lengths": [2, 1]}, "target_lengths"),
    ({"blank": 5}, "blank"),
    ({"blank": -6}, "blank"),
    ({"reduction": "avg"}, "reduction"),
    ({"implementation": "cuda"}, "implementation"),
    ({"logits": torch.zeros(2, 3, 4, 5).transpose(1, 2), "inplace_gradient": True}, "inplace_gradient"),
]


@pytest.mark.parametrize(("change", "argument"), BAD_INPUTS)
def test_bad_inputs_raise_typed_errors_naming_the_argument(change: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"{argument}:") as caught:
        rnnt_loss(**{**_good(), **change})  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)


BAD_VALUES = [  # inputs of the right shapes whose values only the device can check while a CUDA graph is captured
    change for change, _ in BAD_INPUTS if set(change) <= {"targets", "logit_lengths", "target_lengths"}
]


@pytest.mark.parametrize("change", [c for c in BAD_VALUES if _packable(c)])
def test_device_assertion_refuses_what_the_host_checks_refuse(change: dict[str, torch.Tensor]) -> None:
    inputs = {**_good(), **change}
    packed = pack(inputs["targets"], inputs["logit_lengths"], inputs["target_lengths"])  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="rnnt_loss: expected logit_lengths in"):
        assert_values_on_device(packed, batch=2, frames=4, vocab=5, blank=4)


def test_device_assertion_accepts_good_values_and_padding() -> None:
    padded = dict(_good(), targets=torch.tensor([[1, 1], [1, 4]], dtype=torch.int32))
    for inputs in (_good(), padded):
        packed = pack(inputs["targets"], inputs["logit_lengths"], inputs["target_lengths"])  # type: ignore[arg-type]
        assert_values_on_device(packed, batch=2, frames=4, vocab=5, blank=4)


def test_targets_past_their_length_are_ignored() -> None:
    padded = dict(_good(), targets=torch.tensor([[1, 1], [1, 4]], dtype=torch.int32))  # the blank, as padding
    torch.testing.assert_close(rnnt_loss(**padded), rnnt_loss(**_good()))  # type: ignore[arg-type]


def test_module_validates_its_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="reduction"):
        RNNTLoss(reduction="avg")  # type: ignore[arg-type]
