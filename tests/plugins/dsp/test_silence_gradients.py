"""Every registered DSP transform whose output depends differentiably on its input gives finite gradients,
on silence (where roots, logs and normalisations have their singular points) as on a signal."""

from __future__ import annotations

import pytest
import torch

from tympan import registry
from tympan.core.components import input_rate_parameter

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


def build(
    name: str, component_params: dict[str, dict[str, object]]
) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    """The component in float64 with its test parameters, and its example input in double precision."""
    params = dict(component_params.get(name, {}))
    rate = input_rate_parameter(registry.get(name))
    if rate and rate not in params:
        params[rate] = 16000
    module = registry.create(name, **params).double()
    maker = getattr(module, "example_input", None)
    made = maker(2) if callable(maker) else 0.5 * torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
    inputs = tuple(made) if isinstance(made, (tuple, list)) else (made,)
    return module, tuple(
        t.to(torch.complex128) if t.is_complex() else t.double() if t.is_floating_point() else t for t in inputs
    )


@pytest.mark.parametrize("signal", ["silence", "example"])
@pytest.mark.parametrize("name", DSP)
def test_gradients_are_finite(name: str, signal: str, component_params) -> None:
    module, inputs = build(name, component_params)
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
