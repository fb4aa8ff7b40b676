"""Conv-TasNet (Luo and Mesgarani, 2019), the non-causal variant: a learned encoder, a temporal convolutional
network of dilated depthwise blocks that predicts one mask per source, and a learned decoder.

Example:
    >>> import torch
    >>> model = ConvTasNet(num_sources=2, enc_num_feats=16, msk_num_feats=8, msk_num_hidden_feats=16,
    ...                    msk_num_layers=2, msk_num_stacks=1)
    >>> model(torch.randn(3, 1, 1000)).shape
    torch.Size([3, 2, 1000])
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import check_odd, model_arguments, model_builder, record

__all__ = ["ConvTasNet", "conv_tasnet_base"]


class ConvBlock(nn.Module):
    """One TCN block: 1x1 convolution, PReLU, global layer norm, dilated depthwise convolution, PReLU, norm,
    then a residual and a skip 1x1 convolution (the last block of the network has no residual).

    Example:
        >>> import torch
        >>> residual, skip = ConvBlock(4, 8, kernel_size=3, padding=2, dilation=2)(torch.randn(1, 4, 20))
        >>> residual.shape, skip.shape
        (torch.Size([1, 4, 20]), torch.Size([1, 4, 20]))
    """

    def __init__(
        self,
        io_channels: int,
        hidden_channels: int,
        kernel_size: int,
        padding: int,
        dilation: int = 1,
        no_residual: bool = False,
    ) -> None:
        super().__init__()
        self.conv_layers = nn.Sequential(
            nn.Conv1d(io_channels, hidden_channels, kernel_size=1),
            nn.PReLU(),
            nn.GroupNorm(num_groups=1, num_channels=hidden_channels, eps=1e-08),
            nn.Conv1d(
                hidden_channels,
                hidden_channels,
                kernel_size=kernel_size,
                padding=padding,
                dilation=dilation,
                groups=hidden_channels,
            ),
            nn.PReLU(),
            nn.GroupNorm(num_groups=1, num_channels=hidden_channels, eps=1e-08),
        )
        self.res_out = None if no_residual else nn.Conv1d(hidden_channels, io_channels, kernel_size=1)
        self.skip_out = nn.Conv1d(hidden_channels, io_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """``(residual or None, skip)``, each shaped like ``x``."""
        feature = self.conv_layers(x)
        residual = None if self.res_out is None else self.res_out(feature)
        return residual, self.skip_out(feature)


class MaskGenerator(nn.Module):
    """The temporal convolutional network: ``num_stacks`` stacks of ``num_layers`` blocks with dilations
    1, 2, 4, ...; the skip outputs are summed and turned into ``num_sources`` masks.

    Example:
        >>> import torch
        >>> net = MaskGenerator(8, 2, 3, num_feats=4, num_hidden=8, num_layers=2, num_stacks=1, msk_activate="relu")
        >>> net(torch.randn(1, 8, 30)).shape
        torch.Size([1, 2, 8, 30])
    """

    def __init__(
        self,
        input_dim: int,
        num_sources: int,
        kernel_size: int,
        num_feats: int,
        num_hidden: int,
        num_layers: int,
        num_stacks: int,
        msk_activate: str,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.num_sources = num_sources
        self.input_norm = nn.GroupNorm(num_groups=1, num_channels=input_dim, eps=1e-8)
        self.input_conv = nn.Conv1d(input_dim, num_feats, kernel_size=1)
        last = num_stacks * num_layers - 1
        self.conv_layers = nn.ModuleList(
            ConvBlock(
                num_feats,
                num_hidden,
                kernel_size,
                padding=(kernel_size - 1) // 2 * 2 ** (index % num_layers),
                dilation=2 ** (index % num_layers),
                no_residual=index == last,
            )
            for index in range(num_stacks * num_layers)
        )
        self.receptive_field = kernel_size + sum(
            (kernel_size - 1) * 2 ** (index % num_layers) for index in range(1, num_stacks * num_layers)
        )
        self.output_prelu = nn.PReLU()
        self.output_conv = nn.Conv1d(num_feats, input_dim * num_sources, kernel_size=1)
        self.mask_activate = nn.Sigmoid() if msk_activate == "sigmoid" else nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Masks ``(batch, num_sources, input_dim, frames)`` for encoded ``x`` ``(batch, input_dim, frames)``."""
        feats = self.input_conv(self.input_norm(x))
        output = torch.zeros_like(feats)
        for layer in self.conv_layers:
            residual, skip = layer(feats)
            if residual is not None:
                feats = feats + residual
            output = output + skip
        output = self.mask_activate(self.output_conv(self.output_prelu(output)))
        return output.view(x.shape[0], self.num_sources, self.input_dim, -1)


class ConvTasNet(nn.Module):
    """Conv-TasNet: ``(batch, 1, time)`` mixtures to ``(batch, num_sources, time)`` separated sources.

    The encoder's kernel is ``enc_kernel_size`` with half of it as stride; the input is padded at the end to
    a whole number of strides, and the padding removed from the output.

    Example:
        >>> import torch
        >>> model = ConvTasNet(enc_num_feats=16, msk_num_feats=8, msk_num_hidden_feats=16, msk_num_stacks=1)
        >>> model(torch.zeros(1, 1, 333)).shape
        torch.Size([1, 2, 333])
    """

    qualified_name: ClassVar[str] = "sep:conv_tasnet"
    scriptable: ClassVar[bool] = True
    produces_waveform: ClassVar[bool] = True
    produces_sources: ClassVar[bool] = True
    export_axes: ClassVar[ExportAxes] = ExportAxes(dims=({2: "samples"},))

    def __init__(
        self,
        num_sources: Annotated[int, Field(ge=1, le=64, description="Number of sources to separate.")] = 2,
        enc_kernel_size: Annotated[
            int, Field(ge=2, le=4096, description="Kernel of the encoder and decoder, in samples (L).")
        ] = 16,
        enc_num_feats: Annotated[int, Field(ge=1, le=1 << 14, description="Encoder feature dimension (N).")] = 512,
        msk_kernel_size: Annotated[
            int, Field(ge=1, le=255, description="Kernel of the depthwise convolutions (P), odd.")
        ] = 3,
        msk_num_feats: Annotated[
            int, Field(ge=1, le=1 << 14, description="Input/output channels of each block (B, Sc).")
        ] = 128,
        msk_num_hidden_feats: Annotated[
            int, Field(ge=1, le=1 << 14, description="Hidden channels of each block (H).")
        ] = 512,
        msk_num_layers: Annotated[int, Field(ge=1, le=24, description="Blocks per stack (X).")] = 8,
        msk_num_stacks: Annotated[int, Field(ge=1, le=64, description="Number of stacks (R).")] = 3,
        msk_activate: Annotated[Literal["sigmoid", "relu"], Field(description="Activation of the masks.")] = "sigmoid",
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.num_sources = num_sources
        self.enc_num_feats = enc_num_feats
        self.enc_kernel_size = enc_kernel_size
        self.enc_stride = enc_kernel_size // 2
        stride = self.enc_stride
        self.encoder = nn.Conv1d(1, enc_num_feats, enc_kernel_size, stride=stride, padding=stride, bias=False)
        self.mask_generator = MaskGenerator(
            enc_num_feats,
            num_sources,
            msk_kernel_size,
            msk_num_feats,
            msk_num_hidden_feats,
            msk_num_layers,
            msk_num_stacks,
            msk_activate,
        )
        self.decoder = nn.ConvTranspose1d(enc_num_feats, 1, enc_kernel_size, stride=stride, padding=stride, bias=False)
        record(self, params)

    @staticmethod
    def check_params(params: Any) -> None:
        """The depthwise kernel is odd (its output keeps the length)."""
        check_odd(params, "msk_kernel_size")

    def _end_padding(self, frames: int) -> int:
        """Zeros to append so that the signal ends where the last encoder window's first half ends."""
        odd = self.enc_kernel_size % 2
        # a whole number of strides by one formula without a branch, which symbolic sizes follow
        strides = (frames - odd + self.enc_stride - 1) // self.enc_stride
        return odd + strides * self.enc_stride - frames

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Separate ``input`` ``(batch, 1, time)`` into ``(batch, num_sources, time)``."""
        if input.ndim != 3 or input.shape[1] != 1:
            raise ValueError(f"Expected 3D tensor (batch, channel==1, frames). Found: {input.shape}")
        frames = input.shape[2]
        padding = self._end_padding(frames)
        feats = self.encoder(nn.functional.pad(input, (0, padding)))
        masks = self.mask_generator(feats)
        # one source at a time: folding the sources into the batch would make symbolic sizes compare strides
        # that all scale with the frame count, which ``torch.export`` cannot order
        decoded = torch.cat([self.decoder(masks[:, source] * feats) for source in range(self.num_sources)], dim=1)
        # a negative pad, not a slice, drops the padding: a slice's strides would tie the exported program
        # to whether the padded length equals the input's
        return nn.functional.pad(decoded, (0, -padding))

    @torch.jit.export
    def pipeline_step(self, x: torch.Tensor) -> torch.Tensor:
        """The model as a pipeline step: each channel of ``x`` ``(..., channels, time)`` separated on its own,
        giving ``(num_sources, ..., channels, time)``."""
        shape = x.shape
        sources = self.forward(x.reshape(-1, 1, shape[-1]))
        return sources.transpose(0, 1).reshape([self.num_sources] + list(shape))  # noqa: RUF005 (TorchScript)

    def example_input(self, batch: int) -> torch.Tensor:
        """``batch`` random mixtures of 800 samples."""
        generator = torch.Generator().manual_seed(0)
        return torch.randn(batch, 1, 800, generator=generator)


@model_builder("sep:conv_tasnet_base")
def conv_tasnet_base(
    num_sources: Annotated[int, Field(ge=1, le=64, description="Number of sources to separate.")] = 2,
) -> ConvTasNet:
    """Conv-TasNet with the paper's best configuration (N=512, L=16, B=128, H=512, P=3, X=8, R=3) and ReLU masks.

    Example:
        >>> conv_tasnet_base().mask_generator.receptive_field
        1531
    """
    return ConvTasNet(
        num_sources=num_sources,
        enc_kernel_size=16,
        enc_num_feats=512,
        msk_kernel_size=3,
        msk_num_feats=128,
        msk_num_hidden_feats=512,
        msk_num_layers=8,
        msk_num_stacks=3,
        msk_activate="relu",
    )
