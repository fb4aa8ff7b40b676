"""The RNN transducer loss: validation, dispatch between implementations, and autograd.

``rnnt_loss`` takes logits of shape ``(B, T, U + 1, V)`` from a joint network, integer ``targets``
``(B, U)``, and per-sample ``logit_lengths`` and ``target_lengths``, with torchaudio's conventions. Two
implementations compute it:

- ``"torch"``: a vectorised anti-diagonal wavefront in plain PyTorch (:mod:`._rnnt_torch`), any device;
- ``"triton"``: fused Triton kernels (:mod:`._rnnt_triton`) for CUDA tensors, or for CPU tensors when
  ``TRITON_INTERPRET=1`` is set before the kernels are first used.

``implementation="auto"`` picks Triton for CUDA tensors when it is installed and the wavefront otherwise.

Gradients are computed in the backward pass, with the upstream gradient folded in, so a forward pass
alone allocates nothing of the size of the logits. ``inplace_gradient=True`` writes the gradient into the
logits' own storage: use it only when nothing else reads the logits after the backward pass (the usual case
for the output of a joint network), and call ``backward`` once.

Semantics at the edges:

- every sample needs ``logit_lengths >= 1``; with at least one frame an RNN-T lattice always has a path,
  so no alignment is infeasible and no cost is infinite;
- ``clamp > 0`` clips each element of a sample's gradient with respect to the logits to
  ``[-clamp, clamp]`` before the upstream gradient (for example the ``1 / B`` of ``"mean"``) scales it;
  ``clamp <= 0`` disables clipping. The loss value is never clamped;
- ``reduction="mean"`` averages the per-sample costs over the batch (not over target lengths), ``"sum"``
  adds them, ``"none"`` returns them, each in the dtype of the logits;
- ``fused_log_softmax=False`` treats the logits as log-probabilities already (call ``log_softmax`` first).

Example:
    >>> import torch
    >>> logits = torch.randn(2, 5, 3, 4, requires_grad=True)
    >>> targets = torch.tensor([[1, 2], [3, 0]], dtype=torch.int32)
    >>> loss = rnnt_loss(logits, targets, torch.tensor([5, 4]), torch.tensor([2, 1]), blank=0)
    >>> loss.backward()
    >>> logits.grad.shape
    torch.Size([2, 5, 3, 4])
"""

import functools
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from tympan.plugins.losses import _rnnt_torch
from tympan.plugins.losses._checks import check_choice, check_tensor, invalid

__all__ = ["rnnt_loss"]

if TYPE_CHECKING:
    Reduction = Literal["none", "mean", "sum"]
    Implementation = Literal["auto", "torch", "triton"]
else:  # TorchScript reads these annotations and has no Literal: the choices are checked at run time
    Reduction = str
    Implementation = str

_NAME = "rnnt_loss"
_REDUCTIONS = ("none", "mean", "sum")
_IMPLEMENTATIONS = ("auto", "torch", "triton")


@functools.cache
def _triton_module() -> ModuleType | None:
    try:
        from tympan.plugins.losses import _rnnt_triton
    except ImportError:
        return None
    return _rnnt_triton


def _backend(logits: torch.Tensor, implementation: str) -> ModuleType:
    """The implementation module for these logits: ``lattice`` and ``gradient`` with one contract."""
    if implementation == "torch":
        return _rnnt_torch
    triton_impl = _triton_module()
    if implementation == "auto":
        usable = triton_impl is not None and logits.is_cuda and logits.dtype != torch.float64
        return triton_impl if usable and triton_impl is not None else _rnnt_torch
    if triton_impl is None:
        raise invalid(_NAME, "implementation", "'triton' needs the triton package (pip install triton)")
    if logits.dtype == torch.float64:
        raise invalid(_NAME, "implementation", "'triton' supports float32, float16 and bfloat16 logits")
    if not logits.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
        raise invalid(_NAME, "implementation", "'triton' needs CUDA logits (or TRITON_INTERPRET=1 on the CPU)")
    return triton_impl


def _on_host(packed: torch.Tensor) -> np.ndarray:
    """``packed`` as int64 values on the host: from CUDA, one asynchronous copy into pinned memory, then a wait
    for the current stream only."""
    if packed.is_cuda:
        host = packed.to("cpu", non_blocking=True)
        torch.cuda.current_stream(packed.device).synchronize()
    else:
        host = packed.cpu()
    return host.numpy().astype(np.int64)


def _check_inputs(
    logits: object,
    targets: object,
    logit_lengths: object,
    target_lengths: object,
    blank: int,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Validate shapes, dtypes, devices, lengths and target values; return the logits, the lengths and labels
    packed into one tensor (:func:`._rnnt_torch.pack`), and the blank index.

    The packed tensor comes to the host in one transfer for the value checks, except while a CUDA graph is
    captured, when the device checks them (:func:`assert_values_on_device`). Labels past each target length
    are never read, so they may hold anything (padding).
    """
    logits = check_tensor(_NAME, "logits", logits, ndim=4, floating=True)
    targets = check_tensor(_NAME, "targets", targets, ndim=2, integer=True)
    logit_lengths = check_tensor(_NAME, "logit_lengths", logit_lengths, ndim=1, integer=True)
    target_lengths = check_tensor(_NAME, "target_lengths", target_lengths, ndim=1, integer=True)
    batch, frames, states, vocab = logits.shape
    if batch == 0 or frames == 0 or vocab == 0:
        raise invalid(_NAME, "logits", f"expected a non-empty (B, T, U+1, V) tensor (got {tuple(logits.shape)})")
    if targets.shape != (batch, states - 1):
        raise invalid(
            _NAME,
            "targets",
            f"expected shape {(batch, states - 1)} for logits of shape "
            f"{tuple(logits.shape)} (got {tuple(targets.shape)})",
        )
    for name, lengths in (("logit_lengths", logit_lengths), ("target_lengths", target_lengths)):
        if lengths.shape[0] != batch:
            raise invalid(_NAME, name, f"expected {batch} lengths (got {lengths.shape[0]})")
    for name, tensor in (("targets", targets), ("logit_lengths", logit_lengths), ("target_lengths", target_lengths)):
        if tensor.device != logits.device:
            raise invalid(_NAME, name, f"expected a tensor on {logits.device} like logits (got {tensor.device})")
    if not -vocab <= blank < vocab:
        raise invalid(_NAME, "blank", f"expected an index in [-{vocab}, {vocab}) (got {blank})")
    blank = blank % vocab
    packed = _rnnt_torch.pack(targets, logit_lengths, target_lengths)
    if packed.is_cuda and torch.cuda.is_current_stream_capturing():
        assert_values_on_device(packed, batch, frames, vocab, blank)
    else:
        _check_values(_on_host(packed), batch, frames, vocab, blank)
    return logits, packed, blank


_LABELS_MESSAGE = "expected labels in [0, {vocab}) other than the blank {blank} within each target length"


def _check_values(values: np.ndarray, batch: int, frames: int, vocab: int, blank: int) -> None:
    """The checks of the lengths and labels in ``values`` (:func:`._rnnt_torch.pack`'s layout, on the host)."""
    labels_max = (values.size - 2 * batch) // batch
    frames_of, labels_of = values[:batch].tolist(), values[batch : 2 * batch].tolist()
    if min(frames_of) < 1 or max(frames_of) > frames:
        raise invalid(_NAME, "logit_lengths", f"expected values in [1, {frames}] (got {frames_of})")
    if min(labels_of) < 0 or max(labels_of) > labels_max:
        raise invalid(_NAME, "target_lengths", f"expected values in [0, {labels_max}] (got {labels_of})")
    labels = values[2 * batch :].reshape(batch, labels_max)
    inside = np.arange(labels_max) < values[batch : 2 * batch, None]
    if (inside & ((labels.view(np.uint64) >= vocab) | (labels == blank))).any():  # negative labels wrap to >= vocab
        raise invalid(_NAME, "targets", _LABELS_MESSAGE.format(vocab=vocab, blank=blank))


def assert_values_on_device(packed: torch.Tensor, batch: int, frames: int, vocab: int, blank: int) -> None:
    """The checks of :func:`_check_values` as one asynchronous assertion on ``packed``'s device.

    While a CUDA graph is being captured, the host cannot wait for the lengths and labels, so they are checked by
    the device as the graph runs: a bad value stops the process's CUDA context with a device-side assertion
    naming the arguments, instead of raising ``InvalidParameterError``. On the CPU the assertion raises at once.

    Example:
        >>> packed = torch.tensor([2, 1, 1])  # 2 frames, 1 label, the label 1
        >>> assert_values_on_device(packed, batch=1, frames=2, vocab=3, blank=0)
        >>> assert_values_on_device(packed, batch=1, frames=1, vocab=3, blank=0)
        Traceback (most recent call last):
            ...
        RuntimeError: rnnt_loss: expected logit_lengths in [1, 1], target_lengths in [0, 1] and ...
    """
    labels, frames_of, labels_of = _rnnt_torch.unpack(packed, batch)
    labels_max = labels.shape[1]
    inside = torch.arange(labels_max, device=packed.device) < labels_of[:, None]
    bad_labels = inside & ((labels < 0) | (labels >= vocab) | (labels == blank))
    lengths_ok = (frames_of >= 1) & (frames_of <= frames) & (labels_of >= 0) & (labels_of <= labels_max)
    torch._assert_async(
        lengths_ok.all() & ~bad_labels.any(),
        f"{_NAME}: expected logit_lengths in [1, {frames}], target_lengths in [0, {labels_max}] and "
        + _LABELS_MESSAGE.format(vocab=vocab, blank=blank),
    )


class _RNNTFunction(torch.autograd.Function):
    """Per-sample costs in the forward pass; the gradient, scaled by the upstream one, in the backward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        logits: torch.Tensor,
        packed: torch.Tensor,
        blank: int,
        clamp: float,
        fused: bool,
        inplace: bool,
        backend: ModuleType,
    ) -> torch.Tensor:
        costs, state = backend.lattice(logits, packed, blank, fused, logits.requires_grad)
        ctx.save_for_backward(logits, packed, *state)
        ctx.options = (blank, clamp, fused, inplace, backend)
        return costs.to(logits.dtype)

    @staticmethod
    def backward(ctx: Any, grad_costs: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        logits, packed, *state = ctx.saved_tensors
        blank, clamp, fused, inplace, backend = ctx.options
        grad = backend.gradient(logits, packed, tuple(state), grad_costs, blank, clamp, fused, inplace)
        return (grad,) + (None,) * 6


def rnnt_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = -1,
    clamp: float = -1,
    reduction: Reduction = "mean",
    fused_log_softmax: bool = True,
    inplace_gradient: bool = False,
    implementation: Implementation = "auto",
) -> torch.Tensor:
    """The RNN transducer loss (Graves 2012) with torchaudio's conventions.

    Args:
        logits: ``(B, T, U + 1, V)`` joint-network outputs; float32, float16, bfloat16 or float64.
        targets: ``(B, U)`` integer labels, padded past each target length (the padding is ignored).
        logit_lengths: ``(B,)`` frames per sample, each in ``[1, T]``.
        target_lengths: ``(B,)`` labels per sample, each in ``[0, U]``.
        blank: index of the blank label; negative values count from the end (``-1`` is ``V - 1``).
        clamp: clip each gradient element to ``[-clamp, clamp]`` when positive.
        reduction: ``"none"`` (per-sample costs), ``"mean"`` (over the batch) or ``"sum"``.
        fused_log_softmax: apply the log-softmax over ``V`` inside the loss; ``False`` when the logits are
            log-probabilities already.
        inplace_gradient: write the gradient into the storage of ``logits`` in the backward pass; needs
            contiguous logits that nothing else reads afterwards.
        implementation: ``"auto"``, ``"torch"`` (wavefront) or ``"triton"`` (fused kernels).

    Returns:
        The reduced loss, or the ``(B,)`` per-sample costs for ``reduction="none"``.

    Raises:
        InvalidParameterError: (a ``ValueError``) for wrong shapes, dtypes or devices, lengths outside the
            tensors, labels out of range or equal to the blank, and unknown options; before any kernel runs.

    Example:
        >>> import torch
        >>> logits = torch.zeros(1, 2, 2, 3)  # uniform over 3 labels: 2 paths of probability 1/27
        >>> loss = rnnt_loss(logits, torch.tensor([[1]]), torch.tensor([2]), torch.tensor([1]), blank=0)
        >>> round(loss.item(), 4)
        2.6027
    """
    if torch.jit.is_scripting():
        costs = torch.ops.tympan.rnnt_loss(
            logits,
            targets,
            logit_lengths,
            target_lengths,
            blank,
            float(clamp),
            reduction,
            fused_log_softmax,
            inplace_gradient,
            implementation,
            logits.requires_grad,
        )[0]
    else:
        costs = _costs(
            logits,
            targets,
            logit_lengths,
            target_lengths,
            blank,
            float(clamp),
            reduction,
            fused_log_softmax,
            inplace_gradient,
            implementation,
        )
    if reduction == "mean":
        return costs.mean()
    if reduction == "sum":
        return costs.sum()
    return costs


def _prepare(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    reduction: str,
    inplace_gradient: bool,
    implementation: str,
) -> tuple[torch.Tensor, torch.Tensor, int, ModuleType]:
    """Every check of :func:`rnnt_loss`; the logits, the packed lengths and labels, the blank index and the
    implementation module."""
    check_choice(_NAME, "reduction", reduction, _REDUCTIONS)
    check_choice(_NAME, "implementation", implementation, _IMPLEMENTATIONS)
    logits, packed, blank = _check_inputs(logits, targets, logit_lengths, target_lengths, blank)
    if inplace_gradient and not logits.is_contiguous():
        raise invalid(_NAME, "inplace_gradient", "needs contiguous logits")
    return logits, packed, blank, _backend(logits, implementation)


def _costs(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    clamp: float,
    reduction: str,
    fused_log_softmax: bool,
    inplace_gradient: bool,
    implementation: str,
) -> torch.Tensor:
    """The validated per-sample costs, with their autograd node."""
    logits, packed, blank, backend = _prepare(
        logits, targets, logit_lengths, target_lengths, blank, reduction, inplace_gradient, implementation
    )
    costs: torch.Tensor = _RNNTFunction.apply(
        logits, packed, blank, clamp, bool(fused_log_softmax), bool(inplace_gradient), backend
    )
    return costs


# No ``from __future__ import annotations`` in this module: the operator's schema is read from these types.
@torch.library.custom_op("tympan::rnnt_loss", mutates_args=())
def _rnnt_op(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    clamp: float,
    reduction: str,
    fused_log_softmax: bool,
    inplace_gradient: bool,
    implementation: str,
    with_gradient: bool,
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """:func:`rnnt_loss`'s per-sample costs as the operator ``torch.ops.tympan.rnnt_loss``, which a compiled
    ``rnnt_loss`` calls (the checks run on the host, the kernels are Python modules), so that it saves with
    ``torch.jit.save`` and loads wherever tympan is imported. Also returns the packed lengths and labels and the
    lattice state, which its backward pass reads (kept only ``with_gradient``)."""
    logits, packed, blank, backend = _prepare(
        logits, targets, logit_lengths, target_lengths, blank, reduction, inplace_gradient, implementation
    )
    costs, state = backend.lattice(logits, packed, blank, fused_log_softmax, with_gradient)
    return costs.to(logits.dtype), packed, list(state)


def _rnnt_op_setup(ctx: Any, inputs: tuple[Any, ...], output: tuple[Any, ...]) -> None:
    logits, _, _, _, blank, clamp, _, fused, inplace, implementation, _ = inputs
    _, packed, state = output
    ctx.save_for_backward(logits, packed, *state)
    ctx.options = (blank % logits.shape[-1], clamp, fused, inplace, implementation)


def _rnnt_op_backward(ctx: Any, grad_costs: torch.Tensor, *_: Any) -> tuple[torch.Tensor | None, ...]:
    logits, packed, *state = ctx.saved_tensors
    blank, clamp, fused, inplace, implementation = ctx.options
    backend = _backend(logits, implementation)
    grad = backend.gradient(logits, packed, tuple(state), grad_costs, blank, clamp, fused, inplace)
    return (grad,) + (None,) * 10


_rnnt_op.register_autograd(_rnnt_op_backward, setup_context=_rnnt_op_setup)
