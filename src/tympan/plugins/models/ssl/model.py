"""wav2vec 2.0 (Baevski et al., 2020), HuBERT (Hsu et al., 2021) and WavLM (Chen et al., 2022): a
convolutional feature encoder and a transformer context network, optionally with a linear head (``aux``)
for fine-tuned CTC models.

HuBERT has wav2vec 2.0's architecture: it is :func:`wav2vec2_model` with HuBERT's settings.

Example:
    >>> import torch
    >>> model = wav2vec2_model(extractor_conv_layer_config=[(16, 10, 5), (16, 3, 2)], encoder_embed_dim=16,
    ...     encoder_pos_conv_kernel=4, encoder_pos_conv_groups=2, encoder_num_layers=2, encoder_num_heads=2,
    ...     encoder_ff_interm_features=32, aux_num_out=5)
    >>> emissions, lengths = model(torch.randn(2, 800), torch.tensor([800, 600]))
    >>> emissions.shape, lengths.tolist()
    (torch.Size([2, 79, 5]), [79, 59])
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes, PaddedInput
from tympan.plugins.models._component import check_divides, model_builder, shortest_conv_input
from tympan.plugins.models.ssl.attention import WavLMSelfAttention
from tympan.plugins.models.ssl.encoder import Encoder, build_encoder
from tympan.plugins.models.ssl.feature_extractor import DEFAULT_CONV_LAYERS, FeatureExtractor, feature_extractor

__all__ = ["Wav2Vec2Model", "wav2vec2_model", "wavlm_model"]

ConvLayer = tuple[
    Annotated[int, Field(ge=1, le=1 << 14)], Annotated[int, Field(ge=1, le=4096)], Annotated[int, Field(ge=1, le=4096)]
]
_DIM = {"ge": 1, "le": 1 << 14}
_PROBABILITY = {"ge": 0.0, "le": 1.0}


class Wav2Vec2Model(nn.Module):
    """The model: waveforms ``(B, time)`` (and their lengths) to frames ``(B, frames, embed_dim)`` (or
    ``aux_num_out`` logits) and frame lengths.

    Example:
        >>> import torch
        >>> model = wavlm_model(extractor_conv_layer_config=[(8, 10, 5)], encoder_embed_dim=8,
        ...     encoder_pos_conv_kernel=4, encoder_pos_conv_groups=2, encoder_num_layers=3, encoder_num_heads=2,
        ...     encoder_num_buckets=8, encoder_max_distance=20, encoder_ff_interm_features=16)
        >>> layers, lengths = model.extract_features(torch.randn(1, 100), num_layers=2)
        >>> len(layers), layers[0].shape
        (2, torch.Size([1, 19, 8]))
    """

    scriptable: ClassVar[bool] = True

    def __init__(self, feature_extractor: FeatureExtractor, encoder: Encoder, aux: nn.Module | None = None) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.encoder = encoder
        self.aux = aux
        first_norm = feature_extractor.conv_layers[0].layer_norm
        # a per-channel norm over time sees the padding, so only the layer-norm extractor is padding-invariant
        self.padded_input = None if isinstance(first_norm, nn.GroupNorm) else PaddedInput(0, 1, 0, 1)
        # The feature encoder's receptive field of two frames: the shortest input worth exporting for.
        shortest = shortest_conv_input(feature_extractor)
        # WavLM's (frames x frames) relative-position bias gives conditions on powers of the frame count, which
        # hold but which the shape solver cannot prove: they are checked when the program runs.
        relative = any(isinstance(m, WavLMSelfAttention) for m in encoder.modules())
        self.export_axes = ExportAxes(
            dims=({1: "samples"}, {}),
            lengths={1: "samples"},
            min_sizes={"samples": shortest},
            runtime_checks=relative,
        )

    @torch.jit.export
    def extract_features(
        self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None, num_layers: int | None = None
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """The output of every transformer layer (the first ``num_layers``), and the frame lengths."""
        x, lengths = self.feature_extractor(waveforms, lengths)
        return self.encoder.extract_features(x, lengths, num_layers), lengths

    def forward(
        self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Encode ``waveforms`` ``(B, time)`` whose item ``i`` has ``lengths[i]`` valid samples (all when
        ``None``); padded frames are masked out of the attention."""
        x, lengths = self.feature_extractor(waveforms, lengths)
        x = self.encoder(x, lengths)
        if self.aux is not None:
            x = self.aux(x)
        return x, lengths

    @torch.jit.export
    def pipeline_step(self, x: torch.Tensor) -> torch.Tensor:
        """The model as a pipeline step: each channel of ``(..., time)`` encoded to ``(..., frames, dim)``."""
        out, _ = self.forward(x.reshape(-1, x.shape[-1]), None)
        return out.reshape(list(x.shape[:-1]) + list(out.shape[-2:]))

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` random waveforms of 1600 samples; the later ones shorter when padding is allowed for."""
        generator = torch.Generator().manual_seed(0)
        waveforms = torch.randn(batch, 1600, generator=generator)
        lengths = torch.full((batch,), 1600)
        if self.padded_input is not None:
            lengths = lengths - 200 * torch.arange(batch)
        return waveforms, lengths


ExtractorMode = Annotated[
    Literal["group_norm", "layer_norm"], Field(description="Normalisation of the feature encoder.")
]
ConvLayers = Annotated[
    list[ConvLayer] | None,
    Field(min_length=1, max_length=32, description="(channels, kernel, stride) of each feature encoder layer."),
]
ConvBias = Annotated[bool, Field(description="Bias in the feature encoder's convolutions.")]
EmbedDim = Annotated[int, Field(**_DIM, description="Dimension of the transformer.")]
PosConvKernel = Annotated[int, Field(ge=1, le=1024, description="Kernel of the positional convolution.")]
PosConvGroups = Annotated[int, Field(ge=1, le=1024, description="Groups of the positional convolution.")]
NumLayers = Annotated[int, Field(ge=1, le=256, description="Transformer layers.")]
NumHeads = Annotated[int, Field(ge=1, le=256, description="Attention heads.")]
FeedForwardDim = Annotated[int, Field(ge=1, le=1 << 16, description="Feed-forward dimension.")]
LayerNormFirst = Annotated[bool, Field(description="Pre-norm layers (the large models).")]
AuxOutputs = Annotated[int | None, Field(ge=1, le=1 << 16, description="Outputs of a linear head (CTC), if any.")]
ProjectionDropout = Annotated[float, Field(**_PROBABILITY, description="Dropout after the projection.")]
AttentionDropout = Annotated[float, Field(**_PROBABILITY, description="Dropout of attention weights.")]
FeedForwardDropout = Annotated[float, Field(**_PROBABILITY, description="Dropout inside feed-forward.")]
BlockDropout = Annotated[float, Field(**_PROBABILITY, description="Dropout after each block.")]
LayerDrop = Annotated[float, Field(**_PROBABILITY, description="Probability of skipping a layer in training.")]

#: The builders' ``encoder_*`` parameters and the encoder arguments they become.
_ENCODER_ARGUMENTS = {
    "encoder_projection_dropout": "dropout_input",
    "encoder_pos_conv_kernel": "pos_conv_kernel",
    "encoder_pos_conv_groups": "pos_conv_groups",
    "encoder_num_layers": "num_layers",
    "encoder_num_heads": "num_heads",
    "encoder_num_buckets": "num_buckets",
    "encoder_max_distance": "max_distance",
    "encoder_attention_dropout": "attention_dropout",
    "encoder_ff_interm_features": "ff_interm_features",
    "encoder_ff_interm_dropout": "ff_interm_dropout",
    "encoder_dropout": "dropout",
    "encoder_layer_norm_first": "layer_norm_first",
    "encoder_layer_drop": "layer_drop",
}


def _assemble(arguments: dict[str, Any]) -> Wav2Vec2Model:
    """The model of a builder's arguments (``locals()``)."""
    configured = arguments["extractor_conv_layer_config"] or DEFAULT_CONV_LAYERS
    layers = [(int(c), int(k), int(s)) for c, k, s in configured]
    extractor = feature_extractor(arguments["extractor_mode"], layers, arguments["extractor_conv_bias"])
    encoder = {target: arguments[name] for name, target in _ENCODER_ARGUMENTS.items() if name in arguments}
    dim = arguments["encoder_embed_dim"]
    encoder_module = build_encoder(in_features=layers[-1][0], embed_dim=dim, **encoder)
    aux_num_out = arguments["aux_num_out"]
    aux = None if aux_num_out is None else nn.Linear(dim, aux_num_out)
    return Wav2Vec2Model(extractor, encoder_module, aux)


def _check(params: Any) -> None:
    check_divides(params, "encoder_num_heads", "encoder_embed_dim")
    check_divides(params, "encoder_pos_conv_groups", "encoder_embed_dim")


@model_builder("ssl:wav2vec2")
def wav2vec2_model(
    extractor_mode: ExtractorMode = "group_norm",
    extractor_conv_layer_config: ConvLayers = None,
    extractor_conv_bias: ConvBias = False,
    encoder_embed_dim: EmbedDim = 768,
    encoder_projection_dropout: ProjectionDropout = 0.1,
    encoder_pos_conv_kernel: PosConvKernel = 128,
    encoder_pos_conv_groups: PosConvGroups = 16,
    encoder_num_layers: NumLayers = 12,
    encoder_num_heads: NumHeads = 12,
    encoder_attention_dropout: AttentionDropout = 0.1,
    encoder_ff_interm_features: FeedForwardDim = 3072,
    encoder_ff_interm_dropout: FeedForwardDropout = 0.1,
    encoder_dropout: BlockDropout = 0.1,
    encoder_layer_norm_first: LayerNormFirst = False,
    encoder_layer_drop: LayerDrop = 0.1,
    aux_num_out: AuxOutputs = None,
) -> Wav2Vec2Model:
    """wav2vec 2.0 / HuBERT from plain parameters (defaults: the base model, torchaudio's ``wav2vec2_base``).

    Example:
        >>> model = wav2vec2_model(encoder_num_layers=1, encoder_embed_dim=64, encoder_num_heads=4,
        ...                        encoder_ff_interm_features=64, encoder_pos_conv_groups=4)
        >>> model.tympan_component, model.tympan_params["encoder_num_layers"]
        ('ssl:wav2vec2', 1)
    """
    return _assemble(locals())


wav2vec2_model.check_params = _check  # type: ignore[attr-defined]


@model_builder("ssl:wavlm")
def wavlm_model(
    extractor_mode: ExtractorMode = "group_norm",
    extractor_conv_layer_config: ConvLayers = None,
    extractor_conv_bias: ConvBias = False,
    encoder_embed_dim: EmbedDim = 768,
    encoder_projection_dropout: ProjectionDropout = 0.1,
    encoder_pos_conv_kernel: PosConvKernel = 128,
    encoder_pos_conv_groups: PosConvGroups = 16,
    encoder_num_layers: NumLayers = 12,
    encoder_num_heads: NumHeads = 12,
    encoder_num_buckets: Annotated[int, Field(ge=4, le=1 << 14, description="Relative position buckets.")] = 320,
    encoder_max_distance: Annotated[int, Field(ge=2, le=1 << 20, description="Largest bucketed distance.")] = 800,
    encoder_attention_dropout: AttentionDropout = 0.1,
    encoder_ff_interm_features: FeedForwardDim = 3072,
    encoder_ff_interm_dropout: FeedForwardDropout = 0.1,
    encoder_dropout: BlockDropout = 0.1,
    encoder_layer_norm_first: LayerNormFirst = False,
    encoder_layer_drop: LayerDrop = 0.1,
    aux_num_out: AuxOutputs = None,
) -> Wav2Vec2Model:
    """WavLM from plain parameters (defaults: WavLM base, torchaudio's ``wavlm_base``).

    Example:
        >>> model = wavlm_model(encoder_num_layers=2, encoder_embed_dim=64, encoder_num_heads=4,
        ...                     encoder_ff_interm_features=64, encoder_pos_conv_groups=4)
        >>> model.encoder.transformer.layers[0].attention.rel_attn_embed.num_embeddings
        320
    """
    return _assemble(locals())


wavlm_model.check_params = _check  # type: ignore[attr-defined]
