"""RNN-T on a CUDA device: the Triton kernels against torchaudio, the wavefront and the brute-force reference."""

from __future__ import annotations

import pytest
import torch
from _rnnt_reference import random_problem, reference_costs, reference_gradient

from tympan.functional import rnnt_loss

pytestmark = pytest.mark.gpu

SHAPES = [(4, 30, 10, 50), (3, 17, 9, 1030), (8, 150, 40, 28), (2, 2, 3, 5)]  # batch, frames, labels, vocab


def _full_length_problem(shape: tuple[int, int, int, int], dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, ...]:
    """A CUDA problem whose longest lengths equal the tensor sizes, as torchaudio requires.

    Every target has a label and every sample two frames: torchaudio's CUDA kernel returns 0 for an empty
    target or a single frame (its CPU kernel and the reference agree with ours; see ``test_edge_lengths``).
    """
    batch, frames, labels, vocab = shape
    generator = torch.Generator().manual_seed(seed)
    logits, targets, t_len, u_len = random_problem(generator, batch, frames, labels, vocab, -1)
    u_len.clamp_(min=1)
    t_len.clamp_(min=2)
    t_len[0], u_len[0] = frames, labels
    return tuple(x.cuda() for x in (logits.to(dtype), targets, t_len, u_len))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-4), (torch.float16, 2e-2), (torch.bfloat16, 5e-2)])
@pytest.mark.parametrize("clamp", [-1.0, 0.01])
def test_triton_matches_torchaudio(
    shape: tuple[int, int, int, int], dtype: torch.dtype, tolerance: float, clamp: float
) -> None:
    """torchaudio takes no bfloat16 logits (it gets them as float32 here), and its CUDA kernel bounds clamped
    gradients from below only, so ours are checked against its unclamped gradients clipped to both bounds."""
    torchaudio = pytest.importorskip("torchaudio")
    logits, targets, t_len, u_len = _full_length_problem(shape, dtype, seed=sum(shape))
    ours_x = logits.clone().requires_grad_()
    ours = rnnt_loss(ours_x, targets, t_len, u_len, clamp=clamp, reduction="none", implementation="triton")
    ours.sum().backward()
    peer_x = (logits.float() if dtype == torch.bfloat16 else logits.clone()).requires_grad_()
    peer = torchaudio.functional.rnnt_loss(peer_x, targets, t_len, u_len, reduction="none")
    peer.sum().backward()
    peer_grad = peer_x.grad.float().clamp(-clamp, clamp) if clamp > 0 else peer_x.grad.float()
    torch.testing.assert_close(ours.float(), peer.float(), rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(ours_x.grad.float(), peer_grad, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("inplace", [False, True])
def test_triton_matches_brute_force_and_the_wavefront(fused: bool, inplace: bool) -> None:
    generator = torch.Generator().manual_seed(7)
    logits, targets, t_len, u_len = random_problem(generator, 3, 7, 4, 9, 2)
    if not fused:
        logits = logits.log_softmax(-1)
    weights = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    want_costs, want_grad = reference_gradient(logits, targets, t_len, u_len, 2, weights, fused)
    results = []
    for implementation in ("triton", "torch"):
        joint = logits.float().cuda().requires_grad_()
        x = joint * 1.0
        costs = rnnt_loss(
            x,
            targets.cuda(),
            t_len.cuda(),
            u_len.cuda(),
            blank=2,
            reduction="none",
            fused_log_softmax=fused,
            inplace_gradient=inplace,
            implementation=implementation,
        )
        (costs * weights.float().cuda()).sum().backward()
        results.append((costs.double().cpu(), joint.grad.double().cpu()))
    for costs, grad in results:
        torch.testing.assert_close(costs, want_costs, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(grad, want_grad, rtol=1e-4, atol=1e-4)


def test_auto_picks_the_kernels_on_cuda() -> None:
    from tympan.plugins.losses import _rnnt_triton
    from tympan.plugins.losses.rnnt import _backend

    assert _backend(torch.zeros(1, 1, 1, 2, device="cuda"), "auto") is _rnnt_triton
    assert _backend(torch.zeros(1, 1, 1, 2, device="cuda", dtype=torch.float64), "auto").__name__.endswith("torch")


def test_edge_lengths() -> None:
    generator = torch.Generator().manual_seed(3)
    logits, targets, t_len, u_len = random_problem(generator, 3, 6, 2, 5, -1)
    u_len[1], t_len[2] = 0, 1
    want = reference_costs(logits, targets, t_len, u_len, -1)
    got = rnnt_loss(logits.float().cuda(), targets.cuda(), t_len.cuda(), u_len.cuda(), reduction="none")
    torch.testing.assert_close(got.double().cpu(), want, rtol=1e-5, atol=1e-5)


def test_a_cuda_graph_captures_forward_and_backward() -> None:
    """Captured once, the value checks run on the device; replayed on new logits and new lengths (copied into the
    captured tensors), costs and gradients equal eager ones."""
    logits, targets, t_len, u_len = _full_length_problem((8, 150, 40, 28), torch.float32, seed=5)
    x = logits.clone().requires_grad_()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            x.grad = None
            rnnt_loss(x, targets, t_len, u_len).backward()
    torch.cuda.current_stream().wait_stream(side)
    x.grad = None
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        loss = rnnt_loss(x, targets, t_len, u_len)
        loss.backward()
    for seed, frames_of_second in ((1, 150), (2, 97)):
        fresh = torch.randn(logits.shape, generator=torch.Generator().manual_seed(seed)).cuda()
        with torch.no_grad():
            x.copy_(fresh)
        t_len[1] = frames_of_second
        graph.replay()
        eager = fresh.clone().requires_grad_()
        want = rnnt_loss(eager, targets, t_len, u_len)
        want.backward()
        torch.testing.assert_close(loss, want, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(x.grad, eager.grad, rtol=1e-5, atol=1e-5)
