"""Resampling against soxr's HQ setting, at equal or better stop-band attenuation.

Cases: 44.1k -> 16k, 48k -> 44.1k and 22.05k -> 16k, 1 x 10 s and 16 x 10 s of float32 noise. Ours is
``resample(..., resampling_method="sinc_interp_kaiser_fft", lowpass_filter_width=96, rolloff=0.955)`` on
``(channels, time)``; soxr resamples the same data as ``(time, channels)``, its layout for several channels.
The check measures both sides' stop-band attenuation: the weakest attenuation of 24 tones from the output
Nyquist frequency to 0.98 x the input one (two seconds each, the outer quarters dropped), and the gain of a
tone at 0.9 x the output Nyquist frequency; it passes when ours attenuates at least as much as soxr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import soxr
import torch

from benchmarks.harness import Result, compare

RATES = ((44100, 16000), (48000, 44100), (22050, 16000))
SECONDS = 10
TARGET = 1.0


def _gain_db(resample: Callable[[np.ndarray], np.ndarray], orig: int, frequency: float) -> float:
    t = np.arange(2 * orig) / orig
    out = resample(np.sin(2 * np.pi * frequency * t))
    middle = out[len(out) // 4 : -len(out) // 4]
    return float(20 * np.log10(np.sqrt(np.mean(middle**2) / 0.5) + 1e-30))


def attenuation(orig: int, new: int) -> dict[str, Any]:
    """Stop-band attenuation and 0.9-Nyquist gain of ours and soxr HQ (dB), and whether ours is as deep."""
    from tympan.plugins.dsp.functional import HIGH_QUALITY_RESAMPLING as HQ
    from tympan.plugins.dsp.functional import resample

    sides = {
        "ours": lambda x: resample(torch.from_numpy(x), orig, new, **HQ).numpy(),
        "soxr": lambda x: soxr.resample(x, orig, new, quality="HQ"),
    }
    stop = np.linspace(new / 2, 0.98 * orig / 2, 24)
    figures: dict[str, Any] = {}
    for side, run in sides.items():
        figures[f"{side}_stopband_db"] = round(-max(_gain_db(run, orig, f) for f in stop), 1)
        figures[f"{side}_gain_at_0.9_nyquist_db"] = round(_gain_db(run, orig, 0.45 * new), 4)
    figures["ok"] = figures["ours_stopband_db"] >= figures["soxr_stopband_db"]
    return figures


def _case(orig: int, new: int, channels: int, seconds: float, rounds: int, target: float | None) -> Result:
    from tympan.plugins.dsp.functional import HIGH_QUALITY_RESAMPLING as HQ
    from tympan.plugins.dsp.functional import resample

    noise = torch.randn(channels, int(orig * seconds), generator=torch.Generator().manual_seed(orig + channels))
    interleaved = np.ascontiguousarray(noise.numpy().T)
    with torch.inference_mode():
        return compare(
            f"resample {orig}->{new} vs soxr HQ",
            lambda: resample(noise, orig, new, **HQ),
            lambda: soxr.resample(interleaved, orig, new, quality="HQ"),
            rounds=rounds,
            check=lambda: attenuation(orig, new),
            params={"channels": channels, "seconds": seconds},
            target_ratio=target,
        )


def run(smoke: bool = False) -> list[Result]:
    """Every ratio at 1 and 16 channels; ``smoke``: one short case, few rounds."""
    if smoke:
        return [_case(44100, 16000, 2, 0.5, 3, None)]
    return [_case(orig, new, channels, SECONDS, 15, TARGET) for orig, new in RATES for channels in (1, 16)]
