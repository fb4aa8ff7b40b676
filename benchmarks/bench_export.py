"""The AOTInductor-compiled ``resample 44.1k -> 16k -> mfcc`` pipeline against eager tympan and torch.compile.

Cases (CPU): 1 x 10 s and 16 x 10 s of float32 noise at 44.1 kHz through the package ``tympan export``
writes (dynamic batch and length, up to an hour), against the same pipeline run eagerly (target: >= 1.3x)
and against ``torch.compile(pipeline, dynamic=True)``; the export + compile time. With a CUDA device, the
same at 32 x 10 s on it. The check: the compiled output equals eager within 1e-5 of its largest value.
Untargeted rows show where the time goes: each stage packaged alone (the resampler at 44.1 kHz, the MFCC at
16 kHz) against the same stage eager, at 16 x 10 s of its input rate.
``--smoke`` times the exported program (no compilation) on a short input, to keep the code path working.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.harness import Result, compare

CONFIG = {"version": 1, "sample_rate": 44100, "steps": [{"resample": {"new_freq": 16000}}, {"mfcc": {"n_mfcc": 13}}]}
SECONDS = 10
TARGET = 1.3


def _pipeline(device: str, config: dict[str, Any] = CONFIG) -> Any:
    import tympan

    return tympan.Pipeline.from_config(config).eval().to(device)


def _agreement(pipe: Any, compiled: Any, x: torch.Tensor) -> dict[str, Any]:
    with torch.inference_mode():
        expected, actual = pipe(x), compiled(x)
    relative = float((expected - actual).abs().max()) / float(expected.abs().max())
    return {"max_relative_difference": f"{relative:.2e}", "ok": relative <= 1e-5}


def _package(device: str, folder: str, config: dict[str, Any] = CONFIG) -> tuple[Any, Result]:
    from tympan.export import ExportRange, load_exported, package_pipeline

    started = time.perf_counter()
    rate = config["sample_rate"]
    path = Path(folder) / ("-".join(next(iter(step)) for step in config["steps"]) + f"-{device}.pt2")
    path = package_pipeline(_pipeline(device, config), path, ExportRange.for_rate(rate), device=device)
    elapsed = time.perf_counter() - started
    timing = Result("export + AOTInductor compile", {"device": device}, rounds=1, ours_times=[elapsed], ours_s=elapsed)
    return load_exported(path), timing


def _synchronized(run: Any, device: str) -> Any:
    """``run`` followed by waiting for the device, so that a GPU's time is counted."""
    if device != "cuda":
        return run
    return lambda x: (run(x), torch.cuda.synchronize())[0]


def _stages() -> dict[str, dict[str, Any]]:
    """Each stage of :data:`CONFIG` alone, at its input rate."""
    resample, mfcc = CONFIG["steps"]
    return {
        "resample alone": {**CONFIG, "steps": [resample]},
        "mfcc alone": {**CONFIG, "sample_rate": resample["resample"]["new_freq"], "steps": [mfcc]},
    }


def _cases(
    device: str,
    batches: tuple[int, ...],
    folder: str,
    config: dict[str, Any] = CONFIG,
    stage: str = "",
    target: float | None = None,
) -> list[Result]:
    """The package of ``config`` against ``config`` run eagerly (``target``) and, for the whole pipeline, against
    ``torch.compile``, on ``batches`` x 10 s; ``stage`` names a stage timed alone."""
    compiled, timing = _package(device, folder, config)
    compiled = _synchronized(compiled, device)
    pipe = _synchronized(_pipeline(device, config), device)
    dynamic = None if stage else _synchronized(torch.compile(_pipeline(device, config), dynamic=True), device)
    suffix = f", {stage}" if stage else ""
    timing.name += suffix
    results = [timing]
    for batch in batches:
        x = torch.randn(batch, config["sample_rate"] * SECONDS, generator=torch.Generator().manual_seed(batch))
        x = x.to(device)
        params = {"batch": batch, "seconds": SECONDS, "device": device}
        with torch.inference_mode():
            results.append(
                compare(
                    "AOTInductor vs eager tympan" + suffix,
                    lambda x=x: compiled(x),
                    lambda x=x: pipe(x),
                    rounds=10,
                    check=lambda x=x: _agreement(pipe, compiled, x),
                    params=params,
                    target_ratio=target,
                )
            )
            if dynamic is not None:
                results.append(
                    compare(
                        "AOTInductor vs torch.compile",
                        lambda x=x: compiled(x),
                        lambda x=x: dynamic(x),
                        rounds=10,
                        params=params,
                    )
                )
    return results


def _smoke() -> list[Result]:
    from tympan.export import ExportRange, export_pipeline

    pipe = _pipeline("cpu")
    program = export_pipeline(pipe, ExportRange.for_rate(44100)).module()
    x = torch.randn(2, 44100 // 2 + 7)
    with torch.inference_mode():
        return [
            compare(
                "exported program vs eager",
                lambda: program(x),
                lambda: pipe(x),
                rounds=3,
                check=lambda: _agreement(pipe, program, x),
            )
        ]


def run(smoke: bool = False) -> list[Result]:
    """CPU at 1 and 16 x 10 s, and CUDA at 32 x 10 s when a device is there; ``smoke``: no compilation."""
    if smoke:
        return _smoke()
    with tempfile.TemporaryDirectory() as folder:
        results = _cases("cpu", (1, 16), folder, target=TARGET)
        for stage, config in _stages().items():
            results += _cases("cpu", (16,), folder, config, stage)
    return results + run_gpu(smoke)


def run_gpu(smoke: bool = False) -> list[Result]:
    """The pipeline compiled for a CUDA device at 32 x 10 s against eager (none without a device)."""
    if smoke or not torch.cuda.is_available():
        return []
    with tempfile.TemporaryDirectory() as folder:
        return _cases("cuda", (32,), folder)
