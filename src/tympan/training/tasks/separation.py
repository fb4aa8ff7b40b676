"""``separation``: a mixture in, its sources out (ConvTasNet on LibriMix or WSJ0-mix), SI-SNR improvement.

Training examples are random ``segment_seconds`` crops of the mixture and its sources (shorter items are
kept whole and padded), as the ConvTasNet recipes train; validation runs on whole mixtures. The model maps
``(batch, 1, time)`` to ``(batch, sources, time)``; the loss compares estimates and references, typically
``loss:pit`` over SI-SNR. Validation reports, per item and under the best permutation, the SI-SNR of the
estimates and its improvement over the mixture's (SI-SNRi), in dB.

Example:
    >>> Separation(segment_seconds=2.0).seconds(5.0, train=True), Separation().seconds(5.0, train=False)
    (2.0, 5.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import torch
from pydantic import Field
from torch import nn

from tympan.core.params import validated_arguments
from tympan.training.tasks.base import Batch, Sample, Task, Totals

__all__ = ["Separation"]


class _Separator(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Batch) -> torch.Tensor:
        mixture = batch["inputs"]
        estimates: torch.Tensor = self.model(mixture)
        frames = mixture.shape[-1]
        if estimates.shape[-1] != frames:  # a model that pads to its stride: cut back, or pad, to the input
            estimates = nn.functional.pad(estimates, (0, max(0, frames - estimates.shape[-1])))[..., :frames]
        return estimates


class Separation(Task):
    """Source separation; see the module docstring.

    Example:
        >>> Separation(segment_seconds=0)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for separation:
          segment_seconds: Input should be greater than 0 (got 0)
    """

    name = "separation"
    qualified_name = "separation"
    metrics = ("loss", "si_snr", "si_snri")
    uses_features = False

    def __init__(
        self,
        segment_seconds: Annotated[float, Field(gt=0, le=600, description="Training crop length in seconds.")] = 3.0,
    ) -> None:
        validated_arguments(type(self), locals())
        super().__init__()
        self.segment_seconds = segment_seconds

    def seconds(self, duration: float, train: bool) -> float:
        return min(duration, self.segment_seconds) if train else duration

    def example(
        self, record: Any, features: nn.Module | None, train: bool, generator: torch.Generator
    ) -> dict[str, Any]:
        del features
        mixture, sources = record.waveform, torch.cat(record.sources)
        frames = mixture.shape[-1]
        segment = round(self.segment_seconds * record.sample_rate)
        if train and frames > segment:
            start = int(torch.randint(0, frames - segment + 1, (), generator=generator))
            mixture, sources = mixture[:, start : start + segment], sources[:, start : start + segment]
        seconds = mixture.shape[-1] / record.sample_rate
        return {"id": record.id, "seconds": seconds, "rate": record.sample_rate, "inputs": mixture, "target": sources}

    def wrap(self, model: nn.Module) -> nn.Module:
        return _Separator(model)

    def loss(self, outputs: torch.Tensor, batch: Batch, loss: nn.Module) -> torch.Tensor:
        value: torch.Tensor = loss(outputs.float(), batch["target"])
        return value

    def evaluate(
        self, outputs: torch.Tensor, batch: Batch, loss: nn.Module, decoders: Mapping[str, nn.Module], totals: Totals
    ) -> list[Sample]:
        from tympan.plugins.losses.separation import pit_loss, si_snr

        del decoders
        count = self.add_loss(outputs, batch, loss, totals)
        samples = []
        for i in range(count):
            frames = int(batch["inputs_lengths"][i])
            estimates, references = outputs[i : i + 1, :, :frames].float(), batch["target"][i : i + 1, :, :frames]
            mixture = batch["inputs"][i : i + 1, :, :frames].expand_as(references)
            separated = -float(pit_loss(estimates, references, "si_snr")[0])
            improvement = separated - float(si_snr(mixture, references).mean())
            totals.add("si_snr", separated, 1).add("si_snri", improvement, 1)
            rate = int(batch["rate"][i])
            audio = {"mixture": (batch["inputs"][i, :, :frames].cpu(), rate)}
            audio.update(
                {f"estimate_{s + 1}": (estimates[0, s : s + 1].cpu(), rate) for s in range(estimates.shape[1])}
            )
            samples.append(Sample(batch["id"][i], audio=audio, text=f"{batch['id'][i]}: SI-SNRi {improvement:.2f} dB"))
        return samples
