"""Conformer (Gulati et al., 2020): each layer is a half-step feed-forward module, self-attention, a convolution
module (pointwise, GLU, depthwise, norm, SiLU, pointwise) and a second half-step feed-forward module.

Example:
    >>> import torch
    >>> model = Conformer(input_dim=16, num_heads=2, ffn_dim=32, num_layers=2, depthwise_conv_kernel_size=7)
    >>> output, lengths = model(torch.randn(3, 20, 16), torch.tensor([20, 15, 9]))
    >>> output.shape, lengths.tolist()
    (torch.Size([3, 20, 16]), [20, 15, 9])
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._attention import PackedSelfAttention, additive_padding_mask
from tympan.plugins.models._component import check_divides, check_odd, model_arguments, record
from tympan.plugins.models._masks import lengths_to_padding_mask

__all__ = ["Conformer", "ConformerLayer"]


class _ConvolutionModule(nn.Module):
    """Layer norm, pointwise convolution to twice the channels, GLU, depthwise convolution ('same' padding),
    batch or group norm, SiLU, pointwise convolution and dropout; ``(B, T, D)`` in and out."""

    def __init__(
        self,
        input_dim: int,
        num_channels: int,
        depthwise_kernel_size: int,
        dropout: float = 0.0,
        bias: bool = False,
        use_group_norm: bool = False,
    ) -> None:
        super().__init__()
        if depthwise_kernel_size % 2 == 0:
            raise ValueError("depthwise_kernel_size must be odd to achieve 'SAME' padding.")
        norm = nn.GroupNorm(1, num_channels) if use_group_norm else nn.BatchNorm1d(num_channels)
        self.layer_norm = nn.LayerNorm(input_dim)
        self.sequential = nn.Sequential(
            nn.Conv1d(input_dim, 2 * num_channels, 1, bias=bias),
            nn.GLU(dim=1),
            nn.Conv1d(
                num_channels,
                num_channels,
                depthwise_kernel_size,
                padding=(depthwise_kernel_size - 1) // 2,
                groups=num_channels,
                bias=bias,
            ),
            norm,
            nn.SiLU(),
            nn.Conv1d(num_channels, input_dim, kernel_size=1, bias=bias),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequential(self.layer_norm(x).transpose(1, 2)).transpose(1, 2)


class _FeedForwardModule(nn.Module):
    """Layer norm, linear, SiLU, dropout, linear, dropout."""

    def __init__(self, input_dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.sequential = nn.Sequential(
            nn.LayerNorm(input_dim),
            nn.Linear(input_dim, hidden_dim, bias=True),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, input_dim, bias=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequential(x)


class ConformerLayer(nn.Module):
    """One Conformer layer on batch-first ``(B, T, D)`` frames; ``convolution_first`` moves the convolution
    module ahead of self-attention.

    The self-attention holds its parameters in an ``nn.MultiheadAttention`` (its state-dict names) and runs
    them batch-first (:class:`~tympan.plugins.models._attention.PackedSelfAttention`).

    Example:
        >>> import torch
        >>> layer = ConformerLayer(8, 16, 2, 3)
        >>> layer(torch.randn(2, 5, 8), None).shape
        torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        input_dim: int,
        ffn_dim: int,
        num_attention_heads: int,
        depthwise_conv_kernel_size: int,
        dropout: float = 0.0,
        use_group_norm: bool = False,
        convolution_first: bool = False,
    ) -> None:
        super().__init__()
        self.ffn1 = _FeedForwardModule(input_dim, ffn_dim, dropout=dropout)
        self.self_attn_layer_norm = nn.LayerNorm(input_dim)
        self.self_attn = PackedSelfAttention(input_dim, num_attention_heads, dropout=dropout)
        self.self_attn_dropout = nn.Dropout(dropout)
        self.conv_module = _ConvolutionModule(
            input_dim,
            input_dim,
            depthwise_conv_kernel_size,
            dropout=dropout,
            bias=True,
            use_group_norm=use_group_norm,
        )
        self.ffn2 = _FeedForwardModule(input_dim, ffn_dim, dropout=dropout)
        self.final_layer_norm = nn.LayerNorm(input_dim)
        self.convolution_first = convolution_first

    def _self_attention(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
        mask = None if key_padding_mask is None else additive_padding_mask(key_padding_mask, x.dtype)
        return self.self_attn.attend_self(x, mask)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
        """The layer on ``x`` ``(B, T, D)``; ``key_padding_mask`` ``(B, T)`` is true at padded frames."""
        x = self.ffn1(x) * 0.5 + x
        if self.convolution_first:
            x = x + self.conv_module(x)
        attended = self._self_attention(self.self_attn_layer_norm(x), key_padding_mask)
        x = self.self_attn_dropout(attended) + x
        if not self.convolution_first:
            x = x + self.conv_module(x)
        x = self.ffn2(x) * 0.5 + x
        return self.final_layer_norm(x)


class Conformer(nn.Module):
    """A stack of Conformer layers: ``(B, T, input_dim)`` frames and their lengths in, the same shapes out.

    Example:
        >>> import torch
        >>> model = Conformer(input_dim=8, num_heads=2, ffn_dim=16, num_layers=1, depthwise_conv_kernel_size=3)
        >>> model(torch.randn(1, 4, 8), torch.tensor([4]))[0].shape
        torch.Size([1, 4, 8])
    """

    qualified_name: ClassVar[str] = "asr:conformer"
    scriptable: ClassVar[bool] = True
    export_axes: ClassVar[ExportAxes] = ExportAxes(dims=({1: "frames"}, {}), lengths={1: "frames"})

    def __init__(
        self,
        input_dim: Annotated[int, Field(ge=1, le=1 << 14, description="Dimension of the input frames.")] = 80,
        num_heads: Annotated[int, Field(ge=1, le=256, description="Attention heads per layer.")] = 4,
        ffn_dim: Annotated[
            int, Field(ge=1, le=1 << 16, description="Hidden dimension of the feed-forward modules.")
        ] = 128,
        num_layers: Annotated[int, Field(ge=1, le=256, description="Number of Conformer layers.")] = 4,
        depthwise_conv_kernel_size: Annotated[
            int, Field(ge=1, le=1023, description="Kernel of the depthwise convolution (odd).")
        ] = 31,
        dropout: Annotated[float, Field(ge=0.0, le=1.0, description="Dropout probability.")] = 0.0,
        use_group_norm: Annotated[
            bool, Field(description="GroupNorm instead of BatchNorm1d in the convolution.")
        ] = False,
        convolution_first: Annotated[bool, Field(description="Apply the convolution before self-attention.")] = False,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.input_dim = input_dim
        self.conformer_layers = nn.ModuleList(
            ConformerLayer(
                input_dim,
                ffn_dim,
                num_heads,
                depthwise_conv_kernel_size,
                dropout=dropout,
                use_group_norm=use_group_norm,
                convolution_first=convolution_first,
            )
            for _ in range(num_layers)
        )
        record(self, params)

    @staticmethod
    def check_params(params: Any) -> None:
        """The heads divide the input dimension; the depthwise kernel is odd."""
        check_divides(params, "num_heads", "input_dim")
        check_odd(params, "depthwise_conv_kernel_size")

    def forward(self, input: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``input`` ``(B, T, input_dim)`` whose item ``i`` has ``lengths[i]`` valid frames."""
        padding_mask = lengths_to_padding_mask(lengths, input.shape[1])
        x = input
        for layer in self.conformer_layers:
            x = layer(x, padding_mask)
        return x, lengths

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` random sequences of 12 frames, all valid."""
        generator = torch.Generator().manual_seed(0)
        return torch.randn(batch, 12, self.input_dim, generator=generator), torch.full((batch,), 12)
