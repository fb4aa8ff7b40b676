"""Wav2Letter (Collobert et al., 2016): a fully convolutional acoustic model emitting per-frame log-probabilities.

Example:
    >>> import torch
    >>> model = Wav2Letter(num_classes=29)
    >>> model(torch.randn(2, 1, 16000)).shape
    torch.Size([2, 29, 51])
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import model_arguments, record, shortest_conv_input

__all__ = ["Wav2Letter"]

#: (out_channels, kernel_size, padding) of the acoustic stack after its first layer; stride 1 throughout.
_ACOUSTIC_LAYERS = [(250, 7, 3)] * 7 + [(2000, 32, 16), (2000, 1, 0)]


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> list[nn.Module]:
    return [nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding), nn.ReLU(inplace=True)]


class Wav2Letter(nn.Module):
    """Wav2Letter on a waveform (a strided front-end convolution first) or on features (power spectrum, MFCC).

    Input ``(batch, num_features, time)``; output ``(batch, num_classes, frames)`` log-probabilities over the
    class dimension. A waveform input has one feature (``num_features=1``) and 160-sample frames.

    Example:
        >>> import torch
        >>> model = Wav2Letter(num_classes=10, input_type="mfcc", num_features=13)
        >>> model(torch.randn(1, 13, 100)).exp().sum(1).allclose(torch.ones(1, 51))
        True
    """

    qualified_name: ClassVar[str] = "asr:wav2letter"
    scriptable: ClassVar[bool] = True

    def __init__(
        self,
        num_classes: Annotated[int, Field(ge=1, le=1 << 16, description="Number of output classes.")] = 40,
        input_type: Annotated[
            Literal["waveform", "power_spectrum", "mfcc"], Field(description="What the model reads.")
        ] = "waveform",
        num_features: Annotated[
            int, Field(ge=1, le=1 << 14, description="Input channels: 1 for a waveform, else feature bins.")
        ] = 1,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.input_type = input_type
        self.num_features = num_features
        acoustic_in = 250 if input_type == "waveform" else num_features
        layers = _conv_relu(acoustic_in, 250, 48, 2, 23)
        channels = 250
        for out_channels, kernel_size, padding in _ACOUSTIC_LAYERS:
            layers += _conv_relu(channels, out_channels, kernel_size, 1, padding)
            channels = out_channels
        layers += _conv_relu(channels, num_classes, 1, 1, 0)
        acoustic = nn.Sequential(*layers)
        if input_type == "waveform":
            front_end = nn.Sequential(*_conv_relu(num_features, 250, 250, 160, 45))
            self.acoustic_model = nn.Sequential(front_end, acoustic)
        else:
            self.acoustic_model = acoustic
        self.export_axes = ExportAxes(dims=({2: "time"},), min_sizes={"time": shortest_conv_input(self.acoustic_model)})
        record(self, params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(batch, num_classes, frames)`` of ``x`` ``(batch, num_features, time)``."""
        return torch.log_softmax(self.acoustic_model(x), dim=1)

    @torch.jit.export
    def pipeline_step(self, x: torch.Tensor) -> torch.Tensor:
        """The model as a pipeline step: a waveform ``(..., time)`` is read as one feature per channel;
        features ``(..., num_features, time)`` pass as they are."""
        if self.input_type == "waveform":
            x = x.unsqueeze(-2)
        shape = x.shape
        out = self.forward(x.reshape(-1, shape[-2], shape[-1]))
        return out.reshape(list(shape[:-2]) + list(out.shape[-2:]))

    def example_input(self, batch: int) -> torch.Tensor:
        """A random input of ``batch`` items: one second of audio, or 50 frames of features."""
        generator = torch.Generator().manual_seed(0)
        time = 16000 if self.input_type == "waveform" else 50
        return torch.randn(batch, self.num_features, time, generator=generator)
