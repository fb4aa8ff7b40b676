"""DeepSpeech (Hannun et al., 2014): three clipped-ReLU dense layers, a bidirectional ReLU RNN whose two
directions are summed, a fourth dense layer and a per-frame classifier.

Example:
    >>> import torch
    >>> model = DeepSpeech(n_feature=20, n_hidden=32, n_class=5)
    >>> model(torch.randn(2, 1, 50, 20)).shape
    torch.Size([2, 50, 5])
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import model_arguments, record
from tympan.plugins.models._recurrence import exporting, relu_rnn_scan

__all__ = ["DeepSpeech"]


class FullyConnected(nn.Module):
    """A linear layer, ReLU clipped at ``relu_max_clip`` and dropout.

    Example:
        >>> import torch
        >>> FullyConnected(4, 3, dropout=0.0)(torch.full((1, 4), 100.0)).max() <= 20
        tensor(True)
    """

    def __init__(self, n_feature: int, n_hidden: int, dropout: float, relu_max_clip: int = 20) -> None:
        super().__init__()
        self.fc = nn.Linear(n_feature, n_hidden, bias=True)
        self.relu_max_clip = relu_max_clip
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``min(max(fc(x), 0), relu_max_clip)``, then dropout."""
        x = torch.clamp(self.fc(x), 0.0, float(self.relu_max_clip))
        return nn.functional.dropout(x, self.dropout, self.training) if self.dropout else x


class DeepSpeech(nn.Module):
    """DeepSpeech on spectrogram frames: input ``(batch, 1, time, n_feature)``, output ``(batch, time, n_class)``
    log-probabilities.

    Example:
        >>> import torch
        >>> model = DeepSpeech(n_feature=8, n_hidden=16)
        >>> model(torch.randn(1, 1, 10, 8)).exp().sum(-1).allclose(torch.ones(1, 10))
        True
    """

    qualified_name: ClassVar[str] = "asr:deepspeech"
    scriptable: ClassVar[bool] = True

    def __init__(
        self,
        n_feature: Annotated[int, Field(ge=1, le=1 << 14, description="Input features per frame.")] = 161,
        n_hidden: Annotated[int, Field(ge=1, le=1 << 14, description="Hidden units of every layer.")] = 2048,
        n_class: Annotated[int, Field(ge=1, le=1 << 16, description="Number of output classes.")] = 40,
        dropout: Annotated[float, Field(ge=0.0, le=1.0, description="Dropout after each dense layer.")] = 0.0,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.n_hidden = n_hidden
        self.n_feature = n_feature
        self.fc1 = FullyConnected(n_feature, n_hidden, dropout)
        self.fc2 = FullyConnected(n_hidden, n_hidden, dropout)
        self.fc3 = FullyConnected(n_hidden, n_hidden, dropout)
        self.bi_rnn = nn.RNN(n_hidden, n_hidden, num_layers=1, nonlinearity="relu", bidirectional=True)
        self.fc4 = FullyConnected(n_hidden, n_hidden, dropout)
        self.out = nn.Linear(n_hidden, n_class)
        self.export_axes = ExportAxes(dims=({2: "time"},))
        record(self, params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(batch, time, n_class)`` of ``x`` ``(batch, 1, time, n_feature)``."""
        x = self.fc3(self.fc2(self.fc1(x))).squeeze(1).transpose(0, 1)
        if not torch.jit.is_scripting() and exporting():
            # the same recurrence as a scan per direction, whose number of steps stays symbolic when exported
            rnn = self.bi_rnn
            forward = relu_rnn_scan(x, rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0)
            backward = relu_rnn_scan(
                x.flip(0),
                rnn.weight_ih_l0_reverse,
                rnn.bias_ih_l0_reverse,
                rnn.weight_hh_l0_reverse,
                rnn.bias_hh_l0_reverse,
            ).flip(0)
            x = torch.cat([forward, backward], dim=2)
        else:
            x, _ = self.bi_rnn(x)
        x = x[:, :, : self.n_hidden] + x[:, :, self.n_hidden :]
        x = self.out(self.fc4(x)).transpose(0, 1)
        return torch.log_softmax(x, dim=2)

    @torch.jit.export
    def pipeline_step(self, x: torch.Tensor) -> torch.Tensor:
        """The model as a pipeline step on features ``(..., n_feature, time)``: ``(..., time, n_class)``."""
        shape = x.shape
        frames = x.reshape(-1, shape[-2], shape[-1]).transpose(1, 2).unsqueeze(1)
        out = self.forward(frames)
        return out.reshape(list(shape[:-2]) + list(out.shape[-2:]))

    def example_input(self, batch: int) -> torch.Tensor:
        """``batch`` items of 30 random frames."""
        generator = torch.Generator().manual_seed(0)
        return torch.randn(batch, 1, 30, self.n_feature, generator=generator)
