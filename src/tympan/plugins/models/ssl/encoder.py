"""The context network of the wav2vec 2.0 family: a projection of the features, a convolutional positional
embedding and a stack of transformer layers (post-norm in the base models, pre-norm in the large ones).

Example:
    >>> import torch
    >>> encoder = build_encoder(in_features=8, embed_dim=16, pos_conv_kernel=4, pos_conv_groups=2, num_layers=2,
    ...                         num_heads=2, ff_interm_features=32)
    >>> encoder(torch.randn(2, 10, 8), torch.tensor([10, 7])).shape
    torch.Size([2, 10, 16])
"""

from __future__ import annotations

import torch
from torch import nn

from tympan.plugins.models.ssl.attention import SelfAttention, WavLMSelfAttention

__all__ = [
    "ConvolutionalPositionalEmbedding",
    "Encoder",
    "EncoderLayer",
    "FeatureProjection",
    "FeedForward",
    "Transformer",
    "WeightNormConv1d",
    "build_encoder",
]


class FeatureProjection(nn.Module):
    """Layer norm, linear projection to the model dimension, dropout."""

    def __init__(self, in_features: int, out_features: int, dropout: float) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(in_features)
        self.projection = nn.Linear(in_features, out_features)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.projection(self.layer_norm(x)))


class _WeightNormParameters(nn.Module):
    """The magnitude ``original0`` (``g``) and direction ``original1`` (``v``) of a weight-normalised weight."""

    def __init__(self, weight: torch.Tensor, dim: int) -> None:
        super().__init__()
        others = [axis for axis in range(weight.ndim) if axis != dim]
        self.original0 = nn.Parameter(torch.linalg.vector_norm(weight, dim=others, keepdim=True))
        self.original1 = nn.Parameter(weight)


class WeightNormConv1d(nn.Module):
    """A grouped 1-D convolution whose weight is ``g * v / ||v||`` (the norm over all dimensions but the
    kernel's), stored as ``parametrizations.weight.original0`` (``g``) and ``original1`` (``v``) like
    ``torch.nn.utils.parametrizations.weight_norm(conv, dim=2)``; as a plain module it pickles, copies,
    scripts and compiles.

    Example:
        >>> import torch
        >>> conv = WeightNormConv1d(4, 4, kernel_size=3, padding=1, groups=2)
        >>> sorted(conv.state_dict())
        ['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
        >>> conv(torch.randn(1, 4, 6)).shape
        torch.Size([1, 4, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int, groups: int) -> None:
        super().__init__()
        plain = nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding, groups=groups)
        self.padding = padding
        self.groups = groups
        self.bias = plain.bias
        self.parametrizations = nn.Module()
        self.parametrizations.weight = _WeightNormParameters(plain.weight.detach(), dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parameters = self.parametrizations.weight
        weight = torch._weight_norm(parameters.original1, parameters.original0, 2)
        return nn.functional.conv1d(x, weight, self.bias, padding=self.padding, groups=self.groups)


class ConvolutionalPositionalEmbedding(nn.Module):
    """A grouped, weight-normalised convolution over time ('same' length) followed by GELU.

    Example:
        >>> import torch
        >>> ConvolutionalPositionalEmbedding(8, kernel_size=4, groups=2)(torch.randn(1, 5, 8)).shape
        torch.Size([1, 5, 8])
    """

    def __init__(self, embed_dim: int, kernel_size: int, groups: int) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.kernel_size = kernel_size
        self.conv = WeightNormConv1d(embed_dim, embed_dim, kernel_size, padding=kernel_size // 2, groups=groups)
        self.num_remove: int = 1 if kernel_size % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` to ``(B, T, D)``."""
        x = self.conv(x.transpose(-2, -1))
        if self.num_remove > 0:
            x = x[..., : -self.num_remove]
        return nn.functional.gelu(x).transpose(-2, -1)


class FeedForward(nn.Module):
    """Linear, GELU, dropout, linear, dropout."""

    def __init__(
        self, io_features: int, intermediate_features: int, intermediate_dropout: float, output_dropout: float
    ):
        super().__init__()
        self.intermediate_dense = nn.Linear(io_features, intermediate_features)
        self.intermediate_dropout = nn.Dropout(intermediate_dropout)
        self.output_dense = nn.Linear(intermediate_features, io_features)
        self.output_dropout = nn.Dropout(output_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.intermediate_dropout(nn.functional.gelu(self.intermediate_dense(x)))
        return self.output_dropout(self.output_dense(x))


class EncoderLayer(nn.Module):
    """A transformer layer: attention and feed-forward blocks with residuals, pre- or post-norm."""

    def __init__(self, attention: nn.Module, dropout: float, layer_norm_first: bool, feed_forward: nn.Module) -> None:
        super().__init__()
        self.attention = attention
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(attention.embed_dim)
        self.layer_norm_first = layer_norm_first
        self.feed_forward = feed_forward
        self.final_layer_norm = nn.LayerNorm(attention.embed_dim)

    def forward(
        self,
        x: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_bias: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        residual = x
        if self.layer_norm_first:
            x = self.layer_norm(x)
        x, position_bias = self.attention(
            x, attention_mask=attention_mask, position_bias=position_bias, key_padding_mask=key_padding_mask
        )
        x = residual + self.dropout(x)
        if self.layer_norm_first:
            return x + self.feed_forward(self.final_layer_norm(x)), position_bias
        x = self.layer_norm(x)
        return self.final_layer_norm(x + self.feed_forward(x)), position_bias


class Transformer(nn.Module):
    """Positional embedding, (pre-)norm, dropout and the layers; in training each layer is skipped with
    probability ``layer_drop``."""

    def __init__(
        self,
        pos_conv_embed: nn.Module,
        dropout: float,
        layers: nn.ModuleList,
        layer_norm_first: bool,
        layer_drop: float,
    ) -> None:
        super().__init__()
        self.pos_conv_embed = pos_conv_embed
        self.layer_norm = nn.LayerNorm(pos_conv_embed.embed_dim)
        self.layer_norm_first = layer_norm_first
        self.layer_drop = layer_drop
        self.dropout = nn.Dropout(dropout)
        self.layers = layers

    def _preprocess(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_conv_embed(x)
        if self.layer_norm_first:
            x = self.layer_norm(x)
        return self.dropout(x)

    def forward(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None = None, position_bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self._preprocess(x)
        for layer in self.layers:
            if not (self.training and torch.rand(1).item() <= self.layer_drop):
                x, position_bias = layer(x, attention_mask, position_bias=position_bias)
        if not self.layer_norm_first:
            x = self.layer_norm(x)
        return x

    def get_intermediate_outputs(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None = None, num_layers: int | None = None
    ) -> list[torch.Tensor]:
        """The output of each of the first ``num_layers`` layers (all by default), no layer skipped."""
        if num_layers is not None and not 0 < num_layers <= len(self.layers):
            raise ValueError(f"`num_layers` must be between [1, {len(self.layers)}]")
        outputs: list[torch.Tensor] = []
        position_bias: torch.Tensor | None = None
        x = self._preprocess(x)
        for layer in self.layers:
            x, position_bias = layer(x, attention_mask, position_bias=position_bias)
            outputs.append(x)
            if num_layers is not None and len(outputs) >= num_layers:
                return outputs
        return outputs


class Encoder(nn.Module):
    """Feature projection and transformer; padded frames (past ``lengths``) are zeroed and masked."""

    def __init__(self, feature_projection: nn.Module, transformer: Transformer) -> None:
        super().__init__()
        self.feature_projection = feature_projection
        self.transformer = transformer

    def _preprocess(
        self, features: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.feature_projection(features)
        if lengths is None:
            return x, None
        batch, frames, _ = x.shape
        padded = torch.arange(frames, device=lengths.device).expand(batch, frames) >= lengths[:, None]
        x = x.masked_fill(padded[:, :, None], 0.0)
        mask = -10000.0 * padded[:, None, None, :].to(dtype=features.dtype)
        return x, mask.expand(batch, 1, frames, frames)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x, mask = self._preprocess(features, lengths)
        return self.transformer(x, attention_mask=mask)

    def extract_features(
        self, features: torch.Tensor, lengths: torch.Tensor | None = None, num_layers: int | None = None
    ) -> list[torch.Tensor]:
        """Every transformer layer's output (the first ``num_layers``)."""
        x, mask = self._preprocess(features, lengths)
        return self.transformer.get_intermediate_outputs(x, attention_mask=mask, num_layers=num_layers)


def build_encoder(
    in_features: int,
    embed_dim: int,
    pos_conv_kernel: int,
    pos_conv_groups: int,
    num_layers: int,
    num_heads: int,
    ff_interm_features: int,
    dropout_input: float = 0.0,
    attention_dropout: float = 0.0,
    ff_interm_dropout: float = 0.0,
    dropout: float = 0.0,
    layer_norm_first: bool = False,
    layer_drop: float = 0.0,
    num_buckets: int | None = None,
    max_distance: int = 800,
) -> Encoder:
    """The encoder; with ``num_buckets`` the attention is WavLM's (position bias in the first layer).

    Example:
        >>> encoder = build_encoder(8, 16, 4, 2, 2, 2, 32, num_buckets=8, max_distance=20)
        >>> type(encoder.transformer.layers[0].attention).__name__
        'WavLMSelfAttention'
    """
    layers = nn.ModuleList()
    for index in range(num_layers):
        if num_buckets is None:
            attention: nn.Module = SelfAttention(embed_dim, num_heads, dropout=attention_dropout)
        else:
            attention = WavLMSelfAttention(
                embed_dim,
                num_heads,
                dropout=attention_dropout,
                has_relative_attention_bias=index == 0,
                num_buckets=num_buckets,
                max_distance=max_distance,
            )
        feed_forward = FeedForward(embed_dim, ff_interm_features, ff_interm_dropout, dropout)
        layers.append(EncoderLayer(attention, dropout, layer_norm_first, feed_forward))
    transformer = Transformer(
        ConvolutionalPositionalEmbedding(embed_dim, pos_conv_kernel, pos_conv_groups),
        dropout,
        layers,
        layer_norm_first=not layer_norm_first,
        layer_drop=layer_drop,
    )
    return Encoder(FeatureProjection(in_features, embed_dim, dropout_input), transformer)
