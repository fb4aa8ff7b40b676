"""Self-attention of the wav2vec 2.0 family: plain multi-head attention, and WavLM's, which adds a relative
position bias (bucketed distances, learned per head in the first layer) gated by the query.

Both run on ``torch.nn.functional.scaled_dot_product_attention`` with an additive mask for padded frames.

Example:
    >>> import torch
    >>> attention = SelfAttention(8, 2)
    >>> out, _ = attention(torch.randn(2, 5, 8))
    >>> out.shape
    torch.Size([2, 5, 8])
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tympan.plugins.models._attention import PackedSelfAttention, attend

__all__ = ["SelfAttention", "WavLMSelfAttention", "relative_position_buckets"]


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate query, key, value and output projections.

    ``attention_mask`` is additive, ``(B, 1, T, T)``.

    Example:
        >>> import torch
        >>> attention = SelfAttention(4, 1)
        >>> mask = torch.tensor([0.0, -10000.0]).view(1, 1, 1, 2).expand(1, 1, 2, 2)
        >>> x = torch.randn(1, 2, 4, generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(attention(x, mask)[0][:, :1], attention(x[:, :1])[0], atol=1e-6)  # the padding is unseen
        True
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"`embed_dim ({embed_dim})` is not divisible by `num_heads ({num_heads})`")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.head_dim = embed_dim // num_heads
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=True)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=True)
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=True)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=True)

    def forward(
        self,
        x: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_bias: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend ``x`` ``(B, T, embed_dim)`` to itself; returns ``(output, None)``."""
        if x.ndim != 3 or x.shape[2] != self.embed_dim:
            raise ValueError(
                f"The expected input shape is (batch, sequence, embed_dim=={self.embed_dim}). Found {x.shape}."
            )
        batch, length, _ = x.shape
        if attention_mask is not None and attention_mask.shape != (batch, 1, length, length):
            raise ValueError(
                f"The expected attention mask shape is {(batch, 1, length, length)}. Found {attention_mask.size()}."
            )
        dropout = self.dropout if self.training else 0.0
        attended = attend(self.q_proj(x), self.k_proj(x), self.v_proj(x), self.num_heads, attention_mask, dropout)
        return self.out_proj(attended), None


def relative_position_buckets(relative: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5-style buckets of signed distances: half the buckets per direction, exact up to a quarter of
    ``num_buckets``, then logarithmic up to ``max_distance``.

    Example:
        >>> import torch
        >>> relative_position_buckets(torch.tensor([-3, -1, 0, 1, 3, 100]), num_buckets=8, max_distance=10).tolist()
        [2, 1, 0, 5, 6, 7]
    """
    half = num_buckets // 2
    buckets = (relative > 0).to(torch.long) * half
    distance = relative.abs()
    exact = half // 2
    logarithmic = exact + (torch.log(distance.float() / exact) / math.log(max_distance / exact) * (half - exact)).to(
        torch.long
    )
    logarithmic = torch.clamp(logarithmic, max=half - 1)
    return buckets + torch.where(distance < exact, distance, logarithmic)


class WavLMSelfAttention(nn.Module):
    """WavLM's gated relative-position self-attention.

    The first layer (``has_relative_attention_bias``) computes the ``(B, heads, T, T)`` position bias and
    passes it on; every layer scales it by a gate computed from its own input. Padded frames are masked by
    the additive ``attention_mask``.

    Example:
        >>> import torch
        >>> attention = WavLMSelfAttention(8, 2, has_relative_attention_bias=True, num_buckets=16, max_distance=32)
        >>> out, bias = attention(torch.randn(1, 6, 8))
        >>> out.shape, bias.shape
        (torch.Size([1, 6, 8]), torch.Size([1, 2, 6, 6]))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        has_relative_attention_bias: bool = False,
        num_buckets: int = 32,
        max_distance: int = 128,
        gru_rel_pos: bool = True,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.has_relative_attention_bias = has_relative_attention_bias
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.rel_attn_embed = nn.Embedding(num_buckets, num_heads) if has_relative_attention_bias else None
        self.head_dim = embed_dim // num_heads
        self.attention = PackedSelfAttention(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)
        self.gru_rel_pos = gru_rel_pos
        if gru_rel_pos:
            self.gru_rel_pos_linear = nn.Linear(self.head_dim, 8)
            self.gru_rel_pos_const = nn.Parameter(torch.ones(1, num_heads, 1, 1))
        self.has_position_bias = True

    def compute_bias(self, query_length: int, key_length: int) -> torch.Tensor:
        """The ``(heads, query_length, key_length)`` relative position bias."""
        if self.rel_attn_embed is None:
            raise ValueError("only the first WavLM layer holds the relative position embedding")
        device = self.rel_attn_embed.weight.device
        context = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
        memory = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
        buckets = relative_position_buckets(memory - context, self.num_buckets, self.max_distance)
        return self.rel_attn_embed(buckets).permute(2, 0, 1)

    def forward(
        self,
        query: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_bias: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend ``query`` ``(B, T, embed_dim)``; returns the output and the (ungated) position bias."""
        batch, length, dim = query.shape
        if dim != self.embed_dim:
            raise ValueError(f"expected {self.embed_dim} features, got {dim}")
        if self.rel_attn_embed is not None and position_bias is None:
            position_bias = self.compute_bias(length, length).unsqueeze(0).repeat(batch, 1, 1, 1)
        bias: torch.Tensor | None = None
        if position_bias is not None:
            bias = position_bias
            if self.gru_rel_pos:
                heads_view = query.view(batch, length, self.num_heads, -1).permute(0, 2, 1, 3)
                gates = self.gru_rel_pos_linear(heads_view).view(batch, self.num_heads, length, 2, 4).sum(-1)
                gate_a, gate_b = torch.sigmoid(gates).chunk(2, dim=-1)
                scale = gate_a * (gate_b * self.gru_rel_pos_const - 1.0) + 2.0
                bias = scale.view(batch, self.num_heads, -1, 1) * position_bias
            bias = bias.view(batch, self.num_heads, length, length)
        if attention_mask is not None:
            bias = attention_mask if bias is None else bias + attention_mask
        return self.attention.attend_self(query, bias), position_bias
