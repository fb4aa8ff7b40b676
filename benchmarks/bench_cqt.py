"""Constant-Q transform against ``librosa.cqt`` at 22.05 kHz with librosa's defaults.

Both sides take the whole batch in one call: ours a ``(batch, samples)`` float32 tensor through
:class:`tympan.plugins.dsp.transforms.CQT` (complex output, as librosa's), librosa the same array as numpy
(it maps over leading dimensions). Defaults on both sides: hop 512, 84 bins from C1, 12 per octave, Hann
filters with L1 norm, ``scale=True``, sparsity 0.01, zero padding; librosa decimates with soxr_hq, tympan
with its own frequency-domain low-pass fitted to soxr's response. The check records the largest magnitude
error relative to each bin (with a floor at 1% of the peak), over the frames away from the ends and over
all frames, and relative to the peak. On white noise, whose energy fills the decimation filters'
transition bands, the two decimators differ most: about 2e-4 away from the ends and 1.5e-3 in the first
and last frames, where the zeros beyond the signal enter the filters.
"""

from __future__ import annotations

from typing import Any

import librosa
import numpy as np
import torch

from benchmarks.harness import Result, compare

SAMPLE_RATE = 22050

#: ``(batch, seconds, speed-up aimed for)`` of each case; smoke cases are small and carry no target.
CASES = ((1, 10.0, 1.0), (16, 10.0, 1.0))
SMOKE_CASES = ((1, 3.0, None), (2, 3.0, None))  # the lowest bins need about 0.5 s of context

#: Agreement required with librosa: magnitude error within ``RTOL`` of each bin's magnitude (floored at
#: ``FLOOR`` of the peak) away from the first and last ``EDGE_FRAMES`` frames, ``EDGE_RTOL`` there.
RTOL, EDGE_RTOL, FLOOR, EDGE_FRAMES = 1e-3, 5e-3, 1e-2, 4


def librosa_cqt(audio: np.ndarray) -> np.ndarray:
    """librosa's default constant-Q transform."""
    return librosa.cqt(audio, sr=SAMPLE_RATE)


def agreement(ours: torch.Tensor, reference: np.ndarray) -> dict[str, Any]:
    """Largest bin-relative and peak-relative magnitude differences, and whether they are within tolerance."""
    expected = np.abs(reference).astype(np.float64)
    actual = ours.detach().abs().to(torch.float64).numpy()
    if actual.shape != expected.shape:
        return {"ok": False, "shape": f"{actual.shape} vs {expected.shape}"}
    error = np.abs(actual - expected)
    peak = float(expected.max())
    relative = error / np.maximum(expected, FLOOR * peak)
    inner = float(relative[..., EDGE_FRAMES:-EDGE_FRAMES].max())
    overall = float(relative.max())
    return {
        "ok": inner <= RTOL and overall <= EDGE_RTOL,
        "max_rel_err_inner": inner,
        "max_rel_err": overall,
        "max_err_over_peak": float(error.max()) / peak,
    }


def run(smoke: bool = False) -> list[Result]:
    """Every case; ``smoke`` uses short audio and few rounds."""
    from tympan.plugins.dsp.transforms._cqt import CQT

    ours = CQT(sample_rate=SAMPLE_RATE)
    rounds = 3 if smoke else 10
    results = []
    for batch, seconds, target in SMOKE_CASES if smoke else CASES:
        generator = torch.Generator().manual_seed(batch)
        audio = torch.randn(batch, int(seconds * SAMPLE_RATE), generator=generator) * 0.1
        array = audio.numpy()
        with torch.inference_mode():
            results.append(
                compare(
                    "cqt vs librosa",
                    lambda audio=audio: ours(audio),
                    lambda array=array: librosa_cqt(array),
                    rounds=rounds,
                    warmup=2,
                    check=lambda audio=audio, array=array: agreement(ours(audio), librosa_cqt(array)),
                    params={"batch": batch, "seconds": seconds},
                    target_ratio=target,
                )
            )
    return results
