"""Hugging Face ``transformers`` wav2vec 2.0, HuBERT and WavLM checkpoints as tympan models.

:func:`import_huggingface` takes a ``transformers`` model object (``Wav2Vec2Model``, ``Wav2Vec2ForCTC``,
``HubertModel``, ``HubertForCTC``, ``WavLMModel``, ``WavLMForCTC``) or the folder it was saved to
(``config.json`` with ``model.safetensors``, sharded safetensors, or ``pytorch_model.bin`` read with
``weights_only=True``). The folder needs no ``transformers`` installed. A CTC head becomes ``aux``;
pre-training heads (quantiser, masked-frame embedding) are dropped.

Example:
    >>> mapping = hf_config_to_params({"model_type": "hubert", "feat_extract_norm": "group", "conv_dim": [512],
    ...     "conv_kernel": [10], "conv_stride": [5], "conv_bias": False, "hidden_size": 768,
    ...     "feat_proj_dropout": 0.1, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
    ...     "num_hidden_layers": 12, "num_attention_heads": 12, "attention_dropout": 0.1,
    ...     "intermediate_size": 3072, "activation_dropout": 0.0, "hidden_dropout": 0.1,
    ...     "do_stable_layer_norm": False, "layerdrop": 0.05})
    >>> mapping["extractor_mode"], mapping["extractor_conv_layer_config"], mapping["encoder_layer_drop"]
    ('group_norm', [(512, 10, 5)], 0.05)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tympan.core.errors import CheckpointError
from tympan.plugins.models.ssl.model import Wav2Vec2Model, wav2vec2_model, wavlm_model

__all__ = ["hf_config_to_params", "hf_state_dict_to_tympan", "import_huggingface"]

_MODEL_TYPES = ("wav2vec2", "hubert", "wavlm")
#: Tensors of pre-training and adapter heads that have no place in the imported model.
_DROPPED = ("masked_spec_embed", "quantizer.", "project_q.", "project_hid.", "label_embeddings_concat", "final_proj.")


def hf_config_to_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`~.model.wav2vec2_model` / :func:`~.model.wavlm_model` parameters of a ``transformers`` config
    (a mapping, as in ``config.json``); refuses options these architectures do not have.

    Example:
        >>> hf_config_to_params({"model_type": "data2vec-audio"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tympan.core.errors.CheckpointError: cannot load checkpoint <config>: model_type 'data2vec-audio' is not ...
    """
    model_type = config.get("model_type")
    if model_type not in _MODEL_TYPES:
        raise CheckpointError("<config>", f"model_type {model_type!r} is not one of {', '.join(_MODEL_TYPES)}")
    unsupported = []
    for key, expected in (("feat_extract_activation", "gelu"), ("hidden_act", "gelu"), ("layer_norm_eps", 1e-5)):
        if config.get(key, expected) != expected:
            unsupported.append(f"{key}={config[key]!r} (only {expected!r})")
    if model_type == "hubert" and not config.get("feat_proj_layer_norm", True):
        unsupported.append("feat_proj_layer_norm=False")
    if config.get("add_adapter"):
        unsupported.append("add_adapter=True")
    if unsupported:
        raise CheckpointError("<config>", f"unsupported {model_type} options: {', '.join(unsupported)}")
    params = {
        "extractor_mode": f"{config['feat_extract_norm']}_norm",
        "extractor_conv_layer_config": list(
            zip(config["conv_dim"], config["conv_kernel"], config["conv_stride"], strict=True)
        ),
        "extractor_conv_bias": bool(config["conv_bias"]),
        "encoder_embed_dim": config["hidden_size"],
        "encoder_projection_dropout": config["feat_proj_dropout"],
        "encoder_pos_conv_kernel": config["num_conv_pos_embeddings"],
        "encoder_pos_conv_groups": config["num_conv_pos_embedding_groups"],
        "encoder_num_layers": config["num_hidden_layers"],
        "encoder_num_heads": config["num_attention_heads"],
        "encoder_attention_dropout": config["attention_dropout"],
        "encoder_ff_interm_features": config["intermediate_size"],
        "encoder_ff_interm_dropout": config["activation_dropout"],
        "encoder_dropout": config["hidden_dropout"],
        "encoder_layer_norm_first": bool(config["do_stable_layer_norm"]),
        "encoder_layer_drop": config["layerdrop"],
    }
    if model_type == "wavlm":
        params["encoder_num_buckets"] = config["num_buckets"]
        params["encoder_max_distance"] = config["max_bucket_distance"]
    return params


def _renamed(key: str, prefix: str) -> str | None:
    """Our name of a ``transformers`` tensor, or ``None`` for one that is dropped."""
    if key.startswith("lm_head."):
        return "aux." + key[len("lm_head.") :]
    if prefix and not key.startswith(prefix):
        return None
    key = key[len(prefix) :]
    if any(key.startswith(dropped) for dropped in _DROPPED):
        return None
    if key.startswith("feature_projection."):
        return "encoder." + key
    if key.startswith("encoder."):
        key = "encoder.transformer." + key[len("encoder.") :]
        # checkpoints saved before weight-norm parametrizations
        key = key.replace("pos_conv_embed.conv.weight_g", "pos_conv_embed.conv.parametrizations.weight.original0")
        return key.replace("pos_conv_embed.conv.weight_v", "pos_conv_embed.conv.parametrizations.weight.original1")
    return key


def hf_state_dict_to_tympan(
    state: Mapping[str, torch.Tensor], model_type: str, num_layers: int
) -> dict[str, torch.Tensor]:
    """Rename a ``transformers`` state dict to this package's names (WavLM's query, key and value
    projections become one input projection).

    Example:
        >>> import torch
        >>> sorted(hf_state_dict_to_tympan({"wav2vec2.feature_projection.projection.bias": torch.zeros(2),
        ...                                 "lm_head.bias": torch.zeros(3)}, "wav2vec2", 0))
        ['aux.bias', 'encoder.feature_projection.projection.bias']
    """
    prefix = f"{model_type}." if any(key.startswith(f"{model_type}.") for key in state) else ""
    renamed = {}
    for key, tensor in state.items():
        name = _renamed(key, prefix)
        if name is not None:
            renamed[name] = tensor
    if model_type == "wavlm":
        for index in range(num_layers):
            base = f"encoder.transformer.layers.{index}.attention."
            for kind in ("weight", "bias"):
                parts = [renamed.pop(f"{base}{p}_proj.{kind}", None) for p in "qkv"]
                if all(part is not None for part in parts):
                    renamed[f"{base}attention.in_proj_{kind}"] = torch.cat(parts)  # type: ignore[arg-type]
                out = renamed.pop(f"{base}out_proj.{kind}", None)
                if out is not None:
                    renamed[f"{base}attention.out_proj.{kind}"] = out
    return renamed


def _read_folder(folder: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], bool]:
    """``(config, state dict, has a CTC head)`` of a saved ``transformers`` model folder."""
    from tympan.plugins.models.checkpoints import read_state_dict

    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise CheckpointError(folder, "no config.json: not a saved transformers model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(config_path, f"not JSON: {err}") from None
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(read_state_dict(folder / shard))
    elif (folder / "model.safetensors").is_file():
        state = read_state_dict(folder / "model.safetensors")
    elif (folder / "pytorch_model.bin").is_file():
        state = read_state_dict(folder / "pytorch_model.bin")
    else:
        raise CheckpointError(folder, "no model.safetensors or pytorch_model.bin")
    architectures = config.get("architectures") or []
    has_head = any(name.endswith("ForCTC") for name in architectures) or any(k.startswith("lm_head.") for k in state)
    return config, state, has_head


def import_huggingface(model_or_path: nn.Module | str | os.PathLike[str]) -> Wav2Vec2Model:
    """A :class:`~.model.Wav2Vec2Model` with the weights of a ``transformers`` wav2vec 2.0, HuBERT or WavLM
    model (an object, or the folder ``save_pretrained`` wrote); a CTC head becomes ``aux``.

    Raises :class:`~tympan.core.errors.CheckpointError` for other architectures, options these models lack,
    and missing or mismatched tensors.

    Example:
        >>> import transformers
        >>> config = transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        ...     intermediate_size=16, conv_dim=(8,), conv_stride=(5,), conv_kernel=(10,),
        ...     num_conv_pos_embeddings=4, num_conv_pos_embedding_groups=2)
        >>> model = import_huggingface(transformers.Wav2Vec2Model(config))
        >>> model.tympan_component, model.aux is None
        ('ssl:wav2vec2', True)
    """
    if isinstance(model_or_path, nn.Module):
        config_object = getattr(model_or_path, "config", None)
        if config_object is None:
            raise CheckpointError(type(model_or_path).__name__, "not a transformers model (it has no config)")
        config = config_object.to_dict()
        state = dict(model_or_path.state_dict())
        has_head = type(model_or_path).__name__.endswith("ForCTC")
        source: object = type(model_or_path).__name__
    else:
        source = Path(model_or_path)
        config, state, has_head = _read_folder(Path(model_or_path))
    params = hf_config_to_params(config)
    if has_head:
        params["aux_num_out"] = config["vocab_size"]
    builder = wavlm_model if config["model_type"] == "wavlm" else wav2vec2_model
    imported = builder(**params)
    converted = hf_state_dict_to_tympan(state, config["model_type"], params["encoder_num_layers"])
    from tympan.plugins.models.checkpoints import load_state_dict_strictly

    load_state_dict_strictly(imported, converted, source)
    return imported
