"""``ctc``: speech recognition with a CTC loss over characters, decoded greedily or by beam search, WER / CER.

The transcript (``text_field``) is upper-cased and spelt in ``tokens`` (blank first, ``|`` between words;
other characters are dropped). Around the registry model the task can add what an encoder needs to become
a CTC model, as torchaudio's Conformer recipes do: ``frame_stack`` consecutive feature frames stacked into
one (a time reduction), a linear ``input_dim`` projection in front, and a linear output layer when the
model's output width (``encoder_dim``) is not the number of tokens. ``layout`` says whether the model
reads and writes ``(batch, time, features)`` or ``(batch, features, time)``. A model whose ``forward``
takes lengths gets them; one that returns ``(output, lengths)`` gives them.

With ``lm_order``, an n-gram language model of the training transcripts is written to the run folder
(``lm.arpa``) and given to every decoder that takes an ``lm`` and was given none.

Example:
    >>> task = CTC()
    >>> task.tokens[:4], task.encode("it's ok!").tolist()
    (['-', '|', "'", 'A'], [11, 22, 2, 21, 1, 17, 13])
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from pydantic import Field
from torch import nn

from tympan.core.params import validated_arguments
from tympan.training.tasks.base import Batch, Sample, Task, Totals
from tympan.training.tasks.classification import call_model

__all__ = ["CTC", "DEFAULT_TOKENS"]

#: Blank, word boundary, apostrophe and the 26 letters: LibriSpeech's characters.
DEFAULT_TOKENS = ("-", "|", "'", *string.ascii_uppercase)


def scaled_lengths(lengths: torch.Tensor, frames_in: int, frames_out: int) -> torch.Tensor:
    """Lengths after a model maps ``frames_in`` padded frames to ``frames_out`` (rounded up, at most that).

    Example:
        >>> scaled_lengths(torch.tensor([100, 51]), 100, 50).tolist()
        [50, 26]
    """
    scaled = torch.div(lengths * frames_out + frames_in - 1, max(frames_in, 1), rounding_mode="floor")
    return scaled.clamp(max=frames_out)


class _CTCModel(nn.Module):
    """Stacking, projection, the model, the output layer: ``(batch, time, features)`` in, logits out."""

    def __init__(self, model: nn.Module, task: CTC) -> None:
        super().__init__()
        self.model = model
        self.frame_stack = task.frame_stack
        self.channels_first = task.layout == "channels_first"
        self.time_dim = task.time_dims.get("inputs", -1)
        width = task.feature_width * task.frame_stack
        self.project = nn.Linear(width, task.input_dim) if task.input_dim is not None else None
        self.head = nn.Linear(task.encoder_dim, len(task.tokens)) if task.encoder_dim is not None else None

    def _frames(self, inputs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, time, features)`` from the padded features, stacked by ``frame_stack``."""
        x = inputs.movedim(self.time_dim, 1).flatten(2)  # channels fold into the features
        if self.frame_stack > 1:
            frames = x.shape[1]
            padded = math.ceil(frames / self.frame_stack) * self.frame_stack
            x = nn.functional.pad(x, (0, 0, 0, padded - frames))
            x = x.reshape(x.shape[0], padded // self.frame_stack, -1)
            lengths = torch.div(lengths + self.frame_stack - 1, self.frame_stack, rounding_mode="floor")
        return x, lengths

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self._frames(batch["inputs"], batch["inputs_lengths"])
        if self.project is not None:
            x = self.project(x)
        frames_in = x.shape[1]
        out = call_model(self.model, x.transpose(1, 2) if self.channels_first else x, lengths)
        returned = None
        if isinstance(out, tuple):
            out, returned = out[0], out[1]
        if self.channels_first:
            out = out.transpose(1, 2)
        lengths = returned if returned is not None else scaled_lengths(lengths, frames_in, out.shape[1])
        if self.head is not None:
            out = self.head(out)
        return out, lengths


class CTC(Task):
    """Speech recognition with CTC; see the module docstring.

    Example:
        >>> CTC(tokens=["a", "b"])
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for ctc:
          tokens: List should have at least 3 items after validation, not 2 (got ['a', 'b'])
    """

    name = "ctc"
    qualified_name = "ctc"
    fixed_examples = True
    metrics = ("loss", "wer", "cer")

    def __init__(
        self,
        tokens: Annotated[
            list[str] | None,
            Field(min_length=3, max_length=100_000, description="The token set, blank first (None: characters)."),
        ] = None,
        text_field: Annotated[str, Field(description="The record field holding the transcript.")] = "transcript",
        layout: Annotated[
            Literal["time_first", "channels_first"],
            Field(description="The model's input and output: (batch, time, dim) or (batch, dim, time)."),
        ] = "time_first",
        frame_stack: Annotated[int, Field(ge=1, le=64, description="Feature frames stacked into one.")] = 1,
        input_dim: Annotated[
            int | None, Field(ge=1, le=1 << 16, description="Project the (stacked) frames to this width first.")
        ] = None,
        encoder_dim: Annotated[
            int | None, Field(ge=1, le=1 << 16, description="The model's output width, mapped to the tokens.")
        ] = None,
        lm_order: Annotated[
            int | None, Field(ge=1, le=6, description="Train an n-gram LM of this order on the transcripts.")
        ] = None,
    ) -> None:
        validated_arguments(type(self), locals())
        super().__init__()
        self.tokens = list(tokens) if tokens is not None else list(DEFAULT_TOKENS)
        self._index = {token: i for i, token in enumerate(self.tokens)}
        self.text_field, self.layout, self.frame_stack = text_field, layout, frame_stack
        self.input_dim, self.encoder_dim, self.lm_order = input_dim, encoder_dim, lm_order
        self.feature_width = 1

    def check_model(self, name: str, params: Mapping[str, Any]) -> list[str]:
        declared = params.get("num_classes")
        if self.encoder_dim is None and declared is not None and declared != len(self.tokens):
            return [f"num_classes: {declared} differs from the task's {len(self.tokens)} tokens"]
        return []

    def metric_names(self, decoders: Sequence[str]) -> list[str]:
        return ["loss", *(f"{label}/{metric}" for label in decoders for metric in ("wer", "cer"))]

    # -- text ----------------------------------------------------------------------------------------------

    def encode(self, text: str) -> torch.Tensor:
        """The token indices of ``text`` (upper case, words separated by ``|``, unknown characters dropped)."""
        words = text.upper().split()
        spelt = "|".join(words)
        return torch.tensor([self._index[c] for c in spelt if c in self._index], dtype=torch.long)

    def normalise(self, text: str) -> str:
        """``text`` as the tokens can spell it (what the error rates compare against)."""
        tokens = self.encode(text).tolist()
        return "".join(" " if self.tokens[t] == "|" else self.tokens[t] for t in tokens).strip()

    def decoder_defaults(self, run_dir: Path) -> dict[str, Any]:
        defaults: dict[str, Any] = {"tokens": list(self.tokens)}
        if self.lm_order is not None:
            defaults["lm"] = str(run_dir / "lm.arpa")
        return defaults

    def prepare(self, records: Iterable[Any], run_dir: Path) -> None:
        """Write the n-gram model of the training transcripts to ``run_dir/lm.arpa`` (with ``lm_order``)."""
        from tympan.plugins.decoders.ngram_train import write_arpa

        if self.lm_order is not None:
            texts = [self.normalise(str(getattr(record, self.text_field))) for record in records]
            write_arpa(run_dir / "lm.arpa", texts, order=self.lm_order)

    # -- data ----------------------------------------------------------------------------------------------

    def set_feature_shape(self, shape: Sequence[int], time_dim: int) -> None:
        super().set_feature_shape(shape, time_dim)
        widths = [size for axis, size in enumerate(shape) if axis != time_dim % len(shape)]
        self.feature_width = math.prod(widths)

    def example(
        self, record: Any, features: nn.Module | None, train: bool, generator: torch.Generator
    ) -> dict[str, Any]:
        del train, generator
        return self.featured(record, features, self.encode(str(getattr(record, self.text_field))))

    # -- model and loss ------------------------------------------------------------------------------------

    def wrap(self, model: nn.Module) -> nn.Module:
        return _CTCModel(model, self)

    def loss(self, outputs: tuple[torch.Tensor, torch.Tensor], batch: Batch, loss: nn.Module) -> torch.Tensor:
        logits, lengths = outputs
        value: torch.Tensor = loss(logits.float(), batch["target"], lengths, batch["target_lengths"])
        return value

    def evaluate(
        self,
        outputs: tuple[torch.Tensor, torch.Tensor],
        batch: Batch,
        loss: nn.Module,
        decoders: Mapping[str, nn.Module],
        totals: Totals,
    ) -> list[Sample]:
        from tympan.plugins.decoders.metrics import error_counts

        count = self.add_loss(outputs, batch, loss, totals)
        logits, lengths = outputs
        emissions = logits.float().log_softmax(-1)
        references = [self._text(batch, i) for i in range(count)]
        samples = [Sample(item, text=f"{item}: {ref}") for item, ref in zip(batch["id"], references, strict=True)]
        for label, decoder in decoders.items():
            # a beam search can end with no hypothesis at all (every one pruned): an empty transcript
            hypotheses = [" ".join(best[0].words) if best else "" for best in decoder(emissions, lengths)]
            for unit, metric in (("word", "wer"), ("char", "cer")):
                counts = error_counts(references, hypotheses, "word" if unit == "word" else "char")
                errors = counts.substitutions + counts.deletions + counts.insertions
                totals.add(f"{label}/{metric}", errors, counts.hits + counts.substitutions + counts.deletions)
            samples = [
                Sample(s.id, text=f"{s.text} | {label}: {hyp}") for s, hyp in zip(samples, hypotheses, strict=True)
            ]
        return samples

    def _text(self, batch: Batch, index: int) -> str:
        tokens = batch["target"][index, : int(batch["target_lengths"][index])].tolist()
        return "".join(" " if self.tokens[t] == "|" else self.tokens[t] for t in tokens)
