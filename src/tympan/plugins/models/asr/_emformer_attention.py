"""Emformer's attention: queries are right-context, utterance and summary frames; keys and values are memory,
right-context and utterance frames (with the cached left-context keys spliced in when streaming).

The block mask that keeps each segment to its own right context, its left context and the memory of earlier
segments is built by index arithmetic over the rows and columns, not segment by segment.

Example:
    >>> mask = attention_mask(utterance_length=4, segment_length=2, left_context_length=0,
    ...                       right_context_length=1, max_memory_size=0)
    >>> for row in (~mask).int().tolist():  # rows: 2 right-context frames, 4 utterance frames; columns alike
    ...     print(row)
    [1, 0, 1, 1, 0, 0]
    [0, 1, 0, 0, 1, 1]
    [1, 0, 1, 1, 0, 0]
    [1, 0, 1, 1, 0, 0]
    [0, 1, 0, 0, 1, 1]
    [0, 1, 0, 0, 1, 1]
"""

from __future__ import annotations

import torch
from torch import nn

from tympan.plugins.models._attention import merge_heads, split_heads
from tympan.plugins.models._masks import lengths_to_padding_mask

__all__ = ["EmformerAttention", "attention_mask", "segment_count", "segment_means"]


def segment_count(frames: int, segment_length: int) -> int:
    """How many segments ``frames`` frames make, the last one possibly short: ``ceil(frames / segment_length)``,
    written as the floor of a sum of sizes so that ``torch.export``'s shape solver can compare it with them.

    Example:
        >>> [segment_count(frames, 4) for frames in (1, 4, 5, 8, 9)]
        [1, 1, 2, 2, 3]
    """
    return (frames + segment_length - 1) // segment_length


def segment_means(frames: torch.Tensor, segment_length: int) -> torch.Tensor:
    """The mean of each segment of ``frames`` ``(T, B, D)``: ``(segments, B, D)``, the last segment the mean of
    the frames it holds (average pooling over segments with ``ceil_mode``).

    Example:
        >>> frames = torch.arange(5.0).reshape(5, 1, 1)
        >>> segment_means(frames, 2).flatten().tolist()
        [0.5, 2.5, 4.0]
    """
    total = frames.size(0)
    segments = segment_count(total, segment_length)
    positions = torch.arange(segments * segment_length, device=frames.device)
    held = (positions < total).to(frames.dtype)
    gathered = frames.index_select(0, positions.clamp(max=total - 1)) * held[:, None, None]
    sums = gathered.view(segments, segment_length, frames.size(1), frames.size(2)).sum(1)
    return sums / held.view(segments, segment_length).sum(1)[:, None, None]


def attention_mask(
    utterance_length: int,
    segment_length: int,
    left_context_length: int,
    right_context_length: int,
    max_memory_size: int,
    device: torch.device | None = None,
) -> torch.Tensor:
    """The training attention mask (true = masked) of an utterance of ``utterance_length`` frames.

    Rows are the right-context frames of every segment, the utterance frames and, with memory, one summary
    per segment; columns are the memory vectors (one per segment but the last), the right-context frames and
    the utterance frames. A right-context or utterance row of segment ``i`` sees the memory of segments
    ``max(i - max_memory_size, 0) .. i - 1``, its own right context and the utterance frames from
    ``i * segment_length - left_context_length`` to the end of its segment; a summary row sees the same but
    no memory.
    """
    segments = segment_count(utterance_length, segment_length)
    use_memory = max_memory_size > 0
    right = right_context_length
    rc_rows = torch.arange(segments * right, device=device) // max(right, 1)
    utterance_rows = torch.arange(utterance_length, device=device) // segment_length
    summary_rows = torch.arange(segments if use_memory else 0, device=device)
    row_segment = torch.cat([rc_rows, utterance_rows, summary_rows])
    is_summary = torch.cat(
        [
            torch.zeros(rc_rows.numel() + utterance_length, dtype=torch.bool, device=device),
            torch.ones(summary_rows.numel(), dtype=torch.bool, device=device),
        ]
    )
    segment = row_segment[:, None]

    memory = torch.arange(segments - 1 if use_memory else 0, device=device)[None, :]
    sees_memory = (memory < segment) & (memory >= (segment - max_memory_size).clamp(min=0)) & ~is_summary[:, None]
    sees_right = (torch.arange(segments * right, device=device) // max(right, 1))[None, :] == segment
    frames = torch.arange(utterance_length, device=device)[None, :]
    start = (segment * segment_length - left_context_length).clamp(min=0)
    end = ((segment + 1) * segment_length).clamp(max=utterance_length)
    sees_frames = (frames >= start) & (frames < end)
    return ~torch.cat([sees_memory, sees_right, sees_frames], dim=1)


def _batch_first(parts: list[torch.Tensor]) -> torch.Tensor:
    """``(T, B, D)`` pieces joined along time into one contiguous ``(B, T, D)`` tensor, in a single copy.

    Example:
        >>> parts = [torch.randn(2, 3, 4), torch.randn(5, 3, 4)]
        >>> joined = _batch_first(parts)
        >>> joined.is_contiguous(), torch.equal(joined, torch.cat(parts).transpose(0, 1))
        (True, True)
    """
    return torch.cat([part.transpose(0, 1) for part in parts], dim=1)


class EmformerAttention(nn.Module):
    """Multi-head attention of one Emformer layer; memory outputs are squashed by ``tanh`` (``tanh_on_mem``) or
    clipped to [-10, 10].

    Example:
        >>> import torch
        >>> attention = EmformerAttention(8, 2)
        >>> frames, context, summary = torch.randn(4, 1, 8), torch.randn(2, 1, 8), torch.randn(2, 1, 8)
        >>> memory = torch.randn(1, 1, 8)
        >>> mask = attention_mask(4, 2, 0, 1, max_memory_size=1)
        >>> out, mems = attention(frames, torch.tensor([4]), context, summary, memory, mask)
        >>> out.shape, mems.shape
        (torch.Size([6, 1, 8]), torch.Size([1, 1, 8]))
    """

    def __init__(
        self,
        input_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        weight_init_gain: float | None = None,
        tanh_on_mem: bool = False,
        negative_inf: float = -1e8,
    ) -> None:
        super().__init__()
        if input_dim % num_heads != 0:
            raise ValueError(f"input_dim ({input_dim}) is not a multiple of num_heads ({num_heads}).")
        self.input_dim = input_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.tanh_on_mem = tanh_on_mem
        self.negative_inf = negative_inf
        self.scaling = (input_dim // num_heads) ** -0.5
        self.emb_to_key_value = nn.Linear(input_dim, 2 * input_dim, bias=True)
        self.emb_to_query = nn.Linear(input_dim, input_dim, bias=True)
        self.out_proj = nn.Linear(input_dim, input_dim, bias=True)
        if weight_init_gain:
            nn.init.xavier_uniform_(self.emb_to_key_value.weight, gain=weight_init_gain)
            nn.init.xavier_uniform_(self.emb_to_query.weight, gain=weight_init_gain)

    def _attend(
        self,
        utterance: torch.Tensor,
        lengths: torch.Tensor,
        right_context: torch.Tensor,
        summary: torch.Tensor,
        mems: torch.Tensor,
        mask: torch.Tensor,
        left_context_key: torch.Tensor | None,
        left_context_val: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Attention over ``(T, B, D)`` frames computed batch-first: the projections see ``(B, T, D)`` frames,
        whose flattening ``torch.export`` proves valid for any batch and frame count. The outputs are
        ``(T, B, D)``: frames, memory, and the keys and values."""
        rows = right_context.size(0) + utterance.size(0) + summary.size(0)
        query = self.emb_to_query(_batch_first([right_context, utterance, summary]))
        key_value = self.emb_to_key_value(_batch_first([mems, right_context, utterance]))
        key, value = key_value.chunk(chunks=2, dim=2)
        if left_context_key is not None and left_context_val is not None:
            # the right-context rows past the longest utterance count as right context too
            split = mems.size(0) + rows - int(lengths.max().item()) - summary.size(0)
            key = torch.cat([key[:, :split], left_context_key.transpose(0, 1), key[:, split:]], dim=1)
            value = torch.cat([value[:, :split], left_context_val.transpose(0, 1), value[:, split:]], dim=1)
        weights = torch.matmul(
            split_heads(query, self.num_heads) * self.scaling, split_heads(key, self.num_heads).transpose(2, 3)
        )
        # computed in float32 for every dtype, as the reference does
        scores = weights.float().masked_fill(mask, self.negative_inf)
        # the longest item sees every key; a shorter one loses as many keys at the end as it is shorter
        key_lengths = lengths + (key.size(1) - lengths.max())
        padding = lengths_to_padding_mask(key_lengths, key.size(1))
        scores = scores.masked_fill(padding[:, None, None, :], self.negative_inf)
        probs = torch.softmax(scores, dim=-1).type_as(weights)
        probs = nn.functional.dropout(probs, p=float(self.dropout), training=self.training)
        attended = merge_heads(torch.matmul(probs, split_heads(value, self.num_heads)))
        output = self.out_proj(attended).transpose(0, 1)
        frames_out = output[: rows - summary.size(0)]
        mems_out = output[rows - summary.size(0) :]
        mems_out = torch.tanh(mems_out) if self.tanh_on_mem else torch.clamp(mems_out, min=-10, max=10)
        return frames_out, mems_out, key.transpose(0, 1), value.transpose(0, 1)

    def forward(
        self,
        utterance: torch.Tensor,
        lengths: torch.Tensor,
        right_context: torch.Tensor,
        summary: torch.Tensor,
        mems: torch.Tensor,
        attention_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass: ``(right context + utterance outputs, memory outputs of every segment but the last)``."""
        output, output_mems, _, _ = self._attend(
            utterance, lengths, right_context, summary, mems, attention_mask, None, None
        )
        return output, output_mems[:-1]

    @torch.jit.export
    def infer(
        self,
        utterance: torch.Tensor,
        lengths: torch.Tensor,
        right_context: torch.Tensor,
        summary: torch.Tensor,
        mems: torch.Tensor,
        left_context_key: torch.Tensor,
        left_context_val: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Streaming pass over one segment: outputs, memory, and the keys and values to cache (the left
        context and the utterance)."""
        rows = right_context.size(0) + utterance.size(0) + summary.size(0)
        columns = right_context.size(0) + utterance.size(0) + mems.size(0) + left_context_key.size(0)
        mask = torch.zeros(rows, columns, dtype=torch.bool, device=utterance.device)
        mask[-1, : mems.size(0)] = True  # the summary sees no memory
        output, output_mems, key, value = self._attend(
            utterance, lengths, right_context, summary, mems, mask, left_context_key, left_context_val
        )
        cached = mems.size(0) + right_context.size(0)
        return output, output_mems, key[cached:], value[cached:]
