"""Tiny configurations of every model, and the comparison against torchaudio's same model.

Tolerances (the standard of the parity suite): float64 outputs agree to 1e-10 (absolute and relative),
float32 outputs to 1e-5 relative to the output's scale. Both models run the same operations, so on one CPU
they agree far closer; the bounds leave room for another CPU's kernels.
"""

from __future__ import annotations

from typing import Any

import torch

#: Small parameters of each registered base component, shared by the parity, contract and training tests.
TINY: dict[str, dict[str, Any]] = {
    "asr:wav2letter": {"num_classes": 5, "input_type": "mfcc", "num_features": 4},
    "asr:deepspeech": {"n_feature": 6, "n_hidden": 8, "n_class": 5},
    "asr:conformer": {"input_dim": 8, "num_heads": 2, "ffn_dim": 8, "num_layers": 1, "depthwise_conv_kernel_size": 3},
    "asr:emformer": {
        "input_dim": 8,
        "num_heads": 2,
        "ffn_dim": 8,
        "num_layers": 1,
        "segment_length": 2,
        "left_context_length": 1,
        "right_context_length": 1,
        "max_memory_size": 1,
    },
    "asr:rnnt": {
        "input_dim": 8,
        "encoding_dim": 8,
        "num_symbols": 5,
        "segment_length": 4,
        "right_context_length": 2,
        "time_reduction_input_dim": 4,
        "time_reduction_stride": 2,
        "transformer_num_heads": 2,
        "transformer_ffn_dim": 8,
        "transformer_num_layers": 1,
        "transformer_left_context_length": 2,
        "transformer_dropout": 0.0,
        "symbol_embedding_dim": 4,
        "num_lstm_layers": 1,
        "lstm_dropout": 0.0,
    },
    "asr:conformer_rnnt": {
        "input_dim": 8,
        "encoding_dim": 8,
        "time_reduction_stride": 2,
        "conformer_input_dim": 8,
        "conformer_ffn_dim": 8,
        "conformer_num_layers": 1,
        "conformer_num_heads": 2,
        "conformer_depthwise_conv_kernel_size": 3,
        "conformer_dropout": 0.0,
        "num_symbols": 5,
        "symbol_embedding_dim": 4,
        "num_lstm_layers": 1,
        "lstm_hidden_dim": 4,
        "lstm_dropout": 0.0,
    },
    "ssl:wav2vec2": {
        "extractor_mode": "layer_norm",
        "extractor_conv_layer_config": [(8, 10, 5), (8, 3, 2)],
        "extractor_conv_bias": True,
        "encoder_embed_dim": 8,
        "encoder_pos_conv_kernel": 4,
        "encoder_pos_conv_groups": 2,
        "encoder_num_layers": 1,
        "encoder_num_heads": 2,
        "encoder_ff_interm_features": 8,
        "encoder_layer_norm_first": True,
        "encoder_projection_dropout": 0.0,
        "encoder_attention_dropout": 0.0,
        "encoder_ff_interm_dropout": 0.0,
        "encoder_dropout": 0.0,
        "encoder_layer_drop": 0.0,
    },
    "ssl:wavlm": {
        "extractor_conv_layer_config": [(8, 10, 5), (8, 3, 2)],
        "encoder_embed_dim": 8,
        "encoder_pos_conv_kernel": 4,
        "encoder_pos_conv_groups": 2,
        "encoder_num_layers": 2,
        "encoder_num_heads": 2,
        "encoder_ff_interm_features": 8,
        "encoder_num_buckets": 8,
        "encoder_max_distance": 20,
        "encoder_projection_dropout": 0.0,
        "encoder_attention_dropout": 0.0,
        "encoder_ff_interm_dropout": 0.0,
        "encoder_dropout": 0.0,
        "encoder_layer_drop": 0.0,
    },
    "tts:wavernn": {
        "upsample_scales": [2, 2],
        "n_classes": 16,
        "hop_length": 4,
        "n_res_block": 1,
        "n_rnn": 8,
        "n_fc": 8,
        "n_freq": 6,
        "n_hidden": 4,
        "n_output": 8,
    },
    "tts:tacotron2": {
        "n_symbol": 10,
        "n_mels": 4,
        "symbol_embedding_dim": 8,
        "encoder_embedding_dim": 8,
        "decoder_rnn_dim": 8,
        "attention_rnn_dim": 8,
        "attention_hidden_dim": 4,
        "attention_location_n_filter": 2,
        "attention_location_kernel_size": 3,
        "prenet_dim": 4,
        "postnet_embedding_dim": 4,
        "postnet_n_convolution": 2,
        "encoder_n_convolution": 1,
        "decoder_dropout": 0.0,
        "attention_dropout": 0.0,
        "prenet_dropout": 0.0,
    },
    "sep:conv_tasnet": {
        "enc_num_feats": 8,
        "msk_num_feats": 4,
        "msk_num_hidden_feats": 8,
        "msk_num_layers": 2,
        "msk_num_stacks": 1,
    },
    "sep:hdemucs": {
        "sources": ["a", "b"],
        "audio_channels": 1,
        "channels": 16,
        "nfft": 64,
        "depth": 2,
        "norm_starts": 1,
        "dconv_attn": 1,
        "dconv_lstm": 1,
        "dconv_depth": 1,
    },
}


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    """``assert_close`` bounds: 1e-10 in float64, 1e-5 relative in float32."""
    return {"rtol": 1e-10, "atol": 1e-10} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}


def tensors(output: Any) -> list[torch.Tensor]:
    """Every tensor of a (nested) model output."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for item in output for t in tensors(item)]
    return []


def assert_same_outputs(expected: Any, actual: Any, dtype: torch.dtype) -> None:
    """Every tensor of two outputs agrees within the dtype's bound (relative to its scale in float32)."""
    wanted, got = tensors(expected), tensors(actual)
    assert len(wanted) == len(got) > 0
    for a, b in zip(wanted, got, strict=True):
        assert a.shape == b.shape
        if a.is_floating_point():
            scale = max(float(a.detach().abs().max()), 1.0) if a.numel() else 1.0
            bounds = tolerance(dtype)
            torch.testing.assert_close(b.detach(), a.detach(), rtol=bounds["rtol"], atol=bounds["atol"] * scale)
        else:
            assert torch.equal(a, b)


def paired(
    reference: torch.nn.Module, ours: torch.nn.Module, dtype: torch.dtype
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """``ours`` with ``reference``'s weights (``strict=True``), both in ``dtype``."""
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference.to(dtype), ours.to(dtype)


def run_both(
    reference: torch.nn.Module,
    ours: torch.nn.Module,
    inputs: tuple[Any, ...],
    dtype: torch.dtype,
    method: str = "forward",
    seed: int = 0,
) -> None:
    """Compare ``method`` of both models in train mode (dropout is zero in the configurations) and in eval mode,
    from the same random state."""
    cast = tuple(x.to(dtype) if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in inputs)
    for mode in ("train", "eval"):
        reference.train(mode == "train")
        ours.train(mode == "train")
        torch.manual_seed(seed)
        expected = getattr(reference, method)(*cast)
        torch.manual_seed(seed)
        actual = getattr(ours, method)(*cast)
        assert_same_outputs(expected, actual, dtype)
