"""Models export with their declared axes dynamic and equal eager at other sizes and batch sizes
(``check_component(..., export=True)``, see :mod:`tympan.testing.model_export_checks`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from tympan.core.components import ExportAxes
from tympan.testing import check_component
from tympan.testing.model_export_checks import model_export_checks

sys.path.insert(0, str(Path(__file__).parent.parent / "plugins" / "models"))
from _parity import TINY

#: Models whose declared axes export: batch and every axis dynamic, equal to eager at three other sizes.
EXPORTED = ["ssl:wav2vec2", "asr:conformer", "asr:wav2letter", "asr:deepspeech"]


@pytest.mark.parametrize("name", EXPORTED)
def test_model_exports_with_its_declared_axes_dynamic(name: str) -> None:
    results = {r.check: r for r in check_component(name, TINY[name], export=True, raise_on_failure=False)}
    assert results["torch.export"].ok, results["torch.export"].detail


def test_a_model_without_declared_axes_fails_the_check_saying_why() -> None:
    class Doubler(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    [(name, run)] = model_export_checks(Doubler(), (torch.randn(3, 20, 4),), lambda *a: None)
    assert name == "torch.export" and "declares no export_axes" in str(run())


def test_the_check_finds_an_exported_program_that_differs_from_eager() -> None:
    class ShapeFrozen(torch.nn.Module):
        """Adds the example's frame count, a constant baked into the program as traced."""

        export_axes = ExportAxes(dims=({1: "frames"},))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + float(x.shape[1] if not torch.compiler.is_compiling() else 20)

    [(_, run)] = model_export_checks(ShapeFrozen(), (torch.randn(3, 20, 4),), _differs)
    assert "exported program" in str(run())


def _differs(expected: list[torch.Tensor], actual: list[torch.Tensor], what: str) -> str | None:
    worst = max(float((e - a).abs().max()) for e, a in zip(expected, actual, strict=True))
    return f"{what} differs by {worst}" if worst > 1e-5 else None
