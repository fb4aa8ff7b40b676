"""Model inference against torchaudio's same model with the same weights (copied with ``strict=True``).

CPU cases, in float32 under ``torch.inference_mode``:

- ``wav2letter`` (waveform input, 16 kHz), ``conv_tasnet_base`` (8 kHz) and ``wav2vec2_base`` (16 kHz) on
  1 x 10 s and 8 x 10 s: eager (target >= 1.0x), and both models under ``torch.compile`` (inductor, compile
  time excluded) beside it;
- WaveRNN ``infer`` on 8 x 1 s of mel frames (the LJSpeech vocoder configuration, 22.05 kHz, hop 275):
  ours by default (the same draws as torchaudio's from the same seed, checked) and with ``fold=True``
  (segments of 2750 samples overlapping by 275), target >= 3x.

With CUDA: wav2vec2-base on 16 x 10 s, ours in bfloat16 against torchaudio's in float32 (throughput).
Each check records the largest difference from torchaudio's output, relative to its scale.

Run it alone with ``python -m benchmarks.bench_models [--smoke] [--json PATH]``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.harness import Result, compare, run_from_command_line
from tympan.plugins import models as ours_models

Build = Callable[[], tuple[torch.nn.Module, torch.nn.Module]]


def _pair(ours: Callable[..., torch.nn.Module], reference: Callable[..., torch.nn.Module], **kwargs: Any) -> Build:
    def build() -> tuple[torch.nn.Module, torch.nn.Module]:
        torch.manual_seed(0)
        peer = reference(**kwargs).eval()
        model = ours(**kwargs).eval()
        model.load_state_dict(peer.state_dict(), strict=True)
        return model, peer

    return build


def _first(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-12))


def _inference_case(
    name: str, build: Build, inputs: torch.Tensor, *, compiled: bool, rounds: int, target: float | None
) -> Result:
    model, peer = build()
    if compiled:
        model, peer = torch.compile(model), torch.compile(peer)
    params = {"batch": inputs.shape[0], "samples": inputs.shape[-1], "mode": "compile" if compiled else "eager"}

    def ours() -> torch.Tensor:
        with torch.inference_mode():
            return _first(model(inputs))

    def theirs() -> torch.Tensor:
        with torch.inference_mode():
            return _first(peer(inputs))

    def check() -> dict[str, Any]:
        difference = _relative_difference(ours(), theirs())
        return {"max_rel_diff": difference, "ok": difference < 1e-4}

    warmup = 2 if compiled else 1
    return compare(
        name, ours, theirs, rounds=rounds, warmup=warmup, number=1, check=check, params=params, target_ratio=target
    )


def _wavernn_case(frames: int, batch: int, fold: bool, rounds: int, config: dict[str, Any]) -> Result:
    import torchaudio

    model, peer = _pair(ours_models.WaveRNN, torchaudio.models.WaveRNN, **config)()
    specgram = torch.randn(batch, config["n_freq"], frames, generator=torch.Generator().manual_seed(0))
    options = {"fold": True, "target": 10 * config["hop_length"], "overlap": config["hop_length"]} if fold else {}
    params = {"batch": batch, "frames": frames, "fold": fold}

    def ours() -> torch.Tensor:
        with torch.inference_mode():
            torch.manual_seed(0)
            return model.infer(specgram, **options)[0]

    def theirs() -> torch.Tensor:
        with torch.inference_mode():
            torch.manual_seed(0)
            return peer.infer(specgram)[0]

    def check() -> dict[str, Any]:
        ours_samples, peer_samples = ours(), theirs()
        same = float((ours_samples == peer_samples).double().mean())
        return {"same_samples": same, "ok": fold or same > 0.99}  # float32 draws may flip late in a sequence

    return compare(
        "wavernn.infer" + (" fold" if fold else ""),
        ours,
        theirs,
        rounds=rounds,
        warmup=0,
        number=1,
        check=check,
        params=params,
        target_ratio=3.0,
    )


def _gpu_wav2vec2(seconds: float, batch: int, rounds: int) -> Result:
    import torchaudio

    model, peer = _pair(ours_models.wav2vec2_base, torchaudio.models.wav2vec2_base)()
    model, peer = model.to("cuda", torch.bfloat16), peer.to("cuda")
    inputs = torch.randn(batch, int(16000 * seconds), device="cuda")

    def ours() -> None:
        with torch.inference_mode():
            model(inputs.to(torch.bfloat16))
        torch.cuda.synchronize()

    def theirs() -> None:
        with torch.inference_mode():
            peer(inputs)
        torch.cuda.synchronize()

    params = {"batch": batch, "seconds": seconds, "ours": "bfloat16", "torchaudio": "float32"}
    return compare("wav2vec2_base cuda", ours, theirs, rounds=rounds, warmup=2, number=1, params=params)


def _cpu_cases(smoke: bool) -> list[tuple[str, Build, int, float]]:
    """``(name, build, sample rate, target)`` of the CPU inference cases."""
    import torchaudio

    if smoke:
        tiny_w2v = {
            "encoder_num_layers": 1,
            "encoder_embed_dim": 32,
            "encoder_num_heads": 2,
            "encoder_ff_interm_features": 32,
            "encoder_pos_conv_groups": 2,
            "extractor_conv_layer_config": [(16, 10, 5), (16, 3, 2)],
        }
        return [
            ("wav2letter", _pair(ours_models.Wav2Letter, torchaudio.models.Wav2Letter), 16000, 1.0),
            (
                "conv_tasnet",
                _pair(
                    ours_models.ConvTasNet,
                    torchaudio.models.ConvTasNet,
                    enc_num_feats=32,
                    msk_num_feats=16,
                    msk_num_hidden_feats=32,
                    msk_num_stacks=1,
                ),
                8000,
                1.0,
            ),
            ("wav2vec2", _pair(ours_models.wav2vec2_model, _torchaudio_wav2vec2_model, **tiny_w2v), 16000, 1.0),
        ]
    return [
        ("wav2letter", _pair(ours_models.Wav2Letter, torchaudio.models.Wav2Letter), 16000, 1.0),
        ("conv_tasnet_base", _pair(ours_models.conv_tasnet_base, torchaudio.models.conv_tasnet_base), 8000, 1.0),
        ("wav2vec2_base", _pair(ours_models.wav2vec2_base, torchaudio.models.wav2vec2_base), 16000, 1.0),
    ]


def _torchaudio_wav2vec2_model(**kwargs: Any) -> torch.nn.Module:
    """torchaudio's ``wav2vec2_model`` with ours's defaults for what the case leaves out (it has none)."""
    import torchaudio

    defaults = {
        "extractor_mode": "group_norm",
        "extractor_conv_bias": False,
        "encoder_projection_dropout": 0.1,
        "encoder_pos_conv_kernel": 128,
        "encoder_attention_dropout": 0.1,
        "encoder_ff_interm_dropout": 0.1,
        "encoder_dropout": 0.1,
        "encoder_layer_norm_first": False,
        "encoder_layer_drop": 0.1,
        "aux_num_out": None,
    }
    return torchaudio.models.wav2vec2_model(**{**defaults, **kwargs})


def run(smoke: bool = False) -> list[Result]:
    """Every case this machine can run (all need torchaudio; the bfloat16 one CUDA)."""
    if importlib.util.find_spec("torchaudio") is None:
        return []
    results = []
    rounds = 2 if smoke else 3
    for name, build, rate, target in _cpu_cases(smoke):
        seconds = 0.25 if smoke else 10.0
        for batch in (1,) if smoke else (1, 8):
            inputs = torch.randn(batch, 1, int(rate * seconds), generator=torch.Generator().manual_seed(0))
            if name.startswith("wav2vec2"):
                inputs = inputs[:, 0]
            for compiled in (False,) if smoke else (False, True):
                results.append(_inference_case(name, build, inputs, compiled=compiled, rounds=rounds, target=target))
    if smoke:
        tiny = {
            "upsample_scales": [2, 2],
            "n_classes": 16,
            "hop_length": 4,
            "n_res_block": 1,
            "n_rnn": 16,
            "n_fc": 16,
            "n_freq": 8,
            "n_hidden": 8,
            "n_output": 16,
        }
        results += [_wavernn_case(12, 2, fold, 2, tiny) for fold in (False, True)]
    else:
        vocoder = {"upsample_scales": [5, 5, 11], "n_classes": 256, "hop_length": 275, "n_freq": 80}
        results += [_wavernn_case(80, 8, fold, 2, vocoder) for fold in (False, True)]
    return results + run_gpu(smoke)


def run_gpu(smoke: bool = False) -> list[Result]:
    """bfloat16 wav2vec2 on a CUDA device against torchaudio's (none without a device or torchaudio)."""
    if not torch.cuda.is_available() or importlib.util.find_spec("torchaudio") is None:
        return []
    return [_gpu_wav2vec2(1.0 if smoke else 10.0, 2 if smoke else 16, 2 if smoke else 3)]


def main() -> None:
    """Run from the command line, print the table, optionally write JSON."""
    run_from_command_line(__doc__.splitlines()[0], run)


if __name__ == "__main__":
    main()
