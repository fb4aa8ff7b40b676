"""On a CUDA device every registered DSP transform gives its CPU output (run on a machine with a GPU;
``make test`` deselects the ``gpu`` marker)."""

from __future__ import annotations

import pytest
import torch

from tympan import registry

DSP = [entry.name for entry in registry.entries() if entry.distribution == "tympan" and entry.name.startswith("dsp:")]


def floating(result: object) -> list[torch.Tensor]:
    tensors = list(result) if isinstance(result, (tuple, list)) else [result]
    return [t for t in tensors if t.is_floating_point() or t.is_complex()]


@pytest.mark.gpu
@pytest.mark.parametrize("name", DSP)
def test_cuda_matches_cpu(name: str, build_registered) -> None:
    # Tolerance: 1e-4 of the output's peak (float32; CUDA kernels sum in other orders).
    module, inputs = build_registered(name)
    with torch.no_grad():
        expected = floating(module(*inputs))
        module = module.to("cuda")
        got = floating(module(*(t.to("cuda") for t in inputs)))
    assert len(got) == len(expected)
    for out, want in zip(got, expected, strict=True):
        assert out.device.type == "cuda"
        scale = max(float(want.abs().max()), 1e-6)
        torch.testing.assert_close(out.cpu(), want, rtol=1e-4, atol=1e-4 * scale)
