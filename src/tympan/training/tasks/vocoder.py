"""``vocoder``: a spectrogram in, its waveform out (WaveRNN on LibriTTS), the mel distance of resynthesised audio.

The recipe's feature pipeline makes the conditioning spectrogram, one frame per ``hop_length`` samples of the
model (``tts:wavernn``; its hop, kernel and classes are read from the model's parameters). Every sample is
mu-law companded to the model's ``n_classes`` levels: the model reads each sample's companded value and
predicts the class of the next one (teacher forcing, a cross-entropy loss such as ``loss:cross_entropy``).
Training examples are random crops of ``crop_frames`` frames and the samples under them (items shorter than a
crop are skipped); validation examples are whole utterances. Validation reports the teacher-forced loss and,
for the first ``resynthesize`` items of each validation batch, ``mel_l1``: the mean absolute difference
between the log-mel spectrograms (80 bands, natural log) of the generated audio and of the reference; their
audio and both spectrograms are the logged samples.

Example:
    >>> task = Vocoder(crop_frames=8)
    >>> task.check_model("tts:wavernn", {"hop_length": 200, "kernel_size": 5, "n_classes": 256})
    []
    >>> task.set_feature_shape([1, 80, 81], -1)  # one second of 16 kHz audio: 81 frames of 200 samples
    >>> round(task.seconds(3.0, train=True), 3), task.seconds(3.0, train=False)
    (0.099, 3.0)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from pydantic import Field
from torch import nn

from tympan.core.params import validated_arguments
from tympan.training.tasks.base import Batch, Sample, Task, Totals

__all__ = ["Vocoder", "log_mel_distance_spectrogram"]


class _TeacherForced(nn.Module):
    def __init__(self, model: nn.Module, pad: int) -> None:
        super().__init__()
        self.model = model
        self.pad = pad

    def forward(self, batch: Batch) -> torch.Tensor:
        specgram = batch["inputs"]  # (batch, 1, bins, frames): the crop carries its own context
        if not self.training:  # whole utterances: the context is silence either side, as generation pads
            specgram = nn.functional.pad(specgram, (self.pad, self.pad))
        logits: torch.Tensor = self.model(batch["previous"], specgram)
        return logits.squeeze(1)  # (batch, samples, classes)


class Vocoder(Task):
    """Neural vocoding; see the module docstring.

    Example:
        >>> Vocoder(crop_frames=0)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for vocoder:
          crop_frames: Input should be greater than or equal to 1 (got 0)
    """

    name = "vocoder"
    qualified_name = "vocoder"
    metrics = ("loss", "mel_l1")

    def __init__(
        self,
        crop_frames: Annotated[int, Field(ge=1, le=10_000, description="Frames of each training crop.")] = 8,
        resynthesize: Annotated[
            int, Field(ge=0, le=1000, description="Validation items per batch generated for mel_l1.")
        ] = 1,
    ) -> None:
        validated_arguments(type(self), locals())
        super().__init__()
        self.crop_frames, self.resynthesize = crop_frames, resynthesize
        self.hop_length, self.kernel_size, self.n_classes = 1, 1, 2
        self.frames_per_second = 100.0  # the trainer sets it from the feature pipeline (set_feature_shape)
        self.time_dims = {"inputs": -1, "previous": -1, "target": -1, "reference": -1}
        self._model: nn.Module | None = None

    @property
    def pad(self) -> int:
        """Frames of context the model's first convolution reads either side of a frame."""
        return (self.kernel_size - 1) // 2

    def check_model(self, name: str, params: Mapping[str, Any]) -> list[str]:
        """Takes the model's hop, kernel and classes; the model must be a WaveRNN-like vocoder."""
        missing = [key for key in ("hop_length", "kernel_size", "n_classes") if key not in params]
        if missing:
            return [f"{name}: a vocoder model has {', '.join(missing)}"]
        if int(params["kernel_size"]) % 2 == 0:
            kernel = params["kernel_size"]
            return [f"kernel_size: the vocoder task needs an odd kernel (as many frames either side), got {kernel}"]
        self.hop_length, self.kernel_size = int(params["hop_length"]), int(params["kernel_size"])
        self.n_classes = int(params["n_classes"])
        return []

    def set_feature_shape(self, shape: Any, time_dim: int) -> None:
        """Frames per second of the spectrogram (its time runs along its last dimension)."""
        self.frames_per_second = float(shape[time_dim])

    def seconds(self, duration: float, train: bool) -> float:
        return min(duration, self.crop_frames / self.frames_per_second) if train else duration

    def example(
        self, record: Any, features: nn.Module | None, train: bool, generator: torch.Generator
    ) -> dict[str, Any] | None:
        from tympan.plugins.dsp.functional import mu_law_encoding

        if features is None:
            raise ValueError("the vocoder task needs a feature pipeline: the spectrogram the model is conditioned on")
        waveform = record.waveform[:1]  # (1, samples)
        specgram = features(waveform)  # (1, bins, frames)
        frames, hop = specgram.shape[-1], self.hop_length
        classes = mu_law_encoding(waveform.clamp(-1.0, 1.0), self.n_classes)
        companded = 2.0 * classes.to(torch.float32) / (self.n_classes - 1) - 1.0
        if train:
            span = self.crop_frames + 2 * self.pad
            if frames < span:
                return None
            first = int(torch.randint(0, frames - span + 1, (), generator=generator))
            specgram = specgram[..., first : first + span]
            start, count = (first + self.pad) * hop, self.crop_frames * hop
        else:
            start, count = 0, frames * hop
        tail = max(start + count + 1 - waveform.shape[-1], 0)  # the last frames reach past the end: silence
        companded = nn.functional.pad(companded, (0, tail))
        classes = nn.functional.pad(classes, (0, tail), value=self.n_classes // 2)
        example = {
            "id": record.id,
            "seconds": count / record.sample_rate,
            "rate": record.sample_rate,
            "inputs": specgram,
            "previous": companded[:, start : start + count],
            "target": classes[0, start + 1 : start + 1 + count],
        }
        if not train:
            example["reference"] = waveform
        return example

    def wrap(self, model: nn.Module) -> nn.Module:
        self._model = model
        return _TeacherForced(model, self.pad)

    def loss(self, outputs: torch.Tensor, batch: Batch, loss: nn.Module) -> torch.Tensor:
        target = batch["target"]
        if "target_lengths" in batch:  # padding of shorter utterances counts for nothing
            valid = torch.arange(target.shape[-1], device=target.device) < batch["target_lengths"][:, None]
            target = torch.where(valid, target, getattr(loss, "ignore_index", -100))
        value: torch.Tensor = loss(outputs.float().flatten(0, 1), target.flatten())
        return value

    def evaluate(
        self, outputs: torch.Tensor, batch: Batch, loss: nn.Module, decoders: Mapping[str, nn.Module], totals: Totals
    ) -> list[Sample]:
        del decoders
        count = self.add_loss(outputs, batch, loss, totals)
        return [self._resynthesized(batch, i, totals) for i in range(min(count, self.resynthesize))]

    def _resynthesized(self, batch: Batch, index: int, totals: Totals) -> Sample:
        """Generate item ``index`` of ``batch`` from its spectrogram; add its mel distance to ``totals``."""
        from tympan.plugins.dsp.functional import mu_law_decoding

        if self._model is None:
            raise RuntimeError("the vocoder task evaluates the model it wrapped: wrap() it first")
        frames = int(batch["inputs_lengths"][index])
        specgram = batch["inputs"][index, :, :, :frames]
        with torch.no_grad():
            companded, _ = self._model.infer(specgram.float())  # type: ignore[operator]
        classes = ((companded[0, 0] + 1.0) * (self.n_classes - 1) / 2.0).round().long()
        generated = mu_law_decoding(classes, self.n_classes).cpu()
        rate = int(batch["rate"][index])
        samples = int(batch["reference_lengths"][index])
        reference = batch["reference"][index, 0, :samples].cpu()
        generated = nn.functional.pad(generated, (0, max(samples - generated.shape[-1], 0)))[:samples]
        ours, theirs = (log_mel_distance_spectrogram(audio, rate, self.hop_length) for audio in (generated, reference))
        difference = (ours - theirs).abs()
        totals.add("mel_l1", float(difference.sum()), difference.numel())
        audio = {"generated": (generated.unsqueeze(0), rate), "reference": (reference.unsqueeze(0), rate)}
        images = {"generated_mel": ours, "reference_mel": theirs}
        distance = float(difference.mean())
        return Sample(
            batch["id"][index], audio=audio, images=images, text=f"{batch['id'][index]}: mel L1 {distance:.3f}"
        )


def log_mel_distance_spectrogram(waveform: torch.Tensor, rate: int, hop: int) -> torch.Tensor:
    """The natural log (floored at 1e-5) of the 80-band power mel spectrogram of ``waveform`` that ``mel_l1``
    compares: windows of 4 hops, to a power of 2; ``(80, frames)``.

    Example:
        >>> log_mel_distance_spectrogram(torch.zeros(16000), 16000, 200).shape
        torch.Size([80, 81])
    """
    return _mel_spectrogram(rate, hop)(waveform).clamp(min=1e-5).log()


@functools.lru_cache(maxsize=4)
def _mel_spectrogram(rate: int, hop: int) -> nn.Module:
    """The mel transform of :func:`log_mel_distance_spectrogram`, made once per rate and hop (kept private: a
    caller's ``.to()`` or ``.double()`` would change it for every later call)."""
    from tympan.plugins.dsp.transforms import MelSpectrogram

    return MelSpectrogram(sample_rate=rate, n_fft=1 << max(math.ceil(math.log2(4 * hop)), 6), hop_length=hop, n_mels=80)
