"""Every registered DSP transform takes float16 and bfloat16 input (complex32 where its input is complex)
and computes it safely: finite output, equal to the float32 computation on the same (upcast) input up to
rounding the result to the input's precision."""

from __future__ import annotations

import pytest
import torch

from tympan import registry

DSP = [entry.name for entry in registry.entries() if entry.distribution == "tympan" and entry.name.startswith("dsp:")]

#: Largest difference from the float32 computation, relative to the output's peak: two units in the last
#: place of the half-precision result (float16 keeps 11 significant bits, bfloat16 8).
TOLERANCE = {torch.float16: 2.0**-9, torch.bfloat16: 2.0**-7}


def lowered(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``t`` in half precision: real floats in ``dtype``, complex in complex32 (there is no complex bfloat16)."""
    if t.is_complex():
        return t.to(torch.complex32) if dtype == torch.float16 else t
    return t.to(dtype) if t.is_floating_point() else t


def raised(t: torch.Tensor) -> torch.Tensor:
    """``t`` upcast to single precision."""
    if t.is_complex():
        return t.to(torch.complex64)
    return t.float() if t.is_floating_point() else t


def outputs(result: object) -> list[torch.Tensor]:
    tensors = list(result) if isinstance(result, (tuple, list)) else [result]
    return [t for t in tensors if t.is_floating_point() or t.is_complex()]


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", DSP)
def test_half_precision_input_is_computed_safely(name: str, dtype: torch.dtype, build_registered) -> None:
    module, inputs = build_registered(name)
    half = tuple(lowered(t, dtype) for t in inputs)
    with torch.no_grad():
        got = outputs(module(*half))
        want = outputs(module(*(raised(t) for t in half)))
    assert len(got) == len(want)
    for out, reference in zip(got, want, strict=True):
        widened = out.to(torch.complex64) if out.is_complex() else out.float()
        assert bool(torch.isfinite(widened).all()), f"{name}: non-finite output for {dtype} input"
        scale = max(float(reference.abs().max()), 1e-6)
        error = float((widened - reference.to(widened.dtype)).abs().max()) / scale
        assert error <= TOLERANCE[dtype], f"{name}: {error:.3g} from the float32 computation"
