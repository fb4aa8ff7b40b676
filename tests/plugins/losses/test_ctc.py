"""CTC loss against torch's, and batched forced alignment against brute-force path enumeration."""

from __future__ import annotations

import itertools

import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.functional import ctc_forced_align, ctc_loss
from tympan.plugins.losses.modules import CTCLoss


def _problem(seed: int, batch: int = 3, frames: int = 12, classes: int = 6, labels: int = 4, blank: int = 0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, frames, classes, generator=generator, dtype=torch.float64)
    others = torch.tensor([c for c in range(classes) if c != blank % classes])
    targets = others[torch.randint(len(others), (batch, labels), generator=generator)]
    target_lengths = torch.randint(1, labels + 1, (batch,), generator=generator)
    logit_lengths = torch.randint(2 * labels + 1, frames + 1, (batch,), generator=generator)
    return logits, targets, logit_lengths, target_lengths


@pytest.mark.parametrize("blank", [0, -1, 2])
@pytest.mark.parametrize("fused", [True, False])
def test_matches_torch_ctc_loss_per_sample(blank: int, fused: bool) -> None:
    logits, targets, t_len, u_len = _problem(blank + 5, blank=blank)
    log_probs = logits.log_softmax(-1)
    want = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1), targets, t_len, u_len, blank=blank % 6, reduction="none"
    )
    got = ctc_loss(
        logits if fused else log_probs, targets, t_len, u_len, blank=blank, reduction="none", fused_log_softmax=fused
    )
    torch.testing.assert_close(got, want)


def test_reductions_average_and_add_over_the_batch() -> None:
    logits, targets, t_len, u_len = _problem(1)
    costs = ctc_loss(logits, targets, t_len, u_len, reduction="none")
    torch.testing.assert_close(ctc_loss(logits, targets, t_len, u_len), costs.mean())
    torch.testing.assert_close(ctc_loss(logits, targets, t_len, u_len, reduction="sum"), costs.sum())
    torch.testing.assert_close(CTCLoss(reduction="sum")(logits, targets, t_len, u_len), costs.sum())


def test_gradcheck() -> None:
    logits, targets, t_len, u_len = _problem(2, batch=2, frames=6, classes=4, labels=2)
    assert torch.autograd.gradcheck(lambda x: ctc_loss(x, targets, t_len, u_len), (logits.requires_grad_(),))


def test_infeasible_alignment_is_infinite_unless_zeroed() -> None:
    logits = torch.randn(2, 3, 4, requires_grad=True)
    targets = torch.tensor([[1, 1, 2], [1, 2, 3]])  # sample 0 needs 4 frames (a blank between the repeats)
    lengths = torch.tensor([3, 3]), torch.tensor([3, 3])
    costs = ctc_loss(logits, targets, *lengths, reduction="none")
    assert torch.isinf(costs[0]) and torch.isfinite(costs[1])
    zeroed = ctc_loss(logits, targets, *lengths, reduction="sum", zero_infinity=True)
    zeroed.backward()
    assert torch.isfinite(zeroed) and torch.all(logits.grad[0] == 0)


def test_half_precision_logits() -> None:
    logits, targets, t_len, u_len = _problem(3)
    got = ctc_loss(logits.to(torch.bfloat16), targets, t_len, u_len, reduction="none")
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(
        got.double(), ctc_loss(logits, targets, t_len, u_len, reduction="none"), rtol=2e-2, atol=5e-2
    )


def _best_path_score(log_probs: torch.Tensor, target: list[int], blank: int) -> float:
    """The best score over every path of the frames that collapses to ``target``, by enumeration."""
    best = float("-inf")
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        collapsed = [k for i, k in enumerate(path) if k != blank and (i == 0 or k != path[i - 1])]
        if collapsed == target:
            best = max(best, float(sum(log_probs[t, k] for t, k in enumerate(path))))
    return best


def test_forced_align_finds_the_best_path_of_every_sample() -> None:
    generator = torch.Generator().manual_seed(4)
    log_probs = torch.randn(3, 6, 3, generator=generator, dtype=torch.float64).log_softmax(-1)
    targets = torch.tensor([[1, 2, 0], [1, 1, 0], [2, 0, 0]])
    t_len, u_len = torch.tensor([6, 5, 4]), torch.tensor([2, 2, 1])
    out = ctc_forced_align(log_probs, targets, t_len, u_len, blank=0)
    for b in range(3):
        frames, labels = int(t_len[b]), targets[b, : int(u_len[b])].tolist()
        want = _best_path_score(log_probs[b, :frames], labels, blank=0)
        assert out.scores[b, :frames].sum().item() == pytest.approx(want)
        assert [span.token for span in out.spans[b]] == labels
        for span in out.spans[b]:
            assert torch.all(out.labels[b, span.start : span.end] == span.token)
        assert torch.all(out.labels[b, frames:] == 0) and torch.all(out.scores[b, frames:] == 0)


def test_forced_align_batch_equals_its_items() -> None:
    logits, targets, t_len, u_len = _problem(6, batch=4, frames=15)
    log_probs = logits.log_softmax(-1)
    batch = ctc_forced_align(log_probs, targets, t_len, u_len)
    for b in range(4):
        item = ctc_forced_align(log_probs[b : b + 1], targets[b : b + 1], t_len[b : b + 1], u_len[b : b + 1])
        assert torch.equal(item.labels[0], batch.labels[b])
        assert item.spans[0] == batch.spans[b]


def test_forced_align_span_scores_are_mean_probabilities() -> None:
    log_probs = torch.tensor([[[0.0, -9.0], [-0.5, -1.0], [-9.0, 0.0], [-9.0, -0.2], [0.0, -9.0]]])
    out = ctc_forced_align(log_probs, torch.tensor([[1]]), torch.tensor([5]), torch.tensor([1]))
    (span,) = out.spans[0]
    assert (span.start, span.end) == (2, 4)
    assert span.score == pytest.approx((1 + torch.tensor(-0.2).exp().item()) / 2)


BAD = [
    ({"logits": torch.zeros(2, 5)}, "logits"),
    ({"logits": torch.zeros(2, 5, 4, dtype=torch.int64)}, "logits"),
    ({"targets": torch.ones(2, 2)}, "targets"),
    ({"targets": torch.tensor([[1, 0], [1, 1]])}, "targets"),  # the blank inside the target length
    ({"targets": torch.tensor([[1, 4], [1, 1]])}, "targets"),
    ({"logit_lengths": torch.tensor([6, 5])}, "logit_lengths"),
    ({"target_lengths": torch.tensor([3, 1])}, "target_lengths"),
    ({"target_lengths": torch.tensor([2, 1, 1])}, "target_lengths"),
    ({"blank": 4}, "blank"),
]


def _good() -> dict[str, object]:
    return {
        "logits": torch.zeros(2, 5, 4),
        "targets": torch.tensor([[1, 2], [3, 0]]),
        "logit_lengths": torch.tensor([5, 4]),
        "target_lengths": torch.tensor([2, 1]),
    }


@pytest.mark.parametrize(("change", "argument"), BAD)
def test_bad_inputs(change: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"{argument}:"):
        ctc_loss(**{**_good(), **change})  # type: ignore[arg-type]
    good = _good()
    good["log_probs"] = good.pop("logits")
    if "logits" in change:
        change, argument = {"log_probs": change["logits"]}, "log_probs"
    with pytest.raises(InvalidParameterError, match=rf"{argument}:"):
        ctc_forced_align(**{**good, **change})  # type: ignore[arg-type]


def test_forced_align_refuses_infeasible_samples() -> None:
    with pytest.raises(InvalidParameterError, match=r"samples \[0\]"):
        ctc_forced_align(
            torch.zeros(2, 3, 4), torch.tensor([[1, 1, 2], [1, 2, 3]]), torch.tensor([3, 3]), torch.tensor([3, 3])
        )


def test_reduction_is_validated() -> None:
    with pytest.raises(InvalidParameterError, match="reduction"):
        ctc_loss(**_good(), reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="zero_infinity"):
        CTCLoss(zero_infinity="sometimes")  # type: ignore[arg-type]
