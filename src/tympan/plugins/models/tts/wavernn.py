"""WaveRNN (Kalchbrenner et al., 2018) as a mel-spectrogram vocoder: an upsampling network turns frames into
per-sample conditioning, and two GRUs with a small classifier predict each sample's class.

:meth:`WaveRNN.forward` is the teacher-forced pass used in training; :meth:`WaveRNN.infer` generates audio
(see :mod:`._wavernn_sampling`).

Example:
    >>> import torch
    >>> model = WaveRNN(upsample_scales=[2, 2], n_classes=16, hop_length=4, n_res_block=1, n_rnn=8, n_fc=8,
    ...                 n_freq=6, n_hidden=4, n_output=8)
    >>> logits = model(torch.randn(2, 1, 4 * 6), torch.randn(2, 1, 6, 10))
    >>> logits.shape
    torch.Size([2, 1, 24, 16])
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import model_arguments, record
from tympan.plugins.models.tts._wavernn_sampling import generate

__all__ = ["MelResNet", "ResBlock", "Stretch2d", "UpsampleNetwork", "WaveRNN"]


class ResBlock(nn.Module):
    """A residual block of two 1x1 convolutions with batch norm.

    Example:
        >>> import torch
        >>> ResBlock(4)(torch.randn(2, 4, 7)).shape
        torch.Size([2, 4, 7])
    """

    def __init__(self, n_freq: int = 128) -> None:
        super().__init__()
        self.resblock_model = nn.Sequential(
            nn.Conv1d(n_freq, n_freq, kernel_size=1, bias=False),
            nn.BatchNorm1d(n_freq),
            nn.ReLU(inplace=True),
            nn.Conv1d(n_freq, n_freq, kernel_size=1, bias=False),
            nn.BatchNorm1d(n_freq),
        )

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        return self.resblock_model(specgram) + specgram


class MelResNet(nn.Module):
    """A convolution of ``kernel_size`` frames (no padding), ``n_res_block`` residual blocks and a 1x1 output.

    Example:
        >>> import torch
        >>> MelResNet(n_res_block=2, n_freq=6, n_hidden=4, n_output=8)(torch.randn(1, 6, 10)).shape
        torch.Size([1, 8, 6])
    """

    def __init__(
        self, n_res_block: int = 10, n_freq: int = 128, n_hidden: int = 128, n_output: int = 128, kernel_size: int = 5
    ) -> None:
        super().__init__()
        self.melresnet_model = nn.Sequential(
            nn.Conv1d(n_freq, n_hidden, kernel_size=kernel_size, bias=False),
            nn.BatchNorm1d(n_hidden),
            nn.ReLU(inplace=True),
            *(ResBlock(n_hidden) for _ in range(n_res_block)),
            nn.Conv1d(n_hidden, n_output, kernel_size=1),
        )

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        return self.melresnet_model(specgram)


class Stretch2d(nn.Module):
    """Repeat every element ``freq_scale`` times along frequency and ``time_scale`` times along time.

    Example:
        >>> import torch
        >>> Stretch2d(time_scale=2, freq_scale=1)(torch.tensor([[1.0, 2.0]])).tolist()
        [[1.0, 1.0, 2.0, 2.0]]
    """

    def __init__(self, time_scale: int, freq_scale: int) -> None:
        super().__init__()
        self.freq_scale = freq_scale
        self.time_scale = time_scale

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        return specgram.repeat_interleave(self.freq_scale, -2).repeat_interleave(self.time_scale, -1)


class UpsampleNetwork(nn.Module):
    """Frames to samples: each scale stretches time and smooths with a moving average (a convolution
    initialised to one); a :class:`MelResNet` branch gives the auxiliary features.

    Example:
        >>> import torch
        >>> cond, aux = UpsampleNetwork([2, 3], n_res_block=1, n_freq=6, n_hidden=4, n_output=8)(torch.randn(1, 6, 10))
        >>> cond.shape, aux.shape
        (torch.Size([1, 6, 36]), torch.Size([1, 8, 36]))
    """

    def __init__(
        self,
        upsample_scales: list[int],
        n_res_block: int = 10,
        n_freq: int = 128,
        n_hidden: int = 128,
        n_output: int = 128,
        kernel_size: int = 5,
    ) -> None:
        super().__init__()
        self.total_scale: int = math.prod(upsample_scales)
        self.indent = (kernel_size - 1) // 2 * self.total_scale
        self.resnet = MelResNet(n_res_block, n_freq, n_hidden, n_output, kernel_size)
        self.resnet_stretch = Stretch2d(self.total_scale, 1)
        layers: list[nn.Module] = []
        for scale in upsample_scales:
            conv = nn.Conv2d(1, 1, kernel_size=(1, scale * 2 + 1), padding=(0, scale), bias=False)
            nn.init.constant_(conv.weight, 1.0 / (scale * 2 + 1))
            layers += [Stretch2d(scale, 1), conv]
        self.upsample_layers = nn.Sequential(*layers)

    def forward(self, specgram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(conditioning (B, n_freq, S), auxiliary (B, n_output, S))`` with
        ``S = (frames - kernel_size + 1) * total_scale``."""
        aux = self.resnet_stretch(self.resnet(specgram).unsqueeze(1)).squeeze(1)
        upsampled = self.upsample_layers(specgram.unsqueeze(1)).squeeze(1)
        return upsampled[:, :, self.indent : -self.indent], aux


class WaveRNN(nn.Module):
    """The WaveRNN vocoder of ``n_classes`` sample classes (``log2(n_classes)`` bits) at ``hop_length`` samples
    per frame; the product of ``upsample_scales`` must equal ``hop_length``.

    Example:
        >>> import torch
        >>> model = WaveRNN(upsample_scales=[2, 2], n_classes=16, hop_length=4, n_res_block=1, n_rnn=8, n_fc=8,
        ...                 n_freq=6, n_hidden=4, n_output=8)
        >>> waveform, lengths = model.infer(torch.randn(3, 6, 5), torch.tensor([5, 4, 2]))
        >>> waveform.shape, lengths.tolist()
        (torch.Size([3, 1, 20]), [20, 16, 8])
    """

    qualified_name: ClassVar[str] = "tts:wavernn"
    scriptable: ClassVar[bool] = True

    def __init__(
        self,
        upsample_scales: Annotated[
            list[Annotated[int, Field(ge=1, le=1024)]],
            Field(min_length=1, max_length=8, description="Time upsampling factor of each stage."),
        ] = [5, 5, 11],  # noqa: B006 (validated into a new list)
        n_classes: Annotated[int, Field(ge=2, le=1 << 16, description="Number of sample classes (2**bits).")] = 256,
        hop_length: Annotated[int, Field(ge=1, le=1 << 16, description="Samples per frame.")] = 275,
        n_res_block: Annotated[int, Field(ge=0, le=256, description="Residual blocks of the MelResNet.")] = 10,
        n_rnn: Annotated[int, Field(ge=1, le=1 << 14, description="Dimension of the GRUs.")] = 512,
        n_fc: Annotated[int, Field(ge=1, le=1 << 14, description="Dimension of the dense layers.")] = 512,
        kernel_size: Annotated[
            int, Field(ge=1, le=255, description="Frames seen by the MelResNet's first convolution.")
        ] = 5,
        n_freq: Annotated[int, Field(ge=1, le=1 << 12, description="Spectrogram bins.")] = 80,
        n_hidden: Annotated[int, Field(ge=1, le=1 << 12, description="Channels of the residual blocks.")] = 128,
        n_output: Annotated[
            int, Field(ge=4, le=1 << 12, description="MelResNet outputs (four auxiliary groups).")
        ] = 128,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.kernel_size = kernel_size
        self._pad = (kernel_size - 1 if kernel_size % 2 else kernel_size) // 2
        self.n_rnn = n_rnn
        self.n_aux = n_output // 4
        self.hop_length = hop_length
        self.n_classes = n_classes
        self.n_bits: int = int(math.log2(n_classes))
        self.n_freq = n_freq
        # The waveform's samples follow from the spectrogram's frames at the hop:
        # S = (frames - kernel_size + 1) * hop_length, from two frames past the first convolution's kernel.
        self.export_axes = ExportAxes(
            dims=({2: "samples"}, {3: "frames"}),
            min_sizes={"frames": kernel_size + 1},
            derived={"samples": ("frames", hop_length, -(kernel_size - 1) * hop_length)},
        )
        self.upsample = UpsampleNetwork(list(upsample_scales), n_res_block, n_freq, n_hidden, n_output, kernel_size)
        self.fc = nn.Linear(n_freq + self.n_aux + 1, n_rnn)
        self.rnn1 = nn.GRU(n_rnn, n_rnn, batch_first=True)
        self.rnn2 = nn.GRU(n_rnn + self.n_aux, n_rnn, batch_first=True)
        self.relu1 = nn.ReLU(inplace=True)
        self.relu2 = nn.ReLU(inplace=True)
        self.fc1 = nn.Linear(n_rnn + self.n_aux, n_fc)
        self.fc2 = nn.Linear(n_fc + self.n_aux, n_fc)
        self.fc3 = nn.Linear(n_fc, n_classes)
        record(self, params)

    @staticmethod
    def check_params(params: Any) -> None:
        """The upsampling scales multiply to ``hop_length``."""
        total = math.prod(params.upsample_scales)
        if total != params.hop_length:
            raise ValueError(f"Expected: total_scale == hop_length, but found {total} != {params.hop_length}")

    def _auxiliary(self, aux: torch.Tensor) -> list[torch.Tensor]:
        """The four groups of ``n_aux`` auxiliary features, each ``(B, S, n_aux)``."""
        groups = aux.transpose(1, 2)[:, :, : 4 * self.n_aux].split(self.n_aux, dim=-1)
        return [groups[0], groups[1], groups[2], groups[3]]

    def forward(self, waveform: torch.Tensor, specgram: torch.Tensor) -> torch.Tensor:
        """Teacher-forced class logits ``(B, 1, S, n_classes)`` of ``waveform`` ``(B, 1, S)`` given
        ``specgram`` ``(B, 1, n_freq, frames)``, ``S = (frames - kernel_size + 1) * hop_length``."""
        if waveform.size(1) != 1:
            raise ValueError("Require the input channel of waveform is 1")
        if specgram.size(1) != 1:
            raise ValueError("Require the input channel of specgram is 1")
        waveform, specgram = waveform.squeeze(1), specgram.squeeze(1)
        cond, aux = self.upsample(specgram)
        a1, a2, a3, a4 = self._auxiliary(aux)
        x = self.fc(torch.cat([waveform.unsqueeze(-1), cond.transpose(1, 2), a1], dim=-1))
        hidden = x.new_zeros(1, x.size(0), self.n_rnn)
        x = self.rnn1(x, hidden)[0] + x
        x = self.rnn2(torch.cat([x, a2], dim=-1), hidden)[0] + x
        x = self.relu1(self.fc1(torch.cat([x, a3], dim=-1)))
        x = self.relu2(self.fc2(torch.cat([x, a4], dim=-1)))
        return self.fc3(x).unsqueeze(1)

    @torch.jit.export
    def infer(
        self,
        specgram: torch.Tensor,
        lengths: torch.Tensor | None = None,
        fold: bool = False,
        target: int = 11000,
        overlap: int = 550,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generate ``(B, 1, frames * hop_length)`` audio from ``specgram`` ``(B, n_freq, frames)``, drawing each
        sample from the predicted class distribution (the global random generator, as ``torch.multinomial``
        draws; equal to torchaudio's ``infer`` under the same seed).

        ``lengths`` (frames per item) come back in samples. With ``fold=True`` each utterance is cut into
        segments of ``target`` samples overlapping by ``overlap``, all generated as one batch and joined by an
        equal-power cross-fade: far fewer sequential steps for long audio, at a small cost in quality at
        the joins.
        """
        if specgram.ndim != 3 or specgram.size(1) != self.n_freq:
            raise ValueError(f"Expected specgram of shape (batch, {self.n_freq}, frames), got {list(specgram.shape)}")
        cond, aux = self.upsample(nn.functional.pad(specgram, (self._pad, self._pad)))
        if lengths is not None:
            lengths = lengths * self.upsample.total_scale
        waveform = generate(cond, aux, self._sampling_weights(), self.n_aux, self.n_bits, fold, target, overlap)
        return waveform.unsqueeze(1), lengths

    def _sampling_weights(self) -> list[torch.Tensor]:
        return [
            self.fc.weight,
            self.fc.bias,
            self.rnn1.weight_ih_l0,
            self.rnn1.weight_hh_l0,
            self.rnn1.bias_ih_l0,
            self.rnn1.bias_hh_l0,
            self.rnn2.weight_ih_l0,
            self.rnn2.weight_hh_l0,
            self.rnn2.bias_ih_l0,
            self.rnn2.bias_hh_l0,
            self.fc1.weight,
            self.fc1.bias,
            self.fc2.weight,
            self.fc2.bias,
            self.fc3.weight,
            self.fc3.bias,
        ]

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` random waveforms and spectrograms of ``kernel_size + 2`` frames."""
        generator = torch.Generator().manual_seed(0)
        frames = self.kernel_size + 2
        samples = (frames - self.kernel_size + 1) * self.hop_length
        waveform = torch.rand(batch, 1, samples, generator=generator) * 2 - 1
        return waveform, torch.randn(batch, 1, self.n_freq, frames, generator=generator)
