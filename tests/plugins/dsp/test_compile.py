"""Every registered DSP transform runs under ``torch.compile`` and gives its eager output.

Dynamo must capture each one as a single graph (``fullgraph=True``), except the few whose control flow depends
on the data (listed with the reason); those must still compile with graph breaks. The ``aot_eager`` backend
traces through AOT autograd (functionalisation, decompositions) without generating code, which keeps the
suite fast; one case goes through Inductor's C++ code generation end to end.
"""

from __future__ import annotations

import pytest
import torch

from tympan import registry

DSP = [entry.name for entry in registry.entries() if entry.distribution == "tympan" and entry.name.startswith("dsp:")]

#: Transforms whose control flow depends on the data, so Dynamo breaks the graph there.
GRAPH_BREAKS = {
    "dsp:random_time_stretch": "the number of output frames depends on the rate it draws",
    "dsp:speed_perturbation": "the output length depends on the factor it draws",
    "dsp:vad": "how much it trims depends on where the signal triggers",
}


def assert_same(compiled: object, eager: object) -> None:
    # Tolerance: rtol 1e-4, atol 1e-5 (float32; decompositions may reorder sums).
    if isinstance(eager, torch.Tensor):
        torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
    else:
        assert isinstance(compiled, (tuple, list))
        for got, want in zip(compiled, eager, strict=True):
            assert_same(got, want)


@pytest.mark.parametrize("name", DSP)
def test_compiles_and_matches_eager(name: str, build_registered) -> None:
    module, inputs = build_registered(name)
    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=name not in GRAPH_BREAKS, backend="aot_eager")
    with torch.no_grad():
        assert_same(compiled(*inputs), module(*inputs))


def test_inductor_generates_code_for_mfcc() -> None:
    module = registry.create("dsp:mfcc", sample_rate=16000, n_mfcc=13)
    x = torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))
    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True)
    with torch.no_grad():
        assert_same(compiled(x), module(x))
