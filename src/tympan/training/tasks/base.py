"""What a task is: how a corpus record becomes an example, how a batch meets the model and the loss, and what
validation measures.

A :class:`Task` runs in two places. In the data loader's workers, :meth:`Task.example` turns one record into
a dict of tensors (the feature pipeline applied, a crop chosen, a label looked up), with every random choice
drawn from the generator it is given, so an example is the same in any worker and after a resumption. In
the training process, :meth:`Task.wrap` puts the registry model inside a module that takes the padded
batch (what DistributedDataParallel wraps), :meth:`Task.loss` computes the loss, and :meth:`Task.evaluate`
adds one batch's counts to the validation totals (sums of numerators and denominators, so that ranks add
up exactly).

Example:
    >>> Totals().add("accuracy", 3, 4).add("accuracy", 1, 4).rates()
    {'accuracy': 0.5}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

__all__ = ["Batch", "Sample", "Task", "Totals", "collate_examples", "pad_along"]

Batch = dict[str, Any]


@dataclasses.dataclass
class Totals:
    """Validation sums: for each metric, a numerator and a denominator (the rate is their quotient).

    Example:
        >>> Totals({"wer": [2.0, 10.0]}).rates()
        {'wer': 0.2}
    """

    sums: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def add(self, name: str, numerator: float, denominator: float) -> Totals:
        """Add to metric ``name``; returns ``self``."""
        pair = self.sums.setdefault(name, [0.0, 0.0])
        pair[0] += float(numerator)
        pair[1] += float(denominator)
        return self

    def rates(self) -> dict[str, float]:
        """Each metric's numerator over its denominator (NaN when nothing was counted)."""
        return {name: (n / d if d else float("nan")) for name, (n, d) in sorted(self.sums.items())}


@dataclasses.dataclass(frozen=True)
class Sample:
    """One validation example to show: its id, audio (``name -> (waveform, rate)``) and pictures
    (``name -> 2-D tensor``, rows from the lowest frequency up; the log scales each to its range), and a line
    of text.

    Example:
        >>> Sample("a", text="ref: YES / hyp: YES").text
        'ref: YES / hyp: YES'
    """

    id: str
    audio: Mapping[str, tuple[torch.Tensor, int]] = dataclasses.field(default_factory=dict)
    images: Mapping[str, torch.Tensor] = dataclasses.field(default_factory=dict)
    text: str = ""


def pad_along(tensors: Sequence[torch.Tensor], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack tensors of equal shape but along ``dim``, zero-padded there; and their lengths along ``dim``.

    Example:
        >>> padded, lengths = pad_along([torch.ones(2, 3), torch.ones(4, 3)], dim=0)
        >>> padded.shape, lengths.tolist()
        (torch.Size([2, 4, 3]), [2, 4])
    """
    axis = dim % tensors[0].dim()
    lengths = torch.tensor([t.shape[axis] for t in tensors], dtype=torch.long)
    shape = list(tensors[0].shape)
    shape[axis] = int(lengths.max())
    out = tensors[0].new_zeros((len(tensors), *shape))
    for row, tensor in enumerate(tensors):
        out[row].narrow(axis, 0, tensor.shape[axis]).copy_(tensor)
    return out, lengths


def collate_examples(examples: Sequence[Mapping[str, Any] | None], time_dims: Mapping[str, int]) -> Batch:
    """A batch of examples: tensors padded along their time dimension (``time_dims``, default the last),
    with ``<name>_lengths``; other values as lists. ``None`` examples (broken files) are dropped.

    Example:
        >>> batch = collate_examples([{"id": "a", "x": torch.ones(3)}, None, {"id": "b", "x": torch.ones(5)}], {})
        >>> batch["x"].shape, batch["x_lengths"].tolist(), batch["id"]
        (torch.Size([2, 5]), [3, 5], ['a', 'b'])
    """
    kept = [example for example in examples if example is not None]
    batch: Batch = {}
    if not kept:
        return batch
    for key in kept[0]:
        values = [example[key] for example in kept]
        if isinstance(values[0], torch.Tensor) and values[0].dim() > 0:
            batch[key], batch[f"{key}_lengths"] = pad_along(values, time_dims.get(key, -1))
        elif isinstance(values[0], torch.Tensor):
            batch[key] = torch.stack(values)
        else:
            batch[key] = values
    return batch


class Task:
    """Base of the tasks; subclasses declare their parameters in ``__init__`` (validated, with bounds).

    Class attributes: ``name``; ``metrics``, the metrics :meth:`evaluate` can report; ``uses_features``,
    whether a feature pipeline applies; ``fixed_examples``, whether an item's example is the same in every
    epoch (no random crop), so that a run can compute it once (``data.keep_examples``); ``time_dims``, the
    time dimension of each example tensor whose time is not its last dimension.

    Example:
        >>> from tympan.training.tasks import TASKS
        >>> sorted(TASKS)
        ['classification', 'ctc', 'separation', 'vocoder']
    """

    name: ClassVar[str] = ""
    metrics: ClassVar[tuple[str, ...]] = ()
    uses_features: ClassVar[bool] = True
    fixed_examples: ClassVar[bool] = False
    time_dims: dict[str, int]

    def __init__(self) -> None:
        self.time_dims = {}

    # -- checks before anything is built -------------------------------------------------------------------

    def check_model(self, name: str, params: Mapping[str, Any]) -> list[str]:
        """Problems (``field: message``) between the task and the model's parameters (none by default)."""
        del name, params
        return []

    def decoder_defaults(self, run_dir: Path) -> dict[str, Any]:
        """Parameters given to the recipe's decoders that take them and were not given them (none by default)."""
        del run_dir
        return {}

    def prepare(self, records: Iterable[Any], run_dir: Path) -> None:
        """Make what the decoders need from the training records (no audio; nothing by default). Rank 0 only."""
        del records, run_dir

    def metric_names(self, decoders: Sequence[str]) -> list[str]:
        """The metrics this task reports with these decoders (their labels)."""
        del decoders
        return list(self.metrics)

    # -- data (run in the loader's workers) ----------------------------------------------------------------

    def seconds(self, duration: float, train: bool) -> float:
        """The padded seconds an item of ``duration`` takes in a batch (a crop takes less)."""
        del train
        return duration

    def example(
        self, record: Any, features: nn.Module | None, train: bool, generator: torch.Generator
    ) -> dict[str, Any]:
        """One record as a dict of tensors (and its ``id``), ready to collate."""
        raise NotImplementedError

    def set_feature_shape(self, shape: Sequence[int], time_dim: int) -> None:
        """The shape of one example's inputs and where time runs in it (a negative index), set by the
        trainer from the feature pipeline before anything is loaded."""
        del shape
        self.time_dims["inputs"] = time_dim

    def featured(self, record: Any, features: nn.Module | None, target: torch.Tensor) -> dict[str, Any]:
        """The example of ``record`` whose inputs are its waveform through ``features`` (if any)."""
        waveform = record.waveform
        inputs = features(waveform) if features is not None else waveform
        return {"id": record.id, "seconds": record.duration, "inputs": inputs, "target": target}

    # -- the model and the loss ----------------------------------------------------------------------------

    def add_loss(self, outputs: Any, batch: Batch, loss: nn.Module, totals: Totals) -> int:
        """Add the loss of one validation batch to ``totals`` (weighted by its items); return their number."""
        count = len(batch["id"])
        totals.add("loss", float(self.loss(outputs, batch, loss)) * count, count)
        return count

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the trainer optimises: ``forward(batch) -> outputs`` around the registry model."""
        raise NotImplementedError

    def loss(self, outputs: Any, batch: Batch, loss: nn.Module) -> torch.Tensor:
        """The scalar loss of one batch."""
        raise NotImplementedError

    def evaluate(
        self, outputs: Any, batch: Batch, loss: nn.Module, decoders: Mapping[str, nn.Module], totals: Totals
    ) -> list[Sample]:
        """Add one validation batch to ``totals`` (``loss`` included); return examples to show."""
        raise NotImplementedError

    def items_of(self, batch: Batch) -> int:
        """The number of examples in ``batch``."""
        return len(batch.get("id", ()))
