"""The published wav2vec 2.0, HuBERT and WavLM configurations by name (``wav2vec2_base``, ``hubert_large``,
``wavlm_base``, ...), each registered as ``ssl:<name>``.

Every factory takes the five dropout probabilities and ``aux_num_out``, with the defaults of its published
training recipe, and fixes the architecture (:data:`ARCHITECTURES`).

Example:
    >>> model = hubert_base(aux_num_out=32)
    >>> model.aux.out_features, model.tympan_component
    (32, 'ssl:hubert_base')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from tympan.plugins.models._component import model_builder
from tympan.plugins.models.ssl.model import Wav2Vec2Model, wav2vec2_model, wavlm_model

__all__ = [
    "ARCHITECTURES",
    "hubert_base",
    "hubert_large",
    "hubert_xlarge",
    "wav2vec2_base",
    "wav2vec2_large",
    "wav2vec2_large_lv60k",
    "wav2vec2_xlsr_1b",
    "wav2vec2_xlsr_2b",
    "wav2vec2_xlsr_300m",
    "wavlm_base",
    "wavlm_large",
]


def _architecture(
    mode: str, bias: bool, dim: int, layers: int, heads: int, ff: int, norm_first: bool
) -> dict[str, Any]:
    return {
        "extractor_mode": mode,
        "extractor_conv_bias": bias,
        "encoder_embed_dim": dim,
        "encoder_num_layers": layers,
        "encoder_num_heads": heads,
        "encoder_ff_interm_features": ff,
        "encoder_layer_norm_first": norm_first,
    }


_BASE = _architecture("group_norm", False, 768, 12, 12, 3072, False)
_LARGE = _architecture("group_norm", False, 1024, 24, 16, 4096, False)
_LARGE_LAYER_NORM = _architecture("layer_norm", True, 1024, 24, 16, 4096, True)

#: Per factory: the builder, the fixed architecture, and the default dropouts (projection, attention,
#: feed-forward, block, layer drop).
ARCHITECTURES: dict[str, tuple[Callable[..., Wav2Vec2Model], dict[str, Any], tuple[float, ...]]] = {
    "wav2vec2_base": (wav2vec2_model, _BASE, (0.1, 0.1, 0.1, 0.1, 0.1)),
    "wav2vec2_large": (wav2vec2_model, _LARGE, (0.1, 0.1, 0.1, 0.1, 0.1)),
    "wav2vec2_large_lv60k": (wav2vec2_model, _LARGE_LAYER_NORM, (0.1, 0.0, 0.1, 0.0, 0.1)),
    "wav2vec2_xlsr_300m": (wav2vec2_model, _LARGE_LAYER_NORM, (0.0, 0.0, 0.0, 0.0, 0.0)),
    "wav2vec2_xlsr_1b": (
        wav2vec2_model,
        _architecture("layer_norm", True, 1280, 48, 16, 5120, True),
        (0.1, 0, 0, 0, 0),
    ),
    "wav2vec2_xlsr_2b": (
        wav2vec2_model,
        _architecture("layer_norm", True, 1920, 48, 16, 7680, True),
        (0.1, 0, 0, 0, 0),
    ),
    "hubert_base": (wav2vec2_model, _BASE, (0.1, 0.1, 0.0, 0.1, 0.05)),
    "hubert_large": (wav2vec2_model, _architecture("layer_norm", False, 1024, 24, 16, 4096, True), (0.0,) * 5),
    "hubert_xlarge": (wav2vec2_model, _architecture("layer_norm", False, 1280, 48, 16, 5120, True), (0.0,) * 5),
    "wavlm_base": (wavlm_model, _BASE, (0.1, 0.1, 0.1, 0.1, 0.1)),
    "wavlm_large": (
        wavlm_model,
        _architecture("layer_norm", False, 1024, 24, 16, 4096, True),
        (0.1, 0.1, 0.0, 0.1, 0.1),
    ),
}

_DROPOUTS = {
    "encoder_projection_dropout": "Dropout after the feature projection.",
    "encoder_attention_dropout": "Dropout of attention weights.",
    "encoder_ff_interm_dropout": "Dropout inside the feed-forward blocks.",
    "encoder_dropout": "Dropout after each block.",
    "encoder_layer_drop": "Probability of skipping a layer in training.",
}
_AUX = Annotated[int | None, Field(ge=1, le=1 << 16, description="Outputs of a linear head (CTC), if any.")]


def _factory(name: str) -> Callable[..., Wav2Vec2Model]:
    """The factory ``name``: a function of the dropouts and ``aux_num_out`` building its architecture."""
    builder, architecture, dropouts = ARCHITECTURES[name]

    def factory(**arguments: Any) -> Wav2Vec2Model:
        return builder(**architecture, **arguments)

    parameters = [
        inspect.Parameter(
            key,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=float(default),
            annotation=Annotated[float, Field(ge=0.0, le=1.0, description=description)],
        )
        for (key, description), default in zip(_DROPOUTS.items(), dropouts, strict=True)
    ]
    parameters.append(
        inspect.Parameter("aux_num_out", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=_AUX)
    )
    factory.__signature__ = inspect.Signature(parameters, return_annotation=Wav2Vec2Model)  # type: ignore[attr-defined]
    factory.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": Wav2Vec2Model}
    factory.__name__ = factory.__qualname__ = name
    size = f"{architecture['encoder_num_layers']} layers of dimension {architecture['encoder_embed_dim']}"
    factory.__doc__ = (
        f"``{name}``: {size}, {architecture['extractor_mode']} feature encoder.\n\n"
        f"    Example:\n        >>> {name}.__name__\n        '{name}'\n"
    )
    return model_builder(f"ssl:{name}")(factory)


wav2vec2_base = _factory("wav2vec2_base")
wav2vec2_large = _factory("wav2vec2_large")
wav2vec2_large_lv60k = _factory("wav2vec2_large_lv60k")
wav2vec2_xlsr_300m = _factory("wav2vec2_xlsr_300m")
wav2vec2_xlsr_1b = _factory("wav2vec2_xlsr_1b")
wav2vec2_xlsr_2b = _factory("wav2vec2_xlsr_2b")
hubert_base = _factory("hubert_base")
hubert_large = _factory("hubert_large")
hubert_xlarge = _factory("hubert_xlarge")
wavlm_base = _factory("wavlm_base")
wavlm_large = _factory("wavlm_large")
