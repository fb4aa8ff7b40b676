"""Every registered DSP transform whose output depends differentiably on its input gives finite gradients,
on silence (where roots, logs and normalisations have their singular points) as on a signal."""

from __future__ import annotations

import pytest
import torch

from tympan import registry

#: Transforms whose output is a decision, not a differentiable function of the input.
NOT_DIFFERENTIABLE = {
    "dsp:detect_pitch_frequency": "picks the best lag per frame",
    "dsp:mu_law_encoding": "quantises to integer codes",
    "dsp:pyin": "a Viterbi path over pitch bins",
}
DSP = [
    entry.name
    for entry in registry.entries()
    if entry.distribution == "tympan" and entry.name.startswith("dsp:") and entry.name not in NOT_DIFFERENTIABLE
]


def double(t: torch.Tensor) -> torch.Tensor:
    """``t`` in double precision (complex128 when complex); integer tensors as they are."""
    if t.is_complex():
        return t.to(torch.complex128)
    return t.double() if t.is_floating_point() else t


@pytest.mark.parametrize("signal", ["silence", "example"])
@pytest.mark.parametrize("name", DSP)
def test_gradients_are_finite(name: str, signal: str, build_registered) -> None:
    module, example = build_registered(name)
    module = module.double()
    inputs = tuple(
        t.to(torch.complex128) if t.is_complex() else t.double() if t.is_floating_point() else t for t in example
    )
    first = torch.zeros_like(inputs[0]) if signal == "silence" else inputs[0].clone()
    first.requires_grad_(True)
    result = module(first, *inputs[1:])
    outputs = [t for t in (result if isinstance(result, (tuple, list)) else (result,)) if t.requires_grad]
    assert outputs, f"{name}: no output depends on the input"
    loss = sum((t.abs() if t.is_complex() else t).sum() for t in outputs)
    assert isinstance(loss, torch.Tensor)
    loss.backward()
    grad = first.grad
    assert grad is not None
    assert bool(torch.isfinite(torch.view_as_real(grad) if grad.is_complex() else grad).all()), name
