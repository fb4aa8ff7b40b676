"""Scaled dot-product attention over batch-first ``(B, T, D)`` projections, shared by the models' attention
modules (each projects its own queries, keys and values and applies its own output projection, or holds them
packed in a :class:`PackedSelfAttention`).

Example:
    >>> import torch
    >>> query = key = value = torch.randn(2, 5, 8)
    >>> attend(query, key, value, heads=2).shape
    torch.Size([2, 5, 8])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PackedSelfAttention", "additive_padding_mask", "attend", "merge_heads", "split_heads"]


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, T, D)`` to ``(B, heads, T, D / heads)``.

    Example:
        >>> import torch
        >>> split_heads(torch.zeros(2, 5, 8), 4).shape
        torch.Size([2, 4, 5, 2])
    """
    batch, length, dim = x.shape
    return x.view(batch, length, heads, dim // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, heads, T, D / heads)`` to ``(B, T, D)``.

    Example:
        >>> import torch
        >>> x = torch.randn(2, 5, 8)
        >>> torch.equal(merge_heads(split_heads(x, 4)), x)
        True
    """
    batch, heads, length, size = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * size)


def additive_padding_mask(padding: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The ``(B, 1, 1, T)`` additive mask of a ``(B, T)`` key padding mask (true at padded keys): ``-inf`` at
    padded keys, 0 elsewhere.

    Example:
        >>> import torch
        >>> additive_padding_mask(torch.tensor([[False, True]]), torch.float32).flatten().tolist()
        [0.0, -inf]
    """
    return torch.zeros(padding.shape, dtype=dtype, device=padding.device).masked_fill(padding, float("-inf"))[
        :, None, None, :
    ]


def attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    heads: int,
    mask: torch.Tensor | None = None,
    dropout: float = 0.0,
) -> torch.Tensor:
    """Multi-head attention of ``query`` ``(B, T, D)`` over ``key`` and ``value`` ``(B, S, D)``, split into
    ``heads``; ``mask`` is additive, broadcastable to ``(B, heads, T, S)``; ``dropout`` applies to the
    attention weights. Returns ``(B, T, D)``, the heads merged.

    Example:
        >>> import torch
        >>> x = torch.randn(1, 3, 4)
        >>> out = attend(x, x, x, heads=1, mask=additive_padding_mask(torch.tensor([[False, True, True]]),
        ...                                                          x.dtype))
        >>> torch.allclose(out, x[:, :1].expand(1, 3, 4))  # only the first key is seen
        True
    """
    attended = nn.functional.scaled_dot_product_attention(
        split_heads(query, heads), split_heads(key, heads), split_heads(value, heads), attn_mask=mask, dropout_p=dropout
    )
    return merge_heads(attended)


class PackedSelfAttention(nn.MultiheadAttention):
    """An ``nn.MultiheadAttention`` (its parameters, state-dict names and ``forward``) whose :meth:`attend_self`
    runs self-attention batch-first: the packed input projection, :func:`attend` and the output projection all
    see ``(B, T, D)`` frames, whose flattening ``torch.export`` proves valid for any batch and frame count.

    Example:
        >>> import torch
        >>> attention = PackedSelfAttention(8, 2).eval()
        >>> x = torch.randn(2, 5, 8)
        >>> torch.allclose(attention.attend_self(x), attention(x.transpose(0, 1), x.transpose(0, 1),
        ...     x.transpose(0, 1), need_weights=False)[0].transpose(0, 1), atol=1e-6)
        True
    """

    def attend_self(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend ``x`` ``(B, T, D)`` to itself; ``mask`` is additive, broadcastable to ``(B, heads, T, T)``;
        the attention weights drop out at ``dropout`` in training."""
        query, key, value = nn.functional.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, -1)
        dropout = self.dropout if self.training else 0.0
        return self.out_proj(attend(query, key, value, self.num_heads, mask, dropout))
