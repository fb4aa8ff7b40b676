"""``loss:cross_entropy``: cross-entropy of logits whose classes run along the last dimension.

The form suits clip classifiers (``(batch, classes)`` against ``(batch,)``) and sample-level classifiers
such as WaveRNN (``(batch, ..., time, classes)`` against ``(batch, ..., time)``) alike.

Example:
    >>> import torch
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(cross_entropy(logits, torch.tensor([0, 1])).item(), 4)
    0.1269
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.components import Loss
from tympan.core.params import validated_arguments

__all__ = ["CrossEntropyLoss", "cross_entropy"]

Reduction = Literal["none", "mean", "sum"]


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    """Cross-entropy of ``logits`` ``(..., classes)`` against class indices ``target`` ``(...)``.

    ``reduction="none"`` keeps ``target``'s shape; targets equal to ``ignore_index`` count for nothing.

    Example:
        >>> cross_entropy(torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long), reduction="none").shape
        torch.Size([2, 3])
    """
    if logits.shape[:-1] != target.shape:
        raise ValueError(
            f"cross_entropy: target of shape {tuple(target.shape)} does not match logits {tuple(logits.shape)} "
            "(expected the logits' shape without its last, class, dimension)"
        )
    values = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        target.reshape(-1),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )
    return values.reshape(target.shape) if reduction == "none" else values


class CrossEntropyLoss(Loss):
    """Cross-entropy over the last dimension; see :func:`cross_entropy`.

    Example:
        >>> import torch
        >>> CrossEntropyLoss(label_smoothing=0.1)(torch.zeros(2, 5), torch.tensor([1, 2])).item() > 1.6
        True
    """

    qualified_name: ClassVar[str] = "loss:cross_entropy"
    functional = staticmethod(cross_entropy)

    def __init__(
        self,
        label_smoothing: Annotated[
            float, Field(ge=0.0, le=1.0, description="Mass spread uniformly over the classes.")
        ] = 0.0,
        reduction: Annotated[Reduction, Field(description="'none' (per target), 'mean' or 'sum'.")] = "mean",
        ignore_index: Annotated[int, Field(description="A target value that counts for nothing.")] = -100,
    ) -> None:
        validated_arguments(type(self), locals())
        super().__init__()
        self.label_smoothing, self.reduction, self.ignore_index = label_smoothing, reduction, ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of ``logits`` ``(..., classes)`` against ``target`` ``(...)``."""
        return cross_entropy(logits, target, self.label_smoothing, self.reduction, self.ignore_index)
