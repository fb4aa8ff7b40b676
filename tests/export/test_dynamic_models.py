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
EXPORTED = [
    "ssl:wav2vec2",
    "ssl:wavlm",
    "asr:conformer",
    "asr:emformer",
    "asr:rnnt",
    "asr:conformer_rnnt",
    "asr:wav2letter",
    "asr:deepspeech",
    "sep:conv_tasnet",
    "tts:wavernn",
    "tts:tacotron2",
    "sep:hdemucs",
]


@pytest.mark.parametrize("name", EXPORTED)
def test_model_exports_with_its_declared_axes_dynamic(name: str) -> None:
    results = {r.check: r for r in check_component(name, TINY[name], export=True, raise_on_failure=False)}
    assert results["torch.export"].ok, results["torch.export"].detail


def test_tacotron2_decoding_several_frames_per_step_exports_with_dynamic_tokens() -> None:
    """With ``n_frames_per_step`` 2 the frames come in whole steps, so only the tokens (and the batch) are
    dynamic; the program equals eager at other token counts."""
    params = {**TINY["tts:tacotron2"], "n_frames_per_step": 2}
    results = {r.check: r for r in check_component("tts:tacotron2", params, export=True, raise_on_failure=False)}
    assert results["torch.export"].ok, results["torch.export"].detail


def test_a_model_without_declared_axes_fails_the_check_saying_why() -> None:
    class Doubler(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    [(name, run)] = model_export_checks(Doubler(), (torch.randn(3, 20, 4),), lambda *a: None)
    assert name == "torch.export" and "declares no export_axes" in str(run())


class _Hopped(torch.nn.Module):
    """Adds each frame's mean to its ``hop`` samples after the first ``skip`` frames: the waveform's length
    is tied to the frame count."""

    hop, skip = 4, 2

    def forward(self, waveform: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        per_sample = frames[..., self.skip :].mean(dim=1).repeat_interleave(self.hop, dim=-1)
        return waveform + per_sample


def test_a_derived_axis_follows_its_base_in_the_exported_program_and_at_other_sizes() -> None:
    model = _Hopped()
    model.export_axes = ExportAxes(
        dims=({1: "samples"}, {2: "frames"}),
        min_sizes={"frames": 4},
        derived={"samples": ("frames", model.hop, -model.skip * model.hop)},
    )
    inputs = (torch.randn(3, 5 * 4), torch.randn(3, 6, 7))
    seen: list[tuple[int, int]] = []

    def compare(expected: list[torch.Tensor], actual: list[torch.Tensor], what: str) -> str | None:
        seen.append((expected[0].shape[1], actual[0].shape[1]))
        return _differs(expected, actual, what)

    [(_, run)] = model_export_checks(model, inputs, compare)
    assert run() is None
    # other_lengths(7, 4) frames: (4, 44, 14), so (frames - 2) * 4 samples
    assert seen == [(8, 8), (168, 168), (48, 48)]


def test_without_the_derived_axis_the_tied_lengths_cannot_both_be_dynamic() -> None:
    model = _Hopped()
    model.export_axes = ExportAxes(dims=({1: "samples"}, {2: "frames"}), min_sizes={"frames": 4})
    [(_, run)] = model_export_checks(model, (torch.randn(3, 5 * 4), torch.randn(3, 6, 7)), _differs)
    with pytest.raises(Exception, match="samples"):
        run()


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
