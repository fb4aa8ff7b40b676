"""Emformer (Shi et al., 2021): a streaming transformer that attends within segments, to a few right-context
frames, to cached left-context keys and to a memory bank of segment summaries.

:class:`Emformer` takes the whole utterance (followed by its right context) in :meth:`~Emformer.forward` and
one segment at a time, with its state, in :meth:`~Emformer.infer`.

Example:
    >>> import torch
    >>> model = Emformer(input_dim=8, num_heads=2, ffn_dim=16, num_layers=2, segment_length=4,
    ...                  right_context_length=1)
    >>> output, lengths = model(torch.randn(2, 13, 8), torch.tensor([12, 10]))
    >>> output.shape
    torch.Size([2, 12, 8])
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import check_divides, model_arguments, record
from tympan.plugins.models.asr._emformer_attention import (
    EmformerAttention,
    attention_mask,
    segment_count,
    segment_means,
)

__all__ = ["Emformer", "EmformerLayer", "activation_module", "summaries", "weight_init_gains"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def activation_module(activation: str) -> nn.Module:
    """A new ``relu``, ``gelu`` or ``silu`` module.

    Example:
        >>> activation_module("gelu")
        GELU(approximate='none')
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"Unsupported activation {activation}")
    return _ACTIVATIONS[activation]()


def weight_init_gains(strategy: str | None, num_layers: int) -> list[float | None]:
    """Per-layer gains of the query/key/value initialisation: ``depthwise`` (1/sqrt(layer + 1)), ``constant``
    (1/sqrt(2)) or none.

    Example:
        >>> [round(g, 3) for g in weight_init_gains("depthwise", 3)]
        [1.0, 0.707, 0.577]
    """
    if strategy is None:
        return [None] * num_layers
    if strategy == "depthwise":
        return [1.0 / math.sqrt(index + 1) for index in range(num_layers)]
    if strategy == "constant":
        return [1.0 / math.sqrt(2)] * num_layers
    raise ValueError(f"Unsupported weight_init_scale_strategy value {strategy}")


def summaries(utterance: torch.Tensor, segment_length: int, use_memory: bool) -> torch.Tensor:
    """The mean of each segment of ``utterance`` ``(T, B, D)``: ``(segments, B, D)``, or none (``(0, B, D)``)
    without memory.

    Example:
        >>> summaries(torch.ones(5, 1, 2), 2, use_memory=True).shape
        torch.Size([3, 1, 2])
    """
    if not use_memory:
        return utterance[:0]
    return segment_means(utterance, segment_length)


class EmformerLayer(nn.Module):
    """One Emformer layer: pre-norm attention, a residual, a pre-norm feed-forward block and a final norm.

    Streaming state (:meth:`infer`) is ``[memory (M, B, D), left-context keys (L, B, D), values (L, B, D),
    frames seen so far (1, B)]``.

    Example:
        >>> import torch
        >>> layer = EmformerLayer(8, 2, 16, segment_length=4, left_context_length=2)
        >>> out, right, state, mems = layer.infer(torch.randn(4, 1, 8), torch.tensor([4]), torch.randn(1, 1, 8),
        ...                                       None, torch.zeros(0))
        >>> out.shape, state[1].shape, int(state[3])
        (torch.Size([4, 1, 8]), torch.Size([2, 1, 8]), 4)
    """

    def __init__(
        self,
        input_dim: int,
        num_heads: int,
        ffn_dim: int,
        segment_length: int,
        dropout: float = 0.0,
        activation: str = "relu",
        left_context_length: int = 0,
        max_memory_size: int = 0,
        weight_init_gain: float | None = None,
        tanh_on_mem: bool = False,
        negative_inf: float = -1e8,
    ) -> None:
        super().__init__()
        self.attention = EmformerAttention(
            input_dim,
            num_heads,
            dropout=dropout,
            weight_init_gain=weight_init_gain,
            tanh_on_mem=tanh_on_mem,
            negative_inf=negative_inf,
        )
        self.dropout = nn.Dropout(dropout)
        self.pos_ff = nn.Sequential(
            nn.LayerNorm(input_dim),
            nn.Linear(input_dim, ffn_dim),
            activation_module(activation),
            nn.Dropout(dropout),
            nn.Linear(ffn_dim, input_dim),
            nn.Dropout(dropout),
        )
        self.layer_norm_input = nn.LayerNorm(input_dim)
        self.layer_norm_output = nn.LayerNorm(input_dim)
        self.left_context_length = left_context_length
        self.segment_length = segment_length
        self.max_memory_size = max_memory_size
        self.input_dim = input_dim
        self.use_mem = max_memory_size > 0

    def _normalised(self, utterance: torch.Tensor, right_context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        normed = self.layer_norm_input(torch.cat([right_context, utterance]))
        return normed[right_context.size(0) :], normed[: right_context.size(0)]

    def _feed_forward(
        self, attended: torch.Tensor, utterance: torch.Tensor, right_context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # batch-first through the feed-forward block, so that its linear layers see (B, T, D) frames
        result = (self.dropout(attended) + torch.cat([right_context, utterance])).transpose(0, 1)
        result = self.layer_norm_output(self.pos_ff(result) + result).transpose(0, 1)
        return result[right_context.size(0) :], result[: right_context.size(0)]

    def forward(
        self,
        utterance: torch.Tensor,
        lengths: torch.Tensor,
        right_context: torch.Tensor,
        mems: torch.Tensor,
        attention_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: ``(utterance (T, B, D), right context (R, B, D), memory (M, B, D))`` out."""
        normed_utterance, normed_right = self._normalised(utterance, right_context)
        attended, output_mems = self.attention(
            normed_utterance,
            lengths,
            normed_right,
            summaries(normed_utterance, self.segment_length, self.use_mem),
            mems,
            attention_mask,
        )
        output_utterance, output_right = self._feed_forward(attended, utterance, right_context)
        return output_utterance, output_right, output_mems

    def _initial_state(self, batch: int, like: torch.Tensor) -> list[torch.Tensor]:
        return [
            like.new_zeros(self.max_memory_size, batch, self.input_dim),
            like.new_zeros(self.left_context_length, batch, self.input_dim),
            like.new_zeros(self.left_context_length, batch, self.input_dim),
            torch.zeros(1, batch, dtype=torch.int32, device=like.device),
        ]

    @torch.jit.export
    def infer(
        self,
        utterance: torch.Tensor,
        lengths: torch.Tensor,
        right_context: torch.Tensor,
        state: list[torch.Tensor] | None,
        mems: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Streaming pass over one segment: ``(utterance, right context, new state, memory)`` out."""
        if state is None:
            state = self._initial_state(utterance.size(1), utterance)
        seen = int(state[3][0][0].item())
        left = min(self.left_context_length, seen)
        memories = min(self.max_memory_size, math.ceil(seen / self.segment_length))
        normed_utterance, normed_right = self._normalised(utterance, right_context)
        summary = summaries(normed_utterance, self.segment_length, self.use_mem)[:1]
        attended, output_mems, keys, values = self.attention.infer(
            normed_utterance,
            lengths,
            normed_right,
            summary,
            state[0][self.max_memory_size - memories :],
            state[1][self.left_context_length - left :],
            state[2][self.left_context_length - left :],
        )
        new_keys = torch.cat([state[1], keys])
        new_values = torch.cat([state[2], values])
        new_state = [
            torch.cat([state[0], mems])[-self.max_memory_size :],
            new_keys[new_keys.shape[0] - self.left_context_length :],
            new_values[new_values.shape[0] - self.left_context_length :],
            state[3] + utterance.size(0),
        ]
        output_utterance, output_right = self._feed_forward(attended, utterance, right_context)
        return output_utterance, output_right, new_state, output_mems


class Emformer(nn.Module):
    """Emformer encoder: ``(B, T + right_context_length, input_dim)`` frames in, ``(B, T, input_dim)`` out.

    Example:
        >>> import torch
        >>> model = Emformer(input_dim=8, num_heads=2, ffn_dim=16, num_layers=1, segment_length=2,
        ...                  right_context_length=1, max_memory_size=2)
        >>> chunk = torch.randn(1, 3, 8)
        >>> out, lengths, states = model.infer(chunk, torch.tensor([3]), None)
        >>> out.shape, lengths.tolist()
        (torch.Size([1, 2, 8]), [2])
    """

    qualified_name: ClassVar[str] = "asr:emformer"
    scriptable: ClassVar[bool] = True

    def __init__(
        self,
        input_dim: Annotated[int, Field(ge=1, le=1 << 14, description="Dimension of the input frames.")] = 512,
        num_heads: Annotated[int, Field(ge=1, le=256, description="Attention heads per layer.")] = 8,
        ffn_dim: Annotated[
            int, Field(ge=1, le=1 << 16, description="Hidden dimension of the feed-forward blocks.")
        ] = 2048,
        num_layers: Annotated[int, Field(ge=1, le=256, description="Number of Emformer layers.")] = 20,
        segment_length: Annotated[int, Field(ge=1, le=1 << 14, description="Frames per segment.")] = 4,
        dropout: Annotated[float, Field(ge=0.0, le=1.0, description="Dropout probability.")] = 0.0,
        activation: Annotated[
            Literal["relu", "gelu", "silu"], Field(description="Activation of the feed-forward blocks.")
        ] = "relu",
        left_context_length: Annotated[int, Field(ge=0, le=1 << 14, description="Frames of left context.")] = 0,
        right_context_length: Annotated[int, Field(ge=0, le=1 << 14, description="Frames of right context.")] = 0,
        max_memory_size: Annotated[int, Field(ge=0, le=1 << 12, description="Memory vectors kept (0: none).")] = 0,
        weight_init_scale_strategy: Annotated[
            Literal["depthwise", "constant"] | None, Field(description="Scaling of each layer's initialisation.")
        ] = "depthwise",
        tanh_on_mem: Annotated[bool, Field(description="Squash memory with tanh (else clip to [-10, 10]).")] = False,
        negative_inf: Annotated[float, Field(le=-1.0, description="Attention score of masked positions.")] = -1e8,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        gains = weight_init_gains(weight_init_scale_strategy, num_layers)
        self.emformer_layers = nn.ModuleList(
            EmformerLayer(
                input_dim,
                num_heads,
                ffn_dim,
                segment_length,
                dropout=dropout,
                activation=activation,
                left_context_length=left_context_length,
                max_memory_size=max_memory_size,
                weight_init_gain=gains[index],
                tanh_on_mem=tanh_on_mem,
                negative_inf=negative_inf,
            )
            for index in range(num_layers)
        )
        self.use_mem = max_memory_size > 0
        self.input_dim = input_dim
        self.left_context_length = left_context_length
        self.right_context_length = right_context_length
        self.segment_length = segment_length
        self.max_memory_size = max_memory_size
        self.export_axes = ExportAxes(
            dims=({1: "frames"}, {}),
            lengths={1: "utterance"},
            min_sizes={"frames": self._shortest_exported() + right_context_length},
            derived={"utterance": ("frames", 1, -right_context_length)},
            runtime_checks=True,
        )
        record(self, params)

    @staticmethod
    def check_params(params: Any) -> None:
        """The heads divide the input dimension."""
        check_divides(params, "num_heads", "input_dim")

    def _shortest_exported(self) -> int:
        """The fewest utterance frames an exported program takes: three segments with memory, else two. With
        fewer, the memory or the per-segment tensors would have one row, a size a traced program cannot leave
        free to be 1 or more (the tracer takes the layout of a size-1 dimension as a special case)."""
        return (2 if self.use_mem else 1) * self.segment_length + 1

    def _right_context(self, frames: torch.Tensor) -> torch.Tensor:
        """The right-context frames of every segment, segment after segment: the ``right_context_length``
        frames after each segment, and for the last segment the frames after the utterance."""
        total = frames.size(0)
        right = self.right_context_length
        segments = segment_count(total - right, self.segment_length)
        # every segment but the last ends before the utterance does
        ends = torch.arange(1, segments + 1, device=frames.device) * self.segment_length
        starts = ends.clamp(max=total - right)
        index = (starts[:, None] + torch.arange(right, device=frames.device)[None, :]).reshape(-1)
        return frames.index_select(0, index)

    def forward(self, input: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a whole utterance: ``input`` ``(B, T + right_context_length, D)`` whose item ``i`` has
        ``lengths[i]`` valid utterance frames."""
        frames = input.permute(1, 0, 2)
        right_context = self._right_context(frames)
        utterance = frames[: frames.size(0) - self.right_context_length]
        mask = attention_mask(
            utterance.size(0),
            self.segment_length,
            self.left_context_length,
            self.right_context_length,
            self.max_memory_size,
            input.device,
        )
        mems = summaries(utterance, self.segment_length, self.use_mem)[:-1]
        output = utterance
        for layer in self.emformer_layers:
            output, right_context, mems = layer(output, lengths, right_context, mems, mask)
        # a contiguous (B, T, D) tensor: a linear layer after the Emformer flattens it without a copy (a
        # strided slice of the frames would make torch.export take its layout at batch size 1 as a special case)
        return output.permute(1, 0, 2).contiguous(), lengths

    @torch.jit.export
    def infer(
        self, input: torch.Tensor, lengths: torch.Tensor, states: list[list[torch.Tensor]] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """Encode one segment: ``input`` ``(B, segment_length + right_context_length, D)``; returns the
        ``(B, segment_length, D)`` output, its lengths and the states to pass with the next segment."""
        if input.size(1) != self.segment_length + self.right_context_length:
            raise ValueError(
                "Per configured segment_length and right_context_length"
                f", expected size of {self.segment_length + self.right_context_length} for dimension 1 of input"
                f", but got {input.size(1)}."
            )
        frames = input.permute(1, 0, 2)
        split = frames.size(0) - self.right_context_length
        right_context = frames[split:]
        output = frames[:split]
        output_lengths = torch.clamp(lengths - self.right_context_length, min=0)
        mems = summaries(output, self.segment_length, self.use_mem)
        output_states: list[list[torch.Tensor]] = []
        for index, layer in enumerate(self.emformer_layers):
            output, right_context, state, mems = layer.infer(
                output, output_lengths, right_context, None if states is None else states[index], mems
            )
            output_states.append(state)
        return output.permute(1, 0, 2), output_lengths, output_states

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` random utterances of three segments and their right context, all valid."""
        generator = torch.Generator().manual_seed(0)
        frames = 3 * self.segment_length
        shape = (batch, frames + self.right_context_length, self.input_dim)
        return torch.randn(shape, generator=generator), torch.full((batch,), frames)
