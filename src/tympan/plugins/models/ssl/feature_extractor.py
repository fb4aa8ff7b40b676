"""The convolutional feature encoder of wav2vec 2.0, HuBERT and WavLM: strided 1-D convolutions from the
waveform to frames of 20 ms (with the default layers), each followed by GELU, normalised either in the first
layer only (``group_norm``: each channel over time) or in every layer (``layer_norm``: each frame over
channels).

Example:
    >>> import torch
    >>> extractor = feature_extractor("layer_norm", [(8, 10, 5), (8, 3, 2)], bias=True)
    >>> frames, lengths = extractor(torch.randn(2, 400), torch.tensor([400, 321]))
    >>> frames.shape, lengths.tolist()
    (torch.Size([2, 39, 8]), [39, 31])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DEFAULT_CONV_LAYERS", "ConvLayerBlock", "FeatureExtractor", "LayerNorm", "feature_extractor"]

#: ``(out_channels, kernel_size, stride)`` of wav2vec 2.0's seven layers: 400-sample windows, 320-sample hop.
DEFAULT_CONV_LAYERS = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2


class LayerNorm(nn.LayerNorm):
    """Layer norm over the channels of ``(B, C, T)``.

    Example:
        >>> import torch
        >>> LayerNorm(3)(torch.randn(1, 3, 5)).mean(1).abs().max() < 1e-6
        tensor(True)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = nn.functional.layer_norm(x.transpose(-2, -1), self.normalized_shape, self.weight, self.bias, self.eps)
        return normed.transpose(-2, -1)


class ConvLayerBlock(nn.Module):
    """A strided convolution, an optional norm and GELU; lengths follow ``floor((L - kernel) / stride) + 1``.

    Example:
        >>> import torch
        >>> out, lengths = ConvLayerBlock(1, 4, 10, 5, bias=False, layer_norm=None)(torch.randn(1, 1, 100),
        ...                                                                        torch.tensor([100]))
        >>> out.shape, lengths.tolist()
        (torch.Size([1, 4, 19]), [19])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        bias: bool,
        layer_norm: nn.Module | None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.layer_norm = layer_norm
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor, length: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.conv(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        x = nn.functional.gelu(x)
        if length is not None:
            length = torch.div(length - self.kernel_size, self.stride, rounding_mode="floor") + 1
            length = torch.clamp(length, min=0)
        return x, length


class FeatureExtractor(nn.Module):
    """The stack of :class:`ConvLayerBlock`: waveforms ``(B, time)`` to frames ``(B, frames, channels)``.

    Example:
        >>> import torch
        >>> feature_extractor("group_norm", [(4, 10, 5)], bias=False)(torch.randn(1, 50), None)[0].shape
        torch.Size([1, 9, 4])
    """

    def __init__(self, conv_layers: nn.ModuleList) -> None:
        super().__init__()
        self.conv_layers = conv_layers

    def forward(self, x: torch.Tensor, length: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if x.ndim != 2:
            raise ValueError(f"Expected the input Tensor to be 2D (batch, time). Found: {list(x.shape)}")
        x = x.unsqueeze(1)
        for layer in self.conv_layers:
            x, length = layer(x, length)
        return x.transpose(1, 2), length


def feature_extractor(norm_mode: str, shapes: list[tuple[int, int, int]], bias: bool) -> FeatureExtractor:
    """The feature encoder of ``(out_channels, kernel_size, stride)`` layers with ``group_norm`` (first layer,
    per channel) or ``layer_norm`` (every layer, per frame).

    Example:
        >>> blocks = feature_extractor("group_norm", [(4, 3, 2)] * 2, False).conv_layers
        >>> [type(block.layer_norm).__name__ for block in blocks]
        ['GroupNorm', 'NoneType']
    """
    if norm_mode not in ("group_norm", "layer_norm"):
        raise ValueError(f"Invalid norm mode {norm_mode!r}: expected 'group_norm' or 'layer_norm'")
    blocks = []
    in_channels = 1
    for index, (out_channels, kernel_size, stride) in enumerate(shapes):
        norm: nn.Module | None = None
        if norm_mode == "group_norm" and index == 0:
            norm = nn.GroupNorm(num_groups=out_channels, num_channels=out_channels, affine=True)
        elif norm_mode == "layer_norm":
            norm = LayerNorm(out_channels, elementwise_affine=True)
        blocks.append(ConvLayerBlock(in_channels, out_channels, kernel_size, stride, bias, norm))
        in_channels = out_channels
    return FeatureExtractor(nn.ModuleList(blocks))
