"""Export on a CUDA device (run on a machine with a GPU; ``make test`` deselects the ``gpu`` marker)."""

from __future__ import annotations

import pytest
import torch

import tympan
from tympan.export import ExportRange, export_pipeline

CONFIG = {"version": 1, "sample_rate": 44100, "steps": [{"resample": {"new_freq": 16000}}, {"mfcc": {"n_mfcc": 13}}]}


@pytest.mark.gpu
def test_a_pipeline_on_cuda_exports_with_its_default_example_and_gives_eager_output() -> None:
    # Tolerance: 1e-4 of the output's peak (float32; the traced graph may sum in another order).
    pipe = tympan.Pipeline.from_config(CONFIG).eval().to("cuda")
    program = export_pipeline(pipe, ExportRange.for_rate(44100))
    audio = 0.1 * torch.randn(3, 2 * 44100, generator=torch.Generator().manual_seed(0)).cuda()
    with torch.inference_mode():
        expected, got = pipe(audio), program.module()(audio)
    assert got.device.type == "cuda"
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
