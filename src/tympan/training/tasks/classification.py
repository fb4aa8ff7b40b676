"""``classification``: one label per clip (keyword spotting, speaker or genre identification), accuracy.

A record's ``label_field`` is looked up in ``labels``; any other label is ``unknown_label`` when one is
given (the Speech Commands task's ``_unknown_``). The model maps the padded features ``(batch, ...)`` to
``(batch, classes)`` logits (dimensions of size one besides are squeezed).

Example:
    >>> task = Classification(labels=["yes", "no"], unknown_label="_unknown_")
    >>> task.classes, task.index("maybe")
    (['yes', 'no', '_unknown_'], 2)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from pydantic import Field
from torch import nn

from tympan.core.params import validated_arguments
from tympan.training.tasks.base import Batch, Sample, Task, Totals

__all__ = ["Classification", "call_model"]


def call_model(model: nn.Module, inputs: torch.Tensor, lengths: torch.Tensor) -> Any:
    """``model(inputs, lengths)`` when its ``forward`` takes a second argument, else ``model(inputs)``.

    Example:
        >>> call_model(nn.Identity(), torch.ones(1), torch.ones(1)).shape
        torch.Size([1])
    """
    parameters = [
        p
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return model(inputs, lengths) if len(parameters) >= 2 else model(inputs)


class _Classifier(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Batch) -> torch.Tensor:
        out = call_model(self.model, batch["inputs"], batch["inputs_lengths"])
        logits: torch.Tensor = out[0] if isinstance(out, tuple) else out
        return logits.reshape(logits.shape[0], -1)


class Classification(Task):
    """One label per clip; see the module docstring.

    Example:
        >>> Classification(labels=["a"])
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for classification:
          labels: List should have at least 2 items after validation, not 1 (got ['a'])
    """

    name = "classification"
    qualified_name = "classification"
    fixed_examples = True
    metrics = ("loss", "accuracy")

    def __init__(
        self,
        labels: Annotated[list[str], Field(min_length=2, max_length=100_000, description="The class labels.")],
        unknown_label: Annotated[
            str | None, Field(description="The class of every other label (None: other labels are errors).")
        ] = None,
        label_field: Annotated[str, Field(description="The record field holding the label.")] = "label",
    ) -> None:
        validated_arguments(type(self), locals())
        super().__init__()
        self.classes = list(labels) + ([unknown_label] if unknown_label is not None else [])
        self._index = {label: i for i, label in enumerate(self.classes)}
        self.unknown_label = unknown_label
        self.label_field = label_field

    def check_model(self, name: str, params: Mapping[str, Any]) -> list[str]:
        declared = params.get("num_classes")
        if declared is not None and declared != len(self.classes):
            return [f"num_classes: {declared} differs from the task's {len(self.classes)} classes"]
        return []

    def index(self, label: str) -> int:
        """The class index of ``label``; ``ValueError`` when it is no class and there is no unknown class."""
        found = self._index.get(label)
        if found is not None:
            return found
        if self.unknown_label is None:
            raise ValueError(f"label {label!r} is none of the task's labels and there is no unknown_label")
        return self._index[self.unknown_label]

    def example(
        self, record: Any, features: nn.Module | None, train: bool, generator: torch.Generator
    ) -> dict[str, Any]:
        del train, generator
        return self.featured(record, features, torch.tensor(self.index(str(getattr(record, self.label_field)))))

    def wrap(self, model: nn.Module) -> nn.Module:
        return _Classifier(model)

    def loss(self, outputs: torch.Tensor, batch: Batch, loss: nn.Module) -> torch.Tensor:
        value: torch.Tensor = loss(outputs, batch["target"])
        return value

    def evaluate(
        self, outputs: torch.Tensor, batch: Batch, loss: nn.Module, decoders: Mapping[str, nn.Module], totals: Totals
    ) -> list[Sample]:
        del decoders
        count = self.add_loss(outputs, batch, loss, totals)
        predicted = outputs.argmax(-1)
        totals.add("accuracy", int((predicted == batch["target"]).sum()), count)
        return [
            Sample(item, text=f"{item}: {self.classes[int(t)]} -> {self.classes[int(p)]}")
            for item, t, p in zip(batch["id"], batch["target"], predicted, strict=True)
        ]
