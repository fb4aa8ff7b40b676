"""``kws:conv_net``: a small temporal convolutional classifier of spectrogram clips (keyword spotting).

The frequency bins of a ``(batch, [channels,] frequency, time)`` spectrogram (a log-mel spectrogram) are
the channels of 1-D convolutions along time, after Choi et al.'s TC-ResNet (Interspeech 2019): a batch
norm of the input, a first convolution to ``n_channel`` channels, then ``num_blocks`` residual blocks,
each two convolutions of width ``kernel_size`` (batch norm, ReLU), the first with stride 2, and a 1x1
strided shortcut, the width growing by half at each block; the mean over time, dropout and a linear layer
to ``num_classes`` logits. Cheap enough to train on a CPU in minutes.

Example:
    >>> import torch
    >>> ConvNet(num_classes=3, n_input=40, n_channel=8, num_blocks=2)(torch.randn(4, 1, 40, 50)).shape
    torch.Size([4, 3])
"""

from __future__ import annotations

import itertools
from typing import Annotated, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.budget import check_buffer_bytes
from tympan.core.params import validated_arguments
from tympan.plugins.models.authoring import record

__all__ = ["ConvNet"]


def _widths(n_channel: int, num_blocks: int) -> list[int]:
    return [int(n_channel * 1.5**block) for block in range(num_blocks + 1)]


def _weights(n_input: int, widths: list[int], kernel_size: int, num_classes: int) -> int:
    total = n_input * widths[0] * 3 + widths[-1] * num_classes
    for a, b in itertools.pairwise(widths):
        total += kernel_size * (a * b + b * b) + a * b
    return total


class _Block(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, stride=2, padding=pad, bias=False),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(out_channels),
        )
        self.shortcut = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 1, stride=2, bias=False), nn.BatchNorm1d(out_channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ConvNet(nn.Module):
    """A temporal convolutional classifier of spectrogram clips; see the module docstring.

    Example:
        >>> ConvNet(num_classes=1)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for kws:conv_net:
          num_classes: Input should be greater than or equal to 2 (got 1)
    """

    qualified_name: ClassVar[str] = "kws:conv_net"

    def __init__(
        self,
        num_classes: Annotated[int, Field(ge=2, le=100_000, description="Number of output classes.")] = 12,
        n_input: Annotated[
            int, Field(ge=1, le=4096, description="Frequency bins times channels of the input spectrogram.")
        ] = 40,
        n_channel: Annotated[int, Field(ge=1, le=1024, description="Width of the first convolution.")] = 64,
        num_blocks: Annotated[int, Field(ge=1, le=8, description="Residual blocks (each halves the time).")] = 3,
        kernel_size: Annotated[int, Field(ge=1, le=63, description="Width of the blocks' convolutions.")] = 9,
        dropout: Annotated[float, Field(ge=0.0, lt=1.0, description="Dropout before the output layer.")] = 0.1,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        widths = _widths(n_channel, num_blocks)
        size = {"n_input": n_input, "n_channel": n_channel, "num_blocks": num_blocks, "kernel_size": kernel_size}
        check_buffer_bytes(self.qualified_name, size, 4 * _weights(n_input, widths, kernel_size, num_classes))
        self.num_classes = num_classes
        self.norm = nn.BatchNorm1d(n_input)
        self.first = nn.Sequential(
            nn.Conv1d(n_input, widths[0], 3, padding=1, bias=False), nn.BatchNorm1d(widths[0]), nn.ReLU(inplace=True)
        )
        self.blocks = nn.Sequential(*(_Block(a, b, kernel_size) for a, b in itertools.pairwise(widths)))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(widths[-1], num_classes)
        record(self, params)

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, num_classes)`` of spectrograms ``(batch, [channels,] frequency, time)``."""
        x = specgram.flatten(1, -2) if specgram.dim() > 3 else specgram
        x = self.blocks(self.first(self.norm(x)))
        logits: torch.Tensor = self.output(self.dropout(x.mean(dim=-1)))
        return logits
