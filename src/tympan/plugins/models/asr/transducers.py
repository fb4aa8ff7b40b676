"""Transducers built from plain parameters: the Emformer RNN-T (streaming) and the Conformer RNN-T.

Both share the prediction and joint networks of :mod:`.rnnt`; their transcription networks differ:

- :class:`EmformerEncoder`: a linear layer, time reduction, an :class:`~.emformer.Emformer`, a linear layer
  and a layer norm; streams segment by segment (``RNNT.transcribe_streaming``).
- :class:`ConformerEncoder`: time reduction, a linear layer, a :class:`~.conformer.Conformer`, a linear
  layer and a layer norm; whole utterances only.

Example:
    >>> model = conformer_rnnt_model(input_dim=8, encoding_dim=8, time_reduction_stride=2, conformer_input_dim=8,
    ...     conformer_ffn_dim=8, conformer_num_layers=1, conformer_num_heads=2,
    ...     conformer_depthwise_conv_kernel_size=3, num_symbols=5, symbol_embedding_dim=4, num_lstm_layers=1,
    ...     lstm_hidden_dim=4)
    >>> import torch
    >>> encodings, lengths = model.transcribe(torch.randn(1, 6, 8), torch.tensor([6]))
    >>> encodings.shape, lengths.tolist()
    (torch.Size([1, 3, 8]), [3])
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import check_divides, check_odd, model_builder
from tympan.plugins.models.asr.conformer import Conformer
from tympan.plugins.models.asr.emformer import Emformer
from tympan.plugins.models.asr.rnnt import RNNT, Joiner, Predictor, TimeReduction

__all__ = [
    "ConformerEncoder",
    "EmformerEncoder",
    "conformer_rnnt_base",
    "conformer_rnnt_model",
    "emformer_rnnt_base",
    "emformer_rnnt_model",
]

_DIM = {"ge": 1, "le": 1 << 14}
_LAYERS = {"ge": 1, "le": 256}
_PROBABILITY = {"ge": 0.0, "le": 1.0}

InputDim = Annotated[int, Field(**_DIM, description="Dimension of the input frames.")]
EncodingDim = Annotated[int, Field(**_DIM, description="Dimension of the encodings the joiner combines.")]
NumSymbols = Annotated[int, Field(ge=2, le=1 << 20, description="Number of output symbols, blank included.")]
ReductionStride = Annotated[int, Field(ge=1, le=64, description="Frames stacked by time reduction.")]
SymbolEmbeddingDim = Annotated[int, Field(**_DIM, description="Label embedding dimension.")]
LstmLayers = Annotated[int, Field(**_LAYERS, description="LSTM layers of the prediction network.")]
LstmLayerNorm = Annotated[bool, Field(description="Layer-normalise the LSTM gates and cells.")]
LstmEpsilon = Annotated[float, Field(gt=0.0, le=1.0, description="Epsilon of those norms.")]
LstmDropout = Annotated[float, Field(**_PROBABILITY, description="Dropout after each LSTM layer.")]


def _transducer(
    encoder: nn.Module, arguments: dict[str, Any], lstm_hidden_dim: int, joiner_activation: str = "relu"
) -> RNNT:
    """The transducer of ``encoder`` with the prediction and joint networks a builder's arguments describe."""
    predictor = Predictor(
        arguments["num_symbols"],
        arguments["encoding_dim"],
        symbol_embedding_dim=arguments["symbol_embedding_dim"],
        num_lstm_layers=arguments["num_lstm_layers"],
        lstm_hidden_dim=lstm_hidden_dim,
        lstm_layer_norm=arguments["lstm_layer_norm"],
        lstm_layer_norm_epsilon=arguments["lstm_layer_norm_epsilon"],
        lstm_dropout=arguments["lstm_dropout"],
    )
    joiner = Joiner(arguments["encoding_dim"], arguments["num_symbols"], activation=joiner_activation)
    return RNNT(encoder, predictor, joiner)


class _ReducedEncoder(nn.Module):
    """A transcription network that stacks ``stride`` frames (``time_reduction``) ahead of a sequence model: an
    exported program's limits on its input frames are the sequence model's, counted before the reduction."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.time_reduction = TimeReduction(stride)

    def sequence_axes(self) -> ExportAxes:
        """The export axes of the sequence model the reduced frames go through."""
        raise NotImplementedError

    def shortest_input(self) -> int:
        """The shortest input an exported program takes: the sequence model's shortest before the reduction."""
        return self.time_reduction.stride * self.sequence_axes().min_size("frames")

    def export_runtime_checks(self) -> bool:
        """Whether an exported program checks sizes the shape solver cannot prove (as the sequence model's does)."""
        return self.sequence_axes().runtime_checks


class EmformerEncoder(_ReducedEncoder):
    """The Emformer transcription network; ``infer`` encodes one segment and its right context.

    Example:
        >>> import torch
        >>> encoder = EmformerEncoder(input_dim=4, output_dim=6, segment_length=4, right_context_length=2,
        ...     time_reduction_input_dim=4, time_reduction_stride=2, transformer_num_heads=2,
        ...     transformer_ffn_dim=8, transformer_num_layers=1, transformer_left_context_length=0)
        >>> encoder(torch.randn(1, 10, 4), torch.tensor([8]))[0].shape
        torch.Size([1, 4, 6])
    """

    def __init__(
        self,
        *,
        input_dim: int,
        output_dim: int,
        segment_length: int,
        right_context_length: int,
        time_reduction_input_dim: int,
        time_reduction_stride: int,
        transformer_num_heads: int,
        transformer_ffn_dim: int,
        transformer_num_layers: int,
        transformer_left_context_length: int,
        transformer_dropout: float = 0.0,
        transformer_activation: str = "relu",
        transformer_max_memory_size: int = 0,
        transformer_weight_init_scale_strategy: str | None = "depthwise",
        transformer_tanh_on_mem: bool = False,
    ) -> None:
        super().__init__(time_reduction_stride)
        self.input_linear = nn.Linear(input_dim, time_reduction_input_dim, bias=False)
        dim = time_reduction_input_dim * time_reduction_stride
        self.transformer = Emformer(
            dim,
            transformer_num_heads,
            transformer_ffn_dim,
            transformer_num_layers,
            segment_length // time_reduction_stride,
            dropout=transformer_dropout,
            activation=transformer_activation,
            left_context_length=transformer_left_context_length,
            right_context_length=right_context_length // time_reduction_stride,
            max_memory_size=transformer_max_memory_size,
            weight_init_scale_strategy=transformer_weight_init_scale_strategy,
            tanh_on_mem=transformer_tanh_on_mem,
        )
        self.output_linear = nn.Linear(dim, output_dim)
        self.layer_norm = nn.LayerNorm(output_dim)
        self.input_dim = input_dim
        self.segment_length = segment_length
        self.right_context_length = right_context_length

    def forward(self, input: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(B, T + right_context_length, input_dim)`` to ``(B, T // stride, output_dim)``."""
        reduced, lengths = self.time_reduction(self.input_linear(input), lengths)
        encoded, lengths = self.transformer(reduced, lengths)
        return self.layer_norm(self.output_linear(encoded)), lengths

    @torch.jit.export
    def infer(
        self, input: torch.Tensor, lengths: torch.Tensor, states: list[list[torch.Tensor]] | None
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """Encode one segment ``(B, segment_length + right_context_length, input_dim)`` from ``states``."""
        reduced, lengths = self.time_reduction(self.input_linear(input), lengths)
        encoded, lengths, states = self.transformer.infer(reduced, lengths, states)
        return self.layer_norm(self.output_linear(encoded)), lengths, states

    def sequence_axes(self) -> ExportAxes:
        """The Emformer's: its shortest input holds its segments and right context; its sizes are checked when
        the program runs."""
        return self.transformer.export_axes

    def example_shape(self) -> tuple[int, int, int]:
        """``(frames, right-context frames, input_dim)`` of a typical input: two segments."""
        return 2 * self.segment_length, self.right_context_length, self.input_dim


class ConformerEncoder(_ReducedEncoder):
    """The Conformer transcription network (whole utterances).

    Example:
        >>> import torch
        >>> encoder = ConformerEncoder(input_dim=4, output_dim=6, time_reduction_stride=2, conformer_input_dim=8,
        ...     conformer_ffn_dim=8, conformer_num_layers=1, conformer_num_heads=2,
        ...     conformer_depthwise_conv_kernel_size=3)
        >>> encoder(torch.randn(1, 7, 4), torch.tensor([7]))[0].shape
        torch.Size([1, 3, 6])
    """

    def __init__(
        self,
        *,
        input_dim: int,
        output_dim: int,
        time_reduction_stride: int,
        conformer_input_dim: int,
        conformer_ffn_dim: int,
        conformer_num_layers: int,
        conformer_num_heads: int,
        conformer_depthwise_conv_kernel_size: int,
        conformer_dropout: float = 0.0,
    ) -> None:
        super().__init__(time_reduction_stride)
        self.input_linear = nn.Linear(input_dim * time_reduction_stride, conformer_input_dim)
        self.conformer = Conformer(
            input_dim=conformer_input_dim,
            num_heads=conformer_num_heads,
            ffn_dim=conformer_ffn_dim,
            num_layers=conformer_num_layers,
            depthwise_conv_kernel_size=conformer_depthwise_conv_kernel_size,
            dropout=conformer_dropout,
        )
        self.output_linear = nn.Linear(conformer_input_dim, output_dim)
        self.layer_norm = nn.LayerNorm(output_dim)
        self.input_dim = input_dim

    def forward(self, input: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(B, T, input_dim)`` to ``(B, T // stride, output_dim)``."""
        reduced, lengths = self.time_reduction(input, lengths)
        encoded, lengths = self.conformer(self.input_linear(reduced), lengths)
        return self.layer_norm(self.output_linear(encoded)), lengths

    @torch.jit.export
    def infer(
        self, input: torch.Tensor, lengths: torch.Tensor, states: list[list[torch.Tensor]] | None
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """Not available: the Conformer sees whole utterances; use ``transcribe``."""
        raise ValueError("the Conformer transcription network does not stream; use transcribe()")

    def sequence_axes(self) -> ExportAxes:
        """The Conformer's: no shortest input beyond the default, no checks when the program runs."""
        return self.conformer.export_axes

    def example_shape(self) -> tuple[int, int, int]:
        """``(frames, right-context frames, input_dim)`` of a typical input."""
        return 4 * self.time_reduction.stride, 0, self.input_dim


@model_builder("asr:rnnt")
def emformer_rnnt_model(
    *,
    input_dim: InputDim = 80,
    encoding_dim: EncodingDim = 1024,
    num_symbols: NumSymbols = 4097,
    segment_length: Annotated[int, Field(**_DIM, description="Input frames per segment.")] = 16,
    right_context_length: Annotated[int, Field(ge=0, le=1 << 14, description="Input frames of right context.")] = 4,
    time_reduction_input_dim: Annotated[int, Field(**_DIM, description="Dimension before time reduction.")] = 128,
    time_reduction_stride: ReductionStride = 4,
    transformer_num_heads: Annotated[int, Field(ge=1, le=256, description="Emformer attention heads.")] = 8,
    transformer_ffn_dim: Annotated[int, Field(ge=1, le=1 << 16, description="Emformer feed-forward dimension.")] = 2048,
    transformer_num_layers: Annotated[int, Field(**_LAYERS, description="Emformer layers.")] = 20,
    transformer_dropout: Annotated[float, Field(**_PROBABILITY, description="Emformer dropout.")] = 0.1,
    transformer_activation: Annotated[
        Literal["relu", "gelu", "silu"], Field(description="Emformer feed-forward activation.")
    ] = "gelu",
    transformer_left_context_length: Annotated[
        int, Field(ge=0, le=1 << 14, description="Emformer left-context frames (after reduction).")
    ] = 30,
    transformer_max_memory_size: Annotated[int, Field(ge=0, le=1 << 12, description="Emformer memory size.")] = 0,
    transformer_weight_init_scale_strategy: Annotated[
        Literal["depthwise", "constant"] | None, Field(description="Emformer initialisation scaling.")
    ] = "depthwise",
    transformer_tanh_on_mem: Annotated[bool, Field(description="Squash Emformer memory with tanh.")] = True,
    symbol_embedding_dim: SymbolEmbeddingDim = 512,
    num_lstm_layers: LstmLayers = 3,
    lstm_layer_norm: LstmLayerNorm = True,
    lstm_layer_norm_epsilon: LstmEpsilon = 1e-3,
    lstm_dropout: LstmDropout = 0.3,
) -> RNNT:
    """The Emformer RNN-T; for non-streaming use, inputs carry ``right_context_length`` extra frames.

    Defaults are those of :func:`emformer_rnnt_base` with 4097 symbols.

    Example:
        >>> model = emformer_rnnt_model(transformer_num_layers=1, encoding_dim=64, symbol_embedding_dim=32,
        ...                             transformer_ffn_dim=64, num_symbols=10)
        >>> model.tympan_component, type(model.transcriber).__name__
        ('asr:rnnt', 'EmformerEncoder')
    """
    encoder = EmformerEncoder(
        input_dim=input_dim,
        output_dim=encoding_dim,
        segment_length=segment_length,
        right_context_length=right_context_length,
        time_reduction_input_dim=time_reduction_input_dim,
        time_reduction_stride=time_reduction_stride,
        transformer_num_heads=transformer_num_heads,
        transformer_ffn_dim=transformer_ffn_dim,
        transformer_num_layers=transformer_num_layers,
        transformer_dropout=transformer_dropout,
        transformer_activation=transformer_activation,
        transformer_left_context_length=transformer_left_context_length,
        transformer_max_memory_size=transformer_max_memory_size,
        transformer_weight_init_scale_strategy=transformer_weight_init_scale_strategy,
        transformer_tanh_on_mem=transformer_tanh_on_mem,
    )
    return _transducer(encoder, locals(), lstm_hidden_dim=symbol_embedding_dim)


def _check_emformer_rnnt(params: Any) -> None:
    dim = params.time_reduction_input_dim * params.time_reduction_stride
    if dim % params.transformer_num_heads:
        raise ValueError(
            f"transformer_num_heads ({params.transformer_num_heads}) must divide "
            f"time_reduction_input_dim * time_reduction_stride ({dim})"
        )
    if params.segment_length < params.time_reduction_stride:
        raise ValueError("segment_length must be at least time_reduction_stride")


emformer_rnnt_model.check_params = _check_emformer_rnnt  # type: ignore[attr-defined]


@model_builder("asr:emformer_rnnt_base")
def emformer_rnnt_base(
    num_symbols: NumSymbols = 4097,
) -> RNNT:
    """The Emformer RNN-T of the LibriSpeech recipe: 20 layers of dimension 512, segments of 16 frames.

    Example:
        >>> emformer_rnnt_base.__name__
        'emformer_rnnt_base'
    """
    return emformer_rnnt_model(num_symbols=num_symbols)


@model_builder("asr:conformer_rnnt")
def conformer_rnnt_model(
    *,
    input_dim: InputDim = 80,
    encoding_dim: EncodingDim = 1024,
    time_reduction_stride: ReductionStride = 4,
    conformer_input_dim: Annotated[int, Field(**_DIM, description="Conformer dimension.")] = 512,
    conformer_ffn_dim: Annotated[int, Field(ge=1, le=1 << 16, description="Conformer feed-forward dimension.")] = 2048,
    conformer_num_layers: Annotated[int, Field(**_LAYERS, description="Conformer layers.")] = 12,
    conformer_num_heads: Annotated[int, Field(ge=1, le=256, description="Conformer attention heads.")] = 8,
    conformer_depthwise_conv_kernel_size: Annotated[
        int, Field(ge=1, le=1023, description="Conformer depthwise kernel (odd).")
    ] = 31,
    conformer_dropout: Annotated[float, Field(**_PROBABILITY, description="Conformer dropout.")] = 0.1,
    num_symbols: NumSymbols = 1024,
    symbol_embedding_dim: SymbolEmbeddingDim = 256,
    num_lstm_layers: LstmLayers = 2,
    lstm_hidden_dim: Annotated[int, Field(**_DIM, description="LSTM hidden dimension.")] = 512,
    lstm_layer_norm: LstmLayerNorm = True,
    lstm_layer_norm_epsilon: LstmEpsilon = 1e-5,
    lstm_dropout: LstmDropout = 0.3,
    joiner_activation: Annotated[Literal["relu", "tanh"], Field(description="Activation of the joiner.")] = "tanh",
) -> RNNT:
    """A Conformer transducer: the Conformer transcription network with the RNN-T prediction and joint networks.

    Example:
        >>> model = conformer_rnnt_model(conformer_num_layers=1, conformer_input_dim=32, conformer_ffn_dim=32,
        ...     encoding_dim=32, lstm_hidden_dim=16, symbol_embedding_dim=8, num_symbols=10)
        >>> type(model.transcriber).__name__, model.joiner.linear.out_features
        ('ConformerEncoder', 10)
    """
    encoder = ConformerEncoder(
        input_dim=input_dim,
        output_dim=encoding_dim,
        time_reduction_stride=time_reduction_stride,
        conformer_input_dim=conformer_input_dim,
        conformer_ffn_dim=conformer_ffn_dim,
        conformer_num_layers=conformer_num_layers,
        conformer_num_heads=conformer_num_heads,
        conformer_depthwise_conv_kernel_size=conformer_depthwise_conv_kernel_size,
        conformer_dropout=conformer_dropout,
    )
    return _transducer(encoder, locals(), lstm_hidden_dim, joiner_activation)


def _check_conformer_rnnt(params: Any) -> None:
    check_divides(params, "conformer_num_heads", "conformer_input_dim")
    check_odd(params, "conformer_depthwise_conv_kernel_size")


conformer_rnnt_model.check_params = _check_conformer_rnnt  # type: ignore[attr-defined]


@model_builder("asr:conformer_rnnt_base")
def conformer_rnnt_base(
    num_symbols: NumSymbols = 1024,
) -> RNNT:
    """The Conformer RNN-T base configuration: 12 layers of dimension 512, 4x time reduction.

    Example:
        >>> conformer_rnnt_base.__name__
        'conformer_rnnt_base'
    """
    return conformer_rnnt_model(num_symbols=num_symbols)
