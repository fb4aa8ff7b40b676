"""A biquad low-pass (lfilter) against ``scipy.signal.lfilter``, and on a GPU against torchaudio's lfilter.

CPU cases: 1, 16, 64 and 256 channels of 10 s at 44.1 kHz, float64 and float32; both sides filter the whole
``(channels, samples)`` array in one call with the same coefficients (``clamp=False``: scipy does not clamp).
The check records the largest difference from scipy's float64 output relative to its peak. GPU case (only
when CUDA and torchaudio are available): ``torchaudio.functional.lfilter`` on CUDA, 1 x 441000 float32;
each timed call synchronizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.signal
import torch

from benchmarks.harness import Result, compare

SAMPLE_RATE = 44100
SAMPLES = 441_000
CUTOFF_HZ = 1000.0

#: ``(channels, dtype, speed-up aimed for)``; smoke cases are small and carry no target.
CASES = (
    (1, torch.float64, 0.67),
    (1, torch.float32, 0.67),
    (16, torch.float64, 2.0),
    (16, torch.float32, 2.0),
    (64, torch.float64, 2.0),
    (64, torch.float32, 2.0),
    (256, torch.float64, 2.0),
    (256, torch.float32, 2.0),
)
SMOKE_CASES = ((1, torch.float64, None), (4, torch.float32, None))
GPU_TARGET = 50.0
#: Largest difference from scipy's float64 output, relative to its peak, per dtype.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 2e-5}


def _coefficients() -> tuple[np.ndarray, np.ndarray]:
    from tympan.plugins.dsp.functional._biquad_design import lowpass_coefficients

    row = lowpass_coefficients(SAMPLE_RATE, CUTOFF_HZ).numpy()
    return row[3:] / row[3], row[:3] / row[3]


def agreement(ours: torch.Tensor, reference: np.ndarray, dtype: torch.dtype) -> dict[str, Any]:
    """Largest difference from the float64 reference relative to its peak, and whether it is within tolerance."""
    error = float(np.abs(ours.detach().cpu().double().numpy() - reference).max() / np.abs(reference).max())
    return {"ok": error <= TOLERANCE[dtype], "max_rel_err": error}


def _cpu_case(channels: int, dtype: torch.dtype, target: float | None, samples: int, rounds: int) -> Result:
    from tympan.plugins.dsp.functional._iir import lfilter

    a, b = _coefficients()
    generator = torch.Generator().manual_seed(channels)
    audio = (0.1 * torch.randn(channels, samples, generator=generator, dtype=torch.float64)).to(dtype)
    array = audio.numpy()
    a_t, b_t = torch.from_numpy(a).to(dtype), torch.from_numpy(b).to(dtype)
    a_np, b_np = a.astype(array.dtype), b.astype(array.dtype)

    def ours() -> torch.Tensor:
        return lfilter(audio, a_t, b_t, clamp=False)

    with torch.inference_mode():
        return compare(
            f"biquad lowpass {str(dtype).removeprefix('torch.')} vs scipy.signal.lfilter",
            ours,
            lambda: scipy.signal.lfilter(b_np, a_np, array, axis=-1),
            rounds=rounds,
            warmup=2,
            check=lambda: agreement(ours(), scipy.signal.lfilter(b, a, array.astype(np.float64)), dtype),
            params={"channels": channels, "samples": samples},
            target_ratio=target,
        )


def _gpu_case(rounds: int) -> Result:
    import torchaudio.functional as AF

    from tympan.plugins.dsp.functional._iir import lfilter

    a, b = _coefficients()
    device = torch.device("cuda")
    audio = 0.1 * torch.randn(1, SAMPLES, generator=torch.Generator().manual_seed(0))
    on_device = audio.to(device)
    a_t, b_t = torch.from_numpy(a).float().to(device), torch.from_numpy(b).float().to(device)

    def synchronized(fn: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def call() -> torch.Tensor:
            out = fn()
            torch.cuda.synchronize()
            return out

        return call

    ours = synchronized(lambda: lfilter(on_device, a_t, b_t, clamp=False))
    peer = synchronized(lambda: AF.lfilter(on_device, a_t, b_t, clamp=False))
    reference = scipy.signal.lfilter(b, a, audio.double().numpy())
    with torch.inference_mode():
        return compare(
            "biquad lowpass float32 cuda vs torchaudio lfilter (cuda)",
            ours,
            peer,
            rounds=rounds,
            warmup=3,
            check=lambda: agreement(ours(), reference, torch.float32),
            params={"channels": 1, "samples": SAMPLES},
            target_ratio=GPU_TARGET,
        )


def _gpu_available() -> bool:
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


def run(smoke: bool = False) -> list[Result]:
    """Every CPU case, then :func:`run_gpu`; ``smoke``: short and few."""
    samples = SAMPLE_RATE // 10 if smoke else SAMPLES
    results = [
        _cpu_case(channels, dtype, target, samples, 3 if smoke else (10 if channels >= 64 else 20))
        for channels, dtype, target in (SMOKE_CASES if smoke else CASES)
    ]
    return results + run_gpu(smoke)


def run_gpu(smoke: bool = False) -> list[Result]:
    """The CUDA case, where a GPU and torchaudio are present (none otherwise)."""
    return [_gpu_case(3 if smoke else 20)] if _gpu_available() else []
