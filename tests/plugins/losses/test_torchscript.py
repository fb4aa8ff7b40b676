"""TorchScript: the losses torchaudio compiles (``rnnt_loss``, ``RNNTLoss``, ``forced_align``) compile in tympan,
and the compiled ones give the eager output, gradients included, also once saved and loaded; bad arguments
still raise, naming them.

``merge_tokens`` is not compiled: torchaudio's does not compile either (a comprehension with a condition).
"""

from __future__ import annotations

import pytest
import torch
import torchaudio.functional as ta_functional

from tympan.plugins.losses.alignment import forced_align, merge_tokens
from tympan.plugins.losses.modules import RNNTLoss
from tympan.plugins.losses.rnnt import rnnt_loss


def _rnnt_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 4, 5, generator=generator)
    targets = torch.randint(1, 5, (3, 3), generator=generator, dtype=torch.int32)
    return logits, targets, torch.tensor([6, 4, 5]), torch.tensor([3, 1, 2])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_scripted_rnnt_loss_equals_eager(reduction) -> None:
    logits, targets, logit_lengths, target_lengths = _rnnt_case()
    scripted = torch.jit.script(rnnt_loss)
    results = []
    for function in (rnnt_loss, scripted):
        leaf = logits.clone().requires_grad_()
        loss = function(leaf, targets, logit_lengths, target_lengths, blank=0, clamp=0.3, reduction=reduction)
        (grad,) = torch.autograd.grad(loss.sum(), leaf)
        results.append((loss.detach(), grad))
    (eager_loss, eager_grad), (scripted_loss, scripted_grad) = results
    assert eager_grad.abs().max() > 0
    torch.testing.assert_close(scripted_loss, eager_loss, rtol=0, atol=0)
    torch.testing.assert_close(scripted_grad, eager_grad, rtol=0, atol=0)


def test_scripted_rnnt_module_equals_eager() -> None:
    logits, targets, logit_lengths, target_lengths = _rnnt_case()
    module = RNNTLoss(blank=0, reduction="sum", fused_log_softmax=False)
    log_probs = logits.log_softmax(-1)
    scripted = torch.jit.script(module)
    torch.testing.assert_close(
        scripted(log_probs, targets, logit_lengths, target_lengths),
        module(log_probs, targets, logit_lengths, target_lengths),
        rtol=0,
        atol=0,
    )


def test_scripted_rnnt_loss_rejects_bad_arguments() -> None:
    logits, targets, logit_lengths, target_lengths = _rnnt_case()
    scripted = torch.jit.script(rnnt_loss)
    with pytest.raises(RuntimeError, match="reduction: expected one of"):
        scripted(logits, targets, logit_lengths, target_lengths, reduction="avg")
    with pytest.raises(RuntimeError, match="logit_lengths: expected values in"):
        scripted(logits, targets, logit_lengths + 1, target_lengths, blank=0)


def _emission() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    log_probs = torch.randn(1, 30, 6, generator=generator).log_softmax(-1)
    return log_probs, torch.tensor([[1, 3, 3, 2, 5]], dtype=torch.int32)


@pytest.mark.parametrize("lengths", [None, (24, 4)])
def test_scripted_forced_align_equals_eager(lengths) -> None:
    log_probs, targets = _emission()
    input_lengths = None if lengths is None else torch.tensor([lengths[0]])
    target_lengths = None if lengths is None else torch.tensor([lengths[1]])
    scripted = torch.jit.script(forced_align)
    eager_path, eager_scores = forced_align(log_probs, targets, input_lengths, target_lengths, blank=0)
    path, scores = scripted(log_probs, targets, input_lengths, target_lengths, 0)
    assert path.dtype == targets.dtype and (path != 0).any()
    assert torch.equal(path, eager_path) and torch.equal(scores, eager_scores)


def test_scripted_forced_align_rejects_bad_arguments() -> None:
    log_probs, targets = _emission()
    scripted = torch.jit.script(forced_align)
    with pytest.raises(RuntimeError, match="blank: blank must be within"):
        scripted(log_probs, targets, blank=6)
    with pytest.raises(RuntimeError, match="targets: targets length is too long"):
        scripted(log_probs, targets, torch.tensor([5]), None)


def test_compiled_forced_align_equals_eager() -> None:
    # The operator's shape function lets torch.compile take forced_align whole (one graph, no break).
    log_probs, targets = _emission()
    compiled = torch.compile(forced_align, fullgraph=True, backend="eager")
    path, scores = compiled(log_probs, targets)
    eager_path, eager_scores = forced_align(log_probs, targets)
    assert torch.equal(path, eager_path) and torch.equal(scores, eager_scores)


def test_merge_tokens_compiles_exactly_where_torchaudio_does() -> None:
    for function in (merge_tokens, ta_functional.merge_tokens):
        with pytest.raises(Exception):  # noqa: B017 - each frontend raises its own parse error type
            torch.jit.script(function)


def test_compiled_losses_save_and_load(tmp_path) -> None:
    logits, targets, logit_lengths, target_lengths = _rnnt_case()
    module = RNNTLoss(blank=0, clamp=0.2)
    torch.jit.script(module).save(tmp_path / "rnnt.pt")
    loaded = torch.jit.load(tmp_path / "rnnt.pt")
    results = []
    for function in (module, loaded):
        leaf = logits.clone().requires_grad_()
        loss = function(leaf, targets, logit_lengths, target_lengths)
        (grad,) = torch.autograd.grad(loss, leaf)
        results.append((loss.detach(), grad))
    torch.testing.assert_close(results[1], results[0], rtol=0, atol=0)

    log_probs, labels = _emission()
    torch.jit.script(forced_align).save(str(tmp_path / "align.pt"))
    path, scores = torch.jit.load(tmp_path / "align.pt")(log_probs, labels, None, None, 0)
    eager_path, eager_scores = forced_align(log_probs, labels)
    assert torch.equal(path, eager_path) and torch.equal(scores, eager_scores)


def test_scripted_rnnt_loss_without_gradient_equals_eager() -> None:
    logits, targets, logit_lengths, target_lengths = _rnnt_case()
    scripted = torch.jit.script(rnnt_loss)
    with torch.no_grad():
        expected = rnnt_loss(logits, targets, logit_lengths, target_lengths, reduction="none")
    torch.testing.assert_close(
        scripted(logits, targets, logit_lengths, target_lengths, reduction="none"), expected, rtol=0, atol=0
    )
